"""`citecast check`: every page and channel template, as a table on a terminal and as lines in a log."""

from __future__ import annotations

import json

import typer

from citecast.cli.common import console, echo, escape, load_settings, open_ledger, relative, to_terminal


def register(app: typer.Typer) -> None:
    app.command()(check)


def check(
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON for scripts."),
    strict: bool = typer.Option(False, help="Treat warnings (weak pages) as errors."),
    verify_urls: bool = typer.Option(False, "--verify-urls",
                                     help="Request every canonical URL and report 404s and redirects (uses the network)."),
):
    """Check every page in content/ and the channel templates; exit 1 on errors.

    On a terminal the problems are a table; piped or redirected, one line each
    (`path:line: error: field: message (fix: ...)`), never cut, like ruff or mypy.
    """
    from citecast.distribution.checking import check_all

    settings = load_settings()
    ledger = open_ledger(settings, must_exist=True)
    try:
        result = check_all(settings, ledger, verify_urls=verify_urls)
    finally:
        if ledger is not None:
            ledger.close()
    failing = result.errors + (result.warnings if strict else [])
    if as_json:
        print(json.dumps({"pages": result.pages, "files": result.files, "site": result.site,
                          "problems": [p.as_dict() for p in result.problems]}, indent=2))
    elif to_terminal():
        _print_table(result, settings.root)
    else:
        if result.site:
            echo(result.site)
        for problem in _fix_first(result.problems):
            echo(problem.as_line(relative(settings.root / problem.file)))
        echo(_totals(result))
    raise typer.Exit(1 if failing else 0)


def _totals(result) -> str:
    from citecast.words import count

    skipped = f", {len(result.skipped)} not published by the site" if result.skipped else ""
    return (f"{result.pages} of {count(result.files, 'page')} OK; "
            f"{count(len(result.errors), 'error')}, {count(len(result.warnings), 'warning')}{skipped}")


def _fix_first(problems):
    """Errors and warnings before the notes (`info`: pages the site does not publish)."""
    return sorted(problems, key=lambda p: p.severity == "info")


def _print_table(result, root) -> None:
    from rich.table import Table

    if result.site:
        console().print(escape(result.site))
    if result.problems:
        table = Table(show_header=True, header_style="bold", expand=False)
        for col in ("file", "", "field", "problem", "how to fix"):
            table.add_column(col, overflow="fold")
        marks = {"error": "[red]error[/red]", "warning": "[yellow]warn[/yellow]", "info": "[blue]info[/blue]"}
        for p in _fix_first(result.problems):
            mark = marks[p.severity]
            where = relative(root / p.file) + (f":{p.line}" if p.line else "")
            table.add_row(escape(where), mark, escape(p.field or ""), escape(p.message), escape(p.fix))
        console().print(table)
    colour = "red" if result.errors else "green"
    console().print(f"[{colour}]{escape(_totals(result))}[/{colour}]")
