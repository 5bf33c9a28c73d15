"""The `citecast` command. Heavy imports (Prefect, SDKs) happen inside the commands that need them."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(
    help="Distribution-first content pipeline: canonical pages to platform-native posts, with citation tracking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ledger_app = typer.Typer(help="The distribution log: list events, see and settle the ones waiting for a person.",
                         invoke_without_command=True)
app.add_typer(ledger_app, name="ledger")
console = Console()
err = Console(stderr=True)


class Status(str, Enum):
    pending = "pending"
    published = "published"
    dry_run = "dry_run"
    failed = "failed"
    rejected = "rejected"
    unconfirmed = "unconfirmed"


def _settings():
    from citecast.settings import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2)


def _ledger(settings, must_exist: bool = False):
    from citecast.ledger import Ledger

    url = settings.ledger_url
    if must_exist and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return Ledger(url)


@app.command()
def check(
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON for scripts."),
    strict: bool = typer.Option(False, help="Treat warnings (weak pages) as errors."),
):
    """Check every page in content/ and the channel templates; exit 1 on errors."""
    from citecast.distribution.checking import check_all

    settings = _settings()
    ledger = _ledger(settings, must_exist=True)
    try:
        result = check_all(settings, ledger)
    finally:
        if ledger is not None:
            ledger.close()
    failing = result.errors + (result.warnings if strict else [])
    if as_json:
        print(json.dumps({"pages": result.pages, "files": result.files, "site": result.site,
                          "problems": [p.as_dict() for p in result.problems]}, indent=2))
        raise typer.Exit(1 if failing else 0)
    if result.site:
        console.print(escape(result.site))
    if result.problems:
        table = Table(show_header=True, header_style="bold", expand=False)
        for col in ("file", "", "field", "problem", "how to fix"):
            table.add_column(col, overflow="fold")
        marks = {"error": "[red]error[/red]", "warning": "[yellow]warn[/yellow]", "info": "[blue]info[/blue]"}
        for p in sorted(result.problems, key=lambda p: p.severity == "info"):  # what to fix first
            mark = marks[p.severity]
            where = p.file + (f":{p.line}" if p.line else "")
            table.add_row(escape(where), mark, escape(p.field or ""), escape(p.message), escape(p.fix))
        console.print(table)
    colour = "red" if result.errors else "green"
    skipped = f", {len(result.skipped)} not published by the site" if result.skipped else ""
    console.print(f"[{colour}]{result.pages} of {result.files} page(s) OK; "
                  f"{len(result.errors)} error(s), {len(result.warnings)} warning(s){skipped}[/{colour}]")
    raise typer.Exit(1 if failing else 0)


@app.command()
def run(
    page: list[str] = typer.Option([], "--page", "-p", help="Only this page (slug); repeatable."),
    channel: list[str] = typer.Option([], "--channel", "-c", help="Only this channel; repeatable."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Write posts to the outbox instead of publishing."),
    week: Optional[str] = typer.Option(None, help="ISO week to run for, like 2026-W48 (default: this week)."),
    force: bool = typer.Option(False, help="Post again even where already distributed this week."),
    local: bool = typer.Option(False, "--local", help="Run the steps in this process without Prefect."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show Prefect's logs."),
):
    """Run the weekly distribution: pick due pages, draft, publish, log."""
    from citecast.distribution import run as pipeline
    from citecast.settings import ConfigError

    settings = _settings()
    try:  # a missing key or an unreachable LLM server: one line and exit 2, before anything starts
        pipeline.check_drafter(settings)
    except ConfigError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2)
    options = pipeline.RunOptions(pages=page or None, channels=channel or None, dry_run=dry_run, week=week, force=force)
    progress = _Progress(enabled=not as_json)
    stop_listening = pipeline.listen(progress.update)
    try:
        if local:
            report = pipeline.run_week(settings, options)
            summary = None
        else:
            summary = _run_flow(options, verbose, progress)
            report = None
    except ValueError as exc:  # a malformed --week and the like
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2)
    finally:
        stop_listening()
        progress.close()
    if report is not None:
        from citecast.distribution.summary import summary_dict

        summary = summary_dict(report)
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary)
    bad = summary["counts"].get("failed", 0) + summary["counts"].get("unconfirmed", 0)
    raise typer.Exit(1 if bad else 0)


def _prefect_env(verbose: bool) -> None:
    # A new user's first run is Prefect's first start on a fresh database, which
    # takes longer than Prefect's default 20 s start-up timeout on small machines.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")
    # The temporary server lives for one run; it has no business phoning home
    # (and on offline machines its failed attempts print errors).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")


def _run_flow(options, verbose: bool, progress: "_Progress") -> dict:
    _prefect_env(verbose)
    if not os.environ.get("PREFECT_API_URL"):
        progress.status("Starting Prefect (a temporary local server; the very first start takes up to a minute)…")
    from citecast.flows.distribute import weekly_distribution

    return weekly_distribution(
        pages=options.pages, channels=options.channels, dry_run=options.dry_run, week=options.week, force=options.force
    )


class _Progress:
    """A Rich spinner and a line per post as outcomes arrive."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and console.is_terminal
        self._status = None

    def status(self, text: str) -> None:
        if not self.enabled:
            return
        if self._status is None:
            self._status = console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def update(self, outcome) -> None:
        if self.enabled:
            self.status(f"{outcome.page} on {outcome.channel}: {outcome.status}")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()


