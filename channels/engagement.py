"""Reading our posts' engagement back: each platform's own counts, in as few calls as it allows.

    x         GET /2/tweets?ids=..&tweet.fields=public_metrics, 100 ids a call (tweepy get_tweets)
    reddit    GET /api/info?id=t3_..,.. , 100 a call (praw reddit.info): score, upvote_ratio, comments
    bluesky   app.bsky.feed.getPosts, 25 URIs a call (atproto get_posts): likes, reposts, replies, quotes
    mastodon  GET /api/v1/statuses/:id (Mastodon.py status): favourites, reblogs, replies
    linkedin  GET /rest/socialActions/{urn}: needs r_member_social, which LinkedIn grants to approved
              partners only; a token that can only write (w_member_social) gets "not permitted"

Errors come back as the channel error tree (`ChannelError`, `RateLimited`, ...);
a post the platform no longer has is `not_found`, not an error. Kept apart from
the adapters' publishing code: it only borrows their clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from citecast.channels.base import Channel

BATCH = {"x": 100, "reddit": 100, "bluesky": 25, "mastodon": 1, "linkedin": 1}
# The counts that are someone doing something with the post (views and scores are not).
INTERACTIONS = {
    "x": ("like_count", "retweet_count", "reply_count", "quote_count", "bookmark_count"),
    "reddit": ("num_comments", "upvotes"),
    "bluesky": ("like_count", "repost_count", "reply_count", "quote_count"),
    "mastodon": ("favourites_count", "reblogs_count", "replies_count"),
    "linkedin": ("likes", "comments"),
}
LINKEDIN_SCOPE = ("not permitted: reading LinkedIn post counts needs the r_member_social scope (granted to approved "
                  "LinkedIn partners) or r_member_postAnalytics; this token can only post")


@dataclass(frozen=True)
class Counts:
    status: str  # ok | not_found | not_permitted
    metrics: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def interactions(self, channel: str) -> int:
        return int(sum(self.metrics.get(k, 0) or 0 for k in INTERACTIONS.get(channel, ())))


def read_counts(channel: Channel, post_ids: Sequence[str]) -> dict[str, Counts]:
    """Counts for each of our posts on `channel`, by platform id (as `publish` returned it)."""
    reader = {"x": _x, "reddit": _reddit, "bluesky": _bluesky, "mastodon": _mastodon, "linkedin": _linkedin}.get(
        channel.name)
    if reader is None:
        return {pid: Counts("not_permitted", note=f"{channel.name} has no engagement read-back") for pid in post_ids}
    found: dict[str, Counts] = {}
    for batch in _batches(list(post_ids), BATCH.get(channel.name, 1)):
        found.update(reader(channel, batch))
    return {pid: found.get(pid, Counts("not_found", note="the platform no longer has this post")) for pid in post_ids}


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _x(channel: Any, ids: list[str]) -> dict[str, Counts]:
    client = channel._client()
    with channel._errors("reading post metrics on X"):
        resp = client.get_tweets(ids, tweet_fields=["public_metrics"], user_auth=True)
    return {str(t.id): Counts("ok", dict(t.public_metrics or {})) for t in resp.data or []}


def _reddit(channel: Any, ids: list[str]) -> dict[str, Counts]:
    reddit = channel._reddit()
    out = {}
    with channel._errors("reading submissions on Reddit"):
        for s in reddit.info(fullnames=[f"t3_{i.removeprefix('t3_')}" for i in ids]):
            ratio = float(getattr(s, "upvote_ratio", 0) or 0)
            score = int(s.score)
            # Reddit shows score = ups - downs and the ratio ups / (ups + downs): ups follows from both.
            # One of them is the author's own, given with every new post: not someone else's interaction.
            ups = round(score * ratio / (2 * ratio - 1)) if ratio > 0.5 else max(score, 0)
            out[s.id] = Counts("ok", {"score": score, "upvote_ratio": ratio, "num_comments": int(s.num_comments),
                                      "upvotes": max(ups - 1, 0)})
    return {pid: out[pid.removeprefix("t3_")] for pid in ids if pid.removeprefix("t3_") in out}


def _bluesky(channel: Any, uris: list[str]) -> dict[str, Counts]:
    client = channel._client()
    with channel._errors("reading posts on Bluesky"):
        resp = client.get_posts(uris)
    out = {}
    for p in resp.posts:
        out[p.uri] = Counts("ok", {k: int(getattr(p, k) or 0) for k in INTERACTIONS["bluesky"]})
    return out


def _mastodon(channel: Any, ids: list[str]) -> dict[str, Counts]:
    from mastodon import MastodonNotFoundError

    api = channel._api()
    out = {}
    for sid in ids:
        try:
            with channel._errors("reading a status on Mastodon"):
                s = api.status(sid)
        except Exception as exc:  # the adapter's tree, except a deleted status
            if isinstance(exc.__cause__ or exc.__context__, MastodonNotFoundError) or "404" in str(exc):
                continue
            raise
        out[sid] = Counts("ok", {k: int(s.get(k) or 0) for k in INTERACTIONS["mastodon"]})
    return out


def _linkedin(channel: Any, urns: list[str]) -> dict[str, Counts]:
    from urllib.parse import quote

    out = {}
    for urn in urns:
        doing = "reading a post's likes and comments on LinkedIn"
        resp = channel._send("GET", f"/rest/socialActions/{quote(urn, safe='')}", doing)
        if resp.status_code == 403:  # the usual case: a token that may post but not read
            return {u: Counts("not_permitted", note=LINKEDIN_SCOPE) for u in urns}
        if resp.status_code == 404:
            continue
        if resp.status_code != 200:
            channel._raise_for(resp, doing)
        body = resp.json()
        out[urn] = Counts("ok", {"likes": int((body.get("likesSummary") or {}).get("totalLikes", 0)),
                                 "comments": int((body.get("commentsSummary") or {}).get("aggregatedTotalComments", 0))})
    return out
