"""`citecast queries suggest`: engines' own searches per page/topic, ranked by answers that ran them."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from typer.testing import CliRunner

from citecast.citations.fanout import RanQuery, suggest
from citecast.citations.model import Observation, PageIndex, TrackedQuery, record_observation
from citecast.cli.app import app
from citecast.ledger import Ledger
from tests.conftest import good_page


def test_ranked_by_answers_then_engines_tracked_ones_left_out():
    ran = [
        RanQuery(1, "openai", "geo", "geo", "GEO vs SEO"),
        RanQuery(1, "openai", "geo", "geo", "what is geo"),  # the tracked query itself
        RanQuery(2, "gemini", "geo", "geo", "geo vs seo?"),
        RanQuery(2, "gemini", "geo", "geo", "geo tools 2026"),
        RanQuery(3, "anthropic", "geo", "geo", "GEO  tools 2026"),
        RanQuery(3, "anthropic", "geo", "geo", "geo vs seo"),
        RanQuery(4, "openai", "geo", "geo", "geo tools 2026"),
        RanQuery(4, "openai", "geo", "geo", "geo tools 2026"),  # twice in one answer counts once
        RanQuery(5, "openai", "seo", None, "seo checklist"),
    ]
    groups = suggest(ran, [TrackedQuery("What is GEO?", "geo", "geo")], min_answers=2)
    assert [(g.topic, g.page, g.answers) for g in groups] == [("geo", "geo", 4), ("seo", None, 1)]
    geo = groups[0].suggestions
    # "geo vs seo": answers 1, 2, 3 (3 engines); "geo tools 2026": answers 2, 3, 4 (3 engines): a tie
    # on both, broken by the folded query text; shares are 3 of the 4 answers that searched.
    assert [(s.query, s.answers, s.engines, s.share) for s in geo] == [
        ("geo tools 2026", 3, ["anthropic", "gemini", "openai"], 0.75),
        ("GEO vs SEO", 3, ["anthropic", "gemini", "openai"], 0.75),  # spellings tie 1-1-1: the first in order
    ]
    assert groups[1].suggestions == []  # one answer is below --min-answers 2
    assert suggest(ran, [], min_answers=1, limit=1)[0].suggestions[0].query == "geo tools 2026"


def test_cli_lists_candidates_and_adds_nothing(project):
    for child in project.content.iterdir():
        child.unlink()
    project.write_page("geo.md", good_page("geo"))
    settings = project.settings()
    ledger = Ledger(settings.ledger_url)
    try:
        index = PageIndex([])
        for n, engine in enumerate(["openai", "gemini", "anthropic"]):
            record_observation(ledger, Observation(
                engine=engine, surface="api", query="what is geo", topic="testing", page="geo",
                observed_at=datetime(2026, 12, 1, tzinfo=timezone.utc), sample=n,
                search_queries=["what is geo", "geo definition", f"only {engine}"]), index)
    finally:
        ledger.close()
    before = (project.content / "geo.md").read_text()
    res = CliRunner().invoke(app, ["queries", "suggest"])
    assert res.exit_code == 0, res.output
    assert "page geo: 3 answers searched" in res.output
    assert "     3  100.0%  geo definition   [anthropic, gemini, openai]" in res.output
    assert "only openai" not in res.output and "what is geo" not in res.output.split("searched")[1]
    assert (project.content / "geo.md").read_text() == before
    data = json.loads(CliRunner().invoke(app, ["queries", "suggest", "--min-answers", "1", "--json"]).output)
    assert [s["query"] for s in data[0]["suggestions"]] == ["geo definition", "only anthropic", "only gemini",
                                                          "only openai"]
    res = CliRunner().invoke(app, ["queries", "suggest", "--page", "nope"])
    assert res.exit_code == 2 and "--page: unknown page 'nope': valid: geo" in res.output