def _print_summary(summary: dict) -> None:
    """One row per page, one column per channel: what went where."""
    from citecast.distribution.summary import ICON

    posts = summary["posts"]
    channels = sorted({p["channel"] for p in posts})
    table = Table(title=f"Week {summary['week']}", header_style="bold")
    table.add_column("page", overflow="fold")
    for ch in channels:
        table.add_column(ch, no_wrap=True)
    cells: dict[str, dict[str, str]] = {}
    for p in posts:
        cells.setdefault(p["page"], {})[p["channel"]] = f"{ICON.get(p['status'], '')} {p['status'].replace('_', ' ')}"
    for page in sorted(cells):
        table.add_row(page, *(cells[page].get(ch, "") for ch in channels))
    if posts:
        console.print(table)
    else:
        console.print(f"Nothing due in week {summary['week']}.")
    for p in posts:
        if p["status"] in ("failed", "rejected", "unconfirmed") and p["detail"]:
            console.print(f"[yellow]{p['page']} on {p['channel']}: {escape(p['detail'])}[/yellow]")
        elif p["status"] == "published" and p["platform_url"]:
            console.print(f"{p['page']} on {p['channel']}: {escape(p['platform_url'])}")
    for name, info in summary.get("channels", {}).items():
        if not info["live"] and info["why"] != "dry run requested":
            console.print(f"[dim]{name}: dry run to the outbox — {escape(info['why'])}[/dim]")
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(summary["counts"].items())) or "no posts"
    console.print(f"[bold]{counts}[/bold]")
    llm = summary.get("llm", {})
    fallbacks = llm.get("generators", {}).get("fallback", 0)
    if fallbacks:
        console.print(f"[yellow]{fallbacks} post(s) written by the offline fallback, not the LLM: "
                      "`citecast ledger --json` shows why (generator_note)[/yellow]")
    if llm.get("tokens_in") or llm.get("tokens_out"):
        by = ", ".join(f"{n} {g}" for g, n in sorted(llm["generators"].items()))
        console.print(f"LLM: {llm['tokens_in']:,} tokens in, {llm['tokens_out']:,} out, ~${llm['cost_usd']:.4f} ({by})")
    errors = [p for p in summary["problems"] if ": error: " in p]
    if errors:
        console.print(f"[yellow]{len(errors)} page problem(s) skipped those pages:[/yellow]")
        for p in errors:
            console.print(f"  {escape(p)}")
    console.print(f"Outbox: {_relative(summary['outbox'])}    Ledger: {summary['ledger']}")


def _relative(path: str, base: str | None = None) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(base or Path.cwd()).resolve()))
    except ValueError:
        return path


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


def _events_table(rows, title: str) -> None:
    table = Table(title=title, header_style="bold")
    for col in ("id", "week", "page", "channel", "status", "generator", "angle", "tokens in/out", "cost", "where / error"):
        table.add_column(col, overflow="fold", justify="right" if col in ("tokens in/out", "cost") else "left")
    for r in rows:
        table.add_row(str(r.id), r.slot, r.page, r.channel, r.status, r.generator, r.angle or "",
                      f"{r.tokens_in:,}/{r.tokens_out:,}", f"${r.cost_usd:.4f}",
                      escape(r.error or "") if r.status in ("failed", "rejected", "unconfirmed", "pending") else escape(r.platform_url or ""))
    console.print(table)


