"""Independent fake X, Reddit and LinkedIn servers on 127.0.0.1 (stdlib http.server).

Every server keeps what it stored in `posts` (the platform's truth) and counts the
faults it injected in `faults`. Time is real time: `lag` hides a new post from
reads for a random 0..lag seconds, as indexing does on the real platforms.
"""
from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Mix:
    """The fault mix; rates are per request of that kind."""
    write_rate: float = 0.2       # of posts: reset-after-store, late landing after 502, 429, 503 before storing
    read_rate: float = 0.15       # of reads: 500, 429, connection reset
    empty_page_rate: float = 0.2  # of listing pages with more behind: an empty page that still carries the cursor
    token_every: int = 4          # every Nth token call answers 503 (Reddit)
    lag: float = 1.0              # a new post is hidden from reads for uniform(0, lag) seconds
    late_max: float = 0.8         # a late write lands up to this long after its 502
    seed: int = 1


@dataclass
class Stored:
    id: str
    text: str
    created: float
    visible_at: float
    extra: dict = field(default_factory=dict)


class Platform:
    """State shared by one fake's handler threads."""

    def __init__(self, mix: Mix, name: str):
        self.mix = mix
        self.rng = random.Random(f"{name}-{mix.seed}")
        self.lock = threading.Lock()
        self.posts: list[Stored] = []
        self.faults: Counter = Counter()
        self.calls: Counter = Counter()
        self._next = 10_000 + self.rng.randrange(1000)
        self.emptied: set[str] = set()  # cursors that already served their one empty page
        self.journal: list[dict] = []  # every write as it arrived and how it was answered (kept with a failing trial)
        self.day_start = 0.0  # the trial compresses a week into seconds: posts before this are "over a day old"

    def day_passed(self) -> None:
        """A day (or a week) has passed since every post so far: their texts may be posted again."""
        self.day_start = time.time()

    def roll(self, rate: float) -> bool:
        with self.lock:
            return self.rng.random() < rate

    def choice(self, options):
        with self.lock:
            return self.rng.choice(options)

    def new_id(self) -> int:
        with self.lock:
            self._next += self.rng.randrange(1, 9)
            return self._next

    def store(self, make) -> Stored:
        """Store a post built by make(id, now, visible_at)."""
        now = time.time()
        with self.lock:
            visible = now + self.rng.uniform(0, self.mix.lag)
        post = make(self.new_id(), now, visible)
        with self.lock:
            self.posts.append(post)
        return post

    def visible(self) -> list[Stored]:
        now = time.time()
        with self.lock:
            return sorted((p for p in self.posts if p.visible_at <= now), key=lambda p: -p.created)

    def seen_within_day(self, text: str, key=lambda p: p.text) -> Stored | None:
        now = time.time()
        with self.lock:
            return next((p for p in self.posts if key(p) == text and now - p.created < 86400
                         and p.created >= self.day_start), None)

    def write_fault(self) -> str | None:
        """None (answer normally) or the kind of fault for this write."""
        if not self.roll(self.mix.write_rate):
            return None
        kind = self.choice(["reset_after_store", "late_after_502", "429", "503"])
        with self.lock:
            self.faults[f"write:{kind}"] += 1
        return kind

    def read_fault(self) -> str | None:
        if not self.roll(self.mix.read_rate):
            return None
        kind = self.choice(["500", "429", "reset"])
        with self.lock:
            self.faults[f"read:{kind}"] += 1
        return kind

    def empty_page(self, cursor: str) -> bool:
        """An empty page that keeps its cursor, at most once per cursor (asked again, it has items)."""
        hit = cursor not in self.emptied and self.roll(self.mix.empty_page_rate)
        if hit:
            with self.lock:
                self.emptied.add(cursor)
                self.faults["read:empty_page"] += 1
        return hit

    def token_call(self) -> int | None:
        """Count a token call (Reddit access_token, Bluesky createSession): its number, or None for
        every `token_every`-th, which the fake answers 503."""
        with self.lock:
            self.calls["token"] += 1
            n = self.calls["token"]
            if n % self.mix.token_every == 0:
                self.faults["token:503"] += 1
                return None
        return n

    def note(self, **entry) -> None:
        with self.lock:
            self.journal.append({"at": round(time.time(), 3), **entry})

    def later(self, fn):
        with self.lock:
            delay = self.rng.uniform(0.05, self.mix.late_max)
        t = threading.Timer(delay, fn)
        t.daemon = True
        t.start()


