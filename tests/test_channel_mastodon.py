"""Mastodon through Mastodon.py against the fake: instance limits and the Idempotency-Key."""

from __future__ import annotations

import pytest

from citecast.channels.mastodon import MastodonChannel, status_length
from citecast.posts import Draft
from tests.fakes.platforms import ENV, FakeMastodon, channel_options, ticket

LINK = "https://citecast.dev/a-rather-long-canonical-url-that-is-well-over-twenty-three-characters"


@pytest.fixture
def env(monkeypatch):
    for var, value in ENV["mastodon"].items():
        monkeypatch.setenv(var, value)


def post_of(ch, text=f"Backlinks or distribution?\n\nRead: {LINK}"):
    return ch.render(Draft(channel="mastodon", parts=(text,), link=LINK))


def test_idempotency_key_on_every_post_and_repeat_returns_the_same_status(env):
    with FakeMastodon() as fake:
        ch = MastodonChannel.from_options(channel_options("mastodon", fake))
        t = ticket(ch, "p:mastodon:2026-W48:0")
        assert t.platform_key.startswith("citecast:p:mastodon:2026-W48:0:")  # the event key plus a nonce
        first = ch.publish(post_of(ch), t)
        again = ch.publish(post_of(ch), t)
        posts = [r for r in fake.requests if r.method == "POST"]
        assert [r.header("idempotency-key") for r in posts] == [t.platform_key] * 2
        assert first == again and len(fake.posts) == 1
        assert fake.posts[0]["text"] == post_of(ch).parts[0]
        assert first.url == fake.posts[0]["url"]


def test_limits_come_from_the_instance(env):
    with FakeMastodon(max_characters=1000, per_url=30) as fake:
        ch = MastodonChannel.from_options(channel_options("mastodon", fake))
        assert ch.limits.max_length == 1000
        assert ch.limits.count(f"ab {LINK}") == 3 + 30
    assert MastodonChannel({}).limits.max_length == 500


def test_counting_rules():
    assert status_length(f"x {LINK}") == 2 + 23
    assert status_length("hi @alice@example.social") == len("hi @alice")
    assert status_length("👩‍💻") == 1


def test_api_base_url_is_required(env):
    from citecast.channels.base import NotConfigured

    with pytest.raises(NotConfigured, match="api_base_url"):
        MastodonChannel.from_options({})
