"""`citecast preview PAGE`: every channel's draft side by side, each length against its limit, nothing published."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from citecast.cli.preview import register
from tests.fakes.openai_chat import FakeChatServer
from tests.test_llm_drafting import configure

SLUG = "backlinks-and-referring-domains"


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def main():
        """citecast"""

    register(a)
    return a


def invoke(*args: str):
    return CliRunner().invoke(app(), ["preview", *args], env={"COLUMNS": "200"})


def test_preview_offline_shows_every_channel_with_lengths_and_publishes_nothing(project):
    result = invoke(SLUG)
    assert result.exit_code == 0, result.output
    out = result.output
    for name in ("x", "linkedin", "reddit"):
        assert name in out
    assert "/ 280 weighted characters" in out
    assert "/ 3000 characters" in out
    assert "/ 300 characters" in out  # the Reddit title
    assert "nothing was published" in out
    assert project.sent() == []


def test_preview_json_with_the_llm(project, monkeypatch):
    with FakeChatServer() as server:
        configure(project, monkeypatch, server, price_in_per_mtok=1.0)
        result = invoke(SLUG, "--json", "--channel", "x", "--channel", "reddit")
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert len(server.calls) == 1
        assert set(server.calls[0]["response_format"]["json_schema"]["schema"]["properties"]) == {"x", "reddit"}
        # a second preview comes from the draft cache
        again = json.loads(invoke(SLUG, "--json", "--channel", "x", "--channel", "reddit").output)
        assert len(server.calls) == 1
    assert [d["channel"] for d in data["drafts"]] == ["x", "reddit"]
    for d in data["drafts"]:
        assert d["generator"] == "llm" and d["model"] == "fake-model" and d["tokens_in"] > 0
        assert all(0 < p["length"] <= p["limit"] for p in d["parts"])
    assert {d["note"] for d in again["drafts"]} == {"from the draft cache"}
    assert project.sent() == []


def test_preview_of_an_unknown_page_names_the_nearest_and_the_valid_ones(project):
    result = invoke("tracking-ai-citation")
    assert result.exit_code == 2
    assert "unknown page 'tracking-ai-citation'" in result.output
    assert "did you mean 'tracking-ai-citations'?" in result.output
    assert "generative-engine-optimisation" in result.output  # the valid slugs are listed


def test_preview_refuses_an_unknown_channel(project):
    result = invoke(SLUG, "--channel", "twitter")
    assert result.exit_code == 2
    assert "unknown channel 'twitter'" in result.output and "valid: bluesky, linkedin, mastodon, reddit, x" in result.output


@pytest.mark.parametrize("args", [["--help"]])
def test_preview_has_help(args):
    result = CliRunner().invoke(app(), ["preview", *args])
    assert result.exit_code == 0 and "side by side" in result.output
