"""Probe coverage: every engine call is a row, failed ones with the reason (no usable engine: test_citations_cli)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from citecast.citations.engines.openai import OpenAISearchEngine
from citecast.citations.engines.openai import make_openai_client as make_client
from citecast.citations.model import PageIndex, PageRef, TrackedQuery
from citecast.citations.probe import probe
from citecast.citations.report.data import load_data
from citecast.ledger.citation_tables import ObservationRow, ProbeCallRow
from citecast.ledger.store import Ledger
from tests.fakes.engines import FakeEngineServer, Scripted

Q = "do backlinks still matter"
PAGE = PageRef("bvd", "https://citecast.dev/bvd", (), "ai", queries=(Q,))


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield led
    led.close()


def test_every_call_is_recorded_with_its_outcome(ledger):
    at = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    with FakeEngineServer({Q: Scripted("Yes.", [("https://citecast.dev/bvd", "BvD")])}, hang_seconds=3.0) as server:
        engine = OpenAISearchEngine(make_client(api_key="sk", base_url=server.base_url, timeout=5, max_retries=0),
                                    "gpt-test")
        queries = [TrackedQuery(Q, "ai", "bvd"), TrackedQuery("rate [429]", "ai"), TrackedQuery("down [500]", "ai")]
        result = probe(ledger, [engine], queries, PageIndex([PAGE]), samples=2, run_id="r1", clock=lambda: at)
    assert (result.asked, len(result.recorded), len(result.failures)) == (6, 2, 4)
    with ledger.session() as s:
        calls = list(s.scalars(select(ProbeCallRow).order_by(ProbeCallRow.query, ProbeCallRow.sample)))
        answered = {o.id for o in s.scalars(select(ObservationRow))}
    assert [(c.query, c.sample, c.ok) for c in calls] == [
        (Q, 0, True), (Q, 1, True), ("down [500]", 0, False), ("down [500]", 1, False),
        ("rate [429]", 0, False), ("rate [429]", 1, False)]
    assert {c.observation_id for c in calls if c.ok} == answered and all(c.run_id == "r1" for c in calls)
    assert [c.error.split(":")[0] for c in calls if not c.ok] == ["InternalServerError 500"] * 2 + [
        "RateLimitError 429"] * 2
    data = load_data(ledger, [PAGE])
    assert {(e, d, ok, n) for e, d, ok, n, _ in data.calls} == {("openai", date(2026, 3, 2), True, 2),
                                                                ("openai", date(2026, 3, 2), False, 4)}
