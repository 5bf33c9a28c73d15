"""`citecast funnel`: each page's way from post to AI citation and click, and where it stalls."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


# What the terminal shows of each table (the CSV files have every column): column -> label.
VIEWS = {
    "funnel": {"page": "page", "first_post": "posted", "interactions": "engaged", "days_to_search_fetch": "search fetch (d)",
               "days_to_user_fetch": "user fetch (d)", "days_to_training_fetch": "training fetch (d)",
               "days_to_citation": "cited (d)", "ai_clicks": "AI clicks", "stalled_at": "stalled at"},
    "funnel_cohorts": {"cohort": "cohort", "pages": "pages", "posted": "posted", "engaged": "engaged",
                       "fetched": "fetched", "cited": "cited", "clicked": "clicked",
                       "median_days_to_fetch": "median d to fetch", "median_days_to_citation": "median d to cite"},
    "copies_cited": None,
}


def register(app: typer.Typer) -> None:
    @app.command()
    def funnel(
        csv_dir: Optional[Path] = typer.Option(None, "--csv", help="Also write funnel.csv, funnel_cohorts.csv, "
                                               "copies_cited.csv and funnel_timeline.csv into this folder."),
        as_json: bool = typer.Option(False, "--json", help="Every funnel table, all columns, as JSON (for scripts)."),
    ) -> None:
        """Per page: first post, engagement, first AI-crawler fetch, first citation, AI clicks; the stalled stage."""
        from citecast.citations.funnel import funnel_for
        from citecast.citations.model import load_pages, open_ledger
        from citecast.citations.report.text import csv_value
        from citecast.cli.common import echo, load_settings
        from citecast.words import count

        settings = load_settings()
        ledger = open_ledger(settings)
        try:
            result = funnel_for(ledger, load_pages(settings, ledger))
        finally:
            ledger.close()
        if as_json:
            import json

            doc = {name: table.as_dicts() for name, table in result.tables.items()}
            doc["stalled"] = {f.page: f.stalled for f in result.pages}
            echo(json.dumps(doc, indent=2, default=str))
        else:
            _show(result)
        if csv_dir is not None:
            import csv

            csv_dir.mkdir(parents=True, exist_ok=True)
            for table in result.tables.values():
                with (csv_dir / f"{table.name}.csv").open("w", newline="", encoding="utf-8") as fh:
                    w = csv.writer(fh)
                    w.writerow(table.head)
                    w.writerows([[csv_value(v) for v in row] for row in table.rows])
            # with --json, stdout is the JSON alone
            typer.echo(f"wrote {count(len(result.tables), 'CSV file')} in {csv_dir}", err=as_json)


def _show(result) -> None:
    """The funnel's tables on a terminal; piped, one full line per row."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table as RichTable

    from citecast.citations.report.text import csv_value
    from citecast.cli.common import echo, to_terminal

    console = Console()
    tables = to_terminal()
    for name, columns in VIEWS.items():
        table = result.tables[name]
        if not table.rows:
            continue
        keep = [c for c in table.head if columns is None or c in columns]
        labels = [(columns or {}).get(col, col.replace("_", " ")) for col in keep]
        rows = [[str(csv_value(row[c])) for c in keep] for row in table.as_dicts()]
        if not tables:  # piped: one full line per row, as `citecast ledger` prints
            for row in rows:
                echo(f"{labels[0]} {row[0]}: " + ", ".join(f"{label} {value or '-'}"
                                                          for label, value in zip(labels[1:], row[1:])))
            continue
        out = RichTable(title=table.title, title_justify="left")
        for label in labels:
            out.add_column(label)
        for row in rows:
            out.add_row(*[escape(value) for value in row])
        console.print(out)
    for line in result.stalled_lines():
        if tables:
            console.print(f"stalled: {escape(line)}")
        else:
            echo(f"stalled: {line}")


def register_engagement(app: typer.Typer) -> None:
    @app.command()
    def engagement(
        now: bool = typer.Option(False, "--now", help="Snapshot every live post now, not only the due ones (+1, +7, +28 days)."),
        channel: list[str] = typer.Option([], "--channel", "-c", help="Only this channel; repeat."),
    ) -> None:
        """Read the platforms' own counts of your live posts back into the ledger (due snapshots, or --now)."""
        from citecast.citations.model import open_ledger
        from citecast.cli.common import load_settings
        from citecast.distribution.engagement import read_back
        from citecast.cli.common import refuse_channels

        refuse_channels("--channel", channel)
        settings = load_settings()
        ledger = open_ledger(settings)
        try:
            result = read_back(settings, ledger, on_demand=now, channels=channel or None)
        finally:
            ledger.close()
        typer.echo(result.summary())
        if result.failed:
            raise typer.Exit(1)
