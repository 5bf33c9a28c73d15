"""The CLI commands and the flows' tasks, end to end against a config file and the fake engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from citecast.cli.citations import register
from tests.fakes.engines import FakeEngineServer, Scripted

ROOT = Path(__file__).resolve().parent.parent
Q = "what is generative engine optimisation"


@pytest.fixture
def project(tmp_path, monkeypatch):
    server = FakeEngineServer({Q: Scripted("GEO, per citecast.", [("https://citecast.dev/geo?utm_source=x", "GEO")])})
    server.__enter__()
    (tmp_path / "content").mkdir()
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "geo.txt").write_text(Q + "\n")
    (tmp_path / "citecast.toml").write_text(f"""
[site]
base_url = "https://citecast.dev"
brand_names = ["citecast"]
[citations]
samples = 2
timeout_seconds = 2
max_retries = 0
min_pages_per_arm = 2
[citations.engines.fake]
kind = "openai_search"
model = "gpt-test"
base_url = "{server.base_url}"
[citations.engines.off]
kind = "perplexity"
model = "sonar"
enabled = false
""")
    monkeypatch.setenv("CITECAST_CONFIG", str(tmp_path / "citecast.toml"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    yield tmp_path
    server.__exit__(None)


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def main() -> None:
        """citecast"""

    register(a)
    return a


def test_every_command_has_help():
    runner = CliRunner()
    for args in (["probe"], ["report"], ["import"], ["import", "citations"], ["import", "backlinks"]):
        res = runner.invoke(app(), [*args, "--help"])
        assert res.exit_code == 0, res.output
        assert "Usage" in res.output


def test_module_imports_nothing_heavy():
    code = ("import sys, citecast.cli.citations; "
            "print(sorted(m for m in ('prefect', 'openai', 'matplotlib', 'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_probe_import_report(project):
    runner = CliRunner()
    res = runner.invoke(app(), ["probe"])
    assert res.exit_code == 0, res.output
    assert "2/2 answers recorded, 0 failed, brand mentioned in 2" in res.output
    f = project / "export.csv"
    f.write_text("date,engine,prompt,cited_url\n2026-03-01,gemini,what is geo,https://citecast.dev/geo\n")
    res = runner.invoke(app(), ["import", "citations", str(f)])
    assert res.exit_code == 0 and "1 answer added" in res.output, res.output
    bad = project / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    res = runner.invoke(app(), ["import", "backlinks", str(bad)])
    assert res.exit_code == 1 and "missing: source URL, target URL" in res.output
    res = runner.invoke(app(), ["report", "--out", str(project / "out"), "--markdown"])
    assert res.exit_code == 0, res.output
    assert (project / "out" / "citations.html").exists() and (project / "out" / "csv" / "by_topic.csv").exists()
    assert "# Citation report" in res.output


def test_flow_tasks(project):
    sys.path.insert(0, str(ROOT))
    from citecast.settings import load_settings
    from citecast.flows.probe import probe_markdown, probe_task
    from citecast.flows.report import report_task

    settings = load_settings()
    result = probe_task.fn(settings, ["fake"], 1)
    assert len(result.recorded) == 1 and not result.failures
    assert "1 of 1 answers recorded" in probe_markdown(result)
    written = report_task.fn(settings, out=str(project / "r"))
    assert written.html.exists() and "# Citation report" in written.markdown


def test_probe_without_a_usable_engine_fails_with_one_message(project, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    res = CliRunner().invoke(app(), ["probe"])
    assert res.exit_code == 1
    assert res.output.strip() == ("no usable engine: engine 'fake': no key found - set the OPENAI_API_KEY variable "
                                  "(or api_key_env under [citations.engines.fake])")


def test_flow_fails_without_a_usable_engine(project, monkeypatch):
    from citecast.citations.probe import NoUsableEngine
    from citecast.flows.probe import probe_task
    from citecast.settings import load_settings

    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(NoUsableEngine, match="^no usable engine: engine 'fake': no key found"):
        probe_task.fn(load_settings(), ["fake"], 1)
