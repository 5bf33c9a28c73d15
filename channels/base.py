"""The one contract every platform adapter keeps.

Errors raised by `publish` are translated inside the adapter into one tree:

    ChannelError
    ├── AuthError       credentials missing, wrong or expired: fix config, do not retry
    ├── RateLimited     retry after `retry_after` seconds (from the platform's headers)
    ├── Rejected        the platform refused this post (duplicate, too long, banned): do not retry as is
    └── Unconfirmed     the request may have been sent but its outcome is unknown (timeout
                        after send, connection reset): never re-post blindly, reconcile first
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, ClassVar, Iterable, Iterator

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


class Unconfirmed(ChannelError):
    pass


@dataclass(frozen=True)
class Limits:
    """A platform's limits on one post; `count` measures text as the platform does."""

    max_length: int
    count: Callable[[str], int] = len
    max_parts: int = 1
    title_max: int | None = None
    title_required: bool = False
    unit: str = "characters"


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
    # The client libraries `publish` imports. They are imported on the main thread
    # when the channel goes live: a first import racing other threads (the LLM
    # client reads the same modules) can hand them a half-initialised module.
    client_modules: ClassVar[tuple[str, ...]] = ()

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

    @abstractmethod
    def publish(self, post: Post, key: str) -> Published:
        """Send the post; `key` is the idempotency key (page:channel:slot:seq)."""

    def lookup(self, post: Post, key: str, since: datetime) -> Published | None:
        """Find a post sent at or after `since` whose outcome was unknown; None if absent.

        Only called when `can_lookup` is True.
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
