"""The HTML report: one self-contained file (charts as embedded PNG, no script, no external link).

Every section prints a table of the data model; cells that name a page or a
set of pages link to those pages' rows, and a page links to the answers
behind its figures (the drill-down).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

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


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)  # constrained layout: one draw (bbox_inches="tight" draws twice)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _subplots(width: float, height: float, ncols: int = 1) -> tuple[Any, Any]:
    """A figure without pyplot (no GUI backend, no global state: a second faster to start)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0] if ncols > 1 else fig.subplots()


def _finish(ax: Any, title: str) -> None:
    """The house style of a one-panel chart: small title, legend without a frame, no top/right spines."""
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def _rate_bars(table: Table, group: str, title: str) -> Any:
    rows = table.as_dicts()
    cohorts = list(dict.fromkeys(r["cohort"] for r in rows))
    groups = list(dict.fromkeys(r[group] for r in rows))
    fig, ax = _subplots(7, 3.4)
    width = 0.8 / max(1, len(cohorts))
    for i, cohort in enumerate(cohorts):
        xs, ys, errs = [], [], [[], []]
        for j, g in enumerate(groups):
            r = next((r for r in rows if r["cohort"] == cohort and r[group] == g), None)
            if r is None or r["mean_rate"] is None:
                continue
            xs.append(j + (i - (len(cohorts) - 1) / 2) * width)
            ys.append(r["mean_rate"] * 100)
            errs[0].append((r["mean_rate"] - (r["ci_low"] if r["ci_low"] is not None else r["mean_rate"])) * 100)
            errs[1].append(((r["ci_high"] if r["ci_high"] is not None else r["mean_rate"]) - r["mean_rate"]) * 100)
        ax.bar(xs, ys, width, yerr=errs, capsize=2, label=cohort)
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("mean page citation rate, %")
    _finish(ax, title)
    return fig


def _survival_chart(report: Report) -> Any:
    fig, ax = _subplots(7, 3.4)
    for curve in report.survival.curves:
        days = [p[0] for p in curve.points]
        ax.step(days, [p[1] * 100 for p in curve.points], where="post", label=f"{curve.cohort} ({count(curve.pages, 'page')})")
        ax.fill_between(days, [p[2] * 100 for p in curve.points], [p[3] * 100 for p in curve.points], step="post",
                        alpha=0.15)
    ax.set_xlabel("days since start")
    ax.set_ylabel("pages cited, %")
    ax.set_ylim(0, 100)
    _finish(ax, "Time to first citation (Kaplan-Meier, 95% band)")
    return fig


def _engine_chart(table: Table) -> Any:
    rows = table.as_dicts()
    weeks = sorted({r["week"] for r in rows})
    fig, ax = _subplots(7, 3.4)
    for engine in sorted({r["engine"] for r in rows}):
        pts = [(weeks.index(r["week"]), r["citing_us_rate"] * 100) for r in rows
               if r["engine"] == engine and r["citing_us_rate"] is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=engine)
    ax.set_xticks(range(len(weeks)), weeks, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("answers citing us, %")
    _finish(ax, "Per engine and week")
    return fig


def _competitor_chart(table: Table) -> Any:
    rows = table.as_dicts()
    topics = list(dict.fromkeys(r["topic"] for r in rows))[:4]
    fig, axes = _subplots(3.4 * len(topics), 3.2, ncols=len(topics))
    for ax, topic in zip(axes if len(topics) > 1 else [axes], topics):
        sel = [r for r in rows if r["topic"] == topic][:6][::-1]
        ax.barh([r["domain"] for r in sel], [r["share_of_voice"] * 100 for r in sel],
                color=["#c0392b" if r["ours"] else "#7f8c8d" for r in sel])
        ax.set_title(topic, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("share of voice, %", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    return fig


def charts(report: Report) -> list[tuple[str, str]]:
    """(title, base64 PNG) pairs, each from a table of the report."""
    t = report.tables
    out = []
    if t["cohort_topic"].rows:
        out.append(("Citation rate by cohort and topic", _png(_rate_bars(t["cohort_topic"], "topic",
                                                                         "Mean page citation rate, 95% interval"))))
    if report.survival.curves:
        out.append(("Time to first citation", _png(_survival_chart(report))))
    if t.get("funnel_timeline") is not None and t["funnel_timeline"].rows:
        from citecast.citations.funnel import timeline_chart

        out.append(("Funnel: each page's posts, AI fetches, citations and clicks",
                    _png(timeline_chart(t["funnel_timeline"], t["funnel"]))))
    if t["cohort_freshness"].rows:
        out.append(("Citation rate by cohort and freshness",
                    _png(_rate_bars(t["cohort_freshness"], "freshness", "By days since update"))))
    if t["engine_weeks"].rows:
        out.append(("Trends per engine", _png(_engine_chart(t["engine_weeks"]))))
    if t["competitors"].rows:
        out.append(("Share of voice per topic", _png(_competitor_chart(t["competitors"]))))
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
        for title, png in charts(report):
            parts.append(f"<figure><img alt='{e(title)}' src='data:image/png;base64,{png}'>"
                         f"<figcaption>{e(title)}</figcaption></figure>")
        parts.append("</div>")
    for table in tables:
        parts += _table_html(table, targets)
    parts.append("</body></html>")
    return "\n".join(parts)


def _day(ts: Any) -> str:
    return ts.date().isoformat() if ts else ""
