"""`citecast preview PAGE`: a page's drafts for every channel side by side, published nowhere."""

from __future__ import annotations

import json
from typing import Optional

import typer

from citecast.cli.common import console, echo, fail, load_settings, refuse, refuse_channels, to_terminal


def register(app: typer.Typer) -> None:
    app.command()(preview)


def preview(
    page: str = typer.Argument(..., help="The page: its slug, or the path of its markdown file."),
    channel: list[str] = typer.Option([], "--channel", "-c", help="Only this channel; repeatable."),
    as_json: bool = typer.Option(False, "--json", help="Print the drafts as JSON for scripts."),
    width: Optional[int] = typer.Option(None, help="Column width (default: fit the terminal)."),
):
    """Draft a page for every channel and show the drafts side by side, each length against its limit; publishes nothing."""
    refuse_channels("--channel", channel)
    settings = load_settings()
    found = _find_page(settings, page)
    names = [c for c in found.channels if not channel or c in channel]
    if not names:
        fail(f"{found.slug} is not distributed on {', '.join(channel)}: it names {', '.join(found.channels)}", code=1)
    rows = _draft_rows(settings, found, names)
    failed = any("error" in r for r in rows)
    if as_json:
        print(json.dumps({"page": found.slug, "canonical_url": found.canonical_url, "drafts": rows}, indent=2,
                         ensure_ascii=False))
    elif to_terminal():
        _show(found, rows, width)
    else:
        _print_plain(found, rows)
    raise typer.Exit(1 if failed else 0)


def _find_page(settings, page: str):
    """The page named by slug or file; exit 2 with the nearest slug when there is none, 1 when it is broken."""
    from pathlib import Path

    from citecast.pages.loading import load_library

    library = load_library(settings)
    wanted = Path(page).resolve() if page.endswith((".md", ".markdown")) else None
    found = next((p for p in library.pages if p.slug == page or (wanted and p.path.resolve() == wanted)), None)
    if found is not None:
        return found
    broken = [p for p in library.errors if page in p.file]
    if broken:
        fail("\n".join(str(problem) for problem in broken), code=1)
    refuse("PAGE", page, [p.slug for p in library.pages], "page")


def _draft_rows(settings, found, names: list[str]) -> list[dict]:
    """One row per channel: the rendered post's parts against the channel's limits, or why there is none."""
    from citecast import channels as registry
    from citecast.distribution.drafting import page_options
    from citecast.distribution.run import make_drafter
    from citecast.ledger import Ledger
    from citecast.settings import ConfigError

    # The outbox stands in for each platform: same limits and layout, and nothing can be sent.
    outbox = settings.path("outbox")
    chans = {n: registry.resolve(n, settings.channel_options(n), outbox, dry_run=True).channel for n in names}
    ledger = Ledger(settings.ledger_url)
    try:
        try:
            drafter = make_drafter(settings, ledger)
        except ConfigError as exc:
            fail(str(exc))
        drafted = drafter.draft_pages([(found, chans)])[0]
    finally:
        ledger.close()
    rows = []
    for name in names:
        ch, draft = chans[name], drafted.drafts.get(name)
        if draft is None:
            rows.append({"channel": name, "error": drafted.errors.get(name, "no draft")})
            continue
        post = ch.render(draft, page_options(found, name, settings.channel_options(name)))
        lim = ch.limits
        parts = [{"text": p, "length": lim.count(p), "limit": lim.max_length, "unit": lim.unit} for p in post.parts]
        rows.append({"channel": name, "generator": draft.generator, "note": draft.generator_note, "model": draft.model,
                     "title": post.title, "title_limit": lim.title_max, "parts": parts, "max_parts": lim.max_parts,
                     "tokens_in": draft.tokens_in, "tokens_out": draft.tokens_out, "cost_usd": draft.cost_usd})
    return rows


def _fits(n: int, limit: int | None) -> str:
    return "green" if limit is None or n <= limit else "red"


def _panel(row: dict, width: int | None):
    """One channel's draft: title, each part with its length against the limit, who wrote it."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.text import Text

    from citecast.words import count

    if "error" in row:
        return Panel(Text(row["error"], style="red"), title=f"[bold]{row['channel']}[/bold]",
                     subtitle="no valid draft", border_style="red")
    body: list = []
    if row["title"]:
        n = len(row["title"])
        body += [Text(row["title"], style="bold"),
                 Text(f"title {n} / {row['title_limit'] or '-'} characters", style=_fits(n, row["title_limit"])),
                 Rule(style="dim")]
    for i, part in enumerate(row["parts"], 1):
        if i > 1:
            body.append(Rule(style="dim"))
        body.append(Text(part["text"]))
        label = f"post {i}: " if len(row["parts"]) > 1 else ""
        body.append(Text(f"{label}{part['length']} / {part['limit']} {part['unit']}",
                         style=_fits(part["length"], part["limit"])))
    if row["max_parts"] > 1:
        body.append(Text(f"{len(row['parts'])} / {count(row['max_parts'], 'post')}", style="dim"))
    who = row["generator"] + (f" · {row['model']}" if row["model"] and row["generator"] != "offline" else "")
    if row["note"]:
        body.append(Text(f"note: {row['note']}", style="yellow" if row["generator"] == "fallback" else "dim"))
    return Panel(Group(*body), title=f"[bold]{row['channel']}[/bold]", subtitle=who,
                 border_style="yellow" if row["generator"] == "fallback" else "blue", width=width)


def _print_plain(found, rows: list[dict]) -> None:
    """The drafts for a log or a file: each post in full, its length against the limit on its own line."""
    echo(f"{found.title}  {found.canonical_url}")
    for row in rows:
        echo()
        if "error" in row:
            echo(f"{row['channel']}: error: no valid draft: {row['error']}")
            continue
        echo(f"{row['channel']} ({row['generator']}{' · ' + row['model'] if row['model'] and row['generator'] != 'offline' else ''})")
        if row["title"]:
            echo(f"title: {row['title']} ({len(row['title'])} / {row['title_limit'] or '-'} characters)")
        for i, part in enumerate(row["parts"], 1):
            echo(part["text"])
            echo(f"-- post {i} of {len(row['parts'])}: {part['length']} / {part['limit']} {part['unit']}")
        if row["note"]:
            echo(f"note: {row['note']}")
    echo()
    echo("preview only: nothing was published")


def _show(found, rows: list[dict], width: int | None) -> None:
    from rich.columns import Columns
    from rich.markup import escape

    out = console()
    out.print(f"[bold]{escape(found.title)}[/bold]  {found.canonical_url}", soft_wrap=True)
    out.print(Columns([_panel(row, width) for row in rows], equal=True, expand=width is None))
    tokens_in = sum(r.get("tokens_in", 0) for r in rows)
    if tokens_in:
        out.print(f"[dim]tokens in {tokens_in}, out {sum(r.get('tokens_out', 0) for r in rows)}, "
                  f"cost ${sum(r.get('cost_usd', 0.0) for r in rows):.4f}[/dim]")
    out.print("[dim]preview only: nothing was published[/dim]")
