"""Engagement reads on the platform fakes: the routes the read-back uses, as the platforms answer them.

`serve_engagement(fake)` adds the read route to a running fake and returns the
`counts` dict the test fills (post id -> the platform's numbers). Reads go
through the fake's read faults (`read_fault_rate`, `read_fault_mix`) and its
indexing lag like its other reads; a post the fake never stored is missing from
the answer, as a deleted post is.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, unquote

from .http import FakeServer, Reply, Request
from .platforms import FakeBluesky, FakeLinkedIn, FakeMastodon, FakeReddit, FakeX, iso


def _limited(fake: FakeServer) -> Reply:
    own = getattr(fake, "_rate_limited", None)
    if own is not None:
        return own()
    return Reply(429, {"error": "Too many requests"}, {"Retry-After": "30",
                                                       "x-ratelimit-reset": "30", "x-ratelimit-remaining": "0"})


def serve_engagement(fake: FakeServer) -> dict[str, dict[str, Any]]:
    counts: dict[str, dict[str, Any]] = {}
    fake.counts = counts  # type: ignore[attr-defined]
    if isinstance(fake, FakeX):
        fake.route("GET", r"/2/tweets", lambda req, m: _x(fake, req, counts))
    elif isinstance(fake, FakeReddit):
        fake.route("GET", r"/api/info/?", lambda req, m: _reddit(fake, req, counts))
    elif isinstance(fake, FakeBluesky):
        fake.route("GET", r"/xrpc/app.bsky.feed.getPosts", lambda req, m: _bluesky(fake, req, counts))
    elif isinstance(fake, FakeMastodon):
        fake.route("GET", r"/api/v1/statuses/(\d+)", lambda req, m: _mastodon(fake, req, m, counts))
    elif isinstance(fake, FakeLinkedIn):
        fake.read_scope = False  # type: ignore[attr-defined]  (a self-serve token: w_member_social only)
        fake.route("GET", r"/rest/socialActions/(.+)", lambda req, m: _linkedin(fake, req, m, counts))
    return counts


def _visible(fake: FakeServer, key: str, value: str) -> dict | None:
    with fake.lock:
        post = next((p for p in fake.posts if str(p.get(key)) == value), None)
    return post if post is not None and fake.visible(post) else None


def _x(fake: FakeX, req: Request, counts: dict) -> Reply:
    if not fake._authorized(req):
        return fake._unauthorized()
    ids = [i for i in req.query.get("ids", "").split(",") if i]
    if not ids or len(ids) > 100:
        return Reply(400, {"title": "Invalid Request", "detail": "ids: 1 to 100 tweet ids", "type": "about:blank"})

    def answer() -> Reply:
        data, errors = [], []
        for tid in ids:
            post = _visible(fake, "id", tid)
            if post is None:
                errors.append({"value": tid, "detail": f"Could not find tweet with ids: [{tid}].",
                               "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                               "resource_id": tid, "type": "https://api.twitter.com/2/problems/resource-not-found"})
                continue
            metrics = {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
                       "bookmark_count": 0, "impression_count": 0, **counts.get(tid, {})}
            data.append({"id": tid, "text": post["text"], "edit_history_tweet_ids": [tid], "public_metrics": metrics})
        body: dict[str, Any] = {"data": data} if data else {}
        if errors:
            body["errors"] = errors
        return Reply(200, body)

    return fake.read(answer, lambda: _limited(fake))


def _reddit(fake: FakeReddit, req: Request, counts: dict) -> Reply:
    if req.header("authorization") != f"bearer {fake.token}":
        return Reply(401, {"message": "Unauthorized", "error": 401})
    names = [n for n in req.query.get("id", "").split(",") if n]
    if len(names) > 100:
        return Reply(400, {"message": "too many ids", "error": 400})

    def answer() -> Reply:
        children = []
        for name in names:
            post = _visible(fake, "id", name.removeprefix("t3_"))
            if post is None:
                continue
            c = {"score": 1, "upvote_ratio": 1.0, "num_comments": 0, **counts.get(post["id"], {})}
            children.append({"kind": "t3", "data": {
                **{k: v for k, v in post.items() if k != "stored_at"}, "name": f"t3_{post['id']}",
                "is_self": post.get("kind") == "self", **c}})
        return Reply(200, {"kind": "Listing", "data": {"after": None, "before": None, "dist": len(children),
                                                       "children": children}})

    return fake.read(answer, lambda: _limited(fake))


def _bluesky(fake: FakeBluesky, req: Request, counts: dict) -> Reply:
    if not fake._authorized(req):
        return fake._unauthorized()
    uris = [unquote(u) for u in parse_qs(req.raw_query).get("uris", [])]
    if not uris or len(uris) > 25:
        return Reply(400, {"error": "InvalidRequest", "message": "uris must have 1 to 25 items"})

    def answer() -> Reply:
        posts = []
        for uri in uris:
            post = _visible(fake, "uri", uri)
            if post is None:
                continue  # the AppView leaves out posts it does not have
            c = counts.get(uri, {})
            posts.append({"uri": uri, "cid": fake.cid, "author": {"did": fake.did, "handle": fake.handle},
                          "record": post["record"], "indexedAt": iso(post.get("stored_at", time.time())),
                          "likeCount": c.get("like_count", 0), "repostCount": c.get("repost_count", 0),
                          "replyCount": c.get("reply_count", 0), "quoteCount": c.get("quote_count", 0)})
        return Reply(200, {"posts": posts})

    return fake.read(answer, lambda: _limited(fake))


def _mastodon(fake: FakeMastodon, req: Request, m: re.Match, counts: dict) -> Reply:
    if not fake._authorized(req):
        return Reply(401, {"error": "The access token is invalid"})

    def answer() -> Reply:
        post = _visible(fake, "id", m.group(1))
        if post is None:
            return Reply(404, {"error": "Record not found"})
        status = {k: v for k, v in post.items() if k not in ("text", "idempotency_key", "stored_at")}
        status.update({"favourites_count": 0, "reblogs_count": 0, "replies_count": 0, **counts.get(post["id"], {})})
        return Reply(200, status)

    return fake.read(answer, lambda: _limited(fake))


def _linkedin(fake: FakeLinkedIn, req: Request, m: re.Match, counts: dict) -> Reply:
    if req.header("authorization") != f"Bearer {fake.token}":
        return Reply(401, {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN",
                           "message": "Invalid access token"})
    if not fake.read_scope:
        return Reply(403, {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                           "message": "Not enough permissions to access: socialActions.GET.NO_VERSION"})
    urn = unquote(m.group(1))
    c = counts.get(urn, {})
    return Reply(200, {"target": urn, "likesSummary": {"totalLikes": c.get("likes", 0), "likedByCurrentUser": False},
                       "commentsSummary": {"aggregatedTotalComments": c.get("comments", 0), "totalFirstLevelComments":
                                           c.get("comments", 0)}})
