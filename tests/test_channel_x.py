"""X through tweepy against the fake: threads as reply chains, and a half-posted thread is finished, not repeated."""

from __future__ import annotations

import pytest

from citecast.channels.base import RateLimited, Ticket, Unconfirmed
from citecast.channels.x import XChannel, same_text, weighted_length
from citecast.posts import Draft
from tests.fakes.platforms import ENV, FakeX, channel_options, ticket

LINK = "https://citecast.dev/backlinks-vs-distribution?utm_source=x"


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
    published = x.publish(thread(text), ticket(x))
    (req,) = [r for r in fake.requests if r.method == "POST"]
    assert req.json() == {"text": text}
    assert req.header("authorization").startswith("OAuth ")
    assert published.id == fake.posts[0]["id"]
    assert published.url == f"https://x.com/i/status/{published.id}"


def test_thread_is_a_reply_chain(fake, x):
    published = x.publish(thread("one", f"two {LINK}", "three"), ticket(x))
    ids = [p["id"] for p in fake.posts]
    assert [p["sent_text"] for p in fake.posts] == ["one", f"two {LINK}", "three"]
    assert [p["reply_to"] for p in fake.posts] == [None, ids[0], ids[1]]
    assert published.id == ids[0]


def test_first_post_failing_leaves_nothing_behind(fake, x):
    fake.fail_next("rate_limit")
    with pytest.raises(RateLimited) as err:
        x.publish(thread("one", "two"), ticket(x))
    assert 25 <= err.value.retry_after <= 31  # from x-rate-limit-reset
    assert fake.posts == []


def test_half_posted_thread_is_resumed_never_restarted(fake, x):
    post = thread("one", f"two {LINK}", "three")
    fake.fail_next("ok", "rate_limit")  # the head goes out, the second post is refused
    t = ticket(x)
    steps = []
    t.on_steps = lambda s: steps.append([dict(p) for p in s])
    with pytest.raises(RateLimited) as err:
        x.publish(post, t)
    head = fake.posts[0]["id"]
    assert len(fake.posts) == 1 and head in str(err.value)
    assert steps[-1][0]["id"] == head and steps[-1][1]["id"] is None  # the ledger knows what is live

    assert x.publish(post, t).id == head  # the retry sends only the rest
    assert [p["sent_text"] for p in fake.posts] == ["one", f"two {LINK}", "three"]
    assert [p["reply_to"] for p in fake.posts] == [None, head, fake.posts[1]["id"]]


def test_reply_with_unknown_outcome_is_found_in_its_conversation(fake, x):
    post = thread("one", f"two {LINK}", "three")
    fake.fail_next("ok", "timeout_after_store")  # the second post is stored, its answer lost
    t = ticket(x)
    with pytest.raises(Unconfirmed):
        x.publish(post, t)
    assert t.steps[1]["id"] is None and t.steps[1]["sent_at"]
    found = x.lookup(post, Ticket(key=t.key, steps=[dict(s) for s in t.steps]))  # as rebuilt from the ledger
    assert found.id == fake.posts[0]["id"] and found.found_by.startswith("lookup")
    assert [p["sent_text"] for p in fake.posts] == ["one", f"two {LINK}", "three"]  # the tail went out once
    assert fake.posts[2]["reply_to"] == fake.posts[1]["id"]


def test_lookup_does_not_mistake_a_reply_for_the_head(fake, x):
    x.publish(thread("intro", "same words"), ticket(x))
    assert x.lookup(thread("same words"), ticket(x, "q:x:s:0")) is None


def test_duplicate_text_is_refused_like_x_does(fake, x):
    from citecast.channels.base import Duplicate as Rejected

    x.publish(thread("hello world"), ticket(x))
    with pytest.raises(Rejected, match="duplicate"):
        x.publish(thread("hello world"), ticket(x))


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
