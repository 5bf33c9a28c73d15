"""Fake X, Reddit, LinkedIn, Bluesky and Mastodon: the routes the adapters use, no more.

Each keeps `posts` (what the platform stored) and rejects duplicates the way
the platform does unless `reject_duplicates` is off (the exactly-once test
turns it off, so a double post would show up rather than be masked).
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from datetime import datetime, timezone
from typing import Any

from .http import FakeServer, Reply, Request

URL = re.compile(r"https?://[^\s<>\"]+")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
                if self.reject_duplicates and any(p["sent_text"] == text for p in self.posts):
                    return duplicate()
                tid = self.next_id()
                # X hands text back with t.co links and &, <, > escaped.
                shown = URL.sub(f"https://t.co/{tid}", html.escape(text, quote=False))
                self.posts.append({"id": tid, "sent_text": text, "text": shown, "reply_to": reply_to,
                                   "created_at": iso(time.time())})
            return Reply(201, {"data": {"id": tid, "text": shown, "edit_history_tweet_ids": [tid]}})

        def rate_limited() -> Reply:
            return Reply(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                               "status": 429},
                         {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                          "x-rate-limit-reset": str(int(time.time()) + self.wait)})

        return self.publish(req, store, rate_limited, duplicate)

    def me(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        return Reply(200, {"data": {"id": self.user_id, "name": "citecast", "username": "citecast"}})

    def timeline(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        start = req.query.get("start_time", "1970-01-01T00:00:00Z")
        limit = int(req.query.get("max_results", 10))
        with self.lock:
            tweets = [p for p in reversed(self.posts) if p["created_at"][:19] >= start[:19]][:limit]
        data = []
        for p in tweets:
            t = {"id": p["id"], "text": p["text"], "created_at": p["created_at"], "edit_history_tweet_ids": [p["id"]]}
            if p["reply_to"]:
                t["referenced_tweets"] = [{"type": "replied_to", "id": p["reply_to"]}]
            data.append(t)
        body: dict[str, Any] = {"meta": {"result_count": len(data)}}
        if data:
            body["data"] = data
        return Reply(200, body)


# -- Reddit ----------------------------------------------------------------------


class FakeReddit(FakeServer):
    wait = 420

    def __init__(self, client_id: str = "r-id", client_secret: str = "r-secret", username: str = "citebot",
                 password: str = "r-pass"):
        super().__init__()
        self.creds = (client_id, client_secret, username, password)
        self.token = "reddit-access-token"
        self.route("POST", r"/api/v1/access_token", self.access_token)
        self.route("POST", r"/api/submit/?", self.submit)
        self.route("GET", r"/user/([^/]+)/submitted/?", self.submitted)

    def access_token(self, req: Request, m) -> Reply:
        client_id, client_secret, username, password = self.creds
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        if req.header("authorization") != f"Basic {basic}":
            return Reply(401, {"message": "Unauthorized", "error": 401})
        form = req.form()
        if form.get("username") != username or form.get("password") != password:
            return Reply(200, {"error": "invalid_grant"})
        return Reply(200, {"access_token": self.token, "token_type": "bearer", "expires_in": 86400, "scope": "*"})

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
                self.posts.append({
                    "id": sid, "subreddit": form["sr"], "title": form["title"], "kind": form.get("kind"),
                    "selftext": form.get("text", ""), "url": form.get("url") or f"https://www.reddit.com{permalink}",
                    "flair_id": form.get("flair_id"), "flair_text": form.get("flair_text"),
                    "created_utc": time.time(), "permalink": permalink, "author": self.creds[2],
                })
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
        limit = int(req.query.get("limit", 25))
        with self.lock:
            mine = [p for p in reversed(self.posts) if p["author"] == m.group(1)][:limit]
        children = [{"kind": "t3", "data": {**p, "name": f"t3_{p['id']}", "is_self": p["kind"] == "self"}}
                    for p in mine]
        return Reply(200, {"kind": "Listing", "data": {"after": None, "before": None, "dist": len(children),
                                                       "children": children}})


# -- LinkedIn --------------------------------------------------------------------


class FakeLinkedIn(FakeServer):
    wait = 60

    def __init__(self, token: str = "li-token"):
        super().__init__()
        self.token = token
        self.route("POST", r"/rest/posts", self.create)
        self.route("GET", r"/rest/posts", self.find)

    def _check(self, req: Request) -> Reply | None:
        if req.header("authorization") != f"Bearer {self.token}":
            return Reply(401, {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN",
                               "message": "Invalid access token"})
        if not re.fullmatch(r"\d{6}", req.header("linkedin-version") or ""):
            return Reply(400, {"status": 400, "code": "VERSION_MISSING", "message": "A version must be present"})
        if req.header("x-restli-protocol-version") != "2.0.0":
            return Reply(400, {"status": 400, "message": "X-Restli-Protocol-Version 2.0.0 expected"})
        return None

    def create(self, req: Request, m) -> Reply:
        if (bad := self._check(req)) is not None:
            return bad
        body = req.json()
        for field in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if field not in body:
                return Reply(422, {"status": 422, "message": f"/{field} :: field is required but not found"})

        def duplicate() -> Reply:
            return Reply(422, {"status": 422, "code": "DUPLICATE_POST",
                               "message": "Content is a duplicate of urn:li:share:1"})

        def store() -> Reply:
            with self.lock:
                if self.reject_duplicates and any(
                        p["commentary"] == body["commentary"] and p["author"] == body["author"] for p in self.posts):
                    return duplicate()
                urn = f"urn:li:share:{self.next_id()}"
                self.posts.append({**body, "id": urn, "createdAt": int(time.time() * 1000)})
            return Reply(201, None, {"x-restli-id": urn})

        def rate_limited() -> Reply:
            return Reply(429, {"status": 429, "message": "Resource level throttle limit reached"}, {"Retry-After": str(self.wait)})

        return self.publish(req, store, rate_limited, duplicate)

    def find(self, req: Request, m) -> Reply:
        if (bad := self._check(req)) is not None:
            return bad
        if req.query.get("q") != "author" or req.header("x-restli-method") != "FINDER":
            return Reply(400, {"status": 400, "message": "finder q=author expected"})
        count = int(req.query.get("count", 10))
        with self.lock:
            mine = [p for p in reversed(self.posts) if p["author"] == req.query.get("author")][:count]
        return Reply(200, {"paging": {"start": 0, "count": count}, "elements": mine})


# -- Bluesky ---------------------------------------------------------------------


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


class FakeBluesky(FakeServer):
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
        self.route("GET", r"/xrpc/com.atproto.repo.listRecords", self.list_records)
        self._tid = 0

    def _authorized(self, req: Request) -> bool:
        return req.header("authorization") == f"Bearer {self.jwt}"

    def _unauthorized(self) -> Reply:
        return Reply(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})

    def create_session(self, req: Request, m) -> Reply:
        body = req.json()
        if body.get("identifier") != self.handle or body.get("password") != self.password:
            return self._unauthorized()
        return Reply(200, {"accessJwt": self.jwt, "refreshJwt": self.jwt, "handle": self.handle, "did": self.did,
                           "active": True})

    def profile(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        return Reply(200, {"did": self.did, "handle": self.handle})

    def create_record(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        body = req.json()

        def store() -> Reply:
            with self.lock:
                self._tid += 1
                rkey = f"3lfake{self._tid:07d}"
                uri = f"at://{self.did}/{body['collection']}/{rkey}"
                self.posts.append({"uri": uri, "repo": body["repo"], "record": body["record"]})
            return Reply(200, {"uri": uri, "cid": self.cid})

        def rate_limited() -> Reply:
            return Reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                         {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-policy": "5000;w=3600",
                          "ratelimit-reset": str(int(time.time()) + self.wait)})

        def duplicate() -> Reply:
            return Reply(400, {"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record"})

        return self.publish(req, store, rate_limited, duplicate)

    def list_records(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return self._unauthorized()
        limit = int(req.query.get("limit", 50))
        with self.lock:
            recs = [p for p in reversed(self.posts) if p["uri"].split("/")[3] == req.query.get("collection")][:limit]
        return Reply(200, {"records": [{"uri": p["uri"], "cid": self.cid, "value": p["record"]} for p in recs]})


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

    def __init__(self, token: str = "masto-token", max_characters: int = 500, per_url: int = 23):
        super().__init__()
        self.token = token
        self.max_characters, self.per_url = max_characters, per_url
        self.by_key: dict[str, dict] = {}
        self.route("GET", r"/api/v2/instance/?", self.instance)
        self.route("POST", r"/api/v1/statuses", self.create)
        self.route("GET", r"/api/v1/accounts/verify_credentials", self.me)
        self.route("GET", r"/api/v1/accounts/(\d+)/statuses", self.statuses)

    def _authorized(self, req: Request) -> bool:
        return req.header("authorization") == f"Bearer {self.token}"

    def instance(self, req: Request, m) -> Reply:
        return Reply(200, {"domain": "fake.local", "title": "Fake", "version": "4.3.0",
                           "configuration": {"statuses": {"max_characters": self.max_characters,
                                                          "max_media_attachments": 4,
                                                          "characters_reserved_per_url": self.per_url}}})

    def me(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return Reply(401, {"error": "The access token is invalid"})
        return Reply(200, {"id": self.account_id, "username": "citecast", "acct": "citecast"})

    def create(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return Reply(401, {"error": "The access token is invalid"})
        params = req.json() if "json" in (req.header("content-type") or "") else req.form()
        key = req.header("idempotency-key")

        def store() -> Reply:
            with self.lock:
                if key and key in self.by_key:  # Mastodon answers a repeated key with the first status
                    return Reply(200, self.by_key[key])
                sid = str(110000000000000000 + int(self.next_id()))
                status = {"id": sid, "created_at": iso(time.time()), "content": _status_html(params["status"]),
                          "visibility": params.get("visibility") or "public",
                          "url": f"{self.url}/@citecast/{sid}", "uri": f"{self.url}/users/citecast/statuses/{sid}",
                          "account": {"id": self.account_id, "username": "citecast", "acct": "citecast"}}
                self.posts.append({**status, "text": params["status"], "idempotency_key": key})
                if key:
                    self.by_key[key] = status
            return Reply(200, status)

        def rate_limited() -> Reply:
            return Reply(429, {"error": "Too many requests"},
                         {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                          "X-RateLimit-Reset": iso(time.time() + self.wait)})

        def duplicate() -> Reply:
            return Reply(422, {"error": "Validation failed: Text character limit of 500 exceeded"})

        return self.publish(req, store, rate_limited, duplicate)

    def statuses(self, req: Request, m) -> Reply:
        if not self._authorized(req):
            return Reply(401, {"error": "The access token is invalid"})
        limit = int(req.query.get("limit", 20))
        with self.lock:
            out = [{k: v for k, v in p.items() if k not in ("text", "idempotency_key")}
                   for p in reversed(self.posts)][:limit]
        return Reply(200, out)


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
        "linkedin": {"base_url": url, "author": "urn:li:person:abc123", "version": "202511"},
        "bluesky": {"base_url": url},
        "mastodon": {"api_base_url": url},
    }[name] | {"timeout": timeout}


def citecast_env(fakes: dict[str, FakeServer | str], timeout: float = 1.0, credentials: bool = True) -> dict[str, str]:
    """CITECAST_CHANNELS__<NAME>__<OPTION> variables (and the fakes' credentials, unless a test
    brings its own) that make each channel in `fakes` live against its fake, as a deployment would."""
    env: dict[str, str] = {}
    for name, fake in fakes.items():
        if credentials:
            env.update(ENV[name])
        options = channel_options(name, fake, timeout)
        if name == "linkedin":
            options["author"] = "urn:li:organization:4242"
        env.update({f"CITECAST_CHANNELS__{name.upper()}__{k.upper()}": str(v) for k, v in options.items()})
    return env
