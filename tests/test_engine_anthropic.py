"""Claude with the web search tool through the real anthropic SDK against a local fake."""

from __future__ import annotations

import time

import anthropic
import pytest

from citecast.citations.engines.anthropic import AnthropicEngine, make_anthropic_client
from citecast.citations.engines.base import Prices
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.engines import Scripted

Q = "do backlinks still matter for AI citations"
BVD = "https://citecast.dev/backlinks-vs-distribution"
ANSWER = Scripted(
    text="Distribution tends to matter more.",
    citations=[("https://other.example.org/post", "Other"), (BVD, "BvD")],
    sources=["https://news.example.com/x"],
    queries=["backlinks ai citations 2026", "distribution vs link building"],
)
ANSWERS = {Q: ANSWER, f"{Q} [pause]": ANSWER, f"{Q} [tool-error]": ANSWER}


@pytest.fixture
def fake():
    with FakeAnthropic(ANSWERS) as f:
        yield f


def engine(fake, *, timeout=2.0, retries=1, key="sk-ant-test", prices=Prices()):
    client = make_anthropic_client(api_key=key, base_url=fake.url, timeout=timeout, max_retries=retries)
    return AnthropicEngine(client, "claude-test", max_tokens=800, max_uses=3, prices=prices)


def test_citations_results_and_queries(fake):
    answer = engine(fake, prices=Prices(3.0, 15.0, 0.01)).ask(Q)
    assert [c.url for c in answer.citations] == ["https://other.example.org/post", BVD]
    assert [c.title for c in answer.citations] == ["Other", "BvD"]
    assert [c.url for c in answer.sources] == ["https://news.example.com/x", "https://other.example.org/post", BVD]
    assert answer.queries == ANSWER.queries
    assert answer.model == "claude-test"
    assert answer.text == "Distribution tends to matter more. Other says so. BvD says so."
    # 200 tokens in, 50 out, 2 searches at $10 per 1,000.
    assert answer.cost_usd == pytest.approx(200 * 3 / 1e6 + 50 * 15 / 1e6 + 2 * 0.01)  # 0.02135
    sent = fake.requests[0].json()
    assert sent["tools"] == [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]
    assert sent["max_tokens"] == 800 and sent["messages"] == [{"role": "user", "content": Q}]


def test_a_paused_turn_is_continued_with_its_content_sent_back(fake):
    answer = engine(fake).ask(f"{Q} [pause]")
    assert len(fake.requests) == 2  # the fake answers 400 unless the paused blocks come back as is
    assert [c.url for c in answer.citations] == ["https://other.example.org/post", BVD]
    assert answer.queries == ANSWER.queries
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.searches) == (400, 100, 2)


def test_a_failed_search_inside_a_200_answer_is_a_notice(fake):
    answer = engine(fake).ask(f"{Q} [tool-error]")
    assert answer.sources == [] and answer.citations == []
    assert answer.notices == ["web search failed: too_many_requests"] * 2
    assert answer.queries == ANSWER.queries  # it still tried them


def test_faults_retried_by_the_sdk_then_raised(fake):
    eng = engine(fake, timeout=0.5, retries=1)
    assert eng.ask("flaky [500-once]").text.startswith("No idea")
    assert fake.hits["flaky [500-once]"] == 2
    with pytest.raises(anthropic.RateLimitError):
        eng.ask("busy [429]")
    assert fake.hits["busy [429]"] == 2
    with pytest.raises(anthropic.APIStatusError) as over:
        eng.ask("full [529]")
    assert over.value.status_code == 529
    started = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError):
        eng.ask("slow [hang]")
    assert time.monotonic() - started < 3


def test_a_wrong_key_is_refused(fake):
    with pytest.raises(anthropic.AuthenticationError):
        engine(fake, key="wrong", retries=0).ask(Q)


def test_an_answer_cut_at_max_tokens_says_so(fake):
    fake.answers[f"{Q} [cut]"] = ANSWER
    answer = engine(fake).ask(f"{Q} [cut]")
    assert answer.notices == ["answer ended early: max_tokens"] and len(answer.citations) == 2
    assert engine(fake).ask(Q).notices == []
