"""Bluesky through atproto: one post, the link as a facet, an external link card.

Lookup reads the account's own post records (com.atproto.repo.listRecords on
the PDS) rather than the AppView's author feed: the PDS has the record the
moment it is written, the AppView only once it has indexed it.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from citecast.channels.base import (
    translated,
    AuthError,
    Channel,
    ChannelError,
    Limits,
    NotConfigured,
    Published,
    RateLimited,
    Rejected,
    Unconfirmed,
    secret,
)
from citecast.posts import Post

PDS = "https://bsky.social"
CLOCK_SKEW = timedelta(minutes=10)


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts them."""
    import regex

    return len(regex.findall(r"\X", text))


class BlueskyChannel(Channel):
    name = "bluesky"
    client_modules = ("atproto", "httpx")
    limits = Limits(max_length=300, count=graphemes, unit="graphemes")
    can_lookup = True

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "BlueskyChannel":
        handle = options.get("handle") or secret("BLUESKY_HANDLE", options, "handle_block")
        if not handle:
            raise NotConfigured("Bluesky needs BLUESKY_HANDLE (or [channels.bluesky] handle)")
        password = secret("BLUESKY_APP_PASSWORD", options, "app_password_block")
        if not password:
            raise NotConfigured(
                "Bluesky needs BLUESKY_APP_PASSWORD, an app password from Settings > App passwords "
                "(or a Prefect Secret block named in [channels.bluesky] app_password_block)"
            )
        channel = cls(options)
        channel._handle = str(handle).lstrip("@")
        channel._password = password
        return channel

    # -- client --------------------------------------------------------------

    def _client(self):
        client = getattr(self, "_atproto", None)
        if client is None:
            from atproto import Client
            from atproto_client.request import Request

            client = Client(
                base_url=str(self.options.get("base_url") or PDS),
                request=Request(timeout=float(self.options.get("timeout", 30))),
            )
            try:
                with self._errors("logging in to Bluesky"):
                    profile = client.login(self._handle, self._password)
            except Unconfirmed:  # no post was sent yet: a plain retry-later
                raise ChannelError("no answer from Bluesky while logging in; nothing was posted") from None
            self._did = profile.did if profile else client._session.did
            self._atproto = client
        return client

    def _url(self, uri: str) -> str:
        return f"https://bsky.app/profile/{self._handle}/post/{uri.rsplit('/', 1)[-1]}"

    # -- publish -------------------------------------------------------------

    def build(self, post: Post):
        """The rich text (text + link facet) and the link card for a post."""
        from atproto import client_utils, models

        text = post.parts[0]
        tb = client_utils.TextBuilder()
        at = text.find(post.link) if post.link else -1
        if at >= 0:
            tb.text(text[:at]).link(post.link, post.link).text(text[at + len(post.link):])
        else:
            tb.text(text)
        card = models.AppBskyEmbedExternal.Main(
            external=models.AppBskyEmbedExternal.External(
                uri=post.link,
                title=post.title or post.options.get("title") or post.link,
                description=str(post.options.get("description") or ""),
            )
        )
        return tb, card

    def publish(self, post: Post, key: str) -> Published:
        if len(post.parts) != 1:
            raise Rejected(f"Bluesky takes one post, got {len(post.parts)} parts")
        n = graphemes(post.parts[0])
        if n > self.limits.max_length:
            raise Rejected(f"text is {n} graphemes, Bluesky allows {self.limits.max_length}")
        client = self._client()
        tb, card = self.build(post)
        with self._errors("posting to Bluesky"):
            ref = client.send_post(tb, embed=card, profile_identify=self._did)
        return Published(id=ref.uri, url=self._url(ref.uri))

    # -- lookup --------------------------------------------------------------

    def lookup(self, post: Post, key: str, since: datetime) -> Published | None:
        from atproto import models

        client = self._client()
        after = _utc(since) - CLOCK_SKEW
        with self._errors("looking up recent Bluesky posts"):
            page = client.com.atproto.repo.list_records(
                models.ComAtprotoRepoListRecords.Params(repo=self._did, collection="app.bsky.feed.post", limit=50)
            )
        hits = []
        for rec in page.records:
            value = rec.value
            text = getattr(value, "text", None)
            if text is None and isinstance(value, dict):
                text = value.get("text")
            created = getattr(value, "created_at", None) or (value.get("createdAt") if isinstance(value, dict) else None)
            when = _parse_time(created)
            if text == post.parts[0] and (when is None or when >= after):
                hits.append((when or after, rec.uri))
        if not hits:
            return None
        uri = min(hits)[1]
        return Published(id=uri, url=self._url(uri))

    # -- errors --------------------------------------------------------------

    def _errors(self, doing: str):
        return translated(lambda exc: _map(exc, doing), [getattr(self, "_password", None)])


def _map(exc: Exception, doing: str) -> ChannelError | None:
    import httpx
    from atproto_client import exceptions as ae
    from atproto_core.exceptions import AtProtocolError

    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return ChannelError(f"could not reach Bluesky while {doing} (nothing was sent)")
    if isinstance(exc, httpx.TransportError):  # e.g. a dropped connection, which atproto lets through
        return Unconfirmed(f"no answer from Bluesky while {doing} ({type(exc).__name__}): the post may exist")
    if not isinstance(exc, AtProtocolError):
        return None
    status = exc.response.status_code if getattr(exc, "response", None) is not None else None
    msg = " ".join(str(exc).split())
    if isinstance(exc, ae.RateLimitExceededError):
        wait = exc.retry_after
        if wait is None and exc.reset_at is not None:
            wait = max(0.0, exc.reset_at.timestamp() - time.time())
        return RateLimited(f"Bluesky rate limit while {doing}: {msg}", retry_after=wait)
    if isinstance(exc, ae.UnauthorizedError):
        return AuthError(
            f"Bluesky refused the login while {doing} ({msg}): check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD"
        )
    if isinstance(exc, ae.NetworkError) and status is None:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return ChannelError(f"could not reach Bluesky while {doing} (nothing was sent)")
        return Unconfirmed(
            f"no answer from Bluesky while {doing} ({type(cause).__name__ if cause else 'network'}): the post may exist"
        )
    if status is not None and status >= 500:
        return Unconfirmed(f"Bluesky server error while {doing} ({msg}): the post may exist; lookup decides")
    if isinstance(exc, ae.RequestErrorBase):
        return Rejected(f"Bluesky refused {doing}: {msg}")
    return Rejected(f"Bluesky client error while {doing}: {msg}")


def _parse_time(value) -> datetime | None:
    if not value:
        return None
    try:
        return _utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
