"""`citecast ledger`: list distribution events, see and settle the ones waiting for a person."""

from __future__ import annotations

import json
from enum import Enum
from typing import Optional

import typer

from citecast.cli.common import console, echo, escape, fail, load_settings, open_ledger, refuse, refuse_channels, to_terminal

ledger_app = typer.Typer(help="The distribution log: list events, see and settle the ones waiting for a person.",
                         invoke_without_command=True)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")


class Status(str, Enum):
    pending = "pending"
    published = "published"
    dry_run = "dry_run"
    failed = "failed"
    rejected = "rejected"
    unconfirmed = "unconfirmed"


def _event_dict(row) -> dict:
    return {
        "id": row.id, "page": row.page, "channel": row.channel, "slot": row.slot, "seq": row.seq,
        "status": row.status, "canonical_url": row.canonical_url, "link": row.link, "title": row.title,
        "text": row.text[0] if len(row.text or []) == 1 else list(row.text or []),
        "generator": row.generator, "generator_note": row.generator_note, "model": row.model,
        "angle": row.angle, "tokens_in": row.tokens_in, "tokens_out": row.tokens_out, "cost_usd": row.cost_usd,
        "platform_id": row.platform_id, "platform_url": row.platform_url, "error": row.error,
        "attempts": row.attempts, "created_at": _iso(row.created_at), "published_at": _iso(row.published_at),
        "found_by": row.found_by, "last_sent_at": _iso(row.last_sent_at), "eligible_at": _iso(row.eligible_at),
        "waiting_for": _waiting_for(row) if row.status in ("unconfirmed", "pending") else None,
    }


WAIT_REASONS = {
    "lag": "the platform to show it (indexing lag); sent again after the grace period only if still missing",
    "lookup": "a lookup that can finish (the last one failed); never re-sent before one does",
    "scope": "the grace period; then the identical post is sent again and a repeat refusal names the first",
    "exists": "a lookup to show the post a repeat refusal says exists",
    "person": "a person: check the platform, then `citecast ledger resolve`",
}


def _waiting_for(row) -> str:
    if row.status == "pending":
        return "the run that holds it (or its lease to run out, then the next run settles it)"
    return WAIT_REASONS.get(row.wait_reason or "", "the next run's lookup")


def _eligible(row) -> str:
    """When the next run may act on an unconfirmed event, in words."""
    from datetime import datetime, timezone

    if row.status == "pending":
        return "when its run ends"
    if row.eligible_at is None:
        return "only by hand" if row.wait_reason == "person" else "next run (lookup only)"
    at = row.eligible_at if row.eligible_at.tzinfo else row.eligible_at.replace(tzinfo=timezone.utc)
    return "now (next run)" if at <= datetime.now(timezone.utc) else at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(ts) -> str | None:
    from datetime import timezone

    if ts is None:
        return None
    return (ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)).isoformat()


def _where(row) -> str:
    waiting = row.status in ("failed", "rejected", "unconfirmed", "pending")
    return (row.error if waiting else row.platform_url) or ""


def _print_events(rows, title: str) -> None:
    """A table on a terminal; in a log, one line per event with nothing cut."""
    if not to_terminal():
        for r in rows:
            echo(f"{r.id} {r.slot} {r.page} {r.channel} {r.status} {r.generator} {r.angle or '-'} "
                 f"{r.tokens_in}/{r.tokens_out} ${r.cost_usd:.4f}" + (f": {_where(r)}" if _where(r) else ""))
        return
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for col in ("id", "week", "page", "channel", "status", "generator", "angle", "tokens in/out", "cost", "where / error"):
        table.add_column(col, overflow="fold", justify="right" if col in ("tokens in/out", "cost") else "left")
    for r in rows:
        table.add_row(str(r.id), r.slot, r.page, r.channel, r.status, r.generator, r.angle or "",
                      f"{r.tokens_in:,}/{r.tokens_out:,}", f"${r.cost_usd:.4f}", escape(_where(r)))
    console().print(table)


@ledger_app.command("costs")
def ledger_costs(as_json: bool = typer.Option(False, "--json", help="Print the sums as JSON.")):
    """LLM tokens and cost of the drafts, summed per week, page and channel."""
    settings = load_settings()
    ledger = open_ledger(settings, must_exist=True)
    sums = {} if ledger is None else {by: ledger.cost_totals(by) for by in ("slot", "page", "channel")}
    if ledger is not None:
        ledger.close()
    if as_json:
        print(json.dumps(sums, indent=2))
        return
    if not sums or not sums["slot"]:
        console().print("No events yet: run `citecast run`.")
        return
    for by, title in (("slot", "week"), ("page", "page"), ("channel", "channel")):
        _print_costs(title, sums[by])


