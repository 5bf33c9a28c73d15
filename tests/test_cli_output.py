"""Output for people and for logs: tables on a terminal, one full line per item in a pipe, counts in words."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from typer.testing import CliRunner

from citecast.cli import app
from citecast.words import count

runner = CliRunner()
DEEP = "guides/2026/a-rather-long-folder-name-for-the-ai-visibility-series/and-one-more-level"


def _piped(project, *args: str) -> subprocess.CompletedProcess:
    """The real command with stdout a pipe, on a narrow 'terminal' (a CI log)."""
    env = {**os.environ, "CITECAST_CONFIG": str(project.config), "COLUMNS": "40"}
    return subprocess.run([sys.executable, "-m", "citecast", *args], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_piped_check_prints_one_full_line_per_problem(project):
    broken = project.write_page(f"{DEEP}/broken-page-with-a-long-name.md",
                                "---\ntitle: X\ncanonical_url: not-a-url\n---\n\nBody.\n")
    out = _piped(project, "check")
    assert out.returncode == 1, out.stderr
    path = str(broken.relative_to(project.root))
    expected = (f"{path}:3: error: canonical_url: 'not-a-url' is not an absolute http(s) URL "
                "(fix: use an absolute https:// URL, or leave it out to derive it from site.base_url + slug)")
    lines = out.stdout.splitlines()
    assert expected in lines
    assert "│" not in out.stdout and "┃" not in out.stdout  # no table
    assert lines[-1] == "5 of 6 pages OK; 1 error, 0 warnings"


def test_piped_check_gives_paths_from_the_working_directory(project):
    project.write_page("broken.md", "---\ntitle: X\ncanonical_url: not-a-url\n---\n\nBody.\n")
    env = {**os.environ, "CITECAST_CONFIG": str(project.config)}
    out = subprocess.run([sys.executable, "-m", "citecast", "check"], cwd=project.content, env=env,
                         capture_output=True, text=True, timeout=120)
    assert any(line.startswith("broken.md:3: error: canonical_url: ") for line in out.stdout.splitlines()), out.stdout


def test_check_json_is_unchanged_by_the_pipe(project):
    project.write_page("broken.md", "---\ntitle: X\ncanonical_url: not-a-url\n---\n\nBody.\n")
    data = json.loads(_piped(project, "check", "--json").stdout)
    assert data["pages"] == 5 and data["files"] == 6
    assert [p["file"] for p in data["problems"] if p["severity"] == "error"] == ["content/broken.md"]


def test_check_on_a_terminal_is_a_table(project):
    project.write_page("broken.md", "---\ntitle: X\ncanonical_url: not-a-url\n---\n\nBody.\n")
    from citecast.cli.common import console

    console.cache_clear()
    try:
        result = runner.invoke(app, ["check"], env={"COLUMNS": "200", "FORCE_COLOR": "1"}, color=True)
    finally:
        console.cache_clear()
    assert result.exit_code == 1
    assert "how to fix" in result.output and "│" in result.output
    assert "content/broken.md:3" in result.output


def test_piped_run_and_ledger_print_one_line_per_post(project):
    run = _piped(project, "run", "--local", "--week", "2026-W48", "--channel", "x")
    assert run.returncode == 0, run.stderr
    posts = [line for line in run.stdout.splitlines() if " on x: dry run" in line]
    assert len(posts) == 5 and "5 dry run" in run.stdout
    ledger = _piped(project, "ledger")
    rows = ledger.stdout.splitlines()
    assert len(rows) == 5 and all(" 2026-W48 " in r and " x dry_run " in r for r in rows)


def test_piped_channels_prints_one_line_per_channel(project):
    out = _piped(project, "channels")
    lines = out.stdout.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("x: dry run: ") and "X_API_KEY" in lines[0]


def test_counts_say_one_and_many():
    assert count(1, "word") == "1 word" and count(2, "word") == "2 words" and count(0, "page") == "0 pages"
    assert count(1, "retry") == "1 retry" and count(3, "retry") == "3 retries"
    assert count(1200, "token") == "1200 tokens"


def test_one_page_one_error_in_the_totals(empty_project):
    empty_project.write_page("only.md", "---\ntitle: X\ncanonical_url: not-a-url\n---\n\nBody.\n")
    out = _piped(empty_project, "check")
    assert out.stdout.splitlines()[-1] == "0 of 1 page OK; 1 error, 0 warnings"


def test_no_count_in_output_is_hedged_with_a_bracketed_s():
    """"1 page(s)" reads as a machine's guess: counts go through citecast.words.count."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    hedged = []
    for path in [*root.joinpath("citecast").rglob("*.py"), *root.joinpath("channels").glob("*.py"),
                 *root.joinpath("flows").glob("*.py")]:
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if re.search(r"[a-z]\((s|es)\)", node.value.replace("http(s)", "")):
                    hedged.append(f"{path.relative_to(root)}:{node.lineno}: {node.value.strip()[:60]}")
    assert hedged == []


