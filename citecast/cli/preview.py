"""`citecast preview PAGE`: a page's drafts for every channel side by side, published nowhere."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape


def register(app: typer.Typer) -> None:
    app.command()(preview)


# long because: renders every channel side by side; to be split with the CLI work (issue 11)
def preview(
    page: str = typer.Argument(..., help="The page: its slug, or the path of its markdown file."),
    channel: list[str] = typer.Option([], "--channel", "-c", help="Only this channel; repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print the drafts as JSON for scripts."),
    width: Optional[int] = typer.Option(None, help="Column width (default: fit the terminal)."),
):
    """Draft a page for every channel and show the drafts side by side, each length against its limit; publishes nothing."""
    import json
    from pathlib import Path

    from rich.columns import Columns
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.text import Text

    from citecast import channels as registry
    from citecast.settings import ConfigError, load_settings
    from citecast.distribution.drafting import page_options
    from citecast.ledger import Ledger
    from citecast.pages.loading import load_library
    from citecast.distribution.run import make_drafter

    console, err = Console(), Console(stderr=True)
    try:
        settings = load_settings()
    except ConfigError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2)
    library = load_library(settings)
    wanted = Path(page).resolve() if page.endswith((".md", ".markdown")) else None
    found = next((p for p in library.pages if p.slug == page or (wanted and p.path.resolve() == wanted)), None)
    if found is None:
        bad = [p for p in library.errors if page in p.file]
        for problem in bad:
            err.print(f"[red]{escape(str(problem))}[/red]")
        if not bad:
            err.print(f"[red]no page {page!r}[/red]: give a slug or a file in {settings.path('content')} "
                      "(`citecast check` lists them)")
        raise typer.Exit(1)
    names = [c for c in found.channels if not channel or c in channel]
    if not names:
        err.print(f"[red]{found.slug} is not distributed on {', '.join(channel)}[/red]: it names {', '.join(found.channels)}")
        raise typer.Exit(1)
    # The outbox stands in for each platform: same limits and layout, and nothing can be sent.
    outbox = settings.path("outbox")
    chans = {n: registry.resolve(n, settings.channel_options(n), outbox, dry_run=True).channel for n in names}

    ledger = Ledger(settings.ledger_url)
    try:
        try:
            drafter = make_drafter(settings, ledger)
        except ConfigError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2)
        drafted = drafter.draft_pages([(found, chans)])[0]
    finally:
        ledger.close()

    rows = []
    for name in names:
        ch = chans[name]
        draft = drafted.drafts.get(name)
        if draft is None:
            rows.append({"channel": name, "error": drafted.errors.get(name, "no draft")})
            continue
        post = ch.render(draft, page_options(found, name, settings.channel_options(name)))
        lim = ch.limits
        parts = [{"text": p, "length": lim.count(p), "limit": lim.max_length, "unit": lim.unit} for p in post.parts]
        rows.append({"channel": name, "generator": draft.generator, "note": draft.generator_note, "model": draft.model,
                     "title": post.title, "title_limit": lim.title_max, "parts": parts, "max_parts": lim.max_parts,
                     "tokens_in": draft.tokens_in, "tokens_out": draft.tokens_out, "cost_usd": draft.cost_usd})
    if as_json:
        print(json.dumps({"page": found.slug, "canonical_url": found.canonical_url, "drafts": rows}, indent=2,
                         ensure_ascii=False))
        raise typer.Exit(1 if any("error" in r for r in rows) else 0)

    def fits(n: int, limit: int | None) -> str:
        return "green" if limit is None or n <= limit else "red"

    panels = []
    for row in rows:
        if "error" in row:
            panels.append(Panel(Text(row["error"], style="red"), title=f"[bold]{row['channel']}[/bold]",
                                subtitle="no valid draft", border_style="red"))
            continue
        body: list = []
        if row["title"]:
            n = len(row["title"])
            body += [Text(row["title"], style="bold"),
                     Text(f"title {n} / {row['title_limit'] or '-'} characters", style=fits(n, row["title_limit"])),
                     Rule(style="dim")]
        for i, part in enumerate(row["parts"], 1):
            if i > 1:
                body.append(Rule(style="dim"))
            body.append(Text(part["text"]))
            label = f"post {i}: " if len(row["parts"]) > 1 else ""
            body.append(Text(f"{label}{part['length']} / {part['limit']} {part['unit']}",
                             style=fits(part["length"], part["limit"])))
        if row["max_parts"] > 1:
            body.append(Text(f"{len(row['parts'])} / {row['max_parts']} posts", style="dim"))
        who = row["generator"] + (f" · {row['model']}" if row["model"] and row["generator"] != "offline" else "")
        if row["note"]:
            body.append(Text(f"note: {row['note']}", style="yellow" if row["generator"] == "fallback" else "dim"))
        panels.append(Panel(Group(*body), title=f"[bold]{row['channel']}[/bold]", subtitle=who,
                            border_style="yellow" if row["generator"] == "fallback" else "blue", width=width))
    console.print(f"[bold]{found.title}[/bold]  {found.canonical_url}")
    console.print(Columns(panels, equal=True, expand=width is None))
    tokens_in = sum(r.get("tokens_in", 0) for r in rows)
    if tokens_in:
        console.print(f"[dim]tokens in {tokens_in}, out {sum(r.get('tokens_out', 0) for r in rows)}, "
                      f"cost ${sum(r.get('cost_usd', 0.0) for r in rows):.4f}[/dim]")
    console.print("[dim]preview only: nothing was published[/dim]")
    raise typer.Exit(1 if any("error" in r for r in rows) else 0)
