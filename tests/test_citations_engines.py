"""Engines through the real openai SDK against a local fake server; the probe and its failures."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, func, select

from citecast.citations.model import Citations, EngineSettings, PageIndex, PageRef, TrackedQuery
from citecast.citations.engines import build_engines
from citecast.citations.engines.chat import ChatEngine
from citecast.citations.engines.openai import OpenAISearchEngine
from citecast.citations.engines.openai import make_openai_client as make_client
from citecast.citations.engines.perplexity import PerplexityEngine
from citecast.citations.probe import probe
from citecast.ledger.citation_tables import CitedUrlRow, ObservationRow
from citecast.ledger.store import Ledger
from tests.fakes.engines import FakeEngineServer, Scripted

Q = "do backlinks still matter for AI citations"
PAGE = PageRef(slug="bvd", canonical_url="https://citecast.dev/backlinks-vs-distribution",
               previous_urls=("https://citecast.dev/blog/backlinks-old",), topic="ai-visibility", queries=(Q,))
ANSWERS = {
    Q: Scripted(
        text="Citecast found that distribution helps.",
        citations=[("https://www.Citecast.dev/backlinks-vs-distribution/?utm_source=chatgpt.com#top", "BvD"),
                   ("https://unrelated.example.org/post", "Other"),
                   ("http://citecast.dev/blog/backlinks-old?fbclid=abc", "Old")],
        sources=["https://citecast.dev/backlinks-vs-distribution", "https://news.example.com/x"],
    ),
}


@pytest.fixture
def server():
    with FakeEngineServer(ANSWERS, hang_seconds=3.0) as s:
        yield s


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield led
    led.close()


def client(server, timeout=2.0, retries=2):
    return make_client(api_key="sk-test", base_url=server.base_url, timeout=timeout, max_retries=retries)


def test_openai_web_search_citations_in_answer_order(server):
    answer = OpenAISearchEngine(client(server), "gpt-test").ask(Q)
    assert [c.url for c in answer.cited if c.kind == "citation"] == [u for u, _ in ANSWERS[Q].citations]
    assert [c.url for c in answer.cited if c.kind == "source"] == ANSWERS[Q].sources
    assert answer.text.startswith("Citecast found")
    sent = server.requests[-1]["body"]
    assert sent["tools"] == [{"type": "web_search"}]
    assert sent["include"] == ["web_search_call.action.sources"]
    assert server.requests[-1]["auth"] == "Bearer sk-test"


@pytest.mark.parametrize("style", ["search_results", "citations", "both"])
def test_perplexity_markers_are_the_citations_every_result_was_retrieved(style):
    with FakeEngineServer(ANSWERS, perplexity_style=style) as s:
        answer = PerplexityEngine(client(s), "sonar").ask(Q)
    cited = [u for u, _ in ANSWERS[Q].citations]
    assert [c.url for c in answer.citations] == cited  # by the [n] markers, not by result order
    # The fake lists the uncited results first: retrieved, never cited.
    assert [c.url for c in answer.sources] == [*ANSWERS[Q].sources, *cited]
    assert answer.cost_usd == 0.00503  # as the API states it
    if style != "citations":
        assert answer.citations[0].title == "BvD"


def test_perplexity_answer_without_markers_counts_every_result_as_cited():
    with FakeEngineServer(ANSWERS, perplexity_style="no_markers") as s:
        answer = PerplexityEngine(client(s), "sonar").ask(Q)
    assert [c.url for c in answer.citations] == [c.url for c in answer.sources]
    assert len(answer.citations) == 5


def test_perplexity_agent_api_reports_its_queries_and_cost():
    answer_q = Scripted("Distribution helps.", [("https://citecast.dev/backlinks-vs-distribution", "BvD")],
                        ["https://news.example.com/x"], ["backlinks ai citations", "distribution vs links"])
    with FakeEngineServer({Q: answer_q}, perplexity_style="agent") as s:
        answer = PerplexityEngine(client(s), "openai/gpt-test", api="responses").ask(Q)
        sent = s.requests[-1]
    assert sent["path"] == "/v1/responses" and sent["body"]["tools"] == [{"type": "web_search"}]
    assert [c.url for c in answer.citations] == ["https://citecast.dev/backlinks-vs-distribution"]
    assert [c.url for c in answer.sources] == ["https://news.example.com/x",
                                               "https://citecast.dev/backlinks-vs-distribution"]
    assert answer.queries == ["backlinks ai citations", "distribution vs links"]
    assert answer.cost_usd == 0.0053 and answer.usage.searches == 1


def test_openai_reports_the_queries_it_ran(server):
    answer = OpenAISearchEngine(client(server), "gpt-test").ask(Q)
    assert answer.queries == [Q]  # the fake searched the question itself
    assert answer.usage.searches == 1 and answer.cost_usd is None  # no prices configured


def test_chat_engine_mentions_only(server):
    engine = ChatEngine(client(server), "llama")
    assert not engine.can_cite
    assert engine.ask(Q).cited == []


def test_probe_records_matched_observations(server, ledger):
    engines = [OpenAISearchEngine(client(server), "gpt-test"), PerplexityEngine(client(server), "sonar"),
               ChatEngine(client(server), "llama", name="llama")]
    at = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    result = probe(ledger, engines, [TrackedQuery(Q, "ai-visibility", "bvd")], PageIndex([PAGE]),
                   brand_names=["citecast"], samples=2, concurrency=3, clock=lambda: at)
    assert result.ok and result.asked == 6 and len(result.recorded) == 6
    assert result.cited_pages == {"bvd": 4}
    assert result.brand_mentions == 6
    with ledger.session() as s:
        rows = list(s.scalars(select(ObservationRow).order_by(ObservationRow.engine, ObservationRow.sample)))
        assert [(r.engine, r.sample, r.can_cite, r.surface) for r in rows] == [
            ("llama", 0, False, "api"), ("llama", 1, False, "api"), ("openai", 0, True, "api"),
            ("openai", 1, True, "api"), ("perplexity", 0, True, "api"), ("perplexity", 1, True, "api")]
        assert all(r.page == "bvd" and r.topic == "ai-visibility" and r.brand_mentioned for r in rows)
        assert len({r.answer_sha256 for r in rows if r.engine == "openai"}) == 1
        openai = rows[2]
        cites = [(c.kind, c.position, c.page, c.normalized_url) for c in openai.cited]
        assert cites == [
            ("citation", 1, "bvd", "https://citecast.dev/backlinks-vs-distribution"),
            ("source", 1, "bvd", "https://citecast.dev/backlinks-vs-distribution"),
            ("citation", 2, None, "https://unrelated.example.org/post"),
            ("source", 2, None, "https://news.example.com/x"),
            ("citation", 3, "bvd", "https://citecast.dev/blog/backlinks-old"),
        ]
        assert rows[0].cited == []


def test_faults_retried_then_reported(server, ledger):
    engine = OpenAISearchEngine(client(server, timeout=0.4, retries=1), "gpt-test")
    queries = [TrackedQuery(q, "ai-visibility") for q in ("rate [429]", "flaky [500-once]", "down [500]", "slow [hang]")]
    started = time.monotonic()
    result = probe(ledger, [engine], queries, PageIndex([PAGE]), concurrency=4)
    assert time.monotonic() - started < 6
    assert len(result.recorded) == 1  # the 500-once query, on its retry
    failed = {f.query: f.error for f in result.failures}
    assert set(failed) == {"rate [429]", "down [500]", "slow [hang]"}
    assert failed["rate [429]"].startswith("RateLimitError 429")
    assert failed["down [500]"].startswith("InternalServerError 500")
    assert failed["slow [hang]"].startswith("APITimeoutError")
    assert server.count("rate [429]") == 2 and server.count("down [500]") == 2 and server.count("flaky [500-once]") == 2
    with ledger.session() as s:
        assert s.scalar(select(func.count()).select_from(ObservationRow)) == 1
    assert "failed: openai: 'rate [429]'" in result.summary()


def test_probe_never_half_writes(server, ledger):
    def boom(mapper, connection, target):
        if "unrelated" in target.url:
            raise RuntimeError("disk full")

    event.listen(CitedUrlRow, "before_insert", boom)
    try:
        result = probe(ledger, [OpenAISearchEngine(client(server), "gpt-test")], [TrackedQuery(Q, "ai-visibility")],
                       PageIndex([PAGE]))
    finally:
        event.remove(CitedUrlRow, "before_insert", boom)
    assert result.failures and "disk full" in result.failures[0].error
    with ledger.session() as s:
        assert s.scalar(select(func.count()).select_from(ObservationRow)) == 0
        assert s.scalar(select(func.count()).select_from(CitedUrlRow)) == 0


def test_engines_without_keys_are_skipped_with_a_notice():
    cfg = Citations(engines={"openai": EngineSettings(kind="openai_search", model="m"),
                             "pplx": EngineSettings(kind="perplexity", model="sonar", base_url="http://127.0.0.1:9/v1")})
    engines, notices = build_engines(cfg, env={"OPENAI_API_KEY": "sk"})
    assert [e.name for e in engines] == ["openai"]
    assert notices == ["engine 'pplx': no key found - set the PERPLEXITY_API_KEY variable "
                       "(or api_key_env under [citations.engines.pplx])"]
    assert build_engines(cfg, ["nope"], env={})[1][0].startswith("engine 'nope' is not configured")


def test_perplexity_agent_api_gets_its_v1_base_url():
    cfg = Citations(engines={"p": EngineSettings(kind="perplexity", model="sonar", api="responses",
                                                 base_url="https://api.perplexity.ai")})
    (engine,), _ = build_engines(cfg, env={"PERPLEXITY_API_KEY": "k"})
    assert str(engine.client.base_url).rstrip("/") == "https://api.perplexity.ai/v1"


def test_an_overlong_engine_search_is_kept_whole_and_indexed_in_part(server, ledger):
    from citecast.citations.model import Observation, record_observation

    long_q = "why " * 300
    oid = record_observation(ledger, Observation(engine="e", surface="api", query=Q, topic="t",
                                                 observed_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
                                                 search_queries=[long_q, "  ", "short"]), PageIndex([]))
    with ledger.session() as s:
        row = s.get(ObservationRow, oid)
        assert [(q.position, len(q.query), len(q.query_key)) for q in row.search_queries] == [(1, 1199, 500), (2, 5, 5)]
