"""The CLI refuses what it does not know: unknown channels, pages and engines exit 2 with the valid values."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from citecast.cli import app

runner = CliRunner()
CHANNELS = "valid: bluesky, linkedin, mastodon, reddit, x"


def _nothing_ran(project) -> bool:
    return not project.outbox.exists() and not (project.root / ".citecast" / "ledger.db").exists()


@pytest.mark.parametrize("args", [["run", "--local"], ["run"], ["run", "--local", "--dry-run"]])
def test_run_refuses_an_unknown_channel_before_doing_anything(project, args):
    result = runner.invoke(app, [*args, "--channel", "x", "--channel", "twitter"])
    assert result.exit_code == 2, result.output
    assert f"--channel: unknown channel 'twitter': {CHANNELS}" in result.output
    assert _nothing_ran(project)


def test_run_suggests_the_nearest_channel(project):
    result = runner.invoke(app, ["run", "--local", "--channel", "mastadon"])
    assert result.exit_code == 2
    assert "did you mean 'mastodon'?" in result.output


def test_run_refuses_an_unknown_page_with_the_nearest_slug(project):
    result = runner.invoke(app, ["run", "--local", "--page", "tracking-ai-citation"])
    assert result.exit_code == 2, result.output
    assert "--page: unknown page 'tracking-ai-citation': did you mean 'tracking-ai-citations'?" in result.output
    assert "canonical-urls-for-citations" in result.output  # the valid slugs are listed
    assert _nothing_ran(project)


def test_run_names_a_page_that_exists_but_has_errors(project):
    project.write_page("broken.md", "---\ntitle: X\nslug: broken\ncanonical_url: not-a-url\n---\n\nBody.\n")
    result = runner.invoke(app, ["run", "--local", "--page", "broken"])
    assert result.exit_code == 2
    assert "content/broken.md" in result.output and "citecast check" in result.output


def test_ledger_refuses_an_unknown_channel_and_page(project):
    assert runner.invoke(app, ["run", "--local", "--week", "2026-W48"]).exit_code == 0
    bad_channel = runner.invoke(app, ["ledger", "--channel", "linkdin"])
    assert bad_channel.exit_code == 2 and "did you mean 'linkedin'?" in bad_channel.output
    bad_page = runner.invoke(app, ["ledger", "--page", "generative-engine-optimization"])
    assert bad_page.exit_code == 2
    assert "did you mean 'generative-engine-optimisation'?" in bad_page.output
    known = runner.invoke(app, ["ledger", "--page", "generative-engine-optimisation", "--week", "2020-W01"])
    assert known.exit_code == 0 and "No events match." in known.output


def test_probe_refuses_an_unknown_engine(project):
    result = runner.invoke(app, ["probe", "--engine", "perplexty"])
    assert result.exit_code == 2, result.output
    assert "--engine: unknown engine 'perplexty': did you mean 'perplexity'? valid: anthropic, gemini, openai, perplexity" in result.output


def _commands(group, prefix=()):
    """Every command and group (Typer vendors its own click: its classes are not click's)."""
    yield prefix, group
    for name, cmd in getattr(group, "commands", {}).items():
        yield from _commands(cmd, prefix + (name,))


def _bracketed(cmd) -> set[str]:
    texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
    return {m.replace("\\", "") for text in texts for m in re.findall(r"\\?\[[^\]\s]+\]", text)}


def test_help_texts_keep_their_bracketed_names():
    root = typer.main.get_command(app)
    seen = set()
    for path, cmd in _commands(root):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        for text in _bracketed(cmd):
            seen.add(text)
            assert text in result.output, f"`citecast {' '.join(path)} --help` swallowed {text}"
    assert "[citations.engines]" in seen  # the case that went missing


def test_probe_help_names_the_engines_table():
    result = runner.invoke(app, ["probe", "--help"], env={"COLUMNS": "200"})
    assert "Engine name from [citations.engines]" in result.output


def test_probe_refuses_an_unknown_topic_unless_it_files_one_query(project):
    result = runner.invoke(app, ["probe", "--topic", "no-such-topic"])
    assert result.exit_code == 2, result.output
    assert "--topic: unknown topic 'no-such-topic'" in result.output and "valid: " in result.output


def test_queries_suggest_refuses_an_unknown_page(project):
    result = runner.invoke(app, ["queries", "suggest", "--page", "tracking-ai-citation"])
    assert result.exit_code == 2, result.output
    assert "did you mean 'tracking-ai-citations'?" in result.output


def test_engagement_refuses_an_unknown_channel(project):
    result = runner.invoke(app, ["engagement", "--channel", "twiter"])
    assert result.exit_code == 2, result.output
    assert "--channel: unknown channel 'twiter'" in result.output


@pytest.mark.parametrize("args, message", [
    (["import", "citations", "--preset", "superline"], "--preset: unknown preset 'superline': did you mean 'superlines'?"),
    (["import", "backlinks", "--preset", "ahref"], "--preset: unknown preset 'ahref': did you mean 'ahrefs'?"),
    (["import", "citations", "--surface", "ap"], "--surface: unknown surface 'ap': did you mean 'app'? valid: api, app, import"),
    (["import", "citations", "--map", "urll=Link"], "--map: unknown field 'urll': did you mean 'url'?"),
    (["import", "backlinks", "--map", "target=Page"], "--map: unknown field 'target': did you mean 'target_url'?"),
])
def test_imports_refuse_unknown_presets_and_surfaces(project, args, message):
    export = project.root / "export.csv"
    export.write_text("a,b\n1,2\n")
    result = runner.invoke(app, [*args[:2], str(export), *args[2:]])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_refusal_lists_a_long_list_in_part_and_still_names_the_nearest(empty_project):
    for n in range(40):
        empty_project.write_page(f"page-{n:02d}.md", f"---\ntitle: Page {n}\nslug: page-{n:02d}\n---\n\n## Intro\n\nText.\n")
    result = runner.invoke(app, ["run", "--local", "--page", "page-3X"])
    assert result.exit_code == 2, result.output
    assert "did you mean 'page-39'?" in result.output
    assert "page-29, ... (10 more)" in result.output  # 30 listed, sorted
