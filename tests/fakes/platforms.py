"""Fake X, Reddit, LinkedIn, Bluesky and Mastodon: the routes the adapters use, behaving as the platforms do.

Each keeps `posts` (what the platform stored). Like the real services they
refuse what those refuse (X a repeated text, LinkedIn a repeated commentary
with DUPLICATE_POST naming the existing post, Reddit a repeated link in a
subreddit, a Bluesky PDS a second record under an existing key with a bare
500), answer reads a page at a time with their own cursor, show a new post to
reads only after `lag_seconds`, and fault reads and token calls as well as
writes (see tests/fakes/http.py). LinkedIn refuses reads without the
`r_member_social` scope, which standard tokens lack, and retired API versions.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import time
from datetime import date, datetime, timezone
from typing import Any

from .http import FakeServer, Reply, Request

URL = re.compile(r"https?://[^\s<>\"]+")
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def clamp(value: str | None, default: int, low: int, high: int) -> int:
    try:
        n = int(value) if value is not None else default
    except ValueError:
        n = default
    return max(low, min(high, n))


# -- X ---------------------------------------------------------------------------


class FakeX(FakeServer):
    wait = 30  # seconds until the rate-limit window resets
    user_id = "4242"

    def __init__(self, consumer_key: str = "x-key", consumer_secret: str = "x-secret-value",
                 token_secret: str = "x-access-secret-value"):
        super().__init__()
        self.consumer_key, self.consumer_secret, self.token_secret = consumer_key, consumer_secret, token_secret
        self.route("POST", r"/2/tweets", self.create)
        self.route("GET", r"/2/users/me", self.me)
        self.route("GET", r"/2/users/(\d+)/tweets", self.timeline)

    def _authorized(self, req: Request) -> bool:
        """Check the OAuth 1.0a HMAC-SHA1 signature as X does, so a wrong secret fails."""
        from oauthlib.common import Request as OAuthRequest
        from oauthlib.oauth1.rfc5849 import signature as sig
        from urllib.parse import unquote, urlencode

        auth = req.header("authorization") or ""
        if not (auth.startswith("OAuth ") and f'oauth_consumer_key="{self.consumer_key}"' in auth):
            return False
        query = urlencode(req.query)
        uri = self.url + req.path + (f"?{query}" if query else "")
        oreq = OAuthRequest(uri, req.method, headers={"Authorization": auth})
        oreq.params = sig.collect_parameters(uri_query=query, headers={"Authorization": auth},
                                             exclude_oauth_signature=True, with_realm=False)
        oreq.signature = unquote(re.search(r'oauth_signature="([^"]+)"', auth).group(1))
        return sig.verify_hmac_sha1(oreq, self.consumer_secret, self.token_secret)

    def _unauthorized(self) -> Reply:
        return Reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})

    def _rate_limited(self) -> Reply:
        return Reply(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                           "status": 429},
                     {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                      "x-rate-limit-reset": str(int(time.time()) + self.wait)})

    def create(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        body = req.json()
        text = body["text"]
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")

        def duplicate() -> Reply:
            return Reply(403, {"detail": "You are not allowed to create a Tweet with duplicate content.",
                               "type": "about:blank", "title": "Forbidden", "status": 403})

        def store() -> Reply:
            with self.lock:
                # X refuses a repeat at once, whatever its timeline shows yet.
                if self.reject_duplicates and any(p["sent_text"] == text for p in self.posts):
                    return duplicate()
                tid = self.next_id()
                parent = next((p for p in self.posts if p["id"] == reply_to), None)
                # X hands text back with t.co links and &, <, > escaped.
                shown = URL.sub(f"https://t.co/{tid}", html.escape(text, quote=False))
                self.posts.append(self.stored({
                    "id": tid, "sent_text": text, "text": shown, "reply_to": reply_to,
                    "conversation_id": parent["conversation_id"] if parent else tid, "created_at": iso(time.time()),
                }))
            return Reply(201, {"data": {"id": tid, "text": shown, "edit_history_tweet_ids": [tid]}})

        return self.publish(req, store, self._rate_limited, duplicate)

    def me(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        return self.read(lambda: Reply(200, {"data": {"id": self.user_id, "name": "citecast", "username": "citecast"}}),
                         self._rate_limited)

    def timeline(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        return self.read(lambda: self._timeline(req), self._rate_limited)

    def _timeline(self, req: Request) -> Reply:
        start = req.query.get("start_time", "1970-01-01T00:00:00Z")
        try:
            limit = int(req.query.get("max_results", 10))
        except ValueError:
            limit = 0
        if not 5 <= limit <= 100:
            return Reply(400, {"errors": [{"message": "The `max_results` query parameter value is not between 5 "
                                                      "and 100", "parameters": {"max_results": [str(limit)]}}],
                               "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                               "type": "https://api.twitter.com/2/problems/invalid-request"})
        offset = int(req.query.get("pagination_token", "tok0")[3:] or 0)
        with self.lock:
            tweets = [p for p in sorted(self.posts, key=lambda p: int(p["id"]), reverse=True)
                      if self.visible(p) and p["created_at"][:19] >= start[:19]]
        size = min(limit, self.page_cap)
        page = tweets[offset:offset + size]
        data = []
        for p in page:
            t = {"id": p["id"], "text": p["text"], "created_at": p["created_at"],
                 "conversation_id": p["conversation_id"], "edit_history_tweet_ids": [p["id"]]}
            if p["reply_to"]:
                t["referenced_tweets"] = [{"type": "replied_to", "id": p["reply_to"]}]
            data.append(t)
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta |= {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        if offset + size < len(tweets):
            meta["next_token"] = f"tok{offset + size}"
        body: dict[str, Any] = {"meta": meta}
        if data:
            body["data"] = data
        return Reply(200, body)


# -- Reddit ----------------------------------------------------------------------


class FakeReddit(FakeServer):
    wait = 420
    token_ttl = 86400

    def __init__(self, client_id: str = "r-id", client_secret: str = "r-secret", username: str = "citebot",
                 password: str = "r-pass"):
        super().__init__()
        self.creds = (client_id, client_secret, username, password)
        self.token = "reddit-access-token"
        self.route("POST", r"/api/v1/access_token", self.access_token)
        self.route("POST", r"/api/submit/?", self.submit)
        self.route("GET", r"/user/([^/]+)/submitted/?", self.submitted)

    def _too_many(self) -> Reply:
        return Reply(429, {"message": "Too Many Requests", "error": 429},
                     {"retry-after": str(self.wait), "x-ratelimit-remaining": "0", "x-ratelimit-used": "600",
                      "x-ratelimit-reset": str(self.wait)})

    def access_token(self, req: Request, m) -> Reply:
        client_id, client_secret, username, password = self.creds
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        if req.header("authorization") != f"Basic {basic}":
            return Reply(401, {"message": "Unauthorized", "error": 401})
        form = req.form()
        if form.get("username") != username or form.get("password") != password:
            return Reply(200, {"error": "invalid_grant"})
        return self.read(lambda: Reply(200, {"access_token": self.token, "token_type": "bearer",
                                             "expires_in": self.token_ttl, "scope": "*"}),
                         self._too_many, token=True)

    def submit(self, req: Request, m) -> Reply:
        if req.header("authorization") != f"bearer {self.token}":
            return Reply(401, {"message": "Unauthorized", "error": 401})
        form = req.form()

        def errors(*items) -> Reply:
            return Reply(200, {"json": {"errors": [list(i) for i in items]}})

        def duplicate() -> Reply:
            return errors(("ALREADY_SUB", "that link has already been submitted", "url"))

        def store() -> Reply:
            with self.lock:
                if self.reject_duplicates and form.get("kind") == "link" and any(
                        p["url"] == form.get("url") and p["subreddit"] == form["sr"] for p in self.posts):
                    return duplicate()
                sid = "t" + self.next_id()
                permalink = f"/r/{form['sr']}/comments/{sid}/slug/"
                self.posts.append(self.stored({
                    "id": sid, "subreddit": form["sr"], "title": form["title"], "kind": form.get("kind"),
                    "selftext": form.get("text", ""), "url": form.get("url") or f"https://www.reddit.com{permalink}",
                    "flair_id": form.get("flair_id"), "flair_text": form.get("flair_text"),
                    "created_utc": time.time(), "permalink": permalink, "author": self.creds[2],
                }))
            return Reply(200, {"json": {"errors": [], "data": {
                "url": f"https://www.reddit.com{permalink}", "drafts_count": 0, "id": sid, "name": f"t3_{sid}"}}})

        def rate_limited() -> Reply:
            when = f"{self.wait // 60} minutes" if self.wait >= 60 else f"{self.wait} seconds"
            return errors(("RATELIMIT", f"Looks like you've been doing that a lot. Take a break for {when} "
                                        "before trying again.", "ratelimit"))

        return self.publish(req, store, rate_limited, duplicate)

    def submitted(self, req: Request, m) -> Reply:
        if req.header("authorization") != f"bearer {self.token}":
            return Reply(401, {"message": "Unauthorized", "error": 401})
        return self.read(lambda: self._submitted(req, m.group(1)), self._too_many)

    def _submitted(self, req: Request, user: str) -> Reply:
        limit = min(clamp(req.query.get("limit"), 25, 1, 100), self.page_cap)
        with self.lock:
            mine = [p for p in sorted(self.posts, key=lambda p: int(p["id"][1:]), reverse=True)
                    if p["author"] == user and self.visible(p)]
        after = req.query.get("after")
        if after:
            names = [f"t3_{p['id']}" for p in mine]
            mine = mine[names.index(after) + 1:] if after in names else []
        page = mine[:limit]
        children = [{"kind": "t3", "data": {k: v for k, v in p.items() if k != "stored_at"} | {
            "name": f"t3_{p['id']}", "is_self": p["kind"] == "self"}} for p in page]
        more = len(mine) > limit
        return Reply(200, {"kind": "Listing", "data": {"after": f"t3_{page[-1]['id']}" if more else None,
                                                       "before": None, "dist": len(children), "children": children}})


# -- LinkedIn --------------------------------------------------------------------


def months_ago(n: int, today: date | None = None) -> str:
    today = today or datetime.now(timezone.utc).date()
    m = today.year * 12 + today.month - 1 - n
    return f"{m // 12}{m % 12 + 1:02d}"


class FakeLinkedIn(FakeServer):
    wait = 60

    def __init__(self, token: str = "li-token", scopes: tuple[str, ...] = ("w_member_social",)):
        super().__init__()
        self.token = token
        self.scopes = set(scopes)  # standard self-serve apps get w_member_social only
        self.route("POST", r"/rest/posts", self.create)
        self.route("GET", r"/rest/posts", self.find)

    def _check(self, req: Request) -> Reply | None:
        if req.header("authorization") != f"Bearer {self.token}":
            return Reply(401, {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN",
                               "message": "Invalid access token"})
        version = req.header("linkedin-version") or ""
        if not re.fullmatch(r"\d{6}", version):
            return Reply(400, {"status": 400, "code": "VERSION_MISSING", "message": "A version must be present"})
        # Versions are monthly and retire about a year after release.
        if not months_ago(12) < version <= months_ago(0):
            return Reply(426, {"status": 426, "code": "NONEXISTENT_VERSION",
                               "message": f"Requested version {version} is not active"})
        if req.header("x-restli-protocol-version") != "2.0.0":
            return Reply(400, {"status": 400, "message": "X-Restli-Protocol-Version 2.0.0 expected"})
        return None

    def _rate_limited(self) -> Reply:
        return Reply(429, {"status": 429, "message": "Resource level throttle limit reached"},
                     {"Retry-After": str(self.wait)})

    def create(self, req: Request, m) -> Reply:
        if (bad := self._check(req)) is not None:
            return bad
        body = req.json()
        for name in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if name not in body:
                return Reply(422, {"status": 422, "message": f"/{name} :: field is required but not found"})

        def duplicate(urn: str = "urn:li:share:1") -> Reply:
            return Reply(422, {"status": 422, "code": "DUPLICATE_POST", "message": f"Content is a duplicate of {urn}"})

        def store() -> Reply:
            with self.lock:
                same = next((p for p in self.posts if p["commentary"] == body["commentary"]
                             and p["author"] == body["author"]), None)
                if self.reject_duplicates and same:
                    return duplicate(same["id"])
                urn = f"urn:li:share:{self.next_id()}"
                now = int(time.time() * 1000)
                self.posts.append(self.stored({**body, "id": urn, "createdAt": now, "lastModifiedAt": now}))
            return Reply(201, None, {"x-restli-id": urn})

        return self.publish(req, store, self._rate_limited, duplicate)

    def find(self, req: Request, m) -> Reply:
        if (bad := self._check(req)) is not None:
            return bad
        if req.query.get("q") != "author" or req.header("x-restli-method") != "FINDER":
            return Reply(400, {"status": 400, "message": "finder q=author expected"})
        if "r_member_social" not in self.scopes:
            return Reply(403, {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                               "message": "Not enough permissions to access: partnerApiPostsExternal.FINDER-author"})
        return self.read(lambda: self._find(req), self._rate_limited)

    def _find(self, req: Request) -> Reply:
        count = min(clamp(req.query.get("count"), 10, 1, 100), self.page_cap)
        start = clamp(req.query.get("start"), 0, 0, 10**9)
        with self.lock:
            mine = [{k: v for k, v in p.items() if k != "stored_at"}
                    for p in sorted(self.posts, key=lambda p: p["lastModifiedAt"], reverse=True)
                    if p["author"] == req.query.get("author") and self.visible(p)]
        return Reply(200, {"paging": {"start": start, "count": count, "total": len(mine)},
                           "elements": mine[start:start + count]})


# -- Bluesky ---------------------------------------------------------------------


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


class FakeBluesky(FakeServer):
    """A PDS: one record per (collection, rkey); a create on an existing key fails as the PDS's MST insert does."""

    wait = 45
    did = "did:plc:citecastfake0000000000000"
    cid = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"

    def __init__(self, handle: str = "citecast.bsky.social", password: str = "bsky-app-pass"):
        super().__init__()
        self.handle, self.password = handle, password
        now = int(time.time())
        self.jwt = ".".join([_b64({"alg": "HS256", "typ": "at+jwt"}),
                             _b64({"scope": "com.atproto.appPass", "sub": self.did, "iat": now, "exp": now + 7200,
                                   "aud": "did:web:fake.local"}), "c2ln"])
        self.route("POST", r"/xrpc/com.atproto.server.createSession", self.create_session)
        self.route("GET", r"/xrpc/app.bsky.actor.getProfile", self.profile)
        self.route("POST", r"/xrpc/com.atproto.repo.createRecord", self.create_record)
        self.route("GET", r"/xrpc/com.atproto.repo.getRecord", self.get_record)
        self.route("GET", r"/xrpc/com.atproto.repo.listRecords", self.list_records)
        self._tid = 0

    def _authorized(self, req: Request) -> bool:
        return req.header("authorization") == f"Bearer {self.jwt}"

    def _unauthorized(self) -> Reply:
        return Reply(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})

    def _rate_limited(self) -> Reply:
        return Reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                     {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-policy": "5000;w=3600",
                      "ratelimit-reset": str(int(time.time()) + self.wait)})

    def create_session(self, req: Request, m) -> Reply:
        body = req.json()
        if body.get("identifier") != self.handle or body.get("password") != self.password:
            return self._unauthorized()
        return self.read(lambda: Reply(200, {"accessJwt": self.jwt, "refreshJwt": self.jwt, "handle": self.handle,
                                             "did": self.did, "active": True}), self._rate_limited, token=True)

    def profile(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        return Reply(200, {"did": self.did, "handle": self.handle})

    def create_record(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        body = req.json()
        rkey = body.get("rkey")
        if rkey is not None and not TID.match(rkey):
            return Reply(400, {"error": "InvalidRequest",
                               "message": f"Invalid record key for app.bsky.feed.post: {rkey}"})

        def store() -> Reply:
            with self.lock:
                key = rkey
                if key is None:
                    self._tid += 1
                    key = f"3lfake{self._tid:07d}"
                uri = f"at://{self.did}/{body['collection']}/{key}"
                if any(p["uri"] == uri for p in self.posts):
                    # prepareCreate takes the key; the MST add throws a plain Error -> XRPC 500 without details
                    return Reply(500, {"error": "InternalServerError", "message": "Internal Server Error"})
                self.posts.append(self.stored({"uri": uri, "repo": body["repo"], "record": body["record"]}))
            return Reply(200, {"uri": uri, "cid": self.cid, "commit": {"cid": self.cid, "rev": key},
                               "validationStatus": "valid"})

        def duplicate() -> Reply:
            return Reply(400, {"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record"})

        return self.publish(req, store, self._rate_limited, duplicate)

    def get_record(self, req: Request, m) -> Reply:
        def answer() -> Reply:
            uri = f"at://{self.did}/{req.query.get('collection')}/{req.query.get('rkey')}"
            with self.lock:
                rec = next((p for p in self.posts if p["uri"] == uri), None)
            if rec is None:
                return Reply(400, {"error": "RecordNotFound", "message": f"Could not locate record: {uri}"})
            return Reply(200, {"uri": uri, "cid": self.cid, "value": rec["record"]})

        return self.read(answer, self._rate_limited)

    def list_records(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()

        def answer() -> Reply:
            limit = min(clamp(req.query.get("limit"), 50, 1, 100), self.page_cap)
            cursor = req.query.get("cursor")
            with self.lock:
                recs = sorted((p for p in self.posts if p["uri"].split("/")[3] == req.query.get("collection")),
                              key=lambda p: p["uri"].rsplit("/", 1)[-1], reverse=True)
            if cursor:
                recs = [p for p in recs if p["uri"].rsplit("/", 1)[-1] < cursor]
            page = recs[:limit]
            body: dict[str, Any] = {"records": [{"uri": p["uri"], "cid": self.cid, "value": p["record"]} for p in page]}
            if len(recs) > limit:
                body["cursor"] = page[-1]["uri"].rsplit("/", 1)[-1]
            return Reply(200, body)

        return self.read(answer, self._rate_limited)


# -- Mastodon --------------------------------------------------------------------


def _status_html(text: str) -> str:
    """Roughly what Mastodon renders: paragraphs, <br />, links with hidden scheme spans."""

    def link(m: re.Match) -> str:
        url = m.group(0)
        scheme, rest = url.split("://", 1)
        return (f'<a href="{url}" rel="nofollow noopener" target="_blank"><span class="invisible">{scheme}://'
                f'</span><span class="ellipsis">{rest[:30]}</span><span class="invisible">{rest[30:]}</span></a>')

    paras = []
    for para in re.split(r"\n\s*\n", text):
        escaped = html.escape(para, quote=False)
        paras.append("<p>" + URL.sub(link, escaped).replace("\n", "<br />") + "</p>")
    return "".join(paras)


class FakeMastodon(FakeServer):
    wait = 40
    account_id = "109000000000000001"
    idempotency_ttl = 3600.0  # Mastodon keeps a key this long after the status is created

    def __init__(self, token: str = "masto-token", max_characters: int = 500, per_url: int = 23):
        super().__init__()
        self.token = token
        self.max_characters, self.per_url = max_characters, per_url
        self.by_key: dict[str, tuple[dict, float]] = {}
        self._snow = threading.Lock()
        self.route("GET", r"/api/v2/instance/?", self.instance)
        self.route("POST", r"/api/v1/statuses", self.create)
        self.route("GET", r"/api/v1/accounts/verify_credentials", self.me)
        self.route("GET", r"/api/v1/accounts/(\d+)/statuses", self.statuses)

    def _authorized(self, req: Request) -> bool:
        return req.header("authorization") == f"Bearer {self.token}"

    def _rate_limited(self) -> Reply:
        return Reply(429, {"error": "Too many requests"},
                     {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                      "X-RateLimit-Reset": iso(time.time() + self.wait)})

    def _snowflake(self) -> str:
        """Mastodon ids: milliseconds since the epoch, shifted 16 bits, plus a sequence."""
        return str((int(time.time() * 1000) << 16) + int(self.next_id()) % 65536)

    def instance(self, req: Request, m) -> Reply:
        return Reply(200, {"domain": "fake.local", "title": "Fake", "version": "4.3.0",
                           "configuration": {"statuses": {"max_characters": self.max_characters,
                                                          "max_media_attachments": 4,
                                                          "characters_reserved_per_url": self.per_url}}})

    def me(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return Reply(401, {"error": "The access token is invalid"})
        return self.read(lambda: Reply(200, {"id": self.account_id, "username": "citecast", "acct": "citecast"}),
                         self._rate_limited)

    def create(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return Reply(401, {"error": "The access token is invalid"})
        params = req.json() if "json" in (req.header("content-type") or "") else req.form()
        key = req.header("idempotency-key")

        def store() -> Reply:
            with self.lock:
                kept = self.by_key.get(key) if key else None
                if kept and time.time() - kept[1] < self.idempotency_ttl:
                    return Reply(200, kept[0])  # Mastodon answers a repeated key with the first status
                sid = self._snowflake()
                status = {"id": sid, "created_at": iso(time.time()), "content": _status_html(params["status"]),
                          "visibility": params.get("visibility") or "public",
                          "url": f"{self.url}/@citecast/{sid}", "uri": f"{self.url}/users/citecast/statuses/{sid}",
                          "account": {"id": self.account_id, "username": "citecast", "acct": "citecast"}}
                self.posts.append(self.stored({**status, "text": params["status"], "idempotency_key": key}))
                if key:
                    self.by_key[key] = (status, time.time())
            return Reply(200, status)

        def duplicate() -> Reply:
            return Reply(422, {"error": "Validation failed: Text character limit of 500 exceeded"})

        return self.publish(req, store, self._rate_limited, duplicate)

    def statuses(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return Reply(401, {"error": "The access token is invalid"})
        return self.read(lambda: self._statuses(req), self._rate_limited)

    def _statuses(self, req: Request) -> Reply:
        limit = min(clamp(req.query.get("limit"), 20, 1, 40), self.page_cap)
        with self.lock:
            out = [p for p in sorted(self.posts, key=lambda p: int(p["id"]), reverse=True) if self.visible(p)]
        for name, keep in (("max_id", lambda i, v: i < v), ("since_id", lambda i, v: i > v),
                           ("min_id", lambda i, v: i > v)):
            if req.query.get(name):
                out = [p for p in out if keep(int(p["id"]), int(req.query[name]))]
        if req.query.get("min_id"):  # min_id pages forward: the statuses just after it
            out = out[-limit:]
        hidden = ("text", "idempotency_key", "stored_at")
        return Reply(200, [{k: v for k, v in p.items() if k not in hidden} for p in out[:limit]])


# -- wiring an adapter to its fake -------------------------------------------------

FAKES = {"x": FakeX, "reddit": FakeReddit, "linkedin": FakeLinkedIn, "bluesky": FakeBluesky,
         "mastodon": FakeMastodon}

#: credentials each fake accepts, as the adapters read them from the environment
ENV = {
    "x": {"X_API_KEY": "x-key", "X_API_SECRET": "x-secret-value", "X_ACCESS_TOKEN": "x-access-token",
          "X_ACCESS_TOKEN_SECRET": "x-access-secret-value"},
    "reddit": {"REDDIT_CLIENT_ID": "r-id", "REDDIT_CLIENT_SECRET": "r-secret", "REDDIT_USERNAME": "citebot",
               "REDDIT_PASSWORD": "r-pass"},
    "linkedin": {"LINKEDIN_ACCESS_TOKEN": "li-token"},
    "bluesky": {"BLUESKY_HANDLE": "citecast.bsky.social", "BLUESKY_APP_PASSWORD": "bsky-app-pass"},
    "mastodon": {"MASTODON_ACCESS_TOKEN": "masto-token"},
}

#: the secret each platform must never echo
SECRETS = {"x": "x-secret-value", "reddit": "r-pass", "linkedin": "li-token", "bluesky": "bsky-app-pass",
           "mastodon": "masto-token"}

#: seconds until the fake's rate-limit window resets
RETRY_AFTER = {name: fake.wait for name, fake in FAKES.items()}


def channel_options(name: str, fake: FakeServer | str, timeout: float = 1.0) -> dict[str, Any]:
    """`[channels.<name>]` settings that point the adapter at `fake` (a server or its URL)."""
    url = fake if isinstance(fake, str) else fake.url
    return {
        "x": {"api_base": url},
        "reddit": {"oauth_url": url, "reddit_url": url, "subreddit": "test", "ratelimit_seconds": 0},
        "linkedin": {"base_url": url, "author": "urn:li:person:abc123"},
        "bluesky": {"base_url": url},
        "mastodon": {"api_base_url": url},
    }[name] | {"timeout": timeout}


def citecast_env(fakes: dict[str, FakeServer | str], timeout: float = 1.0, credentials: bool = True,
                 extra: dict[str, Any] | None = None) -> dict[str, str]:
    """CITECAST_CHANNELS__<NAME>__<OPTION> variables (and the fakes' credentials, unless a test
    brings its own) that make each channel in `fakes` live against its fake, as a deployment would.
    `extra` adds options to every channel (e.g. grace_seconds)."""
    env: dict[str, str] = {}
    for name, fake in fakes.items():
        if credentials:
            env.update(ENV[name])
        options = channel_options(name, fake, timeout) | dict(extra or {})
        if name == "linkedin":
            options["author"] = "urn:li:organization:4242"
        env.update({f"CITECAST_CHANNELS__{name.upper()}__{k.upper()}": str(v) for k, v in options.items()})
    return env


def ticket(channel, key: str = "page:x:2026-W48:0", since=None, **kwargs):
    """A Ticket as the ledger would hand it over for a first attempt: the platform key chosen
    by the channel, lookups bounded a minute back (or at `since`)."""
    from datetime import timedelta

    from citecast.channels.base import Ticket

    kwargs.setdefault("platform_key", channel.new_platform_key(key))
    return Ticket(key=key, since=since or datetime.now(timezone.utc) - timedelta(minutes=1), **kwargs)
