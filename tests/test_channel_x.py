"""X through tweepy against the fake: threads as reply chains, and a half-posted thread is finished, not repeated."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from citecast.channels.base import RateLimited, Unconfirmed
from citecast.channels.x import XChannel, same_text, weighted_length
from citecast.posts import Draft
from tests.fakes.platforms import ENV, FakeX, channel_options

LINK = "https://citecast.dev/backlinks-vs-distribution?utm_source=x"
SINCE = datetime.now(timezone.utc) - timedelta(minutes=1)


@pytest.fixture
def fake(monkeypatch):
    for var, value in ENV["x"].items():
        monkeypatch.setenv(var, value)
    with FakeX() as server:
        yield server


@pytest.fixture
def x(fake):
    return XChannel.from_options(channel_options("x", fake))


def thread(*parts):
    return XChannel({}).render(Draft(channel="x", parts=parts, link=LINK))


def test_single_post_arrives_as_sent(fake, x):
    text = f"Naïve café 日本 👩‍💻 & <tags>: {LINK}"
    published = x.publish(thread(text), "p:x:2026-W48:0")
    (req,) = [r for r in fake.requests if r.method == "POST"]
    assert req.json() == {"text": text}
    assert req.header("authorization").startswith("OAuth ")
    assert published.id == fake.posts[0]["id"]
    assert published.url == f"https://x.com/i/status/{published.id}"


def test_thread_is_a_reply_chain(fake, x):
    published = x.publish(thread("one", f"two {LINK}", "three"), "p:x:s:0")
    ids = [p["id"] for p in fake.posts]
    assert [p["sent_text"] for p in fake.posts] == ["one", f"two {LINK}", "three"]
    assert [p["reply_to"] for p in fake.posts] == [None, ids[0], ids[1]]
    assert published.id == ids[0]


def test_first_post_failing_leaves_nothing_behind(fake, x):
    fake.fail_next("rate_limit")
    with pytest.raises(RateLimited) as err:
        x.publish(thread("one", "two"), "p:x:s:0")
    assert 25 <= err.value.retry_after <= 31  # from x-rate-limit-reset
    assert fake.posts == []


def test_half_posted_thread_is_finished_by_lookup_not_reposted(fake, x):
    post = thread("one", f"two {LINK}", "three")
    fake.fail_next("ok", "rate_limit")  # the head goes out, the second post is refused
    with pytest.raises(Unconfirmed) as err:
        x.publish(post, "p:x:s:0")
    head = fake.posts[0]["id"]
    assert len(fake.posts) == 1 and head in str(err.value)

    found = x.lookup(post, "p:x:s:0", SINCE)
    assert found.id == head
    assert [p["sent_text"] for p in fake.posts] == ["one", f"two {LINK}", "three"]
    assert [p["reply_to"] for p in fake.posts] == [None, head, fake.posts[1]["id"]]

    assert x.lookup(post, "p:x:s:0", SINCE).id == head  # complete now: nothing more is posted
    assert len(fake.posts) == 3


def test_lookup_does_not_mistake_a_reply_for_the_head(fake, x):
    x.publish(thread("intro", "same words"), "p:x:s:0")
    assert x.lookup(thread("same words"), "q:x:s:0", SINCE) is None


def test_duplicate_text_is_rejected_like_x_does(fake, x):
    from citecast.channels.base import Rejected

    x.publish(thread("hello world"), "p:x:s:0")
    with pytest.raises(Rejected, match="duplicate"):
        x.publish(thread("hello world"), "p:x:s:1")


def test_weighted_length_and_matching():
    assert weighted_length("a" * 10 + " " + LINK) == 10 + 1 + 23
    assert weighted_length("日本") == 4
    assert same_text("go &amp; see https://t.co/abc", "go & see " + LINK)
    assert not same_text("other words https://t.co/abc", "go & see " + LINK)


def test_missing_secret_names_variable(monkeypatch):
    from citecast.channels.base import NotConfigured

    for var in ENV["x"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("X_API_KEY", "k")
    with pytest.raises(NotConfigured, match="X_API_SECRET"):
        XChannel.from_options({})
