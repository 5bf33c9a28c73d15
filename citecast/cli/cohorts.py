"""`citecast cohorts assign --randomize` and `citecast cohorts show`: randomised holdouts."""

from __future__ import annotations

import json
from typing import Optional

import typer

from citecast.cli.common import load_settings
from citecast.words import count


def register(app: typer.Typer) -> None:
    cohorts_app = typer.Typer(help="Randomised distribution/holdout arms for pages.", no_args_is_help=True)

    @cohorts_app.command("assign")
    def assign_cmd(
        randomize: bool = typer.Option(False, "--randomize", help="Draw arms at random (the only way citecast assigns)."),
        seed: Optional[str] = typer.Option(None, "--seed", help="Seed of the draw, recorded with it (e.g. 2026-12)."),
        strata: str = typer.Option("topic", "--strata", help="Draw within each: topic | none."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show the draw, record nothing."),
        as_json: bool = typer.Option(False, "--json", help="Print as JSON for scripts."),
    ) -> None:
        """Put every page not assigned yet in the distribution or the holdout arm, at random within its topic."""
        from citecast.citations import cohorts
        from citecast.citations.model import open_ledger
        from citecast.pages.loading import load_library

        if not randomize:
            raise typer.BadParameter("add --randomize: arms are drawn at random (an editor sets a page's cohort "
                                     "by hand with `cohort:` in its front matter)", param_hint="--randomize")
        if not seed:
            raise typer.BadParameter("give the draw a seed, e.g. --seed 2026-12 (it is recorded, so the draw can "
                                     "be repeated and checked)", param_hint="--seed")
        if strata not in ("topic", "none"):
            raise typer.BadParameter(f"{strata!r}: use topic or none", param_hint="--strata")
        settings = load_settings()
        pages = load_library(settings).pages
        ledger = open_ledger(settings)
        try:
            drawn = cohorts.assign(ledger, pages, seed=seed, strata=strata, dry_run=dry_run)  # type: ignore[arg-type]
            devs = cohorts.deviations(ledger, pages) if not dry_run else []
        finally:
            ledger.close()
        set_by_editor = {p.slug: p.cohort for p in pages if p.cohort_set}
        if as_json:
            typer.echo(json.dumps({"recorded": not dry_run, "assignments": [
                {**a.__dict__, "assigned_on": a.assigned_on.isoformat(), "editor_cohort": set_by_editor.get(a.page)}
                for a in drawn]}, indent=2))
            return
        verb = "would assign" if dry_run else "assigned"
        typer.echo(f"{verb} {count(len(drawn), 'page')} (seed {seed}, strata {strata}):")
        for a in drawn:
            note = f"  (editor's cohort: {set_by_editor[a.page]} wins)" if a.page in set_by_editor else ""
            typer.echo(f"  {a.stratum:<24} {a.page:<40} {a.arm}{note}")
        if not drawn:
            typer.echo("  every page already has an arm (assignments are never redrawn)")
        _print_deviations(devs)

    @cohorts_app.command("show")
    def show_cmd(as_json: bool = typer.Option(False, "--json", help="Print as JSON for scripts.")) -> None:
        """The recorded arms, with each page's deviation from its arm."""
        from citecast.citations import cohorts
        from citecast.citations.model import open_ledger
        from citecast.pages.loading import load_library

        settings = load_settings()
        pages = load_library(settings).pages
        ledger = open_ledger(settings)
        try:
            assigned = cohorts.load(ledger)
            devs = {d.page: d.reason for d in cohorts.deviations(ledger, pages)}
        finally:
            ledger.close()
        rows = [{**a.__dict__, "assigned_on": a.assigned_on.isoformat(), "deviation": devs.get(a.page)}
                for a in sorted(assigned.values(), key=lambda a: (a.stratum, a.page))]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            typer.echo("no arms recorded: run `citecast cohorts assign --randomize --seed S`")
        for r in rows:
            typer.echo(f"{r['stratum']:<24} {r['page']:<40} {r['arm']:<13} {r['assigned_on']} seed {r['seed']}"
                       + (f"  deviation: {r['deviation']}" if r["deviation"] else ""))

    app.add_typer(cohorts_app, name="cohorts")


def _print_deviations(devs) -> None:
    if devs:
        typer.echo(f"{count(len(devs), 'deviation')} (analysed by arm all the same: intention to treat):")
        for d in devs:
            typer.echo(f"  {d.page}: {d.reason}")

