"""Bluesky through atproto against the fake: graphemes counted, link facet at the right UTF-8 bytes."""

from __future__ import annotations

import pytest

from citecast.channels.base import Rejected
from citecast.channels.bluesky import BlueskyChannel, graphemes
from citecast.posts import Draft
from tests.fakes.platforms import ENV, FakeBluesky, channel_options, ticket

LINK = "https://citecast.dev/café-guide?utm_source=bluesky"


@pytest.fixture
def fake(monkeypatch):
    for var, value in ENV["bluesky"].items():
        monkeypatch.setenv(var, value)
    with FakeBluesky() as server:
        yield server


@pytest.fixture
def bsky(fake):
    return BlueskyChannel.from_options(channel_options("bluesky", fake))


def post_of(text, title="Café guide"):
    return BlueskyChannel({}).render(Draft(channel="bluesky", parts=(text,), link=LINK, title=title))


def test_link_facet_uses_utf8_byte_offsets(fake, bsky):
    text = f"Naïve résumé 👩‍💻🇬🇧 — read {LINK} ✓ fin"
    published = bsky.publish(post_of(text), ticket(bsky))
    record = fake.posts[0]["record"]
    assert record["text"] == text
    (facet,) = record["facets"]
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert start == len(text[: text.index(LINK)].encode("utf-8"))
    assert text.encode("utf-8")[start:end].decode("utf-8") == LINK
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": LINK}]
    assert record["embed"]["$type"] == "app.bsky.embed.external"
    assert record["embed"]["external"]["uri"] == LINK
    assert record["embed"]["external"]["title"] == "Café guide"
    assert fake.posts[0]["repo"] == FakeBluesky.did
    rkey = fake.posts[0]["uri"].rsplit("/", 1)[-1]
    assert published.url == f"https://bsky.app/profile/citecast.bsky.social/post/{rkey}"


def test_graphemes_not_code_points():
    assert graphemes("👩‍💻") == 1
    assert graphemes("🇬🇧") == 1
    assert graphemes("e\u0301") == 1  # e + combining acute
    ch = BlueskyChannel({})
    assert ch.problems(post_of("👩‍💻" * 300)) == []
    assert ch.problems(post_of("👩‍💻" * 301)) == ["text is 301 graphemes, limit 300"]


def test_too_long_is_rejected_before_sending(fake, bsky):
    with pytest.raises(Rejected, match="301 graphemes"):
        bsky.publish(post_of("é" * 301), ticket(bsky))
    assert not [r for r in fake.requests if r.path.endswith("createRecord")]