class ClientGone(Exception):
    """The connection closed before the request's body arrived (a client SIGKILLed mid-request)."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    platform: Platform

    def log_message(self, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except ClientGone:
            # A real server never acts on a request whose body did not arrive: it times the read out
            # and closes. Taking the missing body for {} stored empty posts no client had sent.
            with self.platform.lock:
                self.platform.faults["client:gone_mid_request"] += 1
            self.close_connection = True

    def body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if len(data) < n:
            raise ClientGone(f"{len(data)} of {n} bytes")
        return data

    def send(self, status: int, payload=None, headers: dict | None = None, raw: bytes | None = None,
             ctype: str = "application/json"):
        data = raw if raw is not None else json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)

    def reset(self):
        """Drop the connection with no answer (RST): the client cannot know what happened."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.connection.close()

    def land(self, fault: str | None, make, bad_gateway) -> Stored | None:
        """Store the write as its fault says: None when the answer has been given already (a 502 by
        `bad_gateway()` with the post landing later, or a connection reset after storing it)."""
        p = self.platform
        def late():
            post = p.store(make)
            p.note(text=post.text[:70], late_stored=post.id)
        if fault == "late_after_502":
            p.later(late)
            bad_gateway()
            return None
        post = p.store(make)
        p.note(text=post.text[:70], stored=post.id)
        if fault == "reset_after_store":
            self.reset()
            return None
        return post

    def common_read_fault(self, limited_headers: dict) -> bool:
        kind = self.platform.read_fault()
        if kind == "500":
            self.send(500, {"error": "Internal Server Error"})
        elif kind == "429":
            self.send(429, {"error": "Too Many Requests"}, limited_headers)
        elif kind == "reset":
            self.reset()
        return kind is not None


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --- X API v2 ---------------------------------------------------------------------------

