"""LinkedIn Posts API (/rest/posts) over httpx."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from citecast.channels.base import (
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
from citecast.posts import Draft, Post

# "Little text": LinkedIn silently truncates commentary at the first unescaped one.
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_ESCAPED = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")
API_BASE = "https://api.linkedin.com"
DEFAULT_VERSION = "202511"
CLOCK_SKEW = timedelta(minutes=10)


def escape_little_text(text: str) -> str:
    return _RESERVED.sub(r"\\\1", text)


def unescape_little_text(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)


class LinkedInChannel(Channel):
    name = "linkedin"
    client_modules = ("httpx",)
    limits = Limits(max_length=3000)
    can_lookup = True

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
                    "LinkedIn-Version": str(self.options.get("version") or DEFAULT_VERSION),
                    "X-Restli-Protocol-Version": "2.0.0",
                },
            )
            self._client = client
        return client

    def _url(self, urn: str) -> str:
        return f"https://www.linkedin.com/feed/update/{urn}/"

    def _author(self, post: Post) -> str:
        return str(post.options.get("author") or self.options["author"])

    # -- publish -------------------------------------------------------------

    def publish(self, post: Post, key: str) -> Published:
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
        resp = self._send("POST", "/rest/posts", "posting to LinkedIn", json=body)
        if resp.status_code != 201:
            self._raise_for(resp, "posting to LinkedIn")
        urn = resp.headers.get("x-restli-id")
        if not urn:
            raise Unconfirmed("LinkedIn answered 201 without x-restli-id: the post exists but its id is unknown")
        return Published(id=urn, url=self._url(urn))

    # -- lookup --------------------------------------------------------------

    def lookup(self, post: Post, key: str, since: datetime) -> Published | None:
        author = self._author(post)
        path = f"/rest/posts?author={quote(author, safe='')}&q=author&count=20&sortBy=LAST_MODIFIED"
        resp = self._send("GET", path, "looking up recent LinkedIn posts", headers={"X-RestLi-Method": "FINDER"})
        if resp.status_code != 200:
            self._raise_for(resp, "looking up recent LinkedIn posts")
        after = _utc(since) - CLOCK_SKEW
        want = _norm(post.parts[0])
        hits = []
        for el in (resp.json() or {}).get("elements", []):
            created = datetime.fromtimestamp(el.get("createdAt", 0) / 1000, timezone.utc)
            if created >= after and _norm(el.get("commentary", "")) == want:
                hits.append((created, el["id"]))
        if not hits:
            return None
        urn = min(hits)[1]
        return Published(id=urn, url=self._url(urn))

    # -- errors --------------------------------------------------------------

    def _send(self, method: str, path: str, doing: str, **kwargs):
        import httpx

        try:
            return self._http().request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ChannelError(f"could not reach LinkedIn while {doing} (nothing was sent): {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise Unconfirmed(f"no answer from LinkedIn while {doing} ({type(exc).__name__}): the post may exist") from None

    def _raise_for(self, resp, doing: str):
        status = resp.status_code
        try:
            data = resp.json()
        except ValueError:
            data = {}
        detail = data.get("message") or data.get("code") or resp.reason_phrase
        detail = str(detail).replace(self._token, "***")
        if status == 429:
            raise RateLimited(f"LinkedIn rate limit while {doing}: {detail}", retry_after=_retry_after(resp.headers))
        if status == 401:
            raise AuthError(f"LinkedIn refused the token while {doing} ({detail}): renew LINKEDIN_ACCESS_TOKEN")
        if status == 403:
            raise AuthError(
                f"LinkedIn forbade {doing} ({detail}): the token needs w_member_social "
                "(or w_organization_social for an organisation author)"
            )
        if status == 422 and "DUPLICATE_POST" in (resp.text or ""):
            raise Rejected(f"LinkedIn rejected the post as a duplicate (DUPLICATE_POST): {detail}")
        if status == 426:
            raise AuthError(f"LinkedIn-Version is retired ({detail}): set [channels.linkedin] version to a current YYYYMM")
        if status >= 500:
            raise Unconfirmed(f"LinkedIn server error {status} while {doing}: the post may exist; lookup decides")
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


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
