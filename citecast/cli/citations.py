"""CLI commands for citations: `probe`, `report`, `import citations FILE`, `import backlinks FILE`.

Heavy imports (openai, matplotlib, prefect, SQLAlchemy models) stay inside the
commands so `citecast --help` stays fast.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

import typer

from citecast.cli.common import load_settings, refuse_unknown



def _topics(settings) -> set[str]:
    """The topics of the tracked queries (pages' `queries:` and the queries folder)."""
    from citecast.citations.model import load_pages, open_ledger, resolve, tracked_queries

    ledger = open_ledger(settings)
    try:
        return {q.topic for q in tracked_queries(load_pages(settings, ledger),
                                                 resolve(settings, settings.citations.queries_dir))}
    finally:
        ledger.close()


def _when(text: str | None, option: str) -> datetime | None:
    if not text:
        return None
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (use YYYY-MM-DD)", param_hint=option)
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts


def register(app: typer.Typer) -> None:
    import_app = typer.Typer(help="Import citation or backlink exports (CSV/TSV) and server access logs into the ledger.",
                             no_args_is_help=True)

    @app.command()
    def probe(
        engine: List[str] = typer.Option([], "--engine", "-e", help="Engine name from [citations.engines]; repeat. Default: all enabled."),
        samples: Optional[int] = typer.Option(None, "--samples", "-n", min=1, help="Answers per query and engine (default: citations.samples)."),
        topic: Optional[str] = typer.Option(None, "--topic", help="Only the queries of this topic."),
        query: Optional[str] = typer.Option(None, "--query", "-q", help="Ask this one query."),
    ) -> None:
        """Ask AI answer engines the tracked queries and log which URLs they cite."""
        from citecast.citations.probe import NoUsableEngine, run_probe

        settings = load_settings()
        refuse_unknown("--engine", engine, settings.citations.engines, "engine")
        if topic and not query:  # with --query, --topic files that one query: any topic will do
            refuse_unknown("--topic", [topic], _topics(settings), "topic")
        try:
            result = run_probe(settings, engine_names=engine or None, samples=samples, topic=topic, query=query)
        except NoUsableEngine as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1)
        typer.echo(result.summary())
        if result.failures:
            raise typer.Exit(1)

    @app.command()
    def report(
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for citations.html and csv/ (default: citations.report_dir)."),
        since: Optional[str] = typer.Option(None, help="First day of answers to count (YYYY-MM-DD)."),
        until: Optional[str] = typer.Option(None, help="Day after the last one to count (YYYY-MM-DD)."),
        markdown: bool = typer.Option(False, "--markdown", help="Also print the markdown summary."),
        power: bool = typer.Option(False, "--power", help="Only say how many pages and weeks a lift needs (writes nothing)."),
        lift: Optional[float] = typer.Option(None, "--lift", help="With --power: the lift in citation rate, as a fraction (0.10 = 10 points; default citations.min_effect)."),
    ) -> None:
        """Write the citation report: HTML with charts, CSV files, and a summary."""
        from citecast.citations.report import run_report

        if lift is not None and not power:
            raise typer.BadParameter("--lift goes with --power", param_hint="--lift")
        if lift is not None and not 0 < lift < 1:
            raise typer.BadParameter(f"{lift:g} is not a lift in citation rate: write a fraction between 0 and 1 "
                                     "(0.10 = 10 points)", param_hint="--lift")
        if power:
            written = run_report(load_settings(), since=_when(since, "--since"), until=_when(until, "--until"),
                                 html_report=False, csv_files=False, power_lift=lift)
            _print_power(written.report.tables["power"])
            return
        written = run_report(load_settings(), out=out, since=_when(since, "--since"), until=_when(until, "--until"))
        for line in written.report.verdict_lines():
            typer.echo(line)
        typer.echo(f"wrote {written.html} and {len(written.csv)} CSV files in {written.csv[0].parent if written.csv else '-'}")
        if markdown:
            typer.echo(written.markdown)

    _register_imports(import_app)
    from citecast.cli.logs import register as register_logs, register_import as register_log_import

    from citecast.cli.funnel import register as register_funnel, register_engagement

    register_log_import(import_app)
    register_logs(app)
    register_funnel(app)
    register_engagement(app)
    app.add_typer(import_app, name="import")


