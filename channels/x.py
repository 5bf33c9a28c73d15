"""X (Twitter) through tweepy, API v2. Threads are reply chains.

Every part of a thread is its own step in the ledger (`Ticket.steps`): its id
once X answers, its send time before the call. A part whose outcome is unknown
is looked up in the conversation (same conversation, replying to the previous
part, same text) before anything is sent again, and a thread whose head exists
is resumed, never restarted. X has no idempotency key: lookups page through
the account's timeline (`pagination_token`, from `start_time`) back to the
attempt, and X's duplicate-content refusal after an unknown outcome means the
first attempt landed.
"""

from __future__ import annotations

import logging

import html
import re
import time
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from citecast.channels.base import (
    AuthError,
    Channel,
    ChannelError,
    Duplicate,
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

API_HOST = "https://api.twitter.com"
CREDENTIALS = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")


def weighted_length(text: str) -> int:
    """X's weighted length (twitter-text v3: URLs 23, CJK and emoji 2)."""
    from citecast.tweet_text import load

    return load().parse_tweet(text).weightedLength


def same_text(a: str, b: str) -> bool:
    """Whether X's copy of a post is the text we sent (X rewrites URLs to t.co and escapes &<>)."""

    def norm(s: str) -> str:
        s = unicodedata.normalize("NFC", html.unescape(s))
        s = re.sub(r"https?://\S+", "<url>", s)
        return " ".join(s.split())

    return norm(a) == norm(b)


class XChannel(Channel):
    name = "x"
    client_modules = ("tweepy", "requests")
    settings_keys = frozenset({"api_key_block", "api_secret_block", "access_token_block", "access_token_secret_block",
                               "user_id", "timeout", "api_base"})
    limits = Limits(max_length=280, count=weighted_length, max_parts=6, unit="weighted characters")
    can_lookup = True
    grace = timedelta(seconds=60)
    reconcile_note = ("looks the post up in the account's timeline (paging back to the attempt; each thread part "
                      "in its conversation); re-sends only what is still missing after the grace period")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "XChannel":
        creds = {}
        for env in CREDENTIALS:
            value = secret(env, options, f"{env[2:].lower()}_block")
            if not value:
                raise NotConfigured(
                    f"X needs {env} (or a Prefect Secret block named in [channels.x] {env[2:].lower()}_block)"
                )
            creds[env] = value
        channel = cls(options)
        channel._creds = creds
        return channel

    # -- client --------------------------------------------------------------

    def _client(self):
        client = getattr(self, "_tweepy", None)
        if client is None:
            import tweepy

            for name in ("oauthlib", "requests_oauthlib"):  # at DEBUG they log the consumer key and token
                logger = logging.getLogger(name)
                if logger.getEffectiveLevel() < logging.INFO:
                    logger.setLevel(logging.INFO)
            c = self._creds
            client = tweepy.Client(
                consumer_key=c["X_API_KEY"],
                consumer_secret=c["X_API_SECRET"],
                access_token=c["X_ACCESS_TOKEN"],
                access_token_secret=c["X_ACCESS_TOKEN_SECRET"],
            )
            client.session = _session(self.options.get("api_base"), float(self.options.get("timeout", 30)))
            self._tweepy = client
        return client

    def _url(self, tweet_id: str) -> str:
        return f"https://x.com/i/status/{tweet_id}"

    # -- publish -------------------------------------------------------------

    def publish(self, post: Post, ticket: Ticket) -> Published:
        """Send the parts of the thread that are not live yet, each as a reply to the one before."""
        if not post.parts:
            raise Rejected("nothing to post: the draft has no text")
        for i, text in enumerate(post.parts):
            if ticket.step(i).get("id"):
                continue
            reply_to = ticket.steps[i - 1]["id"] if i else None
            ticket.sending(i)
            try:
                tweet_id = self._create(text, reply_to)
            except ChannelError as exc:
                if i:  # the head is live: the ledger's steps resume the thread here, never restart it
                    head = ticket.steps[0]["id"]
                    exc.args = (f"thread partly published: posts 1-{i} of {len(post.parts)} are live (first "
                                f"{head}, {self._url(head)}); post {i + 1}: {exc}",)
                raise
            ticket.sent(i, tweet_id)
        head = ticket.steps[0]["id"]
        return Published(id=head, url=self._url(head))

    def _create(self, text: str, reply_to: str | None) -> str:
        client = self._client()
        with self._errors("posting to X", writing=True):
            resp = client.create_tweet(text=text, in_reply_to_tweet_id=reply_to, user_auth=True)
        return str(resp.data["id"])

    # -- lookup --------------------------------------------------------------

    def lookup(self, post: Post, ticket: Ticket) -> Published | None:
        """Settle each part whose outcome is unknown; None when one of them is not on X."""
        for i, text in enumerate(post.parts):
            step = ticket.step(i)
            if step.get("id"):
                continue
            if i and not step.get("sent_at"):
                # Never sent (an earlier part failed for sure): nothing to find, the rest can go out.
                head = self.publish(post, ticket)
                return Published(head.id, head.url, found_by="lookup, then the rest of the thread sent")
            since = _first_send(step) or ticket.since
            if since is None:
                raise LookupIncomplete("no send time recorded for this post: cannot bound the search")
            prev = ticket.steps[i - 1]["id"] if i else None
            found = self._find(text, reply_to=prev, head=ticket.steps[0].get("id") if i else None, since=since,
                               skip=ticket.taken if i == 0 else lambda tid: False)
            if found is None:
                return None
            ticket.sent(i, found)
        head = ticket.steps[0]["id"]
        return Published(id=head, url=self._url(head), found_by="lookup")

    def _find(self, text: str, reply_to: str | None, head: str | None, since: datetime,
              skip=lambda tweet_id: False) -> str | None:
        """The id of our tweet with this text (replying to `reply_to`) posted since `since`, else None."""
        start = utc(since) - self.clock_skew
        token = None
        hits = []
        if not self.options.get("user_id"):  # asked once per channel: X limits users/me reads
            self.options["user_id"] = self.read_retrying(self._me)
        user_id = self.options["user_id"]
        for _ in range(self.max_pages):
            resp = self.read_retrying(lambda: self._timeline(user_id, start, token))
            for t in resp.data or []:
                if _reply_to(t) != reply_to or not same_text(t.text, text):
                    continue
                if head and t.conversation_id and str(t.conversation_id) != head:
                    continue
                if skip(str(t.id)):  # the same words posted for another page or week
                    continue
                hits.append(int(t.id))
            token = (resp.meta or {}).get("next_token")
            oldest = min((t.created_at for t in resp.data or [] if t.created_at), default=None)
            # start_time bounds the listing, so its end is the attempt time; a page already older says so too
            if not token or (oldest is not None and utc(oldest) < start):
                return str(min(hits)) if hits else None
        if hits:
            return str(min(hits))
        raise LookupIncomplete(f"X lookup stopped after {self.max_pages} pages without reaching {start:%Y-%m-%d %H:%M} "
                               "(raise [channels.x] lookup_max_pages)")

    def _me(self) -> str:
        with self._errors("looking up the account on X"):
            return str(self._client().get_me(user_auth=True).data.id)

    def _timeline(self, user_id: str, start: datetime, token: str | None):
        with self._errors("looking up recent posts on X"):
            return self._client().get_users_tweets(
                user_id, start_time=start, max_results=100, pagination_token=token,
                tweet_fields=["created_at", "referenced_tweets", "conversation_id"], user_auth=True,
            )

    # -- errors --------------------------------------------------------------

    def _errors(self, doing: str, writing: bool = False):
        return translated(lambda exc: _map(exc, doing, writing), getattr(self, "_creds", {}).values())


def _first_send(step: dict) -> datetime | None:
    """When this part was first sent: a lookup searches back to it, not to the latest re-send, whose
    window (minus clock_skew_seconds) would no longer cover a first copy that landed unseen."""
    times = [utc(datetime.fromisoformat(step[k])) for k in ("first_sent_at", "sent_at") if step.get(k)]
    return min(times) if times else None


def _map(exc: Exception, doing: str, writing: bool) -> ChannelError | None:
    """X's errors as the channel tree; only a write can leave an unknown outcome."""
    import requests
    import tweepy

    msg = " ".join(str(exc).split())
    if isinstance(exc, tweepy.TooManyRequests):
        wait = max(0.0, exc.reset_time - time.time()) if exc.reset_time else None
        return RateLimited(f"X rate limit while {doing}: {msg}", retry_after=wait)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthError(
            f"X refused the credentials while {doing} ({msg}): check X_API_KEY, X_API_SECRET, "
            "X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET"
        )
    if isinstance(exc, tweepy.Forbidden):
        if "duplicate" in msg.lower():
            return Duplicate(f"X refused the post as duplicate content: {msg}")
        return AuthError(f"X forbade {doing} ({msg}): the app needs Read and Write permission")
    unknown = Unconfirmed if writing else LookupIncomplete
    if isinstance(exc, tweepy.TwitterServerError):
        if writing:
            return Unconfirmed(f"X server error while {doing} ({msg}): the post may exist; lookup decides")
        return LookupIncomplete(f"X server error while {doing} ({msg})")
    if isinstance(exc, tweepy.HTTPException):
        status = getattr(getattr(exc, "response", None), "status_code", 0) or 0
        if status in (408, 409) or status >= 500:
            return unknown(f"X answered {status} while {doing} ({msg})")
        if not writing:
            return LookupIncomplete(f"X refused {doing} ({status}): {msg}")
        return Rejected(f"X rejected {doing}: {msg}")
    if isinstance(exc, requests.RequestException):
        if _not_sent(exc, requests):
            return ChannelError(f"could not reach X while {doing} (nothing was sent): {msg}")
        if writing:
            return Unconfirmed(f"no answer from X while {doing} ({type(exc).__name__}): the post may exist")
        return LookupIncomplete(f"no answer from X while {doing} ({type(exc).__name__})")
    if isinstance(exc, tweepy.TweepyException):
        return Rejected(f"X client error while {doing}: {msg}") if writing else LookupIncomplete(
            f"X client error while {doing}: {msg}")
    return None


def _not_sent(exc, requests) -> bool:
    """True when the connection never opened, so the request cannot have reached X."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc)
        return "NewConnectionError" in text or "NameResolutionError" in text or "Connection refused" in text
    return False


def _reply_to(tweet) -> str | None:
    for ref in tweet.referenced_tweets or []:
        if ref.type == "replied_to":
            return str(ref.id)
    return None


def _session(api_base: str | None, timeout: float):
    """A requests session with a timeout on every call and, for fakes, another host.

    tweepy hard-codes https://api.twitter.com and sets no timeout; both are fixed here.
    """
    import requests

    class _XSession(requests.Session):
        def request(self, method, url, *args, **kwargs):
            if api_base and url.startswith(API_HOST):
                url = api_base.rstrip("/") + url[len(API_HOST):]
            kwargs.setdefault("timeout", timeout)
            return super().request(method, url, *args, **kwargs)

    return _XSession()
