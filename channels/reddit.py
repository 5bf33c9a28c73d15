"""Reddit through praw: a self post with the canonical link in its markdown body.

prawcore retries a request on a timeout, a dropped connection or a 5xx, POSTs
included: against Reddit that can submit the same post twice. The adapter
turns those retries off for its session, so an unknown outcome surfaces as
`Unconfirmed` and is settled by `lookup`, which pages through the account's
submissions (`after`) back to the attempt. The token call prawcore makes on
the way (/api/v1/access_token) fails as a plain ResponseException: a 429 or
5xx there is a rate limit or a transient failure, and nothing was posted.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
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

CREDENTIALS = ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USERNAME", "REDDIT_PASSWORD")
_WAIT = re.compile(r"(\d+)\s*(milliseconds?|seconds?|minutes?|hours?)", re.I)


def ratelimit_wait(message: str) -> float | None:
    """Seconds to wait from a RATELIMIT message ("try again in 7 minutes")."""
    m = _WAIT.search(message or "")
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2).lower()
    if unit.startswith("milli"):
        return n / 1000
    return float(n * {"s": 1, "m": 60, "h": 3600}[unit[0]])


class RedditChannel(Channel):
    name = "reddit"
    client_modules = ("praw", "prawcore", "requests")
    settings_keys = frozenset({"client_id_block", "client_secret_block", "username_block", "password_block",
                               "subreddit", "kind", "flair_id", "flair_text", "user_agent", "ratelimit_seconds",
                               "lookup_limit", "timeout", "oauth_url", "reddit_url", "web_url"})
    limits = Limits(max_length=40_000, title_max=300, title_required=True)
    can_lookup = True
    grace = timedelta(seconds=60)
    reconcile_note = ("looks the submission up in the account's submissions (paging back to the attempt); "
                      "re-sends only when it is still missing after the grace period")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "RedditChannel":
        creds = {}
        for env in CREDENTIALS:
            block = env[len("REDDIT_"):].lower() + "_block"
            value = secret(env, options, block)
            if not value:
                raise NotConfigured(
                    f"Reddit needs {env} (or a Prefect Secret block named in [channels.reddit] {block})"
                )
            creds[env] = value
        channel = cls(options)
        channel._creds = creds
        return channel

    def _errors(self, doing: str, writing: bool = False):
        return translated(lambda exc: _map(exc, doing, writing), getattr(self, "_creds", {}).values())

    # -- client --------------------------------------------------------------

    def _reddit(self):
        reddit = getattr(self, "_praw", None)
        if reddit is not None:
            return reddit
        import praw
        from prawcore import Requestor
        from prawcore.sessions import RetryStrategy

        timeout = float(self.options.get("timeout", 30))

        class _Requestor(Requestor):
            # prawcore passes its own 16 s to every call; ours wins.
            def request(self, *args, timeout=None, **kwargs):
                return super().request(*args, timeout=self.timeout, **kwargs)

        c = self._creds
        kwargs = {}
        for opt in ("oauth_url", "reddit_url"):
            if self.options.get(opt):
                kwargs[opt] = self.options[opt]
        reddit = praw.Reddit(
            client_id=c["REDDIT_CLIENT_ID"],
            client_secret=c["REDDIT_CLIENT_SECRET"],
            username=c["REDDIT_USERNAME"],
            password=c["REDDIT_PASSWORD"],
            user_agent=self.options.get("user_agent") or f"citecast/0.1 (by u/{c['REDDIT_USERNAME']})",
            check_for_updates=False,
            # praw sleeps out a RATELIMIT this short and retries (safe: nothing was posted);
            # a longer one comes back to us as RateLimited.
            ratelimit_seconds=int(self.options.get("ratelimit_seconds", 5)),
            requestor_class=_Requestor,
            requestor_kwargs={"timeout": timeout},
            **kwargs,
        )
        for core in (reddit._authorized_core, reddit._read_only_core):
            if core is not None and hasattr(core, "_retry_strategy_class"):
                core._retry_strategy_class = _no_retry_class(RetryStrategy)
        self._praw = reddit
        return reddit

    def _web(self, permalink: str) -> str:
        base = (self.options.get("web_url") or "https://www.reddit.com").rstrip("/")
        return base + permalink

    # -- publish -------------------------------------------------------------

    def _subreddit(self, post: Post) -> str:
        name = str(post.options.get("subreddit") or "").strip()
        name = name.removeprefix("/").removeprefix("r/")
        if not name:
            raise Rejected("no subreddit: set `subreddit:` on the page or [channels.reddit] subreddit")
        return name

    def publish(self, post: Post, ticket: Ticket) -> Published:
        reddit = self._reddit()
        sub = self._subreddit(post)
        kind = post.options.get("kind") or "self"
        args: dict[str, Any] = {}
        if post.options.get("flair_id"):
            args["flair_id"] = str(post.options["flair_id"])
        if post.options.get("flair_text"):
            args["flair_text"] = str(post.options["flair_text"])
        if kind == "link":
            args["url"] = post.link
        else:
            args["selftext"] = "\n\n".join(post.parts)
        with self._errors(f"submitting to r/{sub}", writing=True):
            submission = reddit.subreddit(sub).submit(post.title or "", **args)
            sid = submission.id
        return Published(id=sid, url=self._web(f"/r/{sub}/comments/{sid}/"))

    # -- lookup --------------------------------------------------------------

    def _page(self, reddit, path: str, params: dict):
        """One page of the account's submissions (a praw Listing), newest first."""
        with self._errors("looking up recent submissions on Reddit"):
            return reddit.get(path, params=dict(params))

    def lookup(self, post: Post, ticket: Ticket) -> Published | None:
        if ticket.since is None:
            raise LookupIncomplete("no send time recorded for this post: cannot bound the search")
        reddit = self._reddit()
        # A post rebuilt from the ledger may lack the page's subreddit: then title and body decide.
        sub = str(post.options.get("subreddit") or "").removeprefix("/").removeprefix("r/").lower()
        kind = post.options.get("kind") or self.options.get("kind") or "self"
        after = utc(ticket.since) - self.clock_skew
        body = " ".join("\n\n".join(post.parts).split())
        found = []
        after_name = None
        path = f"user/{self._creds['REDDIT_USERNAME']}/submitted"
        for _ in range(self.max_pages):
            params = {"limit": 100, "sort": "new", **({"after": after_name} if after_name else {})}
            listing = self.read_retrying(lambda: self._page(reddit, path, params))
            items = list(listing)
            for s in items:
                if (sub and str(s.subreddit).lower() != sub) or s.title != (post.title or ""):
                    continue
                same = s.url == post.link if kind == "link" else " ".join((s.selftext or "").split()) == body
                if same and datetime.fromtimestamp(s.created_utc, timezone.utc) >= after and not ticket.taken(s.id):
                    found.append((s.created_utc, s.id, s.permalink))
            after_name = listing.after
            # Newest first: the listing ended (no cursor), or it has passed the attempt time. A page may come
            # back empty while its cursor still points on (Reddit filters items after paging): keep paging.
            if not after_name or (items and min(s.created_utc for s in items) < after.timestamp()):
                break
        else:
            if not found:
                raise LookupIncomplete(f"Reddit lookup stopped after {self.max_pages} pages without reaching "
                                       f"{after:%Y-%m-%d %H:%M} (raise [channels.reddit] lookup_max_pages)")
        if not found:
            return None
        _, sid, permalink = min(found)  # the first one, should there be two
        return Published(id=sid, url=self._web(permalink), found_by="lookup")


