"""`citecast run`: the weekly distribution, through Prefect or (`--local`) in this process."""

from __future__ import annotations

import json
import os
from typing import Optional

import typer

from citecast.cli.common import console, escape, fail, load_settings, refuse_channels, refuse_unknown, relative, to_terminal


def register(app: typer.Typer) -> None:
    app.command()(run)


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

    settings = load_settings()
    try:  # a missing key or an unreachable LLM server: one line and exit 2, before anything starts
        pipeline.check_drafter(settings)
    except ConfigError as exc:
        fail(str(exc))
    refuse_channels("--channel", channel)
    if page:
        _refuse_unknown_pages(settings, page)
    if week:
        from citecast.distribution.form import check_week

        try:
            week = check_week(week)  # a malformed --week fails before Prefect starts, in the form's words
        except ValueError as exc:
            fail(f"--week: {exc}")
    options = pipeline.RunOptions(pages=page or None, channels=channel or None, dry_run=dry_run, week=week, force=force)
    try:  # the command line is good: a ledger nothing answers at is one line too, before Prefect starts
        pipeline.open_ledger(settings).close()
    except ConfigError as exc:
        fail(str(exc))
    progress = _Progress(enabled=not as_json)
    stop_listening = pipeline.listen(progress.update)
    try:
        summary = _run_here(settings, options) if local else _run_flow(options, verbose, progress)
    except ValueError as exc:  # a malformed --week and the like
        fail(str(exc))
    finally:
        stop_listening()
        progress.close()
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        _print_summary(summary)
    bad = summary["counts"].get("failed", 0) + summary["counts"].get("unconfirmed", 0)
    raise typer.Exit(1 if bad else 0)


def _refuse_unknown_pages(settings, slugs: list[str]) -> None:
    """Exit 2 for a --page that names no page of the library (a typo would otherwise run nothing)."""
    from citecast.pages.loading import load_library

    library = load_library(settings, keep_text=False)
    known = {p.slug for p in library.pages}
    broken = {p.file for p in library.errors}
    for slug in slugs:
        if slug not in known:
            failed = [f for f in broken if slug in f]
            if failed:
                fail(f"--page: {slug!r} has errors, fix them first: {', '.join(sorted(failed))} "
                     "(`citecast check` shows them)")
    refuse_unknown("--page", slugs, known, "page")


def _run_here(settings, options) -> dict:
    from citecast.distribution.run import run_week
    from citecast.distribution.summary import summary_dict

    return summary_dict(run_week(settings, options))


def prefect_env(verbose: bool) -> None:
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
    prefect_env(verbose)
    if not os.environ.get("PREFECT_API_URL"):
        progress.status("Starting Prefect (a temporary local server; the very first start takes up to a minute)…")
    from citecast.distribution.form import ALL_DUE, AS_CONFIGURED, THIS_WEEK
    from citecast.flows.distribute import weekly_distribution  # `run` checked --week before Prefect starts

    return weekly_distribution(
        pages=options.pages or [ALL_DUE], channels=options.channels or [AS_CONFIGURED], dry_run=options.dry_run,
        week=options.week or THIS_WEEK, force=options.force,
    )


class _Progress:
    """A Rich spinner and a line per post as outcomes arrive (on a terminal only)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and to_terminal()
        self._status = None

    def status(self, text: str) -> None:
        if not self.enabled:
            return
        if self._status is None:
            self._status = console().status(text)
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
    """What went where: a table on a terminal, one line per post in a log; then the notes."""
    posts = summary["posts"]
    if not posts:
        console().print(f"Nothing due in week {summary['week']}.")
    elif to_terminal():
        _posts_table(summary)
    else:
        for p in sorted(posts, key=lambda p: (p["page"], p["channel"])):
            where = p["platform_url"] or p["detail"] or ""
            console().print(escape(f"{p['page']} on {p['channel']}: {p['status'].replace('_', ' ')}"
                                   + (f": {where}" if where else "")), soft_wrap=True, highlight=False)
    _print_notes(summary, details=to_terminal())


def _posts_table(summary: dict) -> None:
    from rich.table import Table

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
    console().print(table)


def _print_notes(summary: dict, details: bool) -> None:
    """Failures and links (when the table did not already give them), the counts, LLM use, skipped pages."""
    from citecast.words import count, plural

    out = console()
    for p in summary["posts"] if details else []:
        if p["status"] in ("failed", "rejected", "unconfirmed") and p["detail"]:
            out.print(f"[yellow]{p['page']} on {p['channel']}: {escape(p['detail'])}[/yellow]", soft_wrap=True)
        elif p["status"] == "published" and p["platform_url"]:
            out.print(f"{p['page']} on {p['channel']}: {escape(p['platform_url'])}", soft_wrap=True)
    for name, info in summary.get("channels", {}).items():
        if not info["live"] and info["why"] != "dry run requested":
            out.print(f"[dim]{name}: dry run to the outbox — {escape(info['why'])}[/dim]", soft_wrap=True)
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(summary["counts"].items())) or "no posts"
    out.print(f"[bold]{counts}[/bold]")
    llm = summary.get("llm", {})
    fallbacks = llm.get("generators", {}).get("fallback", 0)
    if fallbacks:
        out.print(f"[yellow]{count(fallbacks, 'post')} written by the offline fallback, not the LLM: "
                  "`citecast ledger --json` shows why (generator_note)[/yellow]", soft_wrap=True)
    if llm.get("tokens_in") or llm.get("tokens_out"):
        by = ", ".join(f"{n} {g}" for g, n in sorted(llm["generators"].items()))
        out.print(f"LLM: {llm['tokens_in']:,} {plural('token', llm['tokens_in'])} in, {llm['tokens_out']:,} out, "
                  f"~${llm['cost_usd']:.4f} ({by})", soft_wrap=True)
    errors = [p for p in summary["problems"] if ": error: " in p]
    if errors:
        out.print(f"[yellow]{count(len(errors), 'page problem')} skipped those pages:[/yellow]")
        for p in errors:
            out.print(f"  {escape(p)}", soft_wrap=True, highlight=False)
    out.print(f"Outbox: {relative(summary['outbox'])}    Ledger: {summary['ledger']}", soft_wrap=True)

