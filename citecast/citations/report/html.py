"""The HTML report: one self-contained file (charts as embedded SVG images, no script, no external link).

Every section prints a table of the data model; cells that name a page or a
set of pages link to those pages' rows, and a page links to the answers
behind its figures (the drill-down).
"""

from __future__ import annotations

import html
from typing import Any

from citecast.citations.report import svg
from citecast.citations.report.tables import Report, Table
from citecast.citations.report.text import anchor, cell_text
from citecast.words import count

CSS = """body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f6f8}tr:target,tbody:target{background:#fff6c8}.verdict{background:#f7f7ee;border-left:4px solid #c9b94a;padding:.5em 1em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:1em}
figure{margin:0}figcaption{font-size:12px;color:#555}img{max-width:100%}.note{color:#555;font-size:13px}
nav a{margin-right:.8em;font-size:13px}td.excerpt{max-width:480px;white-space:pre-wrap}"""

# Sections in reading order; any other table follows.
ORDER = ("verdicts", "holdout", "holdout_deviations", "power", "cohort_topic", "cohort_freshness", "time_to_citation",
         "time_to_citation_tests",
         "funnel_cohorts", "funnel", "copies_cited", "pages", "retrieval", "engine_queries",
         "competitors", "top_cited_urls", "unmatched_own_urls", "engine_weeks", "coverage", "by_topic", "by_engine",
         "answers", "survival_curves", "funnel_timeline")
LONG = {"survival_curves", "funnel_timeline"}  # in the CSV files; the charts show them


def _rate_bars(table: Table, group: str, title: str) -> str:
    rows = table.as_dicts()
    cohorts = list(dict.fromkeys(r["cohort"] for r in rows))
    groups = [str(g) for g in dict.fromkeys(r[group] for r in rows)]
    by = {(r["cohort"], str(r[group])): r for r in rows}
    series = []
    for cohort in cohorts:
        vals: list[tuple[float, float, float] | None] = []
        for g in groups:
            r = by.get((cohort, g))
            if r is None or r["mean_rate"] is None:
                vals.append(None)
                continue
            mean = r["mean_rate"]
            lo = r["ci_low"] if r["ci_low"] is not None else mean
            hi = r["ci_high"] if r["ci_high"] is not None else mean
            vals.append((mean * 100, lo * 100, hi * 100))
        series.append((str(cohort), vals))
    return svg.grouped_bars(groups, series, title, "mean page citation rate, %")


def _survival_chart(report: Report) -> str:
    series = [(f"{c.cohort} ({count(c.pages, 'page')})", [(p[0], p[1] * 100, p[2] * 100, p[3] * 100)
                                                            for p in c.points])
              for c in report.survival.curves]
    return svg.steps(series, "Time to first citation (Kaplan-Meier, 95% band)", "days since start", "pages cited, %")


def _engine_chart(table: Table) -> str:
    rows = table.as_dicts()
    weeks = sorted({r["week"] for r in rows})
    series = []
    for engine in sorted({r["engine"] for r in rows}):
        pts = [(weeks.index(r["week"]), r["citing_us_rate"] * 100) for r in rows
               if r["engine"] == engine and r["citing_us_rate"] is not None]
        if pts:
            series.append((engine, pts))
    return svg.lines(weeks, series, "Per engine and week", "answers citing us, %")


def _competitor_chart(table: Table) -> str:
    rows = table.as_dicts()
    topics = list(dict.fromkeys(r["topic"] for r in rows))[:4]
    panels = [(str(topic), [(str(r["domain"]), r["share_of_voice"] * 100, "#c0392b" if r["ours"] else "#7f8c8d")
                            for r in rows if r["topic"] == topic][:6]) for topic in topics]
    return svg.hbar_panels(panels, "share of voice, %")


