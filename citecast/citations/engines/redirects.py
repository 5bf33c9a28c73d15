"""Resolve Gemini's grounding redirect links to the pages they name, without fetching the pages.

Gemini's grounding chunks carry `https://vertexaisearch.cloud.google.com/grounding-api-redirect/<token>`
links, not the page's URL. One HEAD request (a GET whose body is never read when HEAD is refused)
with redirects off gives the real URL in `Location`. Only links under the configured prefixes are
ever requested: a URL an engine returns is data, never something we fetch. Resolved links are
cached (in the ledger when one is given: tokens expire, the answer we logged must stay joined);
a link that cannot be resolved stays as given and the answer carries a notice.
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Iterable, Protocol, Sequence
from urllib.parse import urljoin, urlsplit

import httpx

from citecast.settings import GROUNDING_REDIRECT_PREFIX

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class RedirectCache(Protocol):
    def get_many(self, urls: Sequence[str]) -> dict[str, str]: ...

    def put(self, url: str, target: str) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self._known: dict[str, str] = {}
        self._lock = threading.Lock()

    def get_many(self, urls: Sequence[str]) -> dict[str, str]:
        with self._lock:
            return {u: self._known[u] for u in urls if u in self._known}

    def put(self, url: str, target: str) -> None:
        with self._lock:
            self._known[url] = target


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


class LedgerCache:
    """Resolved links in the ledger's `resolved_redirects` table, shared by every run and worker."""

    def __init__(self, ledger: "Ledger"):
        self.ledger = ledger

    def get_many(self, urls: Sequence[str]) -> dict[str, str]:
        from sqlalchemy import select

        from citecast.ledger.citation_tables import ResolvedRedirectRow

        keys = {url_key(u): u for u in urls}
        if not keys:
            return {}
        with self.ledger.session() as s:
            rows = s.execute(select(ResolvedRedirectRow.key, ResolvedRedirectRow.target_url)
                             .where(ResolvedRedirectRow.key.in_(list(keys))))
            return {keys[k]: target for k, target in rows}

    def put(self, url: str, target: str) -> None:
        from sqlalchemy.exc import IntegrityError

        from citecast.ledger.citation_tables import ResolvedRedirectRow

        try:
            with self.ledger.session() as s:
                s.add(ResolvedRedirectRow(key=url_key(url), redirect_url=url, target_url=target))
        except IntegrityError:
            pass  # another worker resolved it first: same answer


class RedirectResolver:
    def __init__(self, prefixes: Iterable[str] = (GROUNDING_REDIRECT_PREFIX,), *, timeout: float = 10.0,
                 retries: int = 1, cache: RedirectCache | None = None, max_hops: int = 3,
                 client: httpx.Client | None = None, concurrency: int = 8):
        self.prefixes = tuple(p for p in prefixes if p)
        self.timeout, self.retries, self.max_hops, self.concurrency = timeout, retries, max_hops, concurrency
        self.cache = cache or MemoryCache()
        self._failed: dict[str, str] = {}  # this run only: an expired token stays expired
        self._client = client or httpx.Client(follow_redirects=False, timeout=timeout,
                                              headers={"user-agent": "citecast"},
                                              limits=httpx.Limits(max_connections=max(10, concurrency)))
        self.requests = 0
        self._count = threading.Lock()

    def is_redirect(self, url: str) -> bool:
        return url.startswith(self.prefixes)

    def resolve_all(self, urls: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        """Resolved targets and the reasons for links that stayed unresolved.

        One answer carries 10 to 40 links, each with a fresh token, so the ones not cached are
        asked `concurrency` at a time (benchmarks/bench_redirects.py).
        """
        wanted = [u for u in dict.fromkeys(urls) if self.is_redirect(u)]
        found = self.cache.get_many(wanted)
        failed = {u: self._failed[u] for u in wanted if u not in found and u in self._failed}
        todo = [u for u in wanted if u not in found and u not in failed]
        if not todo:
            return found, failed
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(todo))),
                                thread_name_prefix="redirects") as pool:
            outcomes = list(pool.map(self._try, todo))
        for url, (target, error) in zip(todo, outcomes):
            if target is None:
                failed[url] = self._failed[url] = error or "unresolved"
                continue
            found[url] = target
            self.cache.put(url, target)
        return found, failed

    def _try(self, url: str) -> tuple[str | None, str | None]:
        try:
            return self._follow(url), None
        except ResolveError as exc:
            return None, str(exc)

    def _follow(self, url: str) -> str:
        current = url
        for _ in range(self.max_hops):
            location = self._location(current)
            target = urljoin(current, location)
            if urlsplit(target).scheme not in ("http", "https"):
                raise ResolveError(f"redirect to a non-web URL {target[:80]!r}")
            if not self.is_redirect(target):
                return target
            current = target
        raise ResolveError(f"more than {self.max_hops} redirects")

    def _location(self, url: str) -> str:
        for attempt in range(self.retries + 1):
            try:
                resp = self._request("HEAD", url)
                if resp.status_code in (405, 501):  # HEAD refused: a GET whose body we never read
                    resp = self._request("GET", url)
            except httpx.TimeoutException:
                if attempt < self.retries:
                    continue
                raise ResolveError("timed out") from None
            except httpx.HTTPError as exc:
                raise ResolveError(f"{type(exc).__name__}: {exc}") from None
            if resp.status_code in REDIRECT_STATUSES and resp.headers.get("location"):
                return resp.headers["location"]
            if resp.status_code in RETRY_STATUSES and attempt < self.retries:
                time.sleep(_retry_after(resp.headers.get("retry-after")))
                continue
            if resp.status_code in (404, 410):
                raise ResolveError(f"HTTP {resp.status_code}: the link expired")
            raise ResolveError(f"HTTP {resp.status_code} without a Location header")
        raise ResolveError("no answer")  # pragma: no cover - the loop returns or raises

    def _request(self, method: str, url: str) -> httpx.Response:
        with self._count:
            self.requests += 1
        with self._client.stream(method, url) as resp:
            return resp  # headers only: the body is never read

    def close(self) -> None:
        self._client.close()


def _retry_after(value: str | None, cap: float = 2.0) -> float:
    try:
        return min(cap, max(0.0, float(value or 0.2)))
    except ValueError:
        return 0.2


class ResolveError(Exception):
    pass
