"""A tiny threaded fake HTTP server that records what it received and misbehaves as platforms do.

Each platform fake subclasses `FakeServer`, registers routes and stores posts
in `self.posts`. Faults on the *publish* route are queued one by one
(`fail_next`) or drawn at random (`fault_rate`, `fault_mix`):

    rate_limit            429 with the platform's reset/retry headers; nothing stored
    server_error          503; nothing stored
    drop_before_store     connection closed without an answer; nothing stored
    drop_after_store      the post is stored, then the connection is closed
    timeout_after_store   the post is stored, then the answer stalls past the client timeout
    stored_then_500       the post is stored, then the platform answers 500
    lands_late            the answer stalls past the client timeout and the post is stored
                          `late_seconds` later, after the client gave up (refusals apply then)
    duplicate             the platform's duplicate-content rejection

Reads (timelines, lookups) and token calls fault on their own, drawn at random
(`read_fault_rate`, `token_fault_rate`) from READ_FAULTS: rate_limit,
server_error, drop (no answer) and stall (an answer past the client timeout).
A stored post shows in reads only `lag_seconds` after it was stored (indexing
lag), and reads answer at most `page_cap` items a page, with the platform's
cursor for the next.
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

FAULTS = (
    "ok",  # no fault for this call: lets a test fail a later call
    "rate_limit",
    "server_error",
    "drop_before_store",
    "drop_after_store",
    "timeout_after_store",
    "stored_then_500",
    "lands_late",
    "duplicate",
)
READ_FAULTS = ("rate_limit", "server_error", "drop", "stall")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""  # repeated parameters (uris=..&uris=..) live only here

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str/bytes as is
    headers: dict[str, str] = field(default_factory=dict)


class Fault(Exception):
    """Raised by a route to make the server misbehave at the transport level."""

    def __init__(self, kind: str):
        self.kind = kind


class FakeServer:
    """Subclasses call `route(method, pattern, fn)`; `fn(req, match) -> Reply`."""

    #: how long `timeout_after_store` stalls; tests give clients a shorter timeout
    stall_seconds = 1.6
    #: the gap between the bytes of a `trickle` answer (each within any read timeout)
    trickle_seconds = 0.2
    #: how long after the client gave up a `lands_late` post is stored
    late_seconds = 0.5

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.posts: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self.queued: list[str] = []
        self.fault_rate = 0.0
        self.fault_mix: tuple[str, ...] = ("rate_limit", "server_error", "timeout_after_store", "drop_after_store")
        self.rng = random.Random(0)
        self.faults_injected: list[str] = []
        self.reject_duplicates = True
        self.read_fault_rate = 0.0
        self.token_fault_rate = 0.0
        self.read_fault_mix: tuple[str, ...] = READ_FAULTS
        self.reads_faulted: list[str] = []
        self.lag_seconds = 0.0
        self.page_cap = 100
        self.late_writes: list[threading.Timer] = []
        self._routes: list[tuple[str, re.Pattern, Callable]] = []
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._seq = 1000

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> "FakeServer":
        handler = _handler_for(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._bind()
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for timer in self.late_writes:
            timer.cancel()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        return self._url

    def _bind(self) -> None:
        host, port = self._httpd.server_address[:2]
        self._url = f"http://{host}:{port}"

    # -- helpers for subclasses ---------------------------------------------

    def route(self, method: str, pattern: str, fn: Callable[[Request, re.Match], Reply]) -> None:
        self._routes.append((method, re.compile(pattern + r"$"), fn))

    def next_id(self) -> str:
        with self.lock:
            self._seq += 1
            return str(self._seq)

    def fail_next(self, *kinds: str) -> None:
        """Queue faults for the next publish calls, one per call."""
        for kind in kinds:
            assert kind in FAULTS, kind
        with self.lock:
            self.queued.extend(kinds)

    def take_fault(self) -> str | None:
        """The fault for this publish call, if any (queued first, then random)."""
        with self.lock:
            if self.queued:
                kind = self.queued.pop(0)
            elif self.fault_rate and self.rng.random() < self.fault_rate:
                kind = self.rng.choice(self.fault_mix)
            else:
                return None
            if kind == "ok":
                return None
            self.faults_injected.append(kind)
            return kind

    def publish(self, req: Request, store: Callable[[], Reply], rate_limited: Callable[[], Reply],
                duplicate: Callable[[], Reply]) -> Reply:
        """Run a publish call through fault injection; `store()` saves the post and answers."""
        kind = self.take_fault()
        if kind is None:
            return store()
        if kind == "rate_limit":
            return rate_limited()
        if kind == "server_error":
            return Reply(503, {"error": "service unavailable"})
        if kind == "duplicate":
            return duplicate()
        if kind == "drop_before_store":
            raise Fault("drop")
        if kind == "lands_late":
            timer = threading.Timer(self.stall_seconds + self.late_seconds, store)
            timer.daemon = True
            self.late_writes.append(timer)
            timer.start()
            raise Fault("stall")
        store()
        if kind == "stored_then_500":
            return Reply(500, {"error": "InternalServerError", "message": "Internal Server Error"})
        raise Fault("drop" if kind == "drop_after_store" else "stall")

    def take_read_fault(self, token: bool = False) -> str | None:
        """The fault for this read (or token) call, if any."""
        rate = self.token_fault_rate if token else self.read_fault_rate
        with self.lock:
            if not rate or self.rng.random() >= rate:
                return None
            kind = self.rng.choice(self.read_fault_mix)
            self.reads_faulted.append(("token " if token else "") + kind)
            return kind

    def read(self, answer: Callable[[], Reply], rate_limited: Callable[[], Reply], token: bool = False) -> Reply:
        """Run a read or token call through fault injection; `answer()` builds the real reply."""
        kind = self.take_read_fault(token)
        if kind is None:
            return answer()
        if kind == "rate_limit":
            return rate_limited()
        if kind == "server_error":
            return Reply(503, {"error": "service unavailable"})
        raise Fault(kind)

    def visible(self, post: dict[str, Any]) -> bool:
        """Whether a stored post shows in reads yet (indexing lag)."""
        return time.time() - post.get("stored_at", 0.0) >= self.lag_seconds

    def stored(self, post: dict[str, Any]) -> dict[str, Any]:
        post["stored_at"] = time.time()
        return post

    def posts_where(self, **match: Any) -> list[dict[str, Any]]:
        with self.lock:
            return [p for p in self.posts if all(p.get(k) == v for k, v in match.items())]

    # -- dispatch ------------------------------------------------------------

    def _dispatch(self, req: Request) -> Reply:
        with self.lock:
            self.requests.append(req)
        for method, pattern, fn in self._routes:
            if method == req.method and (m := pattern.match(req.path)):
                return fn(req, m)
        return Reply(404, {"error": f"no route for {req.method} {req.path}"})


def _handler_for(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def _handle(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:  # the client died mid-request: a platform never acts on half a request
                self.close_connection = True
                return
            req = Request(
                method=self.command,
                path=parts.path,
                query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                raw_query=parts.query,
            )
            try:
                reply = server._dispatch(req)
            except Fault as fault:
                if fault.kind == "trickle":  # a slow-loris answer: the status line one byte at a time
                    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000:
                        if server._stop.wait(server.trickle_seconds):
                            break
                        try:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        except OSError:
                            break
                if fault.kind == "stall":
                    server._stop.wait(server.stall_seconds)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            data = reply.body
            ctype = "application/json"
            if isinstance(data, (dict, list)):
                data = json.dumps(data).encode()
            elif isinstance(data, str):
                data, ctype = data.encode(), "text/plain"
            elif data is None:
                data = b""
            self.send_response(reply.status)
            headers = {"Content-Type": ctype, **reply.headers}
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":  # a HEAD answer has headers only
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    return Handler
