"""The one contract every platform adapter keeps.

Errors raised by `publish` and `lookup` are translated inside the adapter into one tree:

    ChannelError              a definite failure: nothing was posted (a read or token call failed, a
    │                         connection never opened); retried later
    ├── AuthError             credentials missing, wrong or expired: fix config, do not retry
    │   └── Misconfigured     a setting the platform refuses (a retired API version): fix config
    ├── RateLimited           retry after `retry_after` seconds (from the platform's headers)
    ├── Rejected              the platform refused this post's content (too long, banned): not as is
    │   └── Duplicate         refused as a repeat of a post it holds; `existing` when it names it
    ├── Unconfirmed           the post may have been stored but the outcome is unknown (timeout after
    │                         send, dropped connection, 5xx on the write): never re-post blindly
    └── LookupIncomplete      a lookup could not search back to the attempt (a read failed, the
        │                     bound was reached): the post may exist; look again later
        └── LookupNotPermitted  the token may not read posts back (a missing scope)

A `Ticket` carries what the ledger knows about the event into the call: the
platform key chosen before the first attempt (a Bluesky record key, a Mastodon
Idempotency-Key), when a send whose outcome is unknown happened, and for
threads the parts already live, so an adapter resumes instead of restarting.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, ClassVar, Iterable, Iterator, TypeVar

T = TypeVar("T")

from citecast.posts import Draft, Post, Published


class ChannelError(Exception):
    """Base of every error a channel raises from `publish`."""


class AuthError(ChannelError):
    pass


class RateLimited(ChannelError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Rejected(ChannelError):
    pass


class Misconfigured(AuthError):
    pass


class Duplicate(Rejected):
    """A repeat the platform refused; `existing` is the post it names, where it names one."""

    def __init__(self, message: str, existing: Published | None = None):
        super().__init__(message)
        self.existing = existing


class Unconfirmed(ChannelError):
    pass


class LookupIncomplete(ChannelError):
    pass


class LookupNotPermitted(LookupIncomplete):
    pass


@dataclass
class Ticket:
    """What the ledger knows about one event when a channel is called.

    `steps` holds one entry per part of a thread, `{"id": ..., "sent_at": iso,
    "first_sent_at": iso}`: `sent_at` is the latest send of that part (its grace
    period runs from it), `first_sent_at` the first (a lookup searches back to
    it: after a re-send, the first copy may be the one that landed). The adapter
    updates it as parts go out and calls `on_steps` so the ledger stores each
    part before and after it is sent.
    """

    key: str  # page:channel:slot:seq
    platform_key: str | None = None
    since: datetime | None = None  # the first send whose outcome is unknown; lookups search back to it
    steps: list[dict[str, Any]] = field(default_factory=list)
    on_steps: Callable[[list[dict[str, Any]]], None] = lambda steps: None
    # True for a platform id the ledger records for another event: a lookup must not take it (same words)
    taken: Callable[[str], bool] = lambda platform_id: False

    def step(self, index: int) -> dict[str, Any]:
        while len(self.steps) <= index:
            self.steps.append({})
        return self.steps[index]

    def sending(self, index: int) -> None:
        step, now = self.step(index), _now().isoformat()
        # A step stored before first_sent_at was kept: its sent_at is its earliest send still known.
        step.setdefault("first_sent_at", step.get("sent_at") or now)
        step.update(id=None, sent_at=now)
        self.on_steps(self.steps)

    def sent(self, index: int, platform_id: str) -> None:
        self.step(index)["id"] = platform_id
        self.on_steps(self.steps)


@dataclass(frozen=True)
class Limits:
    """A platform's limits on one post; `count` measures text as the platform does."""

    max_length: int
    count: Callable[[str], int] = len
    max_parts: int = 1
    title_max: int | None = None
    title_required: bool = False
    unit: str = "characters"


#: [channels.<name>] keys every adapter reads (through the methods of Channel)
COMMON_SETTINGS_KEYS = frozenset({"grace_seconds", "lookup_max_pages", "clock_skew_seconds"})


