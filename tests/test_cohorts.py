"""Randomised holdouts: the draw, the ledger record, the weekly run honouring arms, deviations, the CLI."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timezone
from types import SimpleNamespace

from typer.testing import CliRunner

from citecast.citations import cohorts
from citecast.cli.app import app
from citecast.distribution.run import RunOptions, plan_week, run_week
from citecast.ledger import Ledger
from citecast.pages.arms import apply_arms, deviation
from tests.conftest import good_page

DAY = date(2026, 12, 1)
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def pages(spec: dict[str, list[str]], drafts=()):
    return [SimpleNamespace(slug=s, topic=t, draft=s in drafts) for t, slugs in spec.items() for s in slugs]


def test_the_draw_is_the_documented_one_balanced_within_each_topic():
    spec = {"ai": ["a1", "a2", "a3", "a4"], "seo": ["s1", "s2", "s3"], "ops": ["o1"]}
    drawn = cohorts.draw(pages(spec), [], seed="2026-12", strata="topic", today=DAY)
    arms = {a.page: a.arm for a in drawn}
    # By hand, as the docstring says: per topic a generator seeded "<seed>:<topic>", the sorted slugs
    # shuffled, the first half (an odd one by a coin of the same generator) into distribution.
    for topic, slugs in spec.items():
        rng = random.Random(f"2026-12:{topic}")
        order = sorted(slugs)
        rng.shuffle(order)
        treated = len(order) // 2 + (rng.randrange(2) if len(order) % 2 else 0)
        assert {s: arms[s] for s in order} == {s: "distribution" if k < treated else "holdout"
                                               for k, s in enumerate(order)}
    assert sum(arms[s] == "distribution" for s in spec["ai"]) == 2
    assert sum(arms[s] == "distribution" for s in spec["seo"]) in (1, 2)
    assert {a.stratum for a in drawn} == {"ai", "seo", "ops"} and {a.seed for a in drawn} == {"2026-12"}
    again = cohorts.draw(pages(spec), [], seed="2026-12", strata="topic", today=DAY)
    assert again == drawn  # same seed, same draw
    # A new topic does not move the others' draws.
    more = cohorts.draw(pages({**spec, "new": ["n1", "n2"]}), [], seed="2026-12", strata="topic", today=DAY)
    assert {a.page: a.arm for a in more if a.stratum != "new"} == arms


def test_seeds_differ_drafts_and_assigned_pages_are_left_out():
    spec = {"ai": [f"p{i:02d}" for i in range(20)]}
    one = {a.page: a.arm for a in cohorts.draw(pages(spec), [], seed="1", today=DAY)}
    two = {a.page: a.arm for a in cohorts.draw(pages(spec), [], seed="2", today=DAY)}
    assert one != two and sum(v == "distribution" for v in one.values()) == 10
    later = cohorts.draw(pages(spec, drafts={"p00"}), ["p01", "p02"], seed="1", today=DAY)
    assert {a.page for a in later} == {f"p{i:02d}" for i in range(3, 20)}
    flat = cohorts.draw(pages({"ai": ["a", "b"], "seo": ["c", "d"]}), [], seed="1", strata="none", today=DAY)
    assert {a.stratum for a in flat} == {"all"} and sum(a.arm == "holdout" for a in flat) == 2


def test_arms_set_the_cohort_unless_an_editor_did():
    made = SimpleNamespace(slug="x", cohort="distribution", cohort_set=False,
                           model_copy=lambda update: SimpleNamespace(slug="x", **update))
    assert apply_arms([made], {"x": "holdout"})[0].cohort == "control"
    assert apply_arms([made], {"x": "distribution"})[0].cohort == "distribution"
    editor = SimpleNamespace(slug="x", cohort="distribution", cohort_set=True)
    assert apply_arms([editor], {"x": "holdout"})[0] is editor
    assert deviation("holdout", "distribution") == "the editor's cohort: distribution overrides arm holdout"
    assert deviation("holdout", "control") is None and deviation("distribution", "both") is None
    assert deviation("distribution", "links") == "the editor's cohort: links overrides arm distribution"
    assert deviation("holdout", None, distributed_in_holdout=True) == "distributed while in the holdout arm"


def _site(project, n=4):
    for child in project.content.iterdir():
        child.unlink()
    for i in range(n):
        project.write_page(f"p{i}.md", good_page(f"p{i}"))
    text = good_page("edited").replace("topic: testing", "topic: testing\ncohort: distribution")
    project.write_page("edited.md", text)


def test_the_weekly_run_holds_out_the_holdout_arm_and_the_editor_wins(project):
    _site(project)
    settings = project.settings()
    ledger = Ledger(settings.ledger_url)
    try:
        from citecast.pages.loading import load_library

        # Seed "a" puts the page whose editor set `cohort: distribution` in the holdout arm.
        drawn = cohorts.assign(ledger, load_library(settings).pages, seed="a", today=DAY)
        arms = {a.page: a.arm for a in drawn}
        assert arms == {"edited": "holdout", "p0": "distribution", "p1": "holdout", "p2": "holdout",
                        "p3": "distribution"}
        plan = plan_week(settings, ledger, RunOptions())
        due = {d.page.slug for d in plan.selection.due}
        held = {s for s, arm in arms.items() if arm == "holdout"}
        assert due == (set(arms) - held) | {"edited"}
        for slug in held - {"edited"}:
            assert plan.selection.not_due[slug] == "cohort control is not distributed"
        # Running the assignment again draws nothing new.
        assert cohorts.assign(ledger, load_library(settings).pages, seed="other", today=DAY) == []
    finally:
        ledger.close()
    run_week(settings, now=MONDAY)
    ledger = Ledger(settings.ledger_url)
    try:
        devs = cohorts.deviations(ledger, load_library(settings).pages)
    finally:
        ledger.close()
    assert [(d.page, d.reason) for d in devs] == [("edited", "the editor's cohort: distribution overrides arm holdout")]
    assert {e.page for e in events(settings)} == {"p0", "p3", "edited"}  # held-out p1, p2 never posted


def events(settings):
    ledger = Ledger(settings.ledger_url)
    try:
        return ledger.events()
    finally:
        ledger.close()


def test_cli_refuses_without_randomize_and_records_with_it(project):
    _site(project, n=2)
    runner = CliRunner()
    res = runner.invoke(app, ["cohorts", "assign", "--seed", "7"])
    assert res.exit_code == 2 and "--randomize" in res.output
    res = runner.invoke(app, ["cohorts", "assign", "--randomize"])
    assert res.exit_code == 2 and "seed" in res.output
    res = runner.invoke(app, ["cohorts", "assign", "--randomize", "--seed", "7", "--strata", "colour"])
    assert res.exit_code == 2 and "topic or none" in res.output
    res = runner.invoke(app, ["cohorts", "assign", "--randomize", "--seed", "7", "--dry-run", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["recorded"] is False
    res = runner.invoke(app, ["cohorts", "assign", "--randomize", "--seed", "7"])
    assert res.exit_code == 0 and "assigned 3 pages (seed 7, strata topic)" in res.output, res.output
    assert "editor's cohort: distribution wins" in res.output
    shown = json.loads(runner.invoke(app, ["cohorts", "show", "--json"]).output)
    assert {r["page"] for r in shown} == {"p0", "p1", "edited"} and {r["seed"] for r in shown} == {"7"}
    assert all(r["assigned_on"] and r["strata"] == "topic" and r["stratum"] == "testing" for r in shown)
    res = runner.invoke(app, ["cohorts", "assign", "--randomize", "--seed", "8"])
    assert "every page already has an arm" in res.output
