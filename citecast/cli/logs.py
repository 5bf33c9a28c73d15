"""CLI for access logs: `import logs FILE...` and `logs refresh-agents` / `logs agents`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from citecast.cli.common import load_settings
from citecast.words import count


def register_import(import_app: typer.Typer) -> None:
    @import_app.command("logs")
    def import_logs_cmd(
        files: List[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Access logs, plain or .gz."),
        fmt: str = typer.Option("auto", "--format", help="auto | combined (nginx, Apache) | json | w3c (CloudFront, IIS)."),
        preset: Optional[str] = typer.Option(None, help="JSON field names: caddy | cloudflare."),
        map_: List[str] = typer.Option([], "--map", help="JSON field=path, e.g. uri=request.uri; fields: ip, time, method, host, uri, status, user_agent, referer."),
        ip_ranges: List[str] = typer.Option([], "--ip-ranges", help="AGENT=FILE of the operator's published ranges (gptbot.json, searchbot.json, chatgpt-user.json, perplexitybot.json, perplexity-user.json name themselves); repeat."),
    ) -> None:
        """Import AI-crawler fetches and AI referral visits on your pages from server access logs."""
        from citecast.citations.agents import AgentListError
        from citecast.citations.logs import LogImportFailed, LogOptions
        from citecast.citations.imports import parse_mapping
        from citecast.citations.model import open_ledger

        settings = load_settings()
        try:
            mapping = parse_mapping(map_)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--map")
        try:
            importer = _importer(settings, ip_ranges)
        except AgentListError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2)
        failed = 0
        try:
            for file in files:
                try:
                    result = importer.import_file(file, LogOptions(fmt=fmt, preset=preset, mapping=mapping))
                except LogImportFailed as exc:
                    failed += 1
                    typer.echo(str(exc), err=True)
                    continue
                typer.echo(result.summary())
        finally:
            importer.ledger.close()
        if failed:
            raise typer.Exit(1)


def _importer(settings, ip_specs: List[str]):
    """The importer for these settings: agent list, IP ranges, pages (with previous URLs) and the ledger."""
    from urllib.parse import urlsplit

    from citecast.citations.agents import Verifier, load_agents, range_spec
    from citecast.citations.logs import LogImporter, Matcher
    from citecast.citations.model import PageIndex, load_pages, open_ledger

    logs = settings.logs
    agents = load_agents(settings.path("state"), logs.agent_classes)
    specs = {agent: (path if path.is_absolute() else settings.root / path) for agent, path in logs.ip_ranges.items()}
    for spec in ip_specs:
        agent, path = range_spec(spec)
        specs[agent] = path
    verifier = Verifier.from_specs(specs, known=agents.agents)
    ledger = open_ledger(settings)
    import citecast.ledger.log_tables  # noqa: F401  (registers the tables)

    index = PageIndex(load_pages(settings, ledger))
    host = urlsplit(settings.site.base_url).hostname or "localhost"
    matcher = Matcher(agents, index, host, logs.referrers or None, logs.utm_sources or None)
    return LogImporter(ledger, matcher, verifier)


def register(app: typer.Typer) -> None:
    logs_app = typer.Typer(help="The AI agent list used by `citecast import logs`.", no_args_is_help=True)

    @logs_app.command("refresh-agents")
    def refresh_agents_cmd(
        url: Optional[str] = typer.Option(None, help="Where robots.json is (default: logs.agents_url)."),
        timeout: float = typer.Option(30.0, min=1, help="Seconds to wait for the download."),
    ) -> None:
        """Download the current ai.robots.txt agent list (robots.json) into the state folder."""
        from citecast.citations.agents import AgentListError, refresh_agents

        settings = load_settings()
        try:
            result = refresh_agents(settings.path("state"), url or settings.logs.agents_url, timeout)
        except AgentListError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1)
        typer.echo(result.summary())

    @logs_app.command("agents")
    def agents_cmd() -> None:
        """Show which agent list is in use and how many agents fall in each class."""
        from citecast.citations.agents import load_agents

        settings = load_settings()
        agents = load_agents(settings.path("state"), settings.logs.agent_classes)
        typer.echo(f"{count(len(agents), 'agent')} from {agents.source}")
        for klass, n in agents.classes().items():
            names = sorted((a.name for a in agents.agents.values() if a.klass == klass), key=str.lower)
            typer.echo(f"  {klass}: {n}  ({', '.join(names[:8])}{', ...' if n > 8 else ''})")

    app.add_typer(logs_app, name="logs")