class Channel(ABC):
    """One platform. Subclasses set `name` and `limits` and implement `publish`.

    `live` is False for the outbox (dry run); the ledger records such events as
    `dry_run`. `can_lookup` says whether `lookup` can find a post whose outcome
    was unknown, which decides whether an unconfirmed post is reconciled
    automatically or waits for a person.
    """

    name: ClassVar[str]
    limits: ClassVar[Limits]
    live: ClassVar[bool] = True
    can_lookup: ClassVar[bool] = False
    # How long a post may take to show up in the platform's reads after it was stored; an
    # unconfirmed post that a lookup misses is re-sent only after this (option `grace_seconds`).
    grace: ClassVar[timedelta] = timedelta(seconds=60)
    # How lookups page back: the bound, in pages (option `lookup_max_pages`).
    lookup_max_pages: ClassVar[int] = 10
    # True where sending the identical post again is refused with a refusal naming the post that
    # exists (LinkedIn's DUPLICATE_POST): then a re-send settles an unknown outcome without a read.
    resend_reveals_duplicate: ClassVar[bool] = False
    # For `citecast channels`: how a post whose outcome is unknown is settled.
    reconcile_note: ClassVar[str] = "waits for a person: citecast ledger pending"
    # The client libraries `publish` imports. They are imported on the main thread
    # when the channel goes live: a first import racing other threads (the LLM
    # client reads the same modules) can hand them a half-initialised module.
    client_modules: ClassVar[tuple[str, ...]] = ()
    # The [channels.<name>] keys this adapter reads, besides COMMON_SETTINGS_KEYS: any
    # other key there is a settings error (a misspelt `subredit` must not silently
    # post to the default subreddit).
    settings_keys: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, options: dict[str, Any] | None = None):
        self.options = dict(options or {})

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "Channel":
        """Build the live adapter from settings and credentials; raise NotConfigured
        with a message naming the missing variable or block when it cannot."""
        return cls(options)

    def render(self, draft: Draft, page_options: dict[str, Any] | None = None) -> Post:
        """Lay the draft out as the platform receives it. Default: unchanged."""
        return Post(
            channel=self.name,
            parts=draft.parts,
            link=draft.link,
            title=draft.title,
            options={**self.options, **(page_options or {})},
        )

    def problems(self, post: Post) -> list[str]:
        """What breaks the platform's limits, in words an editor can act on."""
        found = []
        lim = self.limits
        if len(post.parts) > lim.max_parts:
            found.append(f"{len(post.parts)} posts, at most {lim.max_parts} allowed")
        for i, part in enumerate(post.parts, 1):
            n = lim.count(part)
            label = f"post {i}" if len(post.parts) > 1 else "text"
            if not part.strip():
                found.append(f"{label} is empty")
            elif n > lim.max_length:
                found.append(f"{label} is {n} {lim.unit}, limit {lim.max_length}")
        if lim.title_required and not (post.title or "").strip():
            found.append("title is missing")
        if lim.title_max is not None and post.title and len(post.title) > lim.title_max:
            found.append(f"title is {len(post.title)} characters, limit {lim.title_max}")
        return found

    @property
    def grace_period(self) -> timedelta:
        value = self.options.get("grace_seconds")
        return timedelta(seconds=float(value)) if value is not None else self.grace

    @property
    def clock_skew(self) -> timedelta:
        """How far before the attempt lookups search: our clock and the platform's may disagree
        (option `clock_skew_seconds`, default 10 minutes)."""
        return timedelta(seconds=float(self.options.get("clock_skew_seconds", 600)))

    @property
    def max_pages(self) -> int:
        return int(self.options.get("lookup_max_pages") or self.lookup_max_pages)

    def read_retrying(self, read: Callable[[], T], attempts: int = 3, max_wait: float = 30.0) -> T:
        """One read of a lookup (a page), tried again after a transient failure.

        A lookup pages back many reads; without this one failed page in ten would
        leave the post unconfirmed until the next run.
        """
        for attempt in range(1, attempts + 1):
            try:
                return read()
            except (LookupIncomplete, RateLimited) as exc:
                wait = exc.retry_after if isinstance(exc, RateLimited) and exc.retry_after is not None \
                    else 0.1 * 2 ** attempt
                if isinstance(exc, LookupNotPermitted) or attempt == attempts or wait > max_wait:
                    raise
                time.sleep(wait)
        raise AssertionError("unreachable")

    def new_platform_key(self, key: str) -> str | None:
        """A key the platform deduplicates on, chosen before the first attempt; None where there is none."""
        return None

    def resend_is_safe(self, ticket: Ticket, now: datetime) -> bool:
        """True when sending again cannot make a second post (the platform deduplicates on the ticket)."""
        return False

    def describe_reconcile(self) -> str:
        """How an unknown outcome is settled with the credentials and scopes this channel has."""
        return self.reconcile_note

    @abstractmethod
    def publish(self, post: Post, ticket: Ticket) -> Published:
        """Send the post (for a thread, the parts not yet live according to `ticket.steps`)."""

    def lookup(self, post: Post, ticket: Ticket) -> Published | None:
        """Find the post whose outcome was unknown, searching back to `ticket.since`.

        None means the search reached that time and the post is not there; a
        search that could not get that far raises LookupIncomplete. Only called
        when `can_lookup` is True.
        """
        raise NotImplementedError


@contextmanager
def translated(mapper: Callable[[Exception], ChannelError | None], secrets: Iterable[str | None] = ()) -> Iterator[None]:
    """Inside it, an SDK's exceptions become the channel error tree, with secrets masked.

    `mapper` returns the ChannelError for an exception it knows, else None (the
    exception then passes unchanged: a bug should look like a bug).
    """
    try:
        yield
    except ChannelError:
        raise
    except Exception as exc:
        err = mapper(exc)
        if err is None:
            raise
        for value in secrets:
            if value:
                err.args = tuple(str(a).replace(value, "***") for a in err.args)
        raise err from None


def utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class NotConfigured(Exception):
    """The channel lacks credentials or settings; the message says what to set."""


def secret(env_name: str, options: dict[str, Any] | None = None, block_key: str | None = None) -> str | None:
    """A credential from the environment, else from a Prefect Secret block.

    The block's name comes from the channel option `block_key` (e.g.
    `[channels.x] bearer_block = "x-bearer"`). Prefect is imported only when a
    block is named, so a CLI run without blocks never pays for it.
    """
    value = os.environ.get(env_name)
    if value:
        return value
    block_name = (options or {}).get(block_key) if block_key else None
    if not block_name:
        return None
    from prefect.blocks.system import Secret

    return Secret.load(block_name).get()
