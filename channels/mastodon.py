"""Mastodon through Mastodon.py: limits from the instance, an Idempotency-Key on every post.

The key is chosen from the event's key when the ledger first claims it and
stored there before the first attempt, so a repeated call with the same key
inside the server's idempotency window (Mastodon keeps the key an hour after
the status is created) returns the status already created instead of a second
one: within that window an unknown outcome is settled by sending again.
Beyond it, `lookup` pages through the account's statuses (`max_id`) back to
the attempt.
"""

from __future__ import annotations

import html
import re
import secrets
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from citecast.channels.base import (
    AuthError,
    Channel,
    ChannelError,
    Limits,
    LookupIncomplete,
    NotConfigured,
    Published,
    RateLimited,
    Rejected,
    Ticket,
    Unconfirmed,
    secret,
    translated,
    utc,
)
from citecast.posts import Post

# Mastodon keeps an Idempotency-Key for 3,600 s after the status is created; sending again is
# safe well inside that.
IDEMPOTENCY_WINDOW = timedelta(minutes=50)
_URL = re.compile(r"https?://[^\s<>\"]+")


def status_length(text: str, url_weight: int = 23) -> int:
    """Mastodon's count: grapheme clusters, every URL as `url_weight`, @user@domain as @user."""
    import regex

    text = _URL.sub("x" * url_weight, text)
    text = re.sub(r"(?<![\w@])(@\w+)@[\w.-]+\w", r"\1", text)
    return len(regex.findall(r"\X", text))


class MastodonChannel(Channel):
    name = "mastodon"
    client_modules = ("mastodon", "requests")
    settings_keys = frozenset({"api_base_url", "access_token_block", "timeout", "visibility", "language"})
    limits = Limits(max_length=500, count=status_length)
    can_lookup = True
    grace = timedelta(seconds=30)
    reconcile_note = ("sends again with the same Idempotency-Key within 50 minutes of the attempt (Mastodon answers "
                      "with the status it already made); later, looks the status up in the account's statuses")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "MastodonChannel":
        base = options.get("api_base_url") or secret("MASTODON_API_BASE_URL")
        if not base:
            raise NotConfigured(
                "Mastodon needs the instance: set [channels.mastodon] api_base_url = \"https://mastodon.social\" "
                "or MASTODON_API_BASE_URL"
            )
        token = secret("MASTODON_ACCESS_TOKEN", options, "access_token_block")
        if not token:
            raise NotConfigured(
                "Mastodon needs MASTODON_ACCESS_TOKEN, a token with write:statuses and read:statuses "
                "(or a Prefect Secret block named in [channels.mastodon] access_token_block)"
            )
        channel = cls({**options, "api_base_url": str(base).rstrip("/")})
        channel._token = token
        channel._read_instance_limits()
        return channel

    # -- client --------------------------------------------------------------

    def _api(self):
        api = getattr(self, "_mastodon", None)
        if api is None:
            from mastodon import Mastodon

            api = Mastodon(
                access_token=self._token,
                api_base_url=self.options["api_base_url"],
                ratelimit_method="throw",
                request_timeout=float(self.options.get("timeout", 30)),
                version_check_mode="none",
            )
            self._mastodon = api
        return api

    def _read_instance_limits(self) -> None:
        """Take max_characters and characters_reserved_per_url from the instance; keep 500/23 if it cannot say."""
        from mastodon import MastodonError

        api = self._api()
        try:
            try:
                conf = api.instance_v2().configuration
            except MastodonError:
                conf = api.instance_v1().configuration
            statuses = conf["statuses"]
            max_chars = int(statuses["max_characters"])
            per_url = int(statuses.get("characters_reserved_per_url", 23))
        except (MastodonError, KeyError, TypeError, ValueError, AttributeError):
            return
        self.limits = Limits(max_length=max_chars, count=partial(status_length, url_weight=per_url))

    # -- publish -------------------------------------------------------------

    def new_platform_key(self, key: str) -> str | None:
        # The event key plus a nonce: unique to this ledger row, so another site's ledger posting the
        # same page key to the same account is never answered with our status.
        return f"citecast:{key}:{secrets.token_hex(6)}"

    def resend_is_safe(self, ticket: Ticket, now) -> bool:
        return bool(ticket.platform_key) and ticket.since is not None and now - utc(ticket.since) < IDEMPOTENCY_WINDOW

    def publish(self, post: Post, ticket: Ticket) -> Published:
        if len(post.parts) != 1:
            raise Rejected(f"Mastodon takes one post, got {len(post.parts)} parts")
        api = self._api()
        with self._errors("posting to Mastodon", writing=True):
            status = api.status_post(
                post.parts[0],
                idempotency_key=ticket.platform_key or ticket.key,
                visibility=post.options.get("visibility") or None,
                language=post.options.get("language") or None,
            )
        return Published(id=str(status["id"]), url=status.get("url") or status.get("uri"))

    # -- lookup --------------------------------------------------------------

    def lookup(self, post: Post, ticket: Ticket) -> Published | None:
        if ticket.since is None:
            raise LookupIncomplete("no send time recorded for this status: cannot bound the search")
        api = self._api()
        after = utc(ticket.since) - self.clock_skew
        want = _norm(post.parts[0])
        hits = []
        max_id = None
        doing = "looking up recent Mastodon statuses"
        me = self.read_retrying(lambda: self._read(doing, api.me))
        for _ in range(self.max_pages):
            page = self.read_retrying(lambda: self._read(
                doing, api.account_statuses, me["id"], limit=40, max_id=max_id, exclude_reblogs=True))
            for s in page:
                if (_norm(_plain(s.get("content") or "")) == want and _created(s) >= after
                        and not ticket.taken(str(s["id"]))):  # another event's status with the same words
                    hits.append((int(s["id"]), str(s["id"]), s.get("url") or s.get("uri")))
            if not page or min(_created(s) for s in page) < after:
                break  # newest first: the rest is older than the attempt
            max_id = min(int(s["id"]) for s in page)
        else:
            if not hits:
                raise LookupIncomplete(f"Mastodon lookup stopped after {self.max_pages} pages without reaching "
                                       f"{after:%Y-%m-%d %H:%M} (raise [channels.mastodon] lookup_max_pages)")
        if not hits:
            return None
        _, sid, url = min(hits)
        return Published(id=sid, url=url, found_by="lookup")

    def _read(self, doing: str, call, *args, **kwargs):
        with self._errors(doing):
            return call(*args, **kwargs)

    # -- errors --------------------------------------------------------------

    def _errors(self, doing: str, writing: bool = False):
        return translated(lambda exc: _map(exc, doing, self, writing), [getattr(self, "_token", None)])