def charts(report: Report) -> list[tuple[str, str]]:
    """(title, SVG) pairs, each from a table of the report."""
    t = report.tables
    out = []
    if t["cohort_topic"].rows:
        out.append(("Citation rate by cohort and topic",
                    _rate_bars(t["cohort_topic"], "topic", "Mean page citation rate, 95% interval")))
    if report.survival.curves:
        out.append(("Time to first citation", _survival_chart(report)))
    if t.get("funnel_timeline") is not None and t["funnel_timeline"].rows:
        from citecast.citations.funnel import timeline_chart

        out.append(("Funnel: each page's posts, AI fetches, citations and clicks",
                    timeline_chart(t["funnel_timeline"], t["funnel"])))
    if t["cohort_freshness"].rows:
        out.append(("Citation rate by cohort and freshness",
                    _rate_bars(t["cohort_freshness"], "freshness", "By days since update")))
    if t["engine_weeks"].rows:
        out.append(("Trends per engine", _engine_chart(t["engine_weeks"])))
    if t["competitors"].rows:
        out.append(("Share of voice per topic", _competitor_chart(t["competitors"])))
    return out


def _table_html(table: Table, targets: dict[str, set[str]]) -> list[str]:
    e = html.escape
    parts = [f"<section id='t-{e(table.name)}'><h2>{e(table.title)}</h2>"]
    if table.note:
        parts.append(f"<p class=note>{e(table.note)}</p>")
    if not table.rows:
        parts.append("<p class=note>no data yet</p></section>")
        return parts
    parts.append(f"<table class='{e(table.name)}'><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in table.head)
                 + "</tr></thead><tbody>")
    key_i = table.head.index(table.key) if table.key else None
    seen: set[str] = set()
    for row in table.rows:
        attrs = ""
        if key_i is not None:
            rid = anchor(table.name, row[key_i])
            if rid not in seen:  # the first row of a key is the link target
                seen.add(rid)
                attrs = f" id='{e(rid)}'"
        cells = []
        for col, value in zip(table.columns, row):
            text = cell_text(col, value)
            cls = " class=excerpt" if col.name == "excerpt" else ""
            if col.link and value not in (None, ""):
                keys = str(value).split(";") if col.kind == "pages" else [value]
                links = [f"<a href='#{e(anchor(col.link, k))}'>{e(str(k))}</a>"
                         if anchor(col.link, k) in targets.get(col.link, set()) else e(str(k)) for k in keys]
                cells.append(f"<td{cls}>{', '.join(links)}</td>")
            else:
                cells.append(f"<td{cls}>{e(text)}</td>")
        parts.append(f"<tr{attrs}>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table></section>")
    return parts


def to_html(report: Report, with_charts: bool = True) -> str:
    e = html.escape
    period = f"{_day(report.since) or 'start'} – {_day(report.until) or 'now'}"
    tables = [report.tables[n] for n in ORDER if n in report.tables and n not in LONG]
    tables += [t for n, t in report.tables.items() if n not in ORDER]
    targets = {t.name: {anchor(t.name, r[t.head.index(t.key)]) for r in t.rows} for t in report.tables.values() if t.key}
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>citecast citation report</title>"
             f"<style>{CSS}</style><body><h1>Citation report <small>{e(period)}</small></h1>",
             f"<p>{count(report.answers, 'answer')} from engines that cite ({report.all_answers} in all), {count(report.pages, 'page')}, "
             f"{report.rounds} weekly rounds; generated {e(report.generated_at.isoformat(timespec='seconds'))}.</p>",
             "<nav>" + "".join(f"<a href='#t-{e(t.name)}'>{e(t.name.replace('_', ' '))}</a>" for t in tables) + "</nav>",
             "<div class=verdict><strong>Verdict</strong><ul>"]
    parts += [f"<li>{e(line)}</li>" for line in report.verdict_lines()]
    parts.append("</ul></div>")
    if with_charts:
        parts.append("<div class=charts>")
        for title, chart in charts(report):
            parts.append(f"<figure><img alt='{e(title)}' src='{svg.data_uri(chart)}'>"
                         f"<figcaption>{e(title)}</figcaption></figure>")
        parts.append("</div>")
    for table in tables:
        parts += _table_html(table, targets)
    parts.append("</body></html>")
    return "\n".join(parts)


def _day(ts: Any) -> str:
    return ts.date().isoformat() if ts else ""
