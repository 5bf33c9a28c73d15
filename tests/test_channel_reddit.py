"""Reddit through praw against the fake: a self post where the page says, and no silent retries."""

from __future__ import annotations

import pytest

from citecast.channels.base import RateLimited, Unconfirmed
from citecast.channels.reddit import RedditChannel, ratelimit_wait
from citecast.posts import Draft
from tests.fakes.platforms import ENV, FakeReddit, channel_options, ticket

LINK = "https://citecast.dev/backlinks-vs-distribution"


@pytest.fixture
def fake(monkeypatch):
    for var, value in ENV["reddit"].items():
        monkeypatch.setenv(var, value)
    with FakeReddit() as server:
        yield server


@pytest.fixture
def reddit(fake):
    return RedditChannel.from_options(channel_options("reddit", fake))


def post_of(reddit, page_options=None, body=f"**Short answer:** no.\n\nRead more: {LINK}"):
    return reddit.render(Draft(channel="reddit", parts=(body,), link=LINK, title="Do backlinks still matter?"),
                         page_options)


def test_self_post_lands_in_the_pages_subreddit_with_flair(fake, reddit):
    post = post_of(reddit, {"subreddit": "r/SEO", "flair_id": "abc", "flair_text": "Guide"})
    published = reddit.publish(post, ticket(reddit))
    (stored,) = fake.posts
    assert stored["subreddit"] == "SEO" and stored["kind"] == "self"
    assert stored["title"] == "Do backlinks still matter?"
    assert stored["selftext"] == post.parts[0]
    assert (stored["flair_id"], stored["flair_text"]) == ("abc", "Guide")
    assert published.id == stored["id"]
    assert published.url == f"https://www.reddit.com/r/SEO/comments/{stored['id']}/"


def test_subreddit_defaults_to_config(fake, reddit):
    reddit.publish(post_of(reddit), ticket(reddit))
    assert fake.posts[0]["subreddit"] == "test"


def test_link_post(fake, reddit):
    reddit.publish(post_of(reddit, {"kind": "link"}), ticket(reddit))
    assert fake.posts[0]["kind"] == "link" and fake.posts[0]["url"] == LINK


@pytest.mark.parametrize("fault", ["server_error", "drop_before_store", "timeout_after_store"])
def test_prawcore_does_not_resend_the_post(fake, reddit, fault):
    fake.fail_next(fault)
    with pytest.raises(Unconfirmed):
        reddit.publish(post_of(reddit), ticket(reddit))
    assert len([r for r in fake.requests if r.path.startswith("/api/submit")]) == 1


def test_ratelimit_message_gives_the_wait(fake, reddit):
    fake.fail_next("rate_limit")
    with pytest.raises(RateLimited) as err:
        reddit.publish(post_of(reddit), ticket(reddit))
    assert err.value.retry_after == 420
    assert ratelimit_wait("you are doing that too much. try again in 9 seconds.") == 9
    assert ratelimit_wait("Take a break for 500 milliseconds") == 0.5
    assert ratelimit_wait("no number") is None


def test_lookup_without_page_options_matches_title_and_body(fake, reddit):
    from citecast.posts import Post

    post = post_of(reddit, {"subreddit": "SEO"})
    fake.fail_next("drop_after_store")
    t = ticket(reddit)
    with pytest.raises(Unconfirmed):
        reddit.publish(post, t)
    bare = Post(channel="reddit", parts=post.parts, link=LINK, title=post.title)  # as rebuilt from the ledger
    found = reddit.lookup(bare, t)
    assert found and found.id == fake.posts[0]["id"]


def test_lookup_passes_over_the_same_words_the_ledger_records_for_another_event(fake, reddit):
    post = post_of(reddit, {"subreddit": "SEO"})
    other = reddit.publish(post, ticket(reddit, "page:reddit:2026-W48:0"))  # a forced repost's first copy
    fake.fail_next("drop_after_store")
    t = ticket(reddit, "page:reddit:2026-W48:1", taken=lambda platform_id: platform_id == other.id)
    with pytest.raises(Unconfirmed):
        reddit.publish(post, t)
    ours = next(p["id"] for p in fake.posts if p["id"] != other.id)
    assert reddit.lookup(post, t).id == ours  # not the older copy, which is the other event's
