"""The citation report: an honest cohort comparison and the tables an analyst reads.

data (ledger -> frames) -> metrics (page cells) -> statistics (cohorts within
topic) and survival (time to first citation) -> tables (the one data model) ->
html, csv, markdown (and the flow's Prefect artifacts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citecast.citations.report.data import Link, ReportData, load_data
from citecast.citations.report.statistics import Comparison, Rules
from citecast.citations.report.tables import Report, Table, build_report

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

__all__ = ["Comparison", "Link", "Report", "ReportData", "Rules", "Table", "Written", "build_report", "load_data",
           "rules_from", "run_report"]


@dataclass
class Written:
    html: Path | None
    csv: list[Path]
    markdown: str
    report: Report


def rules_from(cfg: Any) -> Rules:
    """The comparison rules from the `[citations]` settings."""
    return Rules(min_pages=cfg.min_pages_per_arm, min_rounds=cfg.min_rounds, min_effect=cfg.min_effect,
                 pairs=[tuple(p) for p in cfg.comparisons])


def run_report(settings: Any, *, out: Path | None = None, since: datetime | None = None,
               until: datetime | None = None, ledger: "Ledger | None" = None, html_report: bool = True,
               csv_files: bool = True, power_lift: float | None = None) -> Written:
    """Load, compute, and write the HTML report and CSV files under `out` (default: citations.report_dir)."""
    from citecast.citations.model import citations_settings, load_pages, open_ledger, resolve
    from citecast.citations.report.csv import write_csv
    from citecast.citations.report.html import to_html
    from citecast.citations.report.markdown import to_markdown

    cfg = citations_settings(settings)
    own = ledger is None
    ledger = ledger or open_ledger(settings)
    try:
        pages = load_pages(settings, ledger)
        data = load_data(ledger, pages, since, until, answers_per_page=cfg.drill_down_answers)
        from citecast.citations.funnel import funnel_for

        funnel = funnel_for(ledger, pages)
        from citecast.citations.report.costs import cost_tables

        costs = cost_tables(ledger)
    finally:
        if own:
            ledger.close()
    report = build_report(data, rules=rules_from(cfg), freshness_days=cfg.freshness_days, since=since, until=until,
                          top=cfg.top_competitors, answers_per_page=cfg.drill_down_answers,
                          power_lift=power_lift)
    report.tables.update(funnel.tables)  # the funnel's own tables: HTML, CSV and artifacts print them too
    report.tables.update(costs)
    folder = out or resolve(settings, cfg.report_dir)
    if html_report or csv_files:
        folder.mkdir(parents=True, exist_ok=True)
    html_path = None
    if html_report:
        html_path = folder / "citations.html"
        html_path.write_text(to_html(report), encoding="utf-8")
    csvs = write_csv(report, folder / "csv") if csv_files else []
    return Written(html_path, csvs, to_markdown(report), report)
