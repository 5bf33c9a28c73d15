"""A run's outcome for people (markdown, for the Prefect UI) and for scripts (a dict)."""

from __future__ import annotations

from citecast.distribution.run import RunReport
from citecast.words import count

ICON = {"published": "✅", "dry_run": "📝", "failed": "❌", "rejected": "⛔", "unconfirmed": "❓",
        "skipped": "⏭", "deferred": "⏳", "released": "↩"}


def summary_dict(report: RunReport) -> dict:
    counts: dict[str, int] = {}
    for o in report.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return {
        "week": report.slot,
        "run_id": report.run_id,
        "counts": counts,
        "posts": [
            {"page": o.page, "channel": o.channel, "status": o.status, "detail": o.detail,
             "platform_id": o.platform_id, "platform_url": o.platform_url}
            for o in report.outcomes
        ],
        "llm": {
            "generators": _count(o.generator for o in report.outcomes if o.generator),
            "tokens_in": sum(o.tokens_in for o in report.outcomes),
            "tokens_out": sum(o.tokens_out for o in report.outcomes),
            "cost_usd": round(sum(o.cost_usd for o in report.outcomes), 6),
        },
        "problems": [str(p) for p in report.problems],
        "not_due": report.not_due,
        "channels": {name: {"live": live, "why": why} for name, (live, why) in sorted(report.channels.items())},
        "ledger": _safe_url(report.ledger_url),
        "outbox": report.outbox,
    }


def _count(values) -> dict[str, int]:
    found: dict[str, int] = {}
    for v in values:
        found[v] = found.get(v, 0) + 1
    return found


def markdown_summary(report: RunReport) -> str:
    lines = [f"# Distribution, week {report.slot}", ""]
    summary = summary_dict(report)
    counts = summary["counts"]
    lines.append(", ".join(f"{ICON.get(k, '')} {v} {k.replace('_', ' ')}" for k, v in sorted(counts.items())) or "Nothing was due.")
    llm = summary["llm"]
    if llm["tokens_in"] or llm["tokens_out"]:
        lines.append(f"LLM: {llm['tokens_in']:,} tokens in, {llm['tokens_out']:,} out, about ${llm['cost_usd']:.4f}; "
                     + ", ".join(f"{n} by {g}" for g, n in sorted(llm["generators"].items())))
    lines += ["", "| page | channel | status | link / detail |", "|---|---|---|---|"]
    for o in sorted(report.outcomes, key=lambda o: (o.page, o.channel)):
        where = f"[{o.platform_id}]({o.platform_url})" if o.platform_url and o.platform_url.startswith("http") else (o.detail or o.platform_id or "")
        lines.append(f"| {o.page} | {o.channel} | {ICON.get(o.status, '')} {o.status} | {_cell(where)} |")
    if report.channels:
        lines += ["", "## Channels", ""]
        for name, (live, why) in sorted(report.channels.items()):
            lines.append(f"- **{name}**: {'live' if live else 'dry run (outbox)'} — {why}")
    if report.problems:
        lines += ["", "## Pages with problems", ""]
        lines += [f"- {_cell(str(p))}" for p in report.problems if p.severity == "error"]
        warnings = [p for p in report.problems if p.severity == "warning"]
        if warnings:
            lines.append(f"- plus {count(len(warnings), 'warning')}: run `citecast check`")
    if report.not_due:
        lines += ["", "## Not due", ""]
        lines += [f"- {slug}: {why}" for slug, why in sorted(report.not_due.items())]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _safe_url(url: str) -> str:
    """A database URL without its password, for logs and artifacts."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"
