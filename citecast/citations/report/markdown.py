"""The markdown summary (CLI `--markdown`, the flow's Prefect artifact): verdicts and the key tables."""

from __future__ import annotations

from citecast.citations.report.tables import Report, Table
from citecast.citations.report.text import cell_text
from citecast.words import count

SUMMARY = ("holdout", "cohort_topic", "cohort_freshness", "time_to_citation", "time_to_citation_tests", "funnel_cohorts",
           "funnel", "retrieval", "competitors", "llm_cost_weeks")
MAX_ROWS = 30


def md_table(table: Table, max_rows: int = MAX_ROWS) -> str:
    if not table.rows:
        return "_no data yet_\n"
    cols = [c for c in table.columns if c.kind != "pages"]
    lines = ["| " + " | ".join(c.name for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in table.rows[:max_rows]:
        values = dict(zip(table.head, row))
        lines.append("| " + " | ".join(cell_text(c, values[c.name]).replace("|", "\\|") for c in cols) + " |")
    if len(table.rows) > max_rows:
        lines.append(f"\n_{len(table.rows) - max_rows} more rows in {table.name}.csv_")
    return "\n".join(lines) + "\n"


def to_markdown(report: Report) -> str:
    period = f"{report.since.date() if report.since else 'start'} – {report.until.date() if report.until else 'now'}"
    out = [f"# Citation report ({period})", "",
           f"{count(report.answers, 'answer')} from engines that cite ({report.all_answers} in all), {count(report.pages, 'page')}, "
           f"{report.rounds} weekly rounds.", "", "## Verdict", ""]
    out += [f"- {line}" for line in report.verdict_lines()]
    out.append("")
    for name in SUMMARY:
        table = report.tables.get(name)
        if table is not None:
            out += [f"## {table.title}", "", md_table(table)]
    return "\n".join(out)