def test_piped_preview_prints_each_post_whole_with_its_length(project):
    out = _piped(project, "preview", "tracking-ai-citations", "--channel", "x")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Tracking AI citations  https://citecast.dev/tracking-ai-citations"
    assert "╭" not in out.stdout and "│" not in out.stdout  # no panels in a log
    counts = [line for line in lines if line.startswith("-- post ")]
    assert counts and all(line.endswith("/ 280 weighted characters") for line in counts)
    assert "https://citecast.dev/tracking-ai-citations" in lines  # the link, whole, on its own line


def test_piped_funnel_prints_one_full_line_per_page_and_cohort(project):
    out = _piped(project, "funnel")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert not any(ch in out.stdout for ch in "┃│…"), out.stdout  # no table, nothing cut at 40 columns
    pages = [line for line in lines if line.startswith("page ")]
    assert len(pages) == 5 and all(line.endswith("stalled at not distributed yet") for line in pages), lines
    assert "page tracking-ai-citations: posted -, engaged not measured" in out.stdout
    assert any(line.startswith("cohort distribution: pages 3, posted 0/3") for line in lines), lines
    assert "stalled: tracking-ai-citations: not distributed yet" in lines


def test_a_ledger_url_that_cannot_be_used_is_one_line_naming_the_setting(project):
    """No driver, not a URL, nothing answering: exit 2 with ledger.url and the fix, no traceback, no password."""
    cases = {
        "postgresql+pg8000://nobody@127.0.0.1:9/x": "needs the Python package 'pg8000', which is not installed",
        "postgresql+psycopg://nobody:s3cret@127.0.0.1:9/x": "cannot reach postgresql+psycopg://nobody:***@127.0.0.1:9/x",
        "nonsense": "'nonsense': Could not parse SQLAlchemy URL",
    }
    for url, expected in cases.items():
        env = {**os.environ, "CITECAST_CONFIG": str(project.config), "CITECAST_LEDGER__URL": url}
        out = subprocess.run([sys.executable, "-m", "citecast", "ledger"], cwd=project.root, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2, (url, out.stderr)
        assert out.stderr.startswith("ledger.url: ") and expected in out.stderr and "(fix: " in out.stderr, out.stderr
        assert "Traceback" not in out.stderr and "s3cret" not in out.stderr and len(out.stderr.splitlines()) == 1
    # `citecast run` says it before Prefect starts
    env = {**os.environ, "CITECAST_CONFIG": str(project.config),
           "CITECAST_LEDGER__URL": "postgresql+psycopg://nobody:s3cret@127.0.0.1:9/x"}
    out = subprocess.run([sys.executable, "-m", "citecast", "run"], cwd=project.root, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("ledger.url: cannot reach"), out.stderr
    assert "Prefect" not in out.stdout + out.stderr and "s3cret" not in out.stderr


def test_funnel_json_holds_every_table_and_the_stalled_stage(project, tmp_path):
    out = _piped(project, "funnel", "--json", "--csv", str(tmp_path / "csv"))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)  # the JSON alone on stdout; the CSV line goes to stderr
    assert {"funnel", "funnel_cohorts", "copies_cited", "funnel_timeline", "stalled"} <= set(doc)
    page = next(r for r in doc["funnel"] if r["page"] == "tracking-ai-citations")
    assert page["stalled_at"] == doc["stalled"]["tracking-ai-citations"] == "not distributed yet"
    assert "wrote 4 CSV files" in out.stderr and (tmp_path / "csv" / "funnel.csv").exists()
