"""A run's outcome for people (markdown, for the Prefect UI) and for scripts (a dict)."""

from __future__ import annotations

import re

from citecast.distribution.run import RunReport
from citecast.words import count

ICON = {"published": "✅", "dry_run": "📝", "failed": "❌", "rejected": "⛔", "unconfirmed": "❓",
        "skipped": "⏭", "deferred": "⏳", "released": "↩", "not_posted": "⌛"}
# Long posts (a Reddit body) are cut in the artifacts; the outbox file or the platform has the whole text.
TEXT_SHOWN = 500


def summary_dict(report: RunReport) -> dict:
    counts: dict[str, int] = {}
    for o in report.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return {
        "week": report.slot,
        **({"note": report.note} if report.note else {}),
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
    if report.note:
        lines += [f"**{report.note}**", ""]
    summary = summary_dict(report)
    counts = summary["counts"]
    lines.append(", ".join(f"{ICON.get(k, '')} {v} {k.replace('_', ' ')}" for k, v in sorted(counts.items())) or "Nothing was due.")
    llm = summary["llm"]
    if llm["tokens_in"] or llm["tokens_out"]:
        lines.append(f"LLM: {llm['tokens_in']:,} tokens in, {llm['tokens_out']:,} out, about ${llm['cost_usd']:.4f}; "
                     + ", ".join(f"{n} by {g}" for g, n in sorted(llm["generators"].items())))
    rows = post_rows(report)
    if rows:
        # The text goes last: the UI cuts a wide table at the right, and the short columns must stay in view.
        lines += ["", "| page | channel | status | length | link | generator | text |", "|---|---|---|---|---|---|---|"]
        for r in rows:
            link = f"[{r['link_label']}]({r['link']})" if r["link"] else ""
            status = f"{ICON.get(r['status'], '')} {r['status'].replace('_', ' ')}" + (f": {r['detail']}" if r["detail"] else "")
            lines.append("| " + " | ".join(_cell(c) for c in (r["page"], r["channel"], status, r["length"], link,
                                                                r["generator"], _plain(r["text"]))) + " |")
    if report.channels:
        lines += ["", "## Channels", ""]
        for name, (live, why) in sorted(report.channels.items()):
            lines.append(f"- **{name}**: {'live' if live else 'dry run (outbox)'} — {why}")
    if report.problems:
        lines += ["", "## Pages with problems", ""]
        lines += [f"- {_cell(str(p))}" for p in report.errors]
        if report.warnings:
            lines.append(f"- plus {count(len(report.warnings), 'warning')}: run `citecast check`")
    if report.not_due:
        lines += ["", "## Not due", ""]
        lines += [f"- {slug}: {why}" for slug, why in sorted(report.not_due.items())]
    return "\n".join(lines) + "\n"


def post_rows(report: RunReport) -> list[dict]:
    """One row per post (skipped ones left out): channel, text, length against the limit, link, generator.

    The link is where the post is: the platform's URL, or for a dry run the
    outbox file; without either, the page's canonical URL. Never the ledger key.
    """
    rows = []
    for o in sorted(report.outcomes, key=lambda o: (o.page, o.channel)):
        if o.status == "skipped":
            continue
        link, link_label = _link(o, report.canonical.get(o.page, ""))
        parts = [o.text] if isinstance(o.text, str) else list(o.text or [])
        text = "\n\n".join(parts)
        rows.append({  # in the order the table artifact shows them: the long text after the short columns
            "page": o.page, "channel": o.channel, "status": o.status,
            "length": length_against_limit(parts, report.limits.get(o.channel)),
            "link": link, "generator": o.generator or "",
            "text": text if len(text) <= TEXT_SHOWN else text[: TEXT_SHOWN - 1] + "…",
            "detail": o.detail or "", "canonical_url": report.canonical.get(o.page, ""), "link_label": link_label,
        })
    return rows


def _link(o, canonical: str) -> tuple[str, str]:
    if o.platform_url and o.platform_url.startswith("http"):
        return o.platform_url, "post"
    if o.platform_url and o.platform_url.startswith("file:"):
        return o.platform_url, "outbox file"
    return canonical, "page" if canonical else ""


def length_against_limit(parts: list[str], limits) -> str:
    """`231/280 characters`, or for a thread `3 parts, longest 270/280 characters`, counted as the platform counts."""
    if not parts:
        return ""
    if limits is None:
        return f"{max(len(p) for p in parts)} characters"
    longest = max(limits.count(p) for p in parts)
    measure = f"{longest}/{limits.max_length} {limits.unit}"
    return measure if len(parts) == 1 else f"{len(parts)} parts, longest {measure}"


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!~-])")


def _plain(text: str) -> str:
    """Post text shown as written: its markdown (links, images, emphasis) is not rendered."""
    return _MARKDOWN.sub(r"\\\1", text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _safe_url(url: str) -> str:
    """A database URL without its password, for logs and artifacts."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"
