"""Which copy gets cited: a cited post of ours (as the adapters store it) counts for its page, through its channel."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from citecast.citations.copies import CopyIndex, load_copies, post_key
from citecast.citations.model import Cited, Observation, PageIndex, PageRef, record_observation
from citecast.citations.report import load_data
from citecast.citations.report.metrics import matched_citations
from citecast.ledger.citation_tables import CitedUrlRow
from citecast.ledger.store import Ledger
from citecast.ledger.tables import EventRow

PAGES = [PageRef("a", "https://ex.com/a", (), "t1", "distribution", date(2026, 1, 1)),
         PageRef("b", "https://ex.com/b", (), "t1", "distribution", date(2026, 1, 1))]
# What each adapter stores as (platform_id, platform_url) of a published post.
POSTS = [
    ("a", "reddit", "t1abc9", "https://www.reddit.com/r/SEO/comments/t1abc9/"),
    ("a", "x", "1860000000000000001", "https://x.com/i/status/1860000000000000001"),
    ("b", "linkedin", "urn:li:share:7300000000000000001", "https://www.linkedin.com/feed/update/urn:li:share:7300000000000000001/"),
    ("b", "bluesky", "at://did:plc:citecastfake0000000000000/app.bsky.feed.post/3lfake0000001",
     "https://bsky.app/profile/citecast.bsky.social/post/3lfake0000001"),
    ("b", "mastodon", "110000000000001001", "https://mastodon.social/@citecast/110000000000001001"),
]


@pytest.mark.parametrize("url,key", [
    ("https://www.reddit.com/r/SEO/comments/t1abc9/distribution_first_ai_visibility/", ("reddit", "t1abc9")),
    ("https://old.reddit.com/r/SEO/comments/t1abc9/x/?utm_source=share", ("reddit", "t1abc9")),
    ("https://redd.it/t1abc9", ("reddit", "t1abc9")),
    ("https://twitter.com/citecast/status/1860000000000000001?s=20", ("x", "1860000000000000001")),
    ("https://x.com/i/web/status/1860000000000000001", ("x", "1860000000000000001")),
    ("https://mobile.twitter.com/citecast/status/1860000000000000001/photo/1", ("x", "1860000000000000001")),
    ("https://www.linkedin.com/feed/update/urn:li:share:7300000000000000001", ("linkedin", "urn:li:share:7300000000000000001")),
    ("https://www.linkedin.com/posts/citecast_geo-activity-7300000000000000009-AbCd", ("linkedin", "urn:li:activity:7300000000000000009")),
    ("https://bsky.app/profile/did:plc:citecastfake0000000000000/post/3lfake0000001", ("bluesky", "3lfake0000001")),
    ("https://mastodon.social/users/citecast/statuses/110000000000001001", ("mastodon", "mastodon.social/110000000000001001")),
    ("https://ex.com/a", None),
    ("https://x.com/citecast", None),
    ("https://www.reddit.com/r/SEO/", None),
])
def test_post_keys(url, key):
    assert post_key(url) == key


def test_copy_index_and_page_index():
    copies = CopyIndex(POSTS)
    index = PageIndex(PAGES, copies)
    assert index.via("https://ex.com/a/?utm_source=x") == ("a", "canonical")
    assert index.via("https://old.reddit.com/r/SEO/comments/t1abc9/whatever/") == ("a", "reddit")
    assert index.via("https://twitter.com/someone/status/1860000000000000001") == ("a", "x")
    assert index.via("https://bsky.app/profile/citecast.bsky.social/post/3lfake0000001") == ("b", "bluesky")
    assert index.via("https://mastodon.social/@citecast/110000000000001001") == ("b", "mastodon")
    assert index.via("https://hachyderm.io/@citecast/110000000000001001") is None  # another instance's status
    assert index.via("https://x.com/i/status/1860000000000000002") is None  # not our post
    assert index.match("https://www.linkedin.com/feed/update/urn:li:share:7300000000000000001/") == "b"
    assert PageIndex(PAGES).match("https://redd.it/t1abc9") is None  # without copies: no


def test_cited_copies_count_for_the_page_in_the_ledger_and_the_report(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    at = datetime(2026, 1, 10, 12, tzinfo=timezone.utc)
    try:
        with ledger.session() as s:
            for page, channel, pid, url in POSTS:
                s.add(EventRow(page=page, channel=channel, slot="2026-W01", seq=0, status="published",
                               canonical_url=f"https://ex.com/{page}", platform_id=pid, platform_url=url,
                               published_at=datetime(2026, 1, 5, tzinfo=timezone.utc)))
            s.add(EventRow(page="b", channel="x", slot="2026-W01", seq=0, status="dry_run",
                           canonical_url="https://ex.com/b", platform_id="outbox-1",
                           platform_url="https://x.com/i/status/1860000000000000099"))
        index = PageIndex(PAGES, load_copies(ledger))
        record_observation(ledger, Observation("perplexity", "api", "q", "t1", at, [
            Cited("https://www.reddit.com/r/SEO/comments/t1abc9/distribution_first/"),
            Cited("https://x.com/i/status/1860000000000000099"),  # a dry run's id: nothing anyone could cite
            Cited("https://ex.com/b")]), index)
        with ledger.session() as s:
            pages = {r.normalized_url: r.page for r in s.query(CitedUrlRow)}
        data = load_data(ledger, PAGES)
    finally:
        ledger.close()
    assert pages == {"https://reddit.com/r/SEO/comments/t1abc9/distribution_first": "a",
                     "https://x.com/i/status/1860000000000000099": None, "https://ex.com/b": "b"}
    assert data.copies == {"https://reddit.com/r/SEO/comments/t1abc9/distribution_first": ("a", "reddit")}
    assert sorted(matched_citations(data).select("page", "position").iter_rows()) == [("a", 1), ("b", 3)]
