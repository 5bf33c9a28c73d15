"""The `citecast` command as a user meets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from citecast.cli import app

runner = CliRunner()


def _commands(group, prefix=()):
    """Every command (Typer vendors its own click: its classes are not click's, so duck-type)."""
    for name, cmd in getattr(group, "commands", {}).items():
        yield prefix + (name,), cmd
        yield from _commands(cmd, prefix + (name,))


def test_every_command_has_help():
    import typer.main

    root = typer.main.get_command(app)
    paths = [path for path, _ in _commands(root)]
    assert ("ledger", "resolve") in paths and ("import", "citations") in paths and ("check",) in paths
    for path, cmd in _commands(root):
        assert (cmd.help or "").strip(), f"`citecast {' '.join(path)}` has no help text"
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        for param in cmd.params:
            if getattr(param, "param_type_name", "") == "option" and param.name != "help":
                assert (param.help or "").strip(), f"option {param.name} of `citecast {' '.join(path)}` has no help"


def test_check_passes_on_shipped_content_and_fails_on_a_broken_page(project):
    ok = runner.invoke(app, ["check"])
    assert ok.exit_code == 0, ok.output
    assert "5 of 5 pages OK; 0 errors, 0 warnings" in ok.output

    project.write_page("broken.md", "---\ntitle: X\ncanonical_url: not-a-url\n---\n\nBody.\n")
    bad = runner.invoke(app, ["check", "--json"])
    assert bad.exit_code == 1
    data = json.loads(bad.output)
    errors = [p for p in data["problems"] if p["severity"] == "error"]
    assert errors == [{
        "file": "content/broken.md", "field": "canonical_url", "line": 3, "severity": "error",
        "message": "'not-a-url' is not an absolute http(s) URL",
        "fix": "use an absolute https:// URL, or leave it out to derive it from site.base_url + slug",
    }]


def test_check_strict_fails_on_weak_pages(empty_project):
    empty_project.write_page("weak.md", "---\ntitle: Weak\n---\n\n## Intro\n\nThin.\n")
    assert runner.invoke(app, ["check"]).exit_code == 0
    assert runner.invoke(app, ["check", "--strict"]).exit_code == 1


def test_run_local_then_ledger_json(project):
    result = runner.invoke(app, ["run", "--local", "--week", "2026-W48"])
    assert result.exit_code == 0, result.output
    assert "15 dry run" in result.output and "Ledger:" in result.output

    listed = runner.invoke(app, ["ledger", "--json"])
    events = json.loads(listed.output)
    assert len(events) == 15
    for e in events:
        for key in ("page", "channel", "slot", "status", "canonical_url", "text", "generator", "platform_id", "platform_url"):
            assert key in e
        assert e["slot"] == "2026-W48" and e["status"] == "dry_run" and e["generator"] == "offline"
        assert e["canonical_url"] in (e["text"] if isinstance(e["text"], str) else "\n".join(e["text"])).replace("\\", "")
    threads = [e for e in events if e["channel"] == "x"]
    assert all(isinstance(e["text"], list) and len(e["text"]) > 1 for e in threads)

    again = runner.invoke(app, ["run", "--local", "--week", "2026-W48", "--json"])
    assert json.loads(again.output)["posts"] == []


def test_bad_week_and_bad_settings_are_clear(project, monkeypatch):
    bad_week = runner.invoke(app, ["run", "--local", "--week", "48"])
    assert bad_week.exit_code == 2 and "ISO week" in bad_week.output
    no_such_week = runner.invoke(app, ["run", "--local", "--week", "2026-W99"])
    assert no_such_week.exit_code == 2, no_such_week.output
    assert "--week: week '2026-W99' does not exist" in no_such_week.output and "2026-W49" in no_such_week.output
    monkeypatch.setenv("CITECAST_DISTRIBUTION__MAX_PAGES_PER_WEEK", "lots")
    bad_setting = runner.invoke(app, ["check"])
    assert bad_setting.exit_code == 2
    assert "distribution.max_pages_per_week" in bad_setting.output
    assert "CITECAST_DISTRIBUTION__MAX_PAGES_PER_WEEK" in bad_setting.output


def test_pending_and_resolve(project):
    from citecast.ledger import Ledger

    runner.invoke(app, ["run", "--local", "--week", "2026-W48"])
    ledger = Ledger(project.settings().ledger_url)
    row = ledger.events(channel="x", limit=1)[0]
    ledger.finish(row.id, "unconfirmed", error="timeout after send")
    ledger.close()
    pending = runner.invoke(app, ["ledger", "pending", "--json"])
    assert [e["id"] for e in json.loads(pending.output)] == [row.id]
    assert runner.invoke(app, ["ledger", "resolve", str(row.id)]).exit_code == 2  # needs a decision
    done = runner.invoke(app, ["ledger", "resolve", str(row.id), "--posted", "https://x.com/i/status/1"])
    assert done.exit_code == 0
    assert json.loads(runner.invoke(app, ["ledger", "pending", "--json"]).output) == []


def test_channels_shows_dry_run_and_why(project):
    result = runner.invoke(app, ["channels"])
    assert result.exit_code == 0
    for name in ("x", "linkedin", "reddit", "bluesky", "mastodon"):
        assert name in result.output
    assert "dry run" in result.output


def test_help_and_check_do_not_import_prefect_or_sdks(project):
    code = (
        "import sys; from citecast.cli import main; sys.argv=['citecast','check'];\n"
        "try: main()\nexcept SystemExit: pass\n"
        "heavy=[m for m in ('prefect','tweepy','praw','openai','atproto','mastodon','matplotlib') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True,
                         env={**os.environ, "CITECAST_CONFIG": str(project.config)})
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


@pytest.mark.slow
def test_quick_start_run_on_a_fresh_prefect_home_has_no_traceback(project, tmp_path):
    """The README's first command on a new machine: Prefect's first start on a fresh database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "fresh-prefect-home"), CITECAST_CONFIG=str(project.config), COLUMNS="120")
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "citecast.cli", "run"], cwd=project.root, env=env,
                         capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "Traceback" not in text and "ERROR" not in text, text
    assert "15 dry run" in out.stdout
    assert "Outbox: outbox" in out.stdout and "Ledger:" in out.stdout
    print(f"first run on a fresh Prefect home: {elapsed:.1f}s")


def test_check_reports_a_broken_template_block(project):
    template = project.templates / "linkedin.md.j2"
    template.write_text(template.read_text().replace("{% block guidance -%}", "{% block guidance -%}{{ nope.missing }}"))
    result = runner.invoke(app, ["check", "--json"])
    assert result.exit_code == 1
    (problem,) = [p for p in json.loads(result.output)["problems"] if p["severity"] == "error"]
    assert problem["file"] == "templates/linkedin.md.j2" and "guidance" in problem["message"]
