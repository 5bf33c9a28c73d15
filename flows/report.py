"""The weekly citation report flow: metrics, HTML with charts, CSV, and Prefect artifacts.

Scheduled after the weekly distribution (prefect.yaml); run by hand with
`python flows/report.py` or `citecast report`.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Optional

if __package__ in (None, ""):  # `python flows/report.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from citecast.settings import load_settings
from citecast.citations.report import Written, run_report
from citecast.citations.report.text import csv_value


def _day(d: Optional[date]) -> Optional[datetime]:
    return None if d is None else datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


@task(name="build citation report", cache_policy=NO_CACHE)
def report_task(settings, since: Optional[date] = None, until: Optional[date] = None,
                out: Optional[str] = None) -> Written:
    return run_report(settings, out=Path(out) if out else None, since=_day(since), until=_day(until))


@flow(name="citation-report", log_prints=True)
def citation_report(since: Optional[date] = None, until: Optional[date] = None, out: Optional[str] = None) -> dict:
    """Citation pickup by topic, freshness and cohort; the HTML and CSV land in `out` (default from config)."""
    settings = load_settings()
    written = report_task(settings, since, until, out)
    log = get_run_logger()
    for line in written.report.verdict_lines():
        log.info(line)
    create_markdown_artifact(key="citation-report", markdown=written.markdown,
                             description=f"Citation report; HTML at {written.html}")
    stalled = [f"- {r['page']}: {r['stalled_at']}" for r in written.report.tables["funnel"].as_dicts()
               if not str(r["stalled_at"]).startswith("through")] if "funnel" in written.report.tables else []
    if stalled:
        log.info("pages stalled in the funnel: %s", "; ".join(s[2:] for s in stalled))
    for name in ("verdicts", "holdout", "cohort_topic", "time_to_citation", "funnel", "funnel_cohorts", "retrieval"):  # as in the HTML and CSV
        if name not in written.report.tables:
            continue
        table = written.report.tables[name]
        create_table_artifact(key=f"citation-{name.replace('_', '-')}", table=[{k: csv_value(v) for k, v in r.items()} for r in table.as_dicts()],
                              description=table.title)
    return {"html": str(written.html), "csv": [str(p) for p in written.csv],
            "verdicts": written.report.verdict_lines(), "stalled": [s[2:] for s in stalled]}


if __name__ == "__main__":
    citation_report()
