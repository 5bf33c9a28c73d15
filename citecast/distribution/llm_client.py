"""The connection to the LLM server: key and URL, a process-wide request gate, and hard bounds.

Bounds the SDK cannot give:

- time: httpx's timeouts are per phase and per socket read, so a server that
  trickles one byte per read never times out, and the SDK's retries sleep up
  to 120 s on a `Retry-After`. `DeadlineBackend` clamps every connect, read
  and write to the calling thread's page deadline (set with `deadline()`), and
  the gate waits no longer than that either.
- size: a server may ignore `max_completion_tokens`; the response body is
  read up to `limit_response()` bytes and then abandoned (`ResponseTooLarge`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any, Iterator
from urllib.parse import urlsplit

import httpcore2
import httpx2
import openai

from citecast.settings import ConfigError, Settings

DUMMY_KEY = "not-needed"
OPENAI_URL = "https://api.openai.com/v1"
_local = threading.local()


class LLMConfigError(ConfigError):
    """The LLM is configured but cannot be used as configured; the message says how to fix it."""


class ResponseTooLarge(httpx2.ReadError):
    """The server sent more than the request's byte limit (a flood, or a server ignoring the token cap)."""


def connection(settings: Settings) -> tuple[str | None, str]:
    """(base URL, API key) by a fixed rule, the openai SDK's own variables included.

    The base URL is llm.base_url, else OPENAI_BASE_URL, else OpenAI's. The key is
    OPENAI_API_KEY; without it, a custom base URL (Ollama, vLLM, LM Studio) gets
    the placeholder "not-needed", and OpenAI's own API is a configuration error.
    """
    base_url = settings.llm.base_url or os.environ.get("OPENAI_BASE_URL") or None
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        return base_url, key
    if base_url:
        return base_url, DUMMY_KEY
    raise LLMConfigError(
        f"llm.model is {settings.llm.model!r} but OPENAI_API_KEY is not set - export OPENAI_API_KEY, or set "
        "llm.base_url (or OPENAI_BASE_URL) for a local server such as Ollama, or empty llm.model to draft offline"
    )


def preflight(settings: Settings) -> None:
    """Fail fast, in one line, when the key is missing or the server cannot be reached at all.

    A TCP connection to the base URL's host and port is the one check every
    OpenAI-compatible server answers (not all serve /models).
    """
    base_url, _ = connection(settings)
    url = base_url or OPENAI_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LLMConfigError(f"llm.base_url {url!r} is not an http(s) URL - set it like http://localhost:11434/v1")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=min(5.0, settings.llm.timeout_seconds)).close()
    except OSError as exc:
        where = "llm.base_url" if settings.llm.base_url else "OPENAI_BASE_URL" if base_url else "the network"
        raise LLMConfigError(
            f"cannot reach the LLM server at {url} ({exc.strerror or type(exc).__name__}) - start the server or fix "
            f"{where}, or empty llm.model to draft offline"
        ) from None


@contextlib.contextmanager
def deadline(at: float, max_bytes: int) -> Iterator[None]:
    """Requests made by this thread inside the block end by `at` (time.monotonic) and read at most `max_bytes`."""
    _local.at, _local.max_bytes = at, max_bytes
    try:
        yield
    finally:
        _local.at = _local.max_bytes = None


def _left(timeout: float | None, exc: type[Exception]) -> float | None:
    at = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise exc("the page's drafting deadline has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream):
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _left(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _left(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore2.NetworkStream:
        return DeadlineStream(self.inner.start_tls(ssl_context, server_hostname,
                                                   _left(timeout, httpcore2.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class DeadlineBackend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self.inner = httpcore2.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore2.NetworkStream:
        return DeadlineStream(self.inner.connect_tcp(host, port, _left(timeout, httpcore2.ConnectTimeout),
                                                     local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore2.NetworkStream:
        return DeadlineStream(self.inner.connect_unix_socket(path, _left(timeout, httpcore2.ConnectTimeout),
                                                             socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class _CappedStream(httpx2.SyncByteStream):
    def __init__(self, inner: httpx2.SyncByteStream, max_bytes: int):
        self.inner, self.max_bytes = inner, max_bytes

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self.inner:
            seen += len(chunk)
            if seen > self.max_bytes:
                raise ResponseTooLarge(f"the answer passed {self.max_bytes:,} bytes")
            yield chunk

    def close(self) -> None:
        self.inner.close()


class BoundedTransport(httpx2.HTTPTransport):
    """Holds a slot of the request gate only while a request is on the wire; every request bounded.

    Prompt building, parsing, validation and back-off happen outside the gate,
    so the drafter prepares the next page while `llm.concurrency` requests are
    in flight, and the server sees no more than that at once.
    """

    def __init__(self, gate: threading.BoundedSemaphore, limits: httpx2.Limits):
        super().__init__(limits=limits)
        # HTTPTransport takes no network backend; the pool is rebuilt with the same
        # limits around one that enforces the page deadline at every socket call.
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=True),  # as HTTPTransport makes it (SSL_CERT_FILE etc.)
            max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=DeadlineBackend())
        self.gate = gate

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        wait = _left(None, httpx2.PoolTimeout)
        if not self.gate.acquire(timeout=wait if wait is not None else -1):
            raise httpx2.PoolTimeout("the page's drafting deadline passed while waiting for a request slot")
        try:
            response = super().handle_request(request)
        finally:
            self.gate.release()
        max_bytes = getattr(_local, "max_bytes", None)
        if max_bytes:
            response.stream = _CappedStream(response.stream, max_bytes)
        return response


_gates: dict[tuple[str, str, int], threading.BoundedSemaphore] = {}
_gates_lock = threading.Lock()


def request_gate(settings: Settings) -> threading.BoundedSemaphore:
    """One limit per server and model for the whole process (parallel Prefect tasks share it)."""
    base_url = settings.llm.base_url or os.environ.get("OPENAI_BASE_URL") or ""
    key = (base_url, settings.llm.model, settings.llm.concurrency)
    with _gates_lock:
        if key not in _gates:
            _gates[key] = threading.BoundedSemaphore(settings.llm.concurrency)
        return _gates[key]


def make_client(settings: Settings, gate: threading.BoundedSemaphore | None = None) -> openai.OpenAI:
    """A client without the SDK's own retries: the drafter retries inside the page deadline."""
    base_url, key = connection(settings)
    n = settings.llm.concurrency
    transport = BoundedTransport(gate or request_gate(settings),
                                 httpx2.Limits(max_connections=max(100, n), max_keepalive_connections=n))
    return openai.OpenAI(api_key=key, base_url=base_url, timeout=settings.llm.timeout_seconds, max_retries=0,
                         http_client=openai.DefaultHttpxClient(transport=transport))


def is_openai(client: openai.OpenAI) -> bool:
    return urlsplit(str(client.base_url)).hostname == "api.openai.com"
