"""LinkedIn Posts API over httpx against the fake: escaped commentary arrives intact."""

from __future__ import annotations

import pytest

from citecast.channels.base import NotConfigured, Rejected
from citecast.channels.linkedin import LinkedInChannel, escape_little_text, unescape_little_text
from citecast.posts import Draft
from tests.fakes.platforms import ENV, FakeLinkedIn, channel_options, months_ago, ticket

LINK = "https://citecast.dev/backlinks-vs-distribution"
TEXT = "Backlinks (still) matter? #SEO @team [1] *bold* _under_ ~strike~ <b> {x} | back\\slash. " + LINK


@pytest.fixture
def fake(monkeypatch):
    for var, value in ENV["linkedin"].items():
        monkeypatch.setenv(var, value)
    with FakeLinkedIn() as server:
        yield server


@pytest.fixture
def li(fake):
    return LinkedInChannel.from_options(channel_options("linkedin", fake) | {"version": months_ago(1)})


def draft(text=TEXT):
    return Draft(channel="linkedin", parts=(text,), link=LINK, title="Backlinks vs distribution")


def test_post_arrives_escaped_with_article_and_headers(fake, li):
    published = li.publish(li.render(draft()), ticket(li))
    (req,) = [r for r in fake.requests if r.method == "POST"]
    body = req.json()
    assert body["commentary"] == escape_little_text(TEXT)
    assert unescape_little_text(body["commentary"]) == TEXT
    assert "\\#SEO" in body["commentary"] and "\\\\slash" in body["commentary"]
    assert body["author"] == "urn:li:person:abc123"
    assert body["content"]["article"] == {"source": LINK, "title": "Backlinks vs distribution"}
    assert body["visibility"] == "PUBLIC" and body["lifecycleState"] == "PUBLISHED"
    assert body["distribution"]["feedDistribution"] == "MAIN_FEED"
    assert req.header("linkedin-version") == months_ago(1)
    assert req.header("x-restli-protocol-version") == "2.0.0"
    assert published.id == fake.posts[0]["id"] and published.id.startswith("urn:li:share:")
    assert published.url == f"https://www.linkedin.com/feed/update/{published.id}/"


def test_repeat_is_refused_as_duplicate_post_naming_the_first(fake, li):
    first = li.publish(li.render(draft()), ticket(li))
    with pytest.raises(Rejected, match="DUPLICATE_POST") as err:
        li.publish(li.render(draft()), ticket(li))
    assert err.value.existing.id == first.id and err.value.existing.url == first.url


def test_limit_is_counted_after_escaping():
    ch = LinkedInChannel({})
    fits_raw = "#" * 1600  # 1,600 characters, 3,200 once escaped
    assert ch.problems(ch.render(draft(fits_raw))) == ["text is 3200 characters, limit 3000"]


def test_author_urn_is_required(monkeypatch):
    monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", "t")
    monkeypatch.delenv("LINKEDIN_AUTHOR", raising=False)
    with pytest.raises(NotConfigured, match="author"):
        LinkedInChannel.from_options({})
    with pytest.raises(NotConfigured, match="URN"):
        LinkedInChannel.from_options({"author": "someone"})
    assert LinkedInChannel.from_options({"author": "urn:li:organization:42"}).options["author"] == "urn:li:organization:42"