@ledger_app.command("costs")
def ledger_costs(as_json: bool = typer.Option(False, "--json", help="Print the sums as JSON.")):
    """LLM tokens and cost of the drafts, summed per week, page and channel."""
    settings = _settings()
    ledger = _ledger(settings, must_exist=True)
    sums = {} if ledger is None else {by: ledger.cost_totals(by) for by in ("slot", "page", "channel")}
    if ledger is not None:
        ledger.close()
    if as_json:
        print(json.dumps(sums, indent=2))
        return
    if not sums or not sums["slot"]:
        console.print("No events yet: run `citecast run`.")
        return
    for by, title in (("slot", "week"), ("page", "page"), ("channel", "channel")):
        table = Table(title=f"LLM cost per {title}", header_style="bold")
        for col in (title, "posts", "tokens in", "tokens out", "cost"):
            table.add_column(col, justify="left" if col == title else "right", overflow="fold")
        for row in sums[by]:
            table.add_row(escape(row["key"]), str(row["posts"]), f"{row['tokens_in']:,}", f"{row['tokens_out']:,}",
                          f"${row['cost_usd']:.4f}")
        console.print(table)


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
    settings = _settings()
    ledger = _ledger(settings, must_exist=True)
    rows = [] if ledger is None else ledger.events(slot=week, page=page, channel=channel,
                                                   status=[s.value for s in status] or None, limit=limit)
    if ledger is not None:
        ledger.close()
    if as_json:
        print(json.dumps([_event_dict(r) for r in rows], indent=2, ensure_ascii=False))
    elif rows:
        _events_table(rows, "Distribution events")
    else:
        console.print("No events yet: run `citecast run`.")


@ledger_app.command("pending")
def ledger_pending(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")):
    """Events whose outcome is unknown and wait for a person (or the next run's lookup)."""
    settings = _settings()
    ledger = _ledger(settings, must_exist=True)
    rows = [] if ledger is None else ledger.open_events()
    if ledger is not None:
        ledger.close()
    if as_json:
        print(json.dumps([_event_dict(r) for r in rows], indent=2, ensure_ascii=False))
    elif rows:
        table = Table(title="Posts whose outcome is not known yet", header_style="bold")
        for col in ("id", "week", "page", "channel", "status", "eligible", "waiting for", "last error"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(str(r.id), r.slot, r.page, r.channel, r.status, _eligible(r), _waiting_for(r),
                          escape(r.error or ""))
        console.print(table)
        console.print("Runs settle these on their own; to decide one by hand: "
                      "citecast ledger resolve ID --posted URL | --not-posted")
    else:
        console.print("Nothing is waiting.")


@ledger_app.command("resolve")
def ledger_resolve(
    event_id: int = typer.Argument(..., help="The event id from `citecast ledger pending`."),
    posted: Optional[str] = typer.Option(None, "--posted", help="It is on the platform: its URL."),
    not_posted: bool = typer.Option(False, "--not-posted", help="It is not on the platform: the next run posts it."),
):
    """Settle an unconfirmed event after checking the platform by hand."""
    if bool(posted) == not_posted:
        err.print("[red]Give exactly one of --posted URL or --not-posted.[/red]")
        raise typer.Exit(2)
    settings = _settings()
    ledger = _ledger(settings)
    try:
        row = ledger.get(event_id)
        if row is None or row.status not in ("unconfirmed", "pending"):
            err.print(f"[red]Event {event_id} is not waiting for a decision (see `citecast ledger pending`).[/red]")
            raise typer.Exit(1)
        if posted:
            ledger.finish(event_id, "published", platform_url=posted, error=None)
        else:
            ledger.finish(event_id, "failed", error="not on the platform (resolved by hand); the next run re-posts")
    finally:
        ledger.close()
    console.print(f"Event {event_id}: {'published' if posted else 'released for the next run'}.")


@app.command("channels")
def channels_cmd():
    """Which channels are live, which are dry runs, and why."""
    from citecast import channels as registry
    from citecast.settings import KNOWN_CHANNELS

    settings = _settings()
    table = Table(header_style="bold")
    for col in ("channel", "mode", "why", "a post whose outcome is unknown"):
        table.add_column(col, overflow="fold")
    used = set(settings.distribution.channels)
    for name in KNOWN_CHANNELS:
        r = registry.resolve(name, settings.channel_options(name), settings.path("outbox"))
        mode = "[green]live[/green]" if r.live else "[yellow]dry run[/yellow]"
        # Live: with the credentials and scopes it has (LinkedIn asks the platform); dry run: once live.
        settles = r.channel.describe_reconcile() if r.live else "once live: " + type(r.channel.stands_for).reconcile_note
        grace = r.channel.grace_period.total_seconds() if r.live else type(r.channel.stands_for).grace.total_seconds()
        table.add_row(name + ("" if name in used else " (not in distribution.channels)"), mode, escape(r.reason),
                      escape(f"{settles} (grace {grace:.0f} s)"))
    console.print(table)


@app.command()
def serve():
    """Serve the deployments (weekly distribution and friends) from this one process."""
    _prefect_env(verbose=True)
    from citecast.flows.serve import serve_all

    serve_all(_settings())


def _register_extensions() -> None:
    from citecast.cli.citations import register as citations
    from citecast.cli.cohorts import register as cohorts
    from citecast.cli.queries import register as queries

    citations(app)
    queries(app)
    cohorts(app)
    try:
        from citecast.cli.preview import register as preview
    except ImportError:
        return
    preview(app)


_register_extensions()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)


if __name__ == "__main__":
    main()