def _print_costs(title: str, rows: list[dict]) -> None:
    from citecast.words import count

    if not to_terminal():
        for row in rows:
            echo(f"{title} {row['key']}: {count(row['posts'], 'post')}, {count(row['tokens_in'], 'token')} in, "
                 f"{row['tokens_out']:,} out, ${row['cost_usd']:.4f}")
        return
    from rich.table import Table

    table = Table(title=f"LLM cost per {title}", header_style="bold")
    for col in (title, "posts", "tokens in", "tokens out", "cost"):
        table.add_column(col, justify="left" if col == title else "right", overflow="fold")
    for row in rows:
        table.add_row(escape(row["key"]), str(row["posts"]), f"{row['tokens_in']:,}", f"{row['tokens_out']:,}",
                      f"${row['cost_usd']:.4f}")
    console().print(table)


def _print_open(rows) -> None:
    """Open events with when the next run may act and what each waits for; a line each in a log."""
    if not to_terminal():
        for r in rows:
            echo(f"{r.id} {r.slot} {r.page} {r.channel} {r.status}: eligible {_eligible(r)}; waiting for "
                 f"{_waiting_for(r)}" + (f"; last error: {r.error}" if r.error else ""))
        return
    from rich.table import Table

    table = Table(title="Posts whose outcome is not known yet", header_style="bold")
    for col in ("id", "week", "page", "channel", "status", "eligible", "waiting for", "last error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r.id), r.slot, r.page, r.channel, r.status, _eligible(r), escape(_waiting_for(r)),
                      escape(r.error or ""))
    console().print(table)


@ledger_app.callback()
def ledger_list(
    ctx: typer.Context,
    week: Optional[str] = typer.Option(None, help="Only this ISO week, like 2026-W48."),
    page: Optional[str] = typer.Option(None, help="Only this page (slug)."),
    channel: Optional[str] = typer.Option(None, help="Only this channel."),
    status: list[Status] = typer.Option([], help="Only these statuses; repeatable."),
    limit: int = typer.Option(200, help="At most this many events, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print the events as one JSON array."),
):
    """List distribution events, newest first."""
    if ctx.invoked_subcommand:
        return
    refuse_channels("--channel", [channel] if channel else [])
    settings = load_settings()
    ledger = open_ledger(settings, must_exist=True)
    rows = []
    if ledger is not None:
        try:
            rows = ledger.events(slot=week, page=page, channel=channel, status=[s.value for s in status] or None,
                                 limit=limit)
            if page and not rows:
                known = {r.page for r in ledger.events()}
                if page not in known:
                    refuse("--page", page, known, "page")
        finally:
            ledger.close()
    if as_json:
        print(json.dumps([_event_dict(r) for r in rows], indent=2, ensure_ascii=False))
    elif rows:
        _print_events(rows, "Distribution events")
    else:
        console().print("No events yet: run `citecast run`." if not (week or page or channel or status)
                        else "No events match.")


@ledger_app.command("pending")
def ledger_pending(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")):
    """Events whose outcome is unknown and wait for a person (or the next run's lookup)."""
    settings = load_settings()
    ledger = open_ledger(settings, must_exist=True)
    rows = [] if ledger is None else ledger.open_events()
    if ledger is not None:
        ledger.close()
    if as_json:
        print(json.dumps([_event_dict(r) for r in rows], indent=2, ensure_ascii=False))
    elif rows:
        _print_open(rows)
        console().print("Runs settle these on their own; to decide one by hand: "
                        "citecast ledger resolve ID --posted URL | --not-posted", soft_wrap=True)
    else:
        console().print("Nothing is waiting.")


@ledger_app.command("resolve")
def ledger_resolve(
    event_id: int = typer.Argument(..., help="The event id from `citecast ledger pending`."),
    posted: Optional[str] = typer.Option(None, "--posted", help="It is on the platform: its URL."),
    not_posted: bool = typer.Option(False, "--not-posted", help="It is not on the platform: the next run posts it."),
):
    """Settle an unconfirmed event after checking the platform by hand."""
    if bool(posted) == not_posted:
        fail("Give exactly one of --posted URL or --not-posted.")
    settings = load_settings()
    ledger = open_ledger(settings)
    try:
        row = ledger.get(event_id)
        if row is None or row.status not in ("unconfirmed", "pending"):
            fail(f"Event {event_id} is not waiting for a decision (see `citecast ledger pending`).", code=1)
        if posted:
            ledger.finish(event_id, "published", platform_url=posted, found_by="by hand", error=None)
        else:
            ledger.finish(event_id, "failed", error="not on the platform (resolved by hand); the next run re-posts")
    finally:
        ledger.close()
    console().print(f"Event {event_id}: {'published' if posted else 'released for the next run'}.")
