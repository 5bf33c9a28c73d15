"""A randomised holdout end to end: draw arms, run the week, probe three weeks through the real SDK
against the fake engine, and read the intention-to-treat effect in `citecast report`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from typer.testing import CliRunner

from citecast.citations.engines.openai import OpenAISearchEngine, make_openai_client
from citecast.citations.model import PageIndex, load_pages, tracked_queries
from citecast.citations.probe import probe
from citecast.cli.app import app
from citecast.distribution.run import run_week
from citecast.ledger import Ledger
from tests.conftest import good_page
from tests.fakes.engines import FakeEngineServer, Scripted

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
TOPICS = {"alpha": [f"a{i}" for i in range(8)], "beta": [f"b{i}" for i in range(8)]}


def test_randomised_pages_distributed_probed_and_their_effect_reported(project):
    for child in project.content.iterdir():
        child.unlink()
    for topic, slugs in TOPICS.items():
        for slug in slugs:
            project.write_page(f"{slug}.md", good_page(slug).replace("topic: testing", f"topic: {topic}"))
    runner = CliRunner()
    res = runner.invoke(app, ["cohorts", "assign", "--randomize", "--seed", "2026-12", "--json"])
    assert res.exit_code == 0, res.output
    import json

    arms = {a["page"]: a["arm"] for a in json.loads(res.output)["assignments"]}
    for slugs in TOPICS.values():
        assert sorted(arms[s] for s in slugs) == ["distribution"] * 4 + ["holdout"] * 4  # balanced per topic
    settings = project.settings()
    run_week(settings, now=MONDAY)
    ledger = Ledger(settings.ledger_url)
    try:
        posted = {e.page for e in ledger.events()}
        # The weekly budget (5 pages) picks among the distribution arm only: no holdout page went out.
        assert len(posted) == 5 and posted <= {s for s, arm in arms.items() if arm == "distribution"}
        # The fake engine cites a page when asked its query only if the page was distributed.
        answers = {f"what is {s}": Scripted(f"About {s}.", [(f"https://citecast.dev/{s}", s)] if arms[s] ==
                                            "distribution" else [("https://elsewhere.example.org/x", "x")],
                                            sources=[f"https://citecast.dev/{s}"], queries=[f"{s} explained"])
                   for s in arms}
        pages = load_pages(settings, ledger)
        queries = tracked_queries(pages)
        with FakeEngineServer(answers) as fake:
            engine = OpenAISearchEngine(make_openai_client(api_key="k", base_url=fake.base_url, timeout=5), "gpt")
            for week in range(3):  # three weekly rounds after the assignment day
                when = MONDAY + timedelta(days=1 + 7 * week)
                result = probe(ledger, [engine], queries, PageIndex(pages), samples=2, clock=lambda: when)
                assert result.ok and len(result.recorded) == 32
    finally:
        ledger.close()
    res = runner.invoke(app, ["report", "--out", str(project.root / "r")])
    assert res.exit_code == 0, res.output
    # By hand: each topic has 8 queries x 2 samples x 3 weeks = 48 answers; a distributed page is cited in
    # the 6 answers to its own query, 6/48 = 12.5%; a held-out page in none. Effect 12.5 points; every
    # re-draw within topics gives a smaller |effect|, so the randomisation p is about 1/4001.
    line = next(l for l in res.output.splitlines() if l.startswith("randomised holdout:"))
    assert line.startswith("randomised holdout: distribution raised the citation rate by +12.5 points")
    assert "8 distribution vs 8 holdout pages in 2 strata, 3 rounds since assignment, 0 deviations" in line
    html = (project.root / "r" / "citations.html").read_text()
    assert "Randomised holdout" in html and "Retrieved but not cited" in html
