"""Bluesky through atproto: one post, the link as a facet, an external link card.

Every post is created with a record key (a TID) that the ledger chose and
stored before the first attempt, and every retry reuses it: a repository holds
one record per key, so a repeated createRecord cannot make a second post. The
PDS refuses a create on an existing key with a bare 500 (the MST insert throws),
so after any unknown outcome the adapter reads the record by its key
(com.atproto.repo.getRecord on the PDS, which has a record the moment it is
written, unlike the AppView) and a missing record is simply sent again.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta
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

PDS = "https://bsky.social"
COLLECTION = "app.bsky.feed.post"
_S32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, as atproto writes TIDs
_tid_lock = threading.Lock()
_last_tid = [0]


def new_tid(micros: int | None = None, clock_id: int | None = None) -> str:
    """A record key in atproto's TID format: 53 bits of microseconds and 10 bits of clock id, base32-sortable."""

    def s32(n: int, width: int) -> str:
        out = ""
        while n:
            n, r = divmod(n, 32)
            out = _S32[r] + out
        return out.rjust(width, "2")

    with _tid_lock:  # strictly increasing within the process, like atproto's TID.next()
        t = max(micros if micros is not None else time.time_ns() // 1000, _last_tid[0] + 1)
        _last_tid[0] = t
    return s32(t, 11) + s32(random.randrange(1024) if clock_id is None else clock_id, 2)


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts them."""
    import regex

    return len(regex.findall(r"\X", text))


class BlueskyChannel(Channel):
    name = "bluesky"
    client_modules = ("atproto", "httpx")
    settings_keys = frozenset({"handle", "handle_block", "app_password_block", "base_url", "timeout", "title", "language",
                               "description"})
    limits = Limits(max_length=300, count=graphemes, unit="graphemes")
    can_lookup = True
    grace = timedelta(0)  # the PDS reads its own writes at once, and the record key makes a re-send harmless
    reconcile_note = ("reads the record by the key stored before the first attempt (getRecord on the PDS); sending "
                      "again with that key cannot make a second post")

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
            with self._errors("logging in to Bluesky", kind="token"):
                profile = client.login(self._handle, self._password)
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

    def new_platform_key(self, key: str) -> str | None:
        return new_tid()

    def resend_is_safe(self, ticket: Ticket, now) -> bool:
        return bool(ticket.platform_key)

    def publish(self, post: Post, ticket: Ticket) -> Published:
        from atproto import models

        if len(post.parts) != 1:
            raise Rejected(f"Bluesky takes one post, got {len(post.parts)} parts")
        n = graphemes(post.parts[0])
        if n > self.limits.max_length:
            raise Rejected(f"text is {n} graphemes, Bluesky allows {self.limits.max_length}")
        client = self._client()
        tb, card = self.build(post)
        record = models.AppBskyFeedPost.Record(
            created_at=client.get_current_time_iso(), text=tb.build_text(), facets=tb.build_facets(),
            embed=card, langs=[str(post.options.get("language") or "en")],
        )
        try:
            with self._errors("posting to Bluesky", kind="write"):
                ref = client.app.bsky.feed.post.create(self._did, record, rkey=ticket.platform_key)
        except (Unconfirmed, Rejected):
            # A create on a key that exists fails (a bare 500 from the PDS; other servers may say 400 or
            # 409): a record under our key can only be this post, so the record decides.
            if ticket.platform_key and (found := self._read(ticket.platform_key, quiet=True)):
                return found
            raise
        return Published(id=ref.uri, url=self._url(ref.uri))

    # -- lookup --------------------------------------------------------------

    def lookup(self, post: Post, ticket: Ticket) -> Published | None:
        if ticket.platform_key:
            return self.read_retrying(lambda: self._read(ticket.platform_key))
        return self._scan(post, ticket)  # an event from before record keys were stored

    def _read(self, rkey: str, quiet: bool = False) -> Published | None:
        """The post under our record key on the PDS, None if there is none."""
        from atproto_client import exceptions as ae

        client = self._client()
        try:
            with self._errors("reading the post's record on Bluesky"):
                try:
                    got = client.app.bsky.feed.post.get(self._did, rkey)
                except ae.RequestErrorBase as exc:
                    response = getattr(exc, "response", None)
                    # The PDS answers 400 RecordNotFound; a server that answers 404 means the same.
                    if getattr(getattr(response, "content", None), "error", None) == "RecordNotFound" or (
                            response is not None and response.status_code == 404):
                        return None
                    raise
        except ChannelError:
            if quiet:
                return None
            raise
        return Published(id=got.uri, url=self._url(got.uri), found_by="record key")

    def _scan(self, post: Post, ticket: Ticket) -> Published | None:
        from atproto import models

        if ticket.since is None:
            raise LookupIncomplete("no send time recorded for this post: cannot bound the search")
        client = self._client()
        after = utc(ticket.since) - self.clock_skew
        hits = []
        cursor = None

        def listing(cursor):
            with self._errors("looking up recent Bluesky posts"):
                return client.com.atproto.repo.list_records(
                    models.ComAtprotoRepoListRecords.Params(repo=self._did, collection=COLLECTION, limit=100,
                                                            cursor=cursor))

        for _ in range(self.max_pages):
            page = self.read_retrying(lambda: listing(cursor))
            whens = []
            for rec in page.records:
                value = rec.value
                text = getattr(value, "text", None)
                if text is None and isinstance(value, dict):
                    text = value.get("text")
                created = getattr(value, "created_at", None) or (
                    value.get("createdAt") if isinstance(value, dict) else None)
                when = _parse_time(created)
                whens.append(when or after)
                if text == post.parts[0] and (when is None or when >= after) and not ticket.taken(rec.uri):
                    hits.append((when or after, rec.uri))
            cursor = page.cursor
            if not cursor or not page.records or min(whens) < after:
                break
        else:
            if not hits:
                raise LookupIncomplete(f"Bluesky lookup stopped after {self.max_pages} pages")
        if not hits:
            return None
        uri = min(hits)[1]
        return Published(id=uri, url=self._url(uri), found_by="lookup")

    # -- errors --------------------------------------------------------------

    def _errors(self, doing: str, kind: str = "read"):
        return translated(lambda exc: _map(exc, doing, kind), [getattr(self, "_password", None)])


def _map(exc: Exception, doing: str, kind: str) -> ChannelError | None:
    """atproto's errors as the channel tree. `kind`: write (may leave an unknown outcome), read, token."""
    import httpx
    from atproto_client import exceptions as ae
    from atproto_core.exceptions import AtProtocolError

    def unknown(message: str) -> ChannelError:
        if kind == "write":
            return Unconfirmed(message + "; the post may exist")
        if kind == "read":
            return LookupIncomplete(message)
        return ChannelError(message + "; nothing was posted")

    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return ChannelError(f"could not reach Bluesky while {doing} (nothing was sent)")
    if isinstance(exc, httpx.TransportError):  # e.g. a dropped connection, which atproto lets through
        return unknown(f"no answer from Bluesky while {doing} ({type(exc).__name__})")
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
        return unknown(f"no answer from Bluesky while {doing} ({type(cause).__name__ if cause else 'network'})")
    if status is not None and (status >= 500 or status in (408, 409)):
        return unknown(f"Bluesky server error while {doing} ({msg})")
    if kind != "write":
        return LookupIncomplete(f"Bluesky refused {doing}: {msg}") if kind == "read" else Rejected(
            f"Bluesky refused {doing}: {msg}")
    if isinstance(exc, ae.RequestErrorBase):
        return Rejected(f"Bluesky refused {doing}: {msg}")
    return Rejected(f"Bluesky client error while {doing}: {msg}")


def _parse_time(value) -> datetime | None:
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return None

