"""The log import, its nothing-twice key and the funnel's queries on PostgreSQL (ON CONFLICT, BIGINT hashes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from citecast.cli.app import app
from tests.pgserver import started_or_skip

pytestmark = pytest.mark.postgres
LOGS = Path(__file__).parent / "fixtures" / "logs"


@pytest.fixture(scope="module")
def pg():
    yield from started_or_skip()


def test_import_twice_and_the_funnel_on_postgres(pg, project, monkeypatch):
    from citecast.citations.funnel import funnel_for
    from citecast.citations.model import load_pages, open_ledger
    from citecast.ledger.log_tables import LogHitRow

    monkeypatch.setenv("CITECAST_LEDGER__URL", pg.create_database("ledger_logs"))
    files = [str(LOGS / n) for n in ("combined.log", "caddy.jsonl", "cloudflare.jsonl", "cloudfront.log")]
    runner = CliRunner()
    first = runner.invoke(app, ["import", "logs", *files, "--ip-ranges", str(LOGS / "gptbot.json")])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["import", "logs", *files])
    assert again.exit_code == 0 and again.output.count(" 0 added,") == 4
    settings = project.settings()
    ledger = open_ledger(settings)
    try:
        with ledger.session() as s:
            hashes = [h.line_hash for h in s.query(LogHitRow)]
        funnel = funnel_for(ledger, load_pages(settings, ledger))
    finally:
        ledger.close()
    assert len(hashes) == 21 and any(h < 0 for h in hashes)  # signed 64-bit hashes round-trip
    assert {r["stalled_at"] for r in funnel.tables["funnel"].as_dicts()} == {"not distributed yet"}
