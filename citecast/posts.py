"""What flows between drafting and channels: a Draft becomes a Post, a Post becomes Published."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Draft:
    """A channel's summary of a page, before the platform's own formatting.

    `parts` holds one text for a single post and several for a thread; the
    canonical link (with any UTM tags) already sits inside the text of exactly
    one part. `title` is for channels that have one (Reddit).
    """

    channel: str
    parts: tuple[str, ...]
    link: str
    title: str | None = None
    generator: str = "offline"  # offline | llm | fallback
    generator_note: str | None = None  # why the fallback was used
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    angle: str | None = None  # what led this share ("answer", "point:2", "faq:0", "stat:1"); rotates weekly


@dataclass(frozen=True)
class Post:
    """A draft as the platform will receive it (escaped, laid out, targeted)."""

    channel: str
    parts: tuple[str, ...]
    link: str
    title: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # subreddit, flair, author URN, ...

    @property
    def text(self) -> str | list[str]:
        """The post for the ledger: a string, or the list of a thread's posts."""
        return self.parts[0] if len(self.parts) == 1 else list(self.parts)


@dataclass(frozen=True)
class Published:
    """A post the platform holds; `found_by` says how we know (its answer, a lookup, a refusal)."""

    id: str
    url: str | None = None
    found_by: str = "publish response"
