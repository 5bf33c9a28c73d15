"""`citecast channels` and `citecast serve`: which channels are live, and the deployments of this project."""

from __future__ import annotations

import typer

from citecast.cli.common import console, echo, escape, load_settings, to_terminal


def register(app: typer.Typer) -> None:
    app.command("channels")(channels_cmd)
    app.command()(serve)


def channels_cmd():
    """Which channels are live, which are dry runs, and why."""
    from citecast import channels as registry
    from citecast.settings import KNOWN_CHANNELS

    settings = load_settings()
    used = set(settings.distribution.channels)
    rows = []
    for name in KNOWN_CHANNELS:
        r = registry.resolve(name, settings.channel_options(name), settings.path("outbox"))
        # Live: with the credentials and scopes it has (LinkedIn asks the platform); dry run: once live.
        settles = r.channel.describe_reconcile() if r.live else "once live: " + type(r.channel.stands_for).reconcile_note
        grace = r.channel.grace_period.total_seconds() if r.live else type(r.channel.stands_for).grace.total_seconds()
        rows.append((name + ("" if name in used else " (not in distribution.channels)"), r.live, r.reason,
                     f"{settles} (grace {grace:.0f} s)"))
    if not to_terminal():
        for name, live, why, unknown in rows:
            echo(f"{name}: {'live' if live else 'dry run'}: {why}; a post whose outcome is unknown: {unknown}")
        return
    from rich.table import Table

    table = Table(header_style="bold")
    for col in ("channel", "mode", "why", "a post whose outcome is unknown"):
        table.add_column(col, overflow="fold")
    for name, live, why, unknown in rows:
        table.add_row(name, "[green]live[/green]" if live else "[yellow]dry run[/yellow]", escape(why), escape(unknown))
    console().print(table)


def serve():
    """Serve the deployments (weekly distribution and friends) from this one process."""
    from citecast.cli.run import prefect_env

    prefect_env(verbose=True)
    from citecast.flows.serve import serve_all

    serve_all(load_settings())