def _map(exc: Exception, doing: str, channel: MastodonChannel, writing: bool) -> ChannelError | None:
    """Mastodon's errors as the channel tree; only a write can leave an unknown outcome."""
    import mastodon as m
    import requests

    if isinstance(exc, m.MastodonRatelimitError):
        reset = getattr(channel._api(), "ratelimit_reset", None)
        wait = max(0.0, float(reset) - time.time()) if reset else None
        return RateLimited(f"Mastodon rate limit while {doing}", retry_after=wait)
    if isinstance(exc, m.MastodonUnauthorizedError):
        return AuthError(f"Mastodon refused the token while {doing}: check MASTODON_ACCESS_TOKEN")
    unknown = Unconfirmed if writing else LookupIncomplete
    if isinstance(exc, m.MastodonNetworkError):
        cause = exc.__context__
        if isinstance(cause, requests.exceptions.ConnectTimeout) or (
            isinstance(cause, requests.exceptions.ConnectionError)
            and ("NewConnectionError" in repr(cause) or "NameResolutionError" in repr(cause))
        ):
            return ChannelError(f"could not reach Mastodon while {doing} (nothing was sent)")
        return unknown(
            f"no answer from Mastodon while {doing} ({type(cause).__name__ if cause else 'network'})"
            + ("; the post may exist" if writing else "")
        )
    status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
    if isinstance(exc, m.MastodonServerError) or status in (408, 409):
        return unknown(f"Mastodon server error while {doing} ({_detail(exc)})" + ("; the post may exist" if writing else ""))
    if isinstance(exc, m.MastodonAPIError):
        if status == 403:
            return AuthError(f"Mastodon forbade {doing} ({_detail(exc)}): the token needs write:statuses and read:statuses")
        return Rejected(f"Mastodon refused {doing} ({_detail(exc)})") if writing else LookupIncomplete(
            f"Mastodon refused {doing} ({_detail(exc)})")
    if isinstance(exc, m.MastodonError):
        return Rejected(f"Mastodon client error while {doing}: {exc}") if writing else LookupIncomplete(
            f"Mastodon client error while {doing}: {exc}")
    return None


def _created(status) -> datetime:
    created = status.get("created_at")
    if isinstance(created, str):
        created = datetime.fromisoformat(created.replace("Z", "+00:00"))
    return utc(created) if isinstance(created, datetime) else datetime.max.replace(tzinfo=timezone.utc)


def _detail(exc) -> str:
    return " ".join(str(a) for a in exc.args[1:] if a)


def _plain(content: str) -> str:
    """A status's HTML as text: paragraphs and line breaks become whitespace, tags go."""
    text = re.sub(r"<br\s*/?>|</p>\s*<p>", "\n", content)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())

