"""X (Twitter) through tweepy, API v2. Threads are reply chains.

A thread whose first post went out but a later one failed is never re-posted
from the start: `publish` raises `Unconfirmed` naming the live head, and
`lookup` finds the head and the replies already there, posts only the missing
tail, and returns the head.
"""

from __future__ import annotations

import logging

import html
import re
import time
import unicodedata
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

API_HOST = "https://api.twitter.com"
CREDENTIALS = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
# How far before `since` lookup searches: the ledger's clock and X's may disagree.
CLOCK_SKEW = timedelta(minutes=10)


def weighted_length(text: str) -> int:
    """X's weighted length (twitter-text v3: URLs 23, CJK and emoji 2)."""
    from twitter_text import parse_tweet

    return parse_tweet(text).weightedLength


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
    limits = Limits(max_length=280, count=weighted_length, max_parts=6, unit="weighted characters")
    can_lookup = True

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

    def publish(self, post: Post, key: str) -> Published:
        if not post.parts:
            raise Rejected("nothing to post: the draft has no text")
        return self._post_chain(post.parts, reply_to=None, head=None, done=0)

    def _post_chain(self, parts, reply_to: str | None, head: str | None, done: int) -> Published:
        """Post `parts` as replies to `reply_to`; `done` parts of the thread are already live."""
        total = done + len(parts)
        for i, text in enumerate(parts, done + 1):
            try:
                tweet_id = self._create(text, reply_to)
            except ChannelError as exc:
                if head is None:
                    raise
                # The head is live: re-posting the thread from scratch would duplicate it.
                raise Unconfirmed(
                    f"thread partly published: posts 1-{i - 1} of {total} are live (first {head}, "
                    f"{self._url(head)}); post {i} failed: {exc}. The next run's lookup posts only the rest."
                ) from None
            head = head or tweet_id
            reply_to = tweet_id
        return Published(id=head, url=self._url(head))

    def _create(self, text: str, reply_to: str | None) -> str:
        client = self._client()
        with self._errors("posting to X"):
            resp = client.create_tweet(text=text, in_reply_to_tweet_id=reply_to, user_auth=True)
        return str(resp.data["id"])

    # -- lookup --------------------------------------------------------------

    def lookup(self, post: Post, key: str, since: datetime) -> Published | None:
        client = self._client()
        with self._errors("looking up recent posts on X"):
            user_id = self.options.get("user_id") or client.get_me(user_auth=True).data.id
            resp = client.get_users_tweets(
                user_id,
                start_time=_utc(since) - CLOCK_SKEW,
                max_results=100,
                tweet_fields=["created_at", "referenced_tweets", "conversation_id"],
                user_auth=True,
            )
        tweets = sorted(resp.data or [], key=lambda t: int(t.id))  # oldest first
        head = next((t for t in tweets if same_text(t.text, post.parts[0]) and not _reply_to(t)), None)
        if head is None:
            return None
        prev = str(head.id)
        for n, text in enumerate(post.parts[1:], 1):
            reply = next((t for t in tweets if _reply_to(t) == prev and same_text(t.text, text)), None)
            if reply is None:
                return self._post_chain(post.parts[n:], reply_to=prev, head=str(head.id), done=n)
            prev = str(reply.id)
        return Published(id=str(head.id), url=self._url(str(head.id)))

    # -- errors --------------------------------------------------------------

    def _errors(self, doing: str):
        return translated(lambda exc: _map(exc, doing), getattr(self, "_creds", {}).values())


def _map(exc: Exception, doing: str) -> ChannelError | None:
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
            return Rejected(f"X rejected the post as duplicate content: {msg}")
        return AuthError(f"X forbade {doing} ({msg}): the app needs Read and Write permission")
    if isinstance(exc, tweepy.TwitterServerError):
        return Unconfirmed(f"X server error while {doing} ({msg}): the post may exist; lookup decides")
    if isinstance(exc, tweepy.HTTPException):
        return Rejected(f"X rejected {doing}: {msg}")
    if isinstance(exc, requests.RequestException):
        if _not_sent(exc, requests):
            return ChannelError(f"could not reach X while {doing} (nothing was sent): {msg}")
        return Unconfirmed(f"no answer from X while {doing} ({type(exc).__name__}): the post may exist")
    if isinstance(exc, tweepy.TweepyException):
        return Rejected(f"X client error while {doing}: {msg}")
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


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


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