def _no_retry_class(base):
    """A prawcore retry strategy that never retries and never sleeps."""

    class NoRetry(base):
        def _sleep_seconds(self):
            return None

        def consume_available_retry(self):
            return self

        def should_retry_on_failure(self):
            return False

    return NoRetry


def _map(exc: Exception, doing: str, writing: bool) -> ChannelError | None:
    """Reddit's errors as the channel tree; only the submit call itself can leave an unknown outcome."""
    import praw.exceptions as pe
    import prawcore.exceptions as ce
    import requests

    msg = " ".join(str(exc).split())
    token_call = _is_token_call(exc)
    if token_call:
        doing = f"getting a Reddit token before {doing}"
    unknown = Unconfirmed if writing and not token_call else LookupIncomplete if not writing else ChannelError
    if isinstance(exc, pe.RedditAPIException):
        for item in exc.items:
            if item.error_type == "RATELIMIT":
                return RateLimited(f"Reddit rate limit while {doing}: {item.message}", ratelimit_wait(item.message))
            if item.error_type == "ALREADY_SUB":
                return Duplicate(f"Reddit refused {doing}: {item.message}")
        return Rejected(f"Reddit refused {doing}: {msg}")
    status = exc.response.status_code if isinstance(exc, ce.ResponseException) else None
    if isinstance(exc, ce.TooManyRequests) or status == 429:
        return RateLimited(f"Reddit rate limit (429) while {doing}", retry_after=_retry_after(exc))
    if isinstance(exc, (ce.OAuthException, ce.InvalidToken, ce.InsufficientScope)) or status == 401:
        return AuthError(
            f"Reddit refused the credentials while {doing} ({type(exc).__name__}): check REDDIT_CLIENT_ID, "
            "REDDIT_CLIENT_SECRET, REDDIT_USERNAME, REDDIT_PASSWORD (a script app)"
        )
    if isinstance(exc, ce.Forbidden):
        return AuthError(f"Reddit forbade {doing}: the account may be banned there or lack permission")
    if isinstance(exc, ce.ServerError) or (status is not None and (status >= 500 or status in (408, 409))):
        if unknown is Unconfirmed:
            return Unconfirmed(f"Reddit server error while {doing} ({msg}): the post may exist; lookup decides")
        return unknown(f"Reddit server error while {doing} ({msg}); nothing was posted")
    if isinstance(exc, ce.ResponseException):
        return Rejected(f"Reddit refused {doing}: {msg}") if writing and not token_call else unknown(
            f"Reddit refused {doing}: {msg}")
    if isinstance(exc, ce.RequestException):
        original = exc.original_exception
        if isinstance(original, requests.exceptions.ConnectTimeout) or (
            isinstance(original, requests.exceptions.ConnectionError)
            and ("NewConnectionError" in repr(original) or "NameResolutionError" in repr(original))
        ):
            return ChannelError(f"could not reach Reddit while {doing} (nothing was sent)")
        if unknown is Unconfirmed:
            return Unconfirmed(f"no answer from Reddit while {doing} ({type(original).__name__}): the post may exist")
        return unknown(f"no answer from Reddit while {doing} ({type(original).__name__})")
    if isinstance(exc, (pe.PRAWException, ce.PrawcoreException)):
        return Rejected(f"Reddit client error while {doing}: {msg}") if writing else unknown(
            f"Reddit client error while {doing}: {msg}")
    return None


def _is_token_call(exc: Exception) -> bool:
    """Whether the failed request was prawcore's token call, which posts nothing."""
    import prawcore.exceptions as ce

    url = ""
    if isinstance(exc, ce.ResponseException):
        url = str(getattr(exc.response, "url", "") or "")
    elif isinstance(exc, ce.RequestException):
        url = " ".join(str(a) for a in exc.request_args)
    return "/api/v1/access_token" in url


def _retry_after(exc) -> float | None:
    headers = exc.response.headers
    for value in (getattr(exc, "retry_after", None), headers.get("retry-after"), headers.get("x-ratelimit-reset")):
        try:
            if value is not None:
                return max(0.0, float(value))
        except (TypeError, ValueError):
            continue
    return None