class XHandler(Handler):
    """POST /2/tweets, GET /2/users/me, GET /2/users/:id/tweets (start_time, max_results, pagination_token)."""
    USER = "2244994945"

    def limited(self) -> dict:
        return {"x-rate-limit-limit": 50, "x-rate-limit-remaining": 0, "x-rate-limit-reset": int(time.time()) + 1}

    def do_POST(self):
        p = self.platform
        payload = json.loads(self.body() or b"{}")
        if urlsplit(self.path).path != "/2/tweets":
            return self.send(404, {"title": "Not Found Error", "status": 404})
        if not self.headers.get("Authorization", "").startswith("OAuth "):
            return self.send(401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"})
        text = payload.get("text", "")
        reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
        fault = p.write_fault()
        p.note(text=text[:70], reply_to=reply_to, fault=fault)
        if fault == "429":
            return self.send(429, {"title": "Too Many Requests", "status": 429}, self.limited())
        if fault == "503":
            return self.send(503, {"title": "Service Unavailable", "status": 503})
        if p.seen_within_day(text):
            with p.lock:
                p.faults["refused:duplicate"] += 1
            p.note(text=text[:70], refused="duplicate")
            return self.send(403, {"detail": "You are not allowed to create a Tweet with duplicate content.",
                                   "type": "about:blank", "title": "Forbidden", "status": 403})

        def make(i, now, visible):
            parent = next((q for q in p.posts if q.id == str(reply_to)), None) if reply_to else None
            conv = parent.extra["conversation_id"] if parent else str(i)
            return Stored(str(i), text, now, visible, {"reply_to": str(reply_to) if reply_to else None,
                                                       "conversation_id": conv})
        post = self.land(fault, make, lambda: self.send(502, {"title": "Bad Gateway", "status": 502}))
        if post is None:
            return
        self.send(201, {"data": {"id": post.id, "text": text, "edit_history_tweet_ids": [post.id]}})

    def do_GET(self):
        p = self.platform
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if self.common_read_fault(self.limited()):
            return
        if url.path == "/2/users/me":
            return self.send(200, {"data": {"id": self.USER, "name": "Citecast", "username": "citecast"}})
        m = re.fullmatch(r"/2/users/(\d+)/tweets", url.path)
        if not m:
            return self.send(404, {"title": "Not Found Error", "status": 404})
        if m.group(1) != self.USER:
            return self.send(200, {"meta": {"result_count": 0}})
        n = max(5, min(100, int(q.get("max_results", 10))))
        n = min(n, 7)  # X may return fewer than asked; a small page makes the client page
        since = parse_iso(q["start_time"]) if "start_time" in q else 0.0
        items = [t for t in p.visible() if t.created >= since]
        offset = int(q.get("pagination_token", "0") or 0)
        if offset and offset < len(items) and p.empty_page(f"x{offset}:{since}"):
            return self.send(200, {"meta": {"result_count": 0, "next_token": str(offset)}})
        page = items[offset:offset + n]
        meta = {"result_count": len(page)}
        if offset + n < len(items):
            meta["next_token"] = str(offset + n)
        p.note(read=q.get("start_time"), token=offset, ids=[t.id for t in page], more=meta.get("next_token"))
        data = []
        for t in page:
            d = {"id": t.id, "text": t.text, "created_at": iso(t.created),
                 "conversation_id": t.extra["conversation_id"], "edit_history_tweet_ids": [t.id]}
            if t.extra["reply_to"]:
                d["referenced_tweets"] = [{"type": "replied_to", "id": t.extra["reply_to"]}]
            data.append(d)
        self.send(200, {"data": data, "meta": meta} if data else {"meta": meta})


# --- Reddit -------------------------------------------------------------------------------

class RedditHandler(Handler):
    """POST /api/v1/access_token, POST /api/submit/, GET /user/<name>/submitted (after, limit), /api/v1/me."""
    USER = "citecast_bot"

    def rl_headers(self, reset: int = 300) -> dict:
        return {"x-ratelimit-remaining": "95.0", "x-ratelimit-used": "5", "x-ratelimit-reset": str(reset)}

    def send(self, status, payload=None, headers=None, raw=None, ctype="application/json"):
        super().send(status, payload, {**self.rl_headers(), **(headers or {})}, raw, ctype)

    def do_POST(self):
        p = self.platform
        path = urlsplit(self.path).path
        form = {k: v[0] for k, v in parse_qs(self.body().decode()).items()}
        if path == "/api/v1/access_token":
            n = p.token_call()
            if n is None:
                return self.send(503, raw=b"<html>upstream connect error</html>", ctype="text/html")
            return self.send(200, {"access_token": f"tok{n}", "token_type": "bearer",
                                   "expires_in": 3600, "scope": "*"})
        if path.rstrip("/") != "/api/submit":
            return self.send(404, {"message": "Not Found", "error": 404})
        fault = p.write_fault()
        if fault == "429":
            return self.send(429, raw=b"Too Many Requests", headers={"retry-after": "1", **self.rl_headers(1)},
                             ctype="text/plain")
        if fault == "503":
            return self.send(503, raw=b"<html>all of our servers are busy</html>", ctype="text/html")
        sub = form.get("sr", "")
        def make(i, now, visible):
            sid = format(i, "x")
            return Stored(sid, form.get("text", ""), now, visible,
                          {"title": form.get("title", ""), "subreddit": sub, "url": form.get("url")})
        post = self.land(fault, make, lambda: self.send(502, raw=b"<html>bad gateway</html>", ctype="text/html"))
        if post is None:
            return
        link = f"https://www.reddit.com/r/{sub}/comments/{post.id}/x/"
        self.send(200, {"json": {"errors": [], "data": {"id": post.id, "name": f"t3_{post.id}", "url": link,
                                                        "drafts_count": 0}}})

    def do_GET(self):
        p = self.platform
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if self.common_read_fault({"retry-after": "1", **self.rl_headers(1)}):
            return
        if url.path.rstrip("/") == "/api/v1/me":
            return self.send(200, {"name": self.USER, "id": "abc12"})
        m = re.fullmatch(r"/user/([^/]+)/submitted/?(\.json)?", url.path)
        if not m:
            return self.send(404, {"message": "Not Found", "error": 404})
        limit = min(int(q.get("limit", 25)), 100, 8)  # small pages make the client page
        items = p.visible()
        start = 0
        if q.get("after"):
            ids = [f"t3_{s.id}" for s in items]
            start = ids.index(q["after"]) + 1 if q["after"] in ids else len(items)
        if q.get("after") and start < len(items) and p.empty_page(q["after"]):
            # an empty page whose cursor still points on (Reddit filters removed items after paging)
            return self.send(200, {"kind": "Listing", "data": {"after": q["after"], "before": None, "dist": 0,
                                                               "children": []}})
        page = items[start:start + limit]
        after = f"t3_{page[-1].id}" if page and start + limit < len(items) else None
        children = [{"kind": "t3", "data": {
            "id": s.id, "name": f"t3_{s.id}", "title": s.extra["title"], "selftext": s.text,
            "subreddit": s.extra["subreddit"], "author": self.USER, "created_utc": s.created,
            "created": s.created, "is_self": s.extra["url"] is None,
            "url": s.extra["url"] or f"https://www.reddit.com/r/{s.extra['subreddit']}/comments/{s.id}/x/",
            "permalink": f"/r/{s.extra['subreddit']}/comments/{s.id}/x/"}} for s in page]
        self.send(200, {"kind": "Listing", "data": {"after": after, "before": None, "dist": len(children),
                                                    "children": children}})


# --- LinkedIn -----------------------------------------------------------------------------

def active_versions(today: datetime | None = None) -> set[str]:
    """The twelve monthly versions before this month (the current month's may not be out yet)."""
    today = today or datetime.now(timezone.utc)
    out, y, m = set(), today.year, today.month
    for _ in range(12):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.add(f"{y}{m:02d}")
    return out


class LinkedInHandler(Handler):
    """POST /rest/posts (422 DUPLICATE_POST, 426 NONEXISTENT_VERSION); GET /rest/posts?q=author refused
    403 without r_member_social (the standard token has only w_member_social)."""

    def version_refused(self) -> bool:
        version = self.headers.get("LinkedIn-Version", "")
        if version in active_versions():
            return False
        self.send(426, {"status": 426, "code": "NONEXISTENT_VERSION",
                        "message": f"Requested version {version} is not active"})
        return True

    def do_POST(self):
        p = self.platform
        payload = json.loads(self.body() or b"{}")
        if urlsplit(self.path).path != "/rest/posts":
            return self.send(404, {"status": 404, "message": "No virtual resource found"})
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self.send(401, {"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN",
                                   "message": "Invalid access token"})
        if self.version_refused():
            return
        text = payload.get("commentary", "")
        fault = p.write_fault()
        if fault == "429":
            return self.send(429, {"status": 429, "message": "Resource level throttle limit reached"},
                             {"Retry-After": "1"})
        if fault == "503":
            return self.send(503, {"status": 503, "message": "Service Unavailable"})
        first = p.seen_within_day(text)
        if first:
            with p.lock:
                p.faults["refused:duplicate"] += 1
            return self.send(422, {"status": 422, "code": "DUPLICATE_POST",
                                   "message": f"Content is a duplicate of {first.id}"})
        def make(i, now, visible):
            return Stored(f"urn:li:share:{7_000_000_000 + i}", text, now, visible, {"author": payload.get("author"),
                                  "link": ((payload.get("content") or {}).get("article") or {}).get("source")})
        post = self.land(fault, make, lambda: self.send(502, {"status": 502, "message": "Bad Gateway"}))
        if post is None:
            return
        self.send(201, raw=b"", headers={"x-restli-id": post.id, "x-linkedin-id": post.id})

    def do_GET(self):
        if self.version_refused():
            return
        if urlsplit(self.path).path == "/rest/posts":
            return self.send(403, {"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                                   "message": "Not enough permissions to access: partnerApiPostsExternal.FINDER-author"})
        self.send(404, {"status": 404, "message": "No virtual resource found"})


class Server:
    """One fake on 127.0.0.1:<free port>, served from a daemon thread."""

    def __init__(self, handler: type[Handler], platform: Platform):
        cls = type(handler.__name__, (handler,), {"platform": platform})
        self.platform = platform
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), cls)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def start_all(mix: Mix) -> dict[str, Server]:
    return {name: Server(h, Platform(mix, name)).__enter__()
            for name, h in (("x", XHandler), ("reddit", RedditHandler), ("linkedin", LinkedInHandler),
                            ("mastodon", MastodonHandler), ("bluesky", BlueskyHandler))}


# --- Mastodon -----------------------------------------------------------------------------

class MastodonHandler(Handler):
    """GET /api/v2/instance, /api/v1/accounts/verify_credentials, /api/v1/accounts/:id/statuses (max_id, limit);
    POST /api/v1/statuses with Idempotency-Key (the same status for a repeated key within an hour, as the
    server records the key once the status exists)."""
    ACCOUNT = {"id": "109", "username": "citecast", "acct": "citecast", "display_name": "citecast",
               "url": "http://mastodon.test/@citecast", "created_at": "2025-01-01T00:00:00.000Z"}

    def rl(self, remaining: int = 290) -> dict:
        reset = datetime.fromtimestamp(time.time() + 1, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return {"X-RateLimit-Limit": 300, "X-RateLimit-Remaining": remaining, "X-RateLimit-Reset": reset}

    def send(self, status, payload=None, headers=None, raw=None, ctype="application/json"):
        super().send(status, payload, {**self.rl(), **(headers or {})}, raw, ctype)

    def status_json(self, s: Stored) -> dict:
        import html
        return {"id": s.id, "created_at": iso(s.created), "content": f"<p>{html.escape(s.text)}</p>",
                "url": f"http://mastodon.test/@citecast/{s.id}", "uri": f"http://mastodon.test/users/citecast/statuses/{s.id}",
                "visibility": "public", "account": self.ACCOUNT, "in_reply_to_id": None, "reblog": None,
                "media_attachments": [], "mentions": [], "tags": [], "emojis": [], "sensitive": False,
                "spoiler_text": "", "replies_count": 0, "reblogs_count": 0, "favourites_count": 0}

    def do_POST(self):
        p = self.platform
        raw = self.body()
        if "json" in (self.headers.get("Content-Type") or ""):
            form = json.loads(raw or b"{}")
        else:
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if urlsplit(self.path).path != "/api/v1/statuses":
            return self.send(404, {"error": "Record not found"})
        key = self.headers.get("Idempotency-Key")
        with p.lock:
            known = next((s for s in p.posts if key and s.extra.get("key") == key
                          and time.time() - s.created < 3600), None)
        if known:
            return self.send(200, self.status_json(known))
        fault = p.write_fault()
        if fault == "429":
            return self.send(429, {"error": "Too many requests"}, self.rl(0))
        if fault == "503":
            return self.send(503, raw=b"<html>503 Service Unavailable</html>", ctype="text/html")
        def make(i, now, visible):
            return Stored(str(110_000_000_000 + i), form.get("status", ""), now, visible, {"key": key})
        post = self.land(fault, make, lambda: self.send(502, raw=b"<html>502 Bad Gateway</html>", ctype="text/html"))
        if post is None:
            return
        self.send(200, self.status_json(post))

    def do_GET(self):
        p = self.platform
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path in ("/api/v2/instance", "/api/v1/instance"):
            return self.send(200, {"domain": "mastodon.test", "uri": "mastodon.test", "title": "test", "version": "4.3.0",
                                   "configuration": {"statuses": {"max_characters": 500,
                                                                  "characters_reserved_per_url": 23}}})
        if self.common_read_fault(self.rl(0)):
            return
        if url.path == "/api/v1/accounts/verify_credentials":
            return self.send(200, self.ACCOUNT)
        m = re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", url.path)
        if not m:
            return self.send(404, {"error": "Record not found"})
        limit = min(int(q.get("limit", 20)), 40, 9)
        items = [s for s in p.visible() if "max_id" not in q or int(s.id) < int(q["max_id"])]
        self.send(200, [self.status_json(s) for s in items[:limit]])


# --- Bluesky (a PDS) ----------------------------------------------------------------------

def _jwt(did: str, seconds: int) -> str:
    import base64

    def b64(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    now = int(time.time())
    return f"{b64({'typ': 'at+jwt', 'alg': 'HS256'})}.{b64({'scope': 'com.atproto.appPass', 'sub': did, 'iat': now, 'exp': now + seconds, 'aud': 'did:web:pds.test'})}.c2ln"


class BlueskyHandler(Handler):
    """com.atproto.server.createSession (XRPC), app.bsky.actor.getProfile, com.atproto.repo.createRecord
    (a record key that exists fails with a bare 500, as the PDS's MST insert does), getRecord (400
    RecordNotFound), listRecords (cursor)."""
    DID = "did:plc:citecasttrial0000000000"
    HANDLE = "citecast.test"
    CID = "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"

    def xrpc(self) -> str:
        return urlsplit(self.path).path.removeprefix("/xrpc/")

    def do_POST(self):
        p = self.platform
        payload = json.loads(self.body() or b"{}")
        method = self.xrpc()
        if method == "com.atproto.server.createSession":
            if p.token_call() is None:
                return self.send(503, raw=b"upstream unavailable", ctype="text/plain")
            return self.send(200, {"did": self.DID, "handle": self.HANDLE, "accessJwt": _jwt(self.DID, 7200),
                                   "refreshJwt": _jwt(self.DID, 86400 * 60), "active": True})
        if method != "com.atproto.repo.createRecord":
            return self.send(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})
        record, rkey = payload.get("record") or {}, payload.get("rkey")
        fault = p.write_fault()
        if fault == "429":
            return self.send(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                             {"ratelimit-limit": 5000, "ratelimit-remaining": 0, "ratelimit-reset": int(time.time()) + 1,
                              "retry-after": 1})
        if fault == "503":
            return self.send(503, {"error": "InternalServerError", "message": "Internal Server Error"})
        with p.lock:
            exists = rkey is not None and any(s.extra["rkey"] == rkey for s in p.posts)
        if exists:
            return self.send(500, {"error": "InternalServerError", "message": "Internal Server Error"})
        rkey = rkey or f"3l{p.new_id():011d}"
        def make(i, now, visible):
            return Stored(f"at://{self.DID}/app.bsky.feed.post/{rkey}", record.get("text", ""), now, visible,
                          {"rkey": rkey, "record": record,
                           "link": ((record.get("embed") or {}).get("external") or {}).get("uri")})
        post = self.land(fault, make, lambda: self.send(502, raw=b"bad gateway", ctype="text/plain"))
        if post is None:
            return
        self.send(200, {"uri": post.id, "cid": self.CID, "validationStatus": "valid"})

    def do_GET(self):
        p = self.platform
        q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        method = self.xrpc()
        if method == "app.bsky.actor.getProfile":
            return self.send(200, {"did": self.DID, "handle": self.HANDLE, "displayName": "citecast"})
        if self.common_read_fault({"ratelimit-reset": int(time.time()) + 1, "retry-after": 1}):
            return
        if method == "com.atproto.repo.getRecord":
            with p.lock:  # the PDS reads its own writes at once: no lag here
                s = next((s for s in p.posts if s.extra["rkey"] == q.get("rkey")), None)
            if s is None:
                return self.send(400, {"error": "RecordNotFound", "message": f"Could not locate record: {q.get('rkey')}"})
            return self.send(200, {"uri": s.id, "cid": self.CID, "value": s.extra["record"]})
        if method == "com.atproto.repo.listRecords":
            with p.lock:
                items = sorted(p.posts, key=lambda s: s.extra["rkey"], reverse=True)
            if q.get("cursor"):
                items = [s for s in items if s.extra["rkey"] < q["cursor"]]
            page = items[:min(int(q.get("limit", 50)), 10)]
            body = {"records": [{"uri": s.id, "cid": self.CID, "value": s.extra["record"]} for s in page]}
            if len(items) > len(page):
                body["cursor"] = page[-1].extra["rkey"]
            return self.send(200, body)
        self.send(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})
