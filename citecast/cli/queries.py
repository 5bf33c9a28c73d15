"""`citecast queries suggest`: the searches engines ran for our queries, as candidates to track.

It only lists: a query becomes tracked when the user adds it to a page's `queries:` or to
queries/<topic>.txt.
"""

from __future__ import annotations

import json
from typing import Optional

import typer

from citecast.cli.citations import _when
from citecast.cli.common import load_settings
from citecast.cli.common import refuse_unknown
from citecast.words import count


def register(app: typer.Typer) -> None:
    queries_app = typer.Typer(help="Tracked queries and the engines' own searches.", no_args_is_help=True)

    @queries_app.command("suggest")
    def suggest_cmd(
        topic: Optional[str] = typer.Option(None, "--topic", help="Only this topic."),
        page: Optional[str] = typer.Option(None, "--page", help="Only the answers to this page's queries."),
        min_answers: int = typer.Option(2, "--min-answers", min=1, help="Answers that must have run a query."),
        limit: int = typer.Option(10, "--limit", min=1, help="Suggestions per page or topic."),
        since: Optional[str] = typer.Option(None, help="Only answers from this day on (YYYY-MM-DD)."),
        as_json: bool = typer.Option(False, "--json", help="Print as JSON for scripts."),
    ) -> None:
        """List the engines' own search queries per page/topic, most frequent first (nothing is added)."""
        from citecast.citations.fanout import load_ran_queries, suggest
        from citecast.citations.model import load_pages, open_ledger, resolve, tracked_queries

        settings = load_settings()
        ledger = open_ledger(settings)
        try:
            pages = load_pages(settings, ledger)
            if page:
                refuse_unknown("--page", [page], {p.slug for p in pages}, "page")
            tracked = tracked_queries(pages, resolve(settings, settings.citations.queries_dir))
            if topic:
                refuse_unknown("--topic", [topic], {q.topic for q in tracked}, "topic")
            groups = suggest(load_ran_queries(ledger, _when(since, "--since"), topic, page), tracked,
                             min_answers=min_answers, limit=limit)
        finally:
            ledger.close()
        if as_json:
            typer.echo(json.dumps([{"topic": g.topic, "page": g.page, "answers": g.answers,
                                    "suggestions": [s.__dict__ for s in g.suggestions]} for g in groups], indent=2))
            return
        if not groups:
            typer.echo("no engine searches recorded yet: run `citecast probe` with an engine that reports them"
                       " (openai, gemini, anthropic, perplexity with api = \"responses\")")
            return
        for g in groups:
            where = f"page {g.page}" if g.page else f"topic {g.topic} (queries of no page)"
            typer.echo(f"{where}: {count(g.answers, 'answer')} searched")
            for s in g.suggestions:
                typer.echo(f"  {s.answers:>4}  {s.share * 100:5.1f}%  {s.query}   [{', '.join(s.engines)}]")
            if not g.suggestions:
                typer.echo(f"  (no untracked query ran in {min_answers}+ answers)")
        typer.echo("to track one, add it to the page's `queries:` or to "
                   f"{settings.citations.queries_dir}/<topic>.txt")

    app.add_typer(queries_app, name="queries")
