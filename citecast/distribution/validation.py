"""Checks every draft must pass before it may be published, whoever wrote it."""

from __future__ import annotations

import re

from twitter_text import extract_urls

from citecast.channels.base import Channel
from citecast.posts import Draft

_HANDLE = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{2,30})\b")
_HASHTAG = re.compile(r"(?<![\w&/#])#([A-Za-z][\w]{1,60})")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
# twitter-text finds what X would link (bare domains on known TLDs); anything with a
# scheme counts too, whatever its TLD (.example, .internal, an IP address).
_SCHEME_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`]+", re.I)
_TRAILING = ".,;:!?)]}'\""


def find_urls(text: str) -> list[str]:
    """Every URL in the text, as a platform or a reader would see it."""
    found = [u.rstrip(_TRAILING) for u in _SCHEME_URL.findall(text)]
    for url in extract_urls(text):
        url = url.rstrip(_TRAILING)
        if not any(url in f for f in found):
            found.append(url)
    return found


def draft_problems(
    draft: Draft,
    channel: Channel,
    source_text: str,
    allowed_handles: list[str] | tuple[str, ...] = (),
    allowed_hashtags: list[str] | tuple[str, ...] = (),
    page_options: dict | None = None,
) -> list[str]:
    """What is wrong with a draft, in words that can go back to a model as feedback."""
    found: list[str] = []
    texts = list(draft.parts) + ([draft.title] if draft.title else [])
    if not draft.parts or not any(p.strip() for p in draft.parts):
        return ["the post is empty"]

    urls = [u for t in texts for u in find_urls(t)]
    link_count = sum(1 for u in urls if u == draft.link)
    others = [u for u in urls if u != draft.link]
    if link_count == 0:
        found.append(f"the link {draft.link} must appear exactly once, and it is missing")
    elif link_count > 1:
        found.append(f"the link {draft.link} appears {link_count} times; use it exactly once")
    if others:
        found.append(f"only the link {draft.link} is allowed; remove {', '.join(sorted(set(others)))}")

    if draft.title and draft.link in draft.title:
        found.append("the link belongs in the post, not in the title")
    source_templates = bool(_TEMPLATE.search(source_text))
    for text in texts:
        if _TEMPLATE.search(text) and not source_templates:
            found.append("leftover template syntax ({{ }}, {% %}) in the post")
            break
    allowed_h = {h.lower().lstrip("@") for h in allowed_handles}
    allowed_t = {t.lower().lstrip("#") for t in allowed_hashtags}
    source_lower = source_text.lower()
    invented_handles = sorted({h for t in texts for h in _HANDLE.findall(_without_urls(t))
                               if h.lower() not in allowed_h and f"@{h.lower()}" not in source_lower})
    if invented_handles:
        found.append("@handles not in the page or the allowed list: " + ", ".join("@" + h for h in invented_handles))
    invented_tags = sorted({h for t in texts for h in _HASHTAG.findall(_without_urls(t))
                            if h.lower() not in allowed_t and f"#{h.lower()}" not in source_lower})
    if invented_tags:
        found.append("hashtags not in the page or the allowed list: " + ", ".join("#" + h for h in invented_tags))

    found.extend(channel.problems(channel.render(draft, page_options)))
    return found


def _without_urls(text: str) -> str:
    for url in find_urls(text):
        text = text.replace(url, " ")
    return text