DATE_FORMAT_HELP = "strptime format of the dates when day and month could be either way round, e.g. '%d/%m/%Y'."


def _register_imports(import_app: typer.Typer) -> None:
    @import_app.command("citations")
    def import_citations_cmd(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or TSV export."),
        preset: str = typer.Option("auto", help="Column names: auto, citecast, superlines."),
        map_: List[str] = typer.Option([], "--map", help="field=Header; fields: date, engine, prompt, url, position, topic, title, brand_mentioned, answer_id, surface, country."),
        engine: Optional[str] = typer.Option(None, help="Engine for every row, when the file has no engine column."),
        surface: str = typer.Option("import", help="api | app | import: where the answers were seen."),
        topic: Optional[str] = typer.Option(None, help="Topic for prompts that belong to no page."),
        date_format: Optional[str] = typer.Option(None, "--date-format", help=DATE_FORMAT_HELP),
    ) -> None:
        """Import a citation-tracking export: date, engine, prompt, cited URL, position."""
        from citecast.citations.imports import CITATION_FIELDS, CITATION_PRESETS, import_citations

        refuse_unknown("--preset", [preset], ["auto", *CITATION_PRESETS], "preset")
        refuse_unknown("--surface", [surface], ["api", "app", "import"], "surface")
        _refuse_mapped_fields(map_, CITATION_FIELDS)
        _run_import(import_citations, file, map_, preset=preset, engine=engine, surface=surface, topic=topic,
                    date_format=date_format)

    @import_app.command("backlinks")
    def import_backlinks_cmd(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or TSV export."),
        preset: str = typer.Option("auto", help="Column names: auto, ahrefs, ahrefs-legacy, semrush, search-console."),
        map_: List[str] = typer.Option([], "--map", help="field=Header; fields: source_url, target_url, anchor, first_seen, last_seen, nofollow, follow, rel."),
        target: Optional[str] = typer.Option(None, help="Target URL for every row (Search Console exports per page)."),
        date_format: Optional[str] = typer.Option(None, "--date-format", help=DATE_FORMAT_HELP),
    ) -> None:
        """Import a backlink export: source URL, target URL, anchor, first seen, follow/nofollow."""
        from citecast.citations.imports import BACKLINK_FIELDS, BACKLINK_PRESETS, import_backlinks

        refuse_unknown("--preset", [preset], ["auto", *BACKLINK_PRESETS], "preset")
        _refuse_mapped_fields(map_, BACKLINK_FIELDS)
        _run_import(import_backlinks, file, map_, preset=preset, target=target, date_format=date_format)


def _print_power(table) -> None:
    typer.echo(table.title)
    if not table.rows:
        typer.echo(f"  {table.note}")
        return
    for r in table.as_dicts():
        typer.echo(f"  {r['weeks']:>3} weeks: {r['pages_per_arm']} pages per arm (sd of a page's rate {r['sd_page_rate']:.3f})")
    typer.echo(f"  {table.note}")


def _refuse_mapped_fields(map_: List[str], fields) -> None:
    """An unknown field in --map field=Header is a bad command line (exit 2, the nearest field), not a bad file."""
    refuse_unknown("--map", [item.partition("=")[0].strip() for item in map_], [f.name for f in fields], "field")


def _run_import(importer, file: Path, map_: List[str], **options) -> None:
    """Run one import in one transaction; a bad file prints what is wrong and changes nothing."""
    from citecast.citations.model import PageIndex, load_pages, open_ledger
    from citecast.citations.imports import ImportFailed, parse_mapping

    settings = load_settings()
    try:
        mapping = parse_mapping(map_)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--map")
    ledger = open_ledger(settings)
    try:
        from citecast.citations.copies import load_copies

        index = PageIndex(load_pages(settings, ledger), load_copies(ledger))
        result = importer(ledger, file, index, mapping=mapping, **options)
    except ImportFailed as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1)
    finally:
        ledger.close()
    typer.echo(result.summary())
