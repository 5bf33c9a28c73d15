"""Gemini with Google Search grounding through the real google-genai SDK against a local fake."""

from __future__ import annotations

import time

import pytest

from citecast.citations.engines.base import Prices
from citecast.citations.engines.gemini import GeminiEngine, cited_chunk_order, make_gemini_client
from citecast.citations.engines.redirects import LedgerCache, RedirectResolver
from citecast.ledger.store import Ledger
from tests.fakes.engines import Scripted
from tests.fakes.gemini import FakeGemini

Q = "do backlinks still matter for AI citations"
BVD = "https://citecast.dev/backlinks-vs-distribution"
ANSWER = Scripted(
    text="Café owners ask this — the short answer:",  # non-ASCII: segment offsets are bytes
    citations=[(BVD, "BvD"), ("https://other.example.org/post", "Other"), ("https://third.example.net/a", "Third")],
    sources=["https://news.example.com/x", BVD],
    queries=["backlinks ai citations 2026", "does distribution beat link building"],
)


@pytest.fixture
def fake():
    with FakeGemini({Q: ANSWER}) as g:
        yield g


def engine(fake, *, timeout=2.0, retries=1, cache=None, prices=Prices()):
    client = make_gemini_client(api_key="gm-key", base_url=fake.url, timeout=timeout, max_retries=retries,
                                retry_delay=0.01)
    return GeminiEngine(client, "gemini-3.5-flash", resolver=RedirectResolver([fake.redirect_prefix], timeout=1,
                                                                              cache=cache), prices=prices)


def test_citations_in_answer_order_retrieved_chunks_and_queries(fake):
    answer = engine(fake, prices=Prices(0.30, 2.50, 0.014)).ask(Q)
    cited = [u for u, _ in ANSWER.citations]
    assert [c.url for c in answer.citations] == cited  # resolved from redirect links, in answer order
    assert [c.url for c in answer.sources] == [*cited, "https://news.example.com/x"]  # every chunk
    assert [c.title for c in answer.citations] == ["citecast.dev", "other.example.org", "third.example.net"]
    assert answer.queries == ANSWER.queries
    assert answer.model == "gemini-3.5-flash-001"
    assert answer.text.startswith("Café owners")
    # 12 prompt + 100 tool-use prompt tokens in, 40 out, 2 search queries (Gemini 3 bills per query).
    assert answer.usage.input_tokens == 112 and answer.usage.output_tokens == 40 and answer.usage.searches == 2
    assert answer.cost_usd == pytest.approx(112 * 0.30 / 1e6 + 40 * 2.50 / 1e6 + 2 * 0.014)  # 0.0281336
    sent = fake.requests[0]
    assert sent.path == "/v1/models/gemini-3.5-flash:generateContent"
    assert sent.json()["tools"] == [{"googleSearch": {}}]
    assert sent.header("x-goog-api-key") == "gm-key"


def test_supports_are_ordered_by_their_byte_offsets():
    from google.genai import types

    supports = [types.GroundingSupport(segment=types.Segment(start_index=a, end_index=b), grounding_chunk_indices=c)
                for a, b, c in [(30, 50, [2, 0]), (0, 12, [1]), (12, 30, [1, 9])]]  # 9: no such chunk
    assert cited_chunk_order(supports, 3) == [1, 2, 0]


def test_redirects_resolved_once_and_cached_in_the_ledger(fake, tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        engine(fake, cache=LedgerCache(ledger)).ask(Q)
        first = sum(fake.redirect_hits.values())
        assert first == 4  # one HEAD per distinct chunk
        engine(fake, cache=LedgerCache(ledger)).ask(Q)  # a new process: the ledger remembers
        assert sum(fake.redirect_hits.values()) == first
        assert {r.method for r in fake.requests if "redirect" in r.path} == {"HEAD"}
    finally:
        ledger.close()


def test_head_refused_falls_back_to_get_and_expired_links_stay_with_a_notice():
    with FakeGemini({Q: ANSWER}, redirect_mode="head_refused") as fake:
        fake.expired.add("https://other.example.org/post")
        answer = engine(fake).ask(Q)
        methods = [r.method for r in fake.requests if "redirect" in r.path]
    assert methods.count("GET") == 3  # the expired one answers 404 before HEAD is refused
    assert answer.citations[0].url == BVD
    assert answer.citations[1].url.startswith(fake.redirect_prefix)  # kept as given, not dropped
    assert answer.notices == ["1 grounding link not resolved: HTTP 404: the link expired"]


def test_a_rate_limited_redirect_is_retried():
    with FakeGemini({Q: ANSWER}, redirect_mode="rate_once") as fake:
        answer = engine(fake).ask(Q)
    assert [c.url for c in answer.citations] == [u for u, _ in ANSWER.citations] and not answer.notices


def test_only_links_under_the_configured_prefixes_are_requested(fake):
    resolver = RedirectResolver([fake.redirect_prefix], timeout=1)
    found, failed = resolver.resolve_all(["https://example.org/page", "http://127.0.0.1:9/grounding-api-redirect/x"])
    assert (found, failed, resolver.requests) == ({}, {}, 0)


def test_faults_retried_by_the_sdk_then_raised(fake):
    eng = engine(fake, timeout=0.5, retries=1)
    assert eng.ask("flaky [500-once]").text.startswith("No idea")
    assert fake.hits["flaky [500-once]"] == 2
    from google.genai import errors

    with pytest.raises(errors.ClientError) as err:
        eng.ask("busy [429]")
    assert err.value.code == 429 and fake.hits["busy [429]"] == 2
    started = time.monotonic()
    with pytest.raises(Exception) as slow:
        eng.ask("slow [hang]")
    assert "Timeout" in type(slow.value).__name__ and time.monotonic() - started < 3


def test_a_wrong_key_is_refused(fake):
    from google.genai import errors

    client = make_gemini_client(api_key="wrong", base_url=fake.url, timeout=1, max_retries=0)
    with pytest.raises(errors.ClientError) as err:
        GeminiEngine(client, "m").ask(Q)
    assert err.value.code == 400 and "API key not valid" in str(err.value)


def test_a_blocked_prompt_or_a_cut_answer_says_so(fake):
    blocked = engine(fake).ask("how to [blocked]")
    assert (blocked.text, blocked.cited) == ("", [])
    assert blocked.notices == ["no answer: the prompt was blocked (SAFETY)"]
    fake.answers["long one"] = Scripted(text="It goes on [cut]", citations=[(BVD, "BvD")])
    cut = engine(fake).ask("long one")
    assert cut.notices == ["answer ended early: MAX_TOKENS"] and [c.url for c in cut.citations] == [BVD]
    assert engine(fake).ask(Q).notices == []
