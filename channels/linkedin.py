"""LinkedIn Posts API (/rest/posts) over httpx.

An unknown outcome is settled by reading the author's posts back (paging with
`start`/`count` to the attempt time) where the token may read them, which
needs `r_member_social`. Most tokens have only `w_member_social`: LinkedIn then
refuses the read (403), and the adapter re-sends the identical post after the
grace period. LinkedIn refuses a repeat with 422 DUPLICATE_POST naming the
existing post's URN, which is the post; a 201 means the first attempt never
landed.

LinkedIn retires each monthly API version about a year after its release
(426 NONEXISTENT_VERSION), so the default version is derived from today's
date: two months back is surely released and ten months from retirement.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from citecast.channels.base import (
    AuthError,
    Channel,
    ChannelError,
    Duplicate,
    Limits,
    LookupIncomplete,
    LookupNotPermitted,
    Misconfigured,
    NotConfigured,
    Published,
    RateLimited,
    Rejected,
    Ticket,
    Unconfirmed,
    secret,
    utc,
)
from citecast.posts import Draft, Post

# "Little text": LinkedIn silently truncates commentary at the first unescaped one.
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_ESCAPED = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")
API_BASE = "https://api.linkedin.com"
_URN = re.compile(r"urn:li:(?!person:|organization:)[A-Za-z]+:\d+")  # the post a refusal names


def default_version(today: date | None = None) -> str:
    """The LinkedIn-Version to send when none is configured: two months before `today`."""
    today = today or datetime.now(timezone.utc).date()
    months = today.year * 12 + today.month - 1 - 2
    return f"{months // 12}{months % 12 + 1:02d}"


def escape_little_text(text: str) -> str:
    return _RESERVED.sub(r"\\\1", text)


def unescape_little_text(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)


class LinkedInChannel(Channel):
    name = "linkedin"
    client_modules = ("httpx",)
    settings_keys = frozenset({"access_token_block", "author", "version", "timeout", "base_url", "title", "description"})
    limits = Limits(max_length=3000)
    can_lookup = True
    grace = timedelta(seconds=60)
    resend_reveals_duplicate = True
    reconcile_note = ("looks the post up among the author's posts (needs r_member_social); where the token may not "
                      "read them (w_member_social only) it re-sends the identical post after the grace period and "
                      "records the post LinkedIn names in its DUPLICATE_POST refusal")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "LinkedInChannel":
        token = secret("LINKEDIN_ACCESS_TOKEN", options, "access_token_block")
        if not token:
            raise NotConfigured(
                "LinkedIn needs LINKEDIN_ACCESS_TOKEN (or a Prefect Secret block named in "
                "[channels.linkedin] access_token_block)"
            )
        author = options.get("author") or secret("LINKEDIN_AUTHOR")
        if not author:
            raise NotConfigured(
                "LinkedIn needs the author URN: set [channels.linkedin] author = \"urn:li:person:...\" "
                "(or urn:li:organization:...) or LINKEDIN_AUTHOR"
            )
        if not re.fullmatch(r"urn:li:(person|organization):[A-Za-z0-9_-]+", str(author)):
            raise NotConfigured(f"LinkedIn author {author!r} is not a urn:li:person:... or urn:li:organization:... URN")
        channel = cls({**options, "author": author})
        channel._token = token
        return channel

    def render(self, draft: Draft, page_options: dict[str, Any] | None = None) -> Post:
        post = super().render(draft, page_options)
        return Post(
            channel=post.channel,
            parts=tuple(escape_little_text(p) for p in post.parts),
            link=post.link,
            title=post.title,
            options=post.options,
        )

    # -- client --------------------------------------------------------------

    def _http(self):
        client = getattr(self, "_client", None)
        if client is None:
            import httpx

            client = httpx.Client(
                base_url=str(self.options.get("base_url") or API_BASE).rstrip("/"),
                timeout=float(self.options.get("timeout", 30)),
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "LinkedIn-Version": self.version,
                    "X-Restli-Protocol-Version": "2.0.0",
                },
            )
            self._client = client
        return client

    @property
    def version(self) -> str:
        return str(self.options.get("version") or default_version())

    def _url(self, urn: str) -> str:
        return f"https://www.linkedin.com/feed/update/{urn}/"

    def _author(self, post: Post) -> str:
        return str(post.options.get("author") or self.options["author"])

    # -- publish -------------------------------------------------------------

    def publish(self, post: Post, ticket: Ticket) -> Published:
        if len(post.parts) != 1:
            raise Rejected(f"LinkedIn takes one post, got {len(post.parts)} parts")
        article: dict[str, Any] = {"source": post.link, "title": post.title or post.options.get("title") or post.link}
        if post.options.get("description"):
            article["description"] = str(post.options["description"])
        body = {
            "author": self._author(post),
            "commentary": post.parts[0],  # escaped by render
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "content": {"article": article},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        resp = self._send("POST", "/rest/posts", "posting to LinkedIn", json=body, writing=True)
        if resp.status_code != 201:
            self._raise_for(resp, "posting to LinkedIn", writing=True)
        urn = resp.headers.get("x-restli-id")
        if not urn:
            raise Unconfirmed("LinkedIn answered 201 without x-restli-id: the post exists but its id is unknown")
        return Published(id=urn, url=self._url(urn))

    # -- lookup --------------------------------------------------------------

    def lookup(self, post: Post, ticket: Ticket) -> Published | None:
        if ticket.since is None:
            raise LookupIncomplete("no send time recorded for this post: cannot bound the search")
        after = utc(ticket.since) - self.clock_skew
        want = _norm(post.parts[0])
        author = quote(self._author(post), safe="")
        hits = []
        doing = "looking up recent LinkedIn posts"
        start = 0
        for _ in range(self.max_pages):
            path = f"/rest/posts?author={author}&q=author&start={start}&count=50&sortBy=LAST_MODIFIED"
            elements = self.read_retrying(lambda: self._page(path, doing))
            for el in elements:
                created = datetime.fromtimestamp(el.get("createdAt", 0) / 1000, timezone.utc)
                # a post the ledger records for another event (the same words) is not this one
                if created >= after and _norm(el.get("commentary", "")) == want and not ticket.taken(el["id"]):
                    hits.append((created, el["id"]))
            oldest = min((el.get("lastModifiedAt") or el.get("createdAt", 0) for el in elements), default=0)
            # A page may hold fewer than asked: only an empty one ends the listing.
            if not elements or datetime.fromtimestamp(oldest / 1000, timezone.utc) < after:
                break
            start += len(elements)
        else:
            if not hits:
                raise LookupIncomplete(f"LinkedIn lookup stopped after {self.max_pages} pages without reaching "
                                       f"{after:%Y-%m-%d %H:%M} (raise [channels.linkedin] lookup_max_pages)")
        if not hits:
            return None
        urn = min(hits)[1]
        return Published(id=urn, url=self._url(urn), found_by="lookup")

    def _page(self, path: str, doing: str) -> list[dict]:
        resp = self._send("GET", path, doing, headers={"X-RestLi-Method": "FINDER"})
        if resp.status_code != 200:
            self._raise_for(resp, doing)
        return (resp.json() or {}).get("elements", [])

    def describe_reconcile(self) -> str:
        """Which way an unknown outcome is settled with this token: a read decides (403 without r_member_social)."""
        try:
            path = f"/rest/posts?author={quote(self.options['author'], safe='')}&q=author&start=0&count=1"
            resp = self._send("GET", path, "checking the token's scopes", headers={"X-RestLi-Method": "FINDER"})
        except ChannelError as exc:
            return f"{self.reconcile_note} (could not check the token's scopes: {exc})"
        if resp.status_code == 403:
            return ("re-sends the identical post after the grace period and records the post LinkedIn names in "
                    "its DUPLICATE_POST refusal (this token may not read posts back: no r_member_social)")
        if resp.status_code == 200:
            return "looks the post up among the author's posts (this token may read them: r_member_social)"
        return f"{self.reconcile_note} (scope check answered {resp.status_code})"

    # -- errors --------------------------------------------------------------

    def _send(self, method: str, path: str, doing: str, writing: bool = False, **kwargs):
        import httpx

        try:
            return self._http().request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ChannelError(f"could not reach LinkedIn while {doing} (nothing was sent): {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            if writing:
                raise Unconfirmed(f"no answer from LinkedIn while {doing} ({type(exc).__name__}): the post may exist") from None
            raise LookupIncomplete(f"no answer from LinkedIn while {doing} ({type(exc).__name__})") from None

    def _raise_for(self, resp, doing: str, writing: bool = False):
        status = resp.status_code
        try:
            data = resp.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        detail = str(data.get("message") or data.get("code") or resp.reason_phrase).replace(self._token, "***")
        if status == 429:
            raise RateLimited(f"LinkedIn rate limit while {doing}: {detail}", retry_after=_retry_after(resp.headers))
        if status == 401:
            raise AuthError(f"LinkedIn refused the token while {doing} ({detail}): renew LINKEDIN_ACCESS_TOKEN")
        if status == 426 or "NONEXISTENT_VERSION" in (resp.text or ""):
            raise Misconfigured(
                f"LinkedIn-Version {self.version} is not active ({detail}): remove [channels.linkedin] version to use "
                f"the default (today {default_version()}) or set a month from the last twelve"
            )
        if status == 403:
            if not writing:
                raise LookupNotPermitted(f"LinkedIn refused {doing} ({detail}): reading posts needs r_member_social")
            raise AuthError(
                f"LinkedIn forbade {doing} ({detail}): the token needs w_member_social "
                "(or w_organization_social for an organisation author)"
            )
        if status == 422 and "DUPLICATE_POST" in (resp.text or ""):
            urn = _URN.search(str(data.get("message") or "")) or _URN.search(resp.text or "")
            existing = Published(urn.group(0), self._url(urn.group(0)), found_by="DUPLICATE_POST refusal") if urn else None
            raise Duplicate(f"LinkedIn refused the post as a duplicate (DUPLICATE_POST): {detail}", existing)
        if status >= 500 or status in (408, 409):
            if writing:
                raise Unconfirmed(f"LinkedIn server error {status} while {doing}: the post may exist; lookup decides")
            raise LookupIncomplete(f"LinkedIn server error {status} while {doing}")
        if not writing:
            raise LookupIncomplete(f"LinkedIn refused {doing} ({status}): {detail}")
        raise Rejected(f"LinkedIn refused {doing} ({status}): {detail}")


def _norm(text: str) -> str:
    # LinkedIn may hand commentary back escaped or not; compare what a reader sees.
    return " ".join(unescape_little_text(text).split())


def _retry_after(headers) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None

