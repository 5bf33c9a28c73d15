"""Which copy gets cited: an answer citing our own post (a Reddit thread, an X post...) cites the page.

Every published distribution event holds the platform's id and URL of our post.
A cited URL that names one of them counts as a citation of that page through
that channel. URLs are recognised by the post they name, not their spelling:

    reddit     reddit.com/r/<sub>/comments/<id>/..., old./www./np., redd.it/<id>
    x          x.com|twitter.com/<user>/status/<id>, /i/status/<id>, /i/web/status/<id>
    linkedin   linkedin.com/feed/update/urn:li:share:<n> (also ugcPost, activity)
    bluesky    bsky.app/profile/<handle or did>/post/<rkey>, at://<did>/app.bsky.feed.post/<rkey>
    mastodon   <instance>/@<user>/<id>, <instance>/users/<user>/statuses/<id>

LinkedIn's "/posts/<name>_<slug>-activity-<n>-..." permalinks name an activity,
not the share id the Posts API returns, so they match only when the ledger
holds that activity URN.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

CANONICAL = "canonical"

_REDDIT = re.compile(r"^(?:[\w-]+\.)?reddit\.com$")
_X_HOSTS = {"x.com", "twitter.com", "mobile.x.com", "mobile.twitter.com"}
_MASTODON = re.compile(r"^/(?:@[^/]+|users/[^/]+/statuses)/(\d+)/?$")


def post_key(url: str) -> tuple[str, str] | None:
    """(channel, the post's id on it) for a URL of a social post; None for anything else."""
    raw = (url or "").strip()
    if raw.startswith("at://"):
        parts = raw[5:].split("/")
        if len(parts) == 3 and parts[1] == "app.bsky.feed.post":
            return ("bluesky", parts[2].lower())
        return None
    try:
        parts = urlsplit(raw if "://" in raw else "https://" + raw)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path
    segs = [s for s in path.split("/") if s]
    if _REDDIT.match(host):
        if "comments" in segs and segs.index("comments") + 1 < len(segs):
            return ("reddit", segs[segs.index("comments") + 1].lower())
        return None
    if host == "redd.it" and len(segs) == 1:
        return ("reddit", segs[0].lower())
    if host in _X_HOSTS:
        for i, s in enumerate(segs[:-1]):
            if s in ("status", "statuses") and segs[i + 1].isdigit():
                return ("x", segs[i + 1])
        return None
    if host.endswith("linkedin.com"):
        m = re.search(r"(urn:li:(?:share|ugcpost|activity):\d+)", path, re.I)
        if m:
            return ("linkedin", m.group(1).lower())
        m = re.search(r"-(activity|share|ugcpost)-(\d+)-", path, re.I)
        return ("linkedin", f"urn:li:{m.group(1).lower()}:{m.group(2)}") if m else None
    if host == "bsky.app":
        if len(segs) >= 4 and segs[0] == "profile" and segs[2] == "post":
            return ("bluesky", segs[3].lower())
        return None
    m = _MASTODON.match(path)
    if m and host:
        port = f":{parts.port}" if parts.port else ""
        return ("mastodon", f"{host}{port}/{m.group(1)}")
    return None


def _id_keys(channel: str, platform_id: str | None) -> list[tuple[str, str]]:
    """Keys from the id a channel adapter stored (the URL may be missing on old events)."""
    pid = (platform_id or "").strip()
    if not pid:
        return []
    if channel in ("reddit", "x"):
        return [(channel, pid.lower().removeprefix("t3_"))]
    if channel == "linkedin":
        return [("linkedin", pid.lower())]
    if channel == "bluesky":
        key = post_key(pid)
        return [key] if key else []
    return []


class CopyIndex:
    """Our posts' keys -> (page, channel)."""

    def __init__(self, posts: Iterable[tuple[str, str, str | None, str | None]] = ()):
        self._by_key: dict[tuple[str, str], tuple[str, str]] = {}
        for page, channel, platform_id, platform_url in posts:
            keys = _id_keys(channel, platform_id)
            if platform_url:
                key = post_key(platform_url)
                if key is not None:
                    keys.append(key)
            for key in keys:
                self._by_key.setdefault(key, (page, channel))

    def __len__(self) -> int:
        return len(self._by_key)

    def match(self, url: str) -> tuple[str, str] | None:
        key = post_key(url)
        return self._by_key.get(key) if key is not None else None


def load_copies(ledger: "Ledger") -> CopyIndex:
    """Every published post in the ledger (dry runs posted nothing anyone could cite)."""
    from sqlalchemy import select

    from citecast.ledger.tables import EventRow

    with ledger.session() as s:
        rows = s.execute(select(EventRow.page, EventRow.channel, EventRow.platform_id, EventRow.platform_url)
                         .where(EventRow.status == "published")).all()
    return CopyIndex((r.page, r.channel, r.platform_id, r.platform_url) for r in rows)
