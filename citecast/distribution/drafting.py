"""Drafts: one per page and channel, written by the offline generator or an LLM.

The offline generator is deterministic and extractive: it fills the channel's
template with the page's title, direct answer, key points and FAQ, and lowers
the detail until the post fits the platform. It is the embedded default and the
fallback whenever an LLM draft cannot be made valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from citecast.channels.base import Channel
from citecast.pages.loading import Page
from citecast.posts import Draft
from citecast.distribution.templates import ChannelTemplate, TemplateProblem, Templates
from citecast.distribution.validation import draft_problems, find_urls

# (how much of the answer, key points, detail) from richest to barest. The answer
# shrinks by whole sentences first ("s2": two sentences), then by words.
LEVELS: tuple[tuple[str | int | None, int, int], ...] = (
    (None, 5, 3), (None, 4, 2), ("s2", 4, 2), ("s1", 3, 1), ("s1", 2, 1), (32, 2, 1), (24, 2, 1),
    (16, 1, 0), (10, 0, 0), (0, 0, 0),
)


class DraftError(Exception):
    """No valid draft could be made for a page on a channel; the message says why."""


@dataclass
class PageDrafts:
    page: Page
    drafts: dict[str, Draft] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def link_for(page: Page, channel: str, utm: dict[str, str]) -> str:
    """The canonical URL, with the configured UTM tags for this channel."""
    if not utm:
        return page.canonical_url
    parts = urlsplit(page.canonical_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, str(v).replace("{channel}", channel)) for k, v in utm.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def page_options(page: Page, channel: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """Per-page targeting for a channel (e.g. the subreddit)."""
    opts: dict[str, Any] = {}
    if channel == "reddit":
        opts["subreddit"] = page.subreddit or defaults.get("subreddit")
    return {k: v for k, v in opts.items() if v}


def template_context(page: Page, channel: str, link: str, detail: int = 3,
                     answer_words: int | str | None = None, points: int = 5, subreddit: str | None = None) -> dict[str, Any]:
    ex = page.extract
    answer = _strip_urls(ex.direct_answer or page.description or "")
    return dict(
        title=_strip_urls(page.title),
        description=_strip_urls(page.description),
        answer=_clip(answer, answer_words),
        points=[_strip_urls(p) for p in ex.key_points[:points]],
        faq=[(_strip_urls(q), _clip(_strip_urls(a), 40)) for q, a in ex.faq[:3]],
        link=link,
        topic=page.topic,
        tags=list(page.tags),
        channel=channel,
        subreddit=subreddit or page.subreddit,
        detail=detail,
    )


def offline_draft(page: Page, channel: Channel, template: ChannelTemplate, link: str,
                  options: dict[str, Any] | None = None, generator: str = "offline", note: str | None = None) -> Draft:
    """The richest extractive draft that passes every check, or DraftError."""
    last: list[str] = []
    for answer_words, points, detail in LEVELS:
        ctx = template_context(page, channel.name, link, detail, answer_words, points, (options or {}).get("subreddit"))
        title = template.render_block("title", ctx) or None
        draft = Draft(channel=channel.name, parts=template.render_parts(ctx), link=link,
                      title=title, generator=generator, generator_note=note)
        last = draft_problems(draft, channel, page.extract.plain_text + "\n" + page.title, page_options=options)
        if not last:
            return draft
    raise DraftError(f"no version of the {channel.name} post fits: {'; '.join(last)}")


class OfflineDrafter:
    """Drafts every channel of every page from the templates, no network."""

    def __init__(self, templates: Templates, utm: dict[str, str], channel_defaults: dict[str, dict[str, Any]]):
        self.templates = templates
        self.utm = utm
        self.channel_defaults = channel_defaults

    def draft_page(self, page: Page, channels: dict[str, Channel]) -> PageDrafts:
        result = PageDrafts(page)
        for name, channel in channels.items():
            try:
                template = self.templates.get(name, page.templates)
                options = page_options(page, name, self.channel_defaults.get(name, {}))
                result.drafts[name] = offline_draft(page, channel, template, link_for(page, name, self.utm), options)
            except (DraftError, TemplateProblem) as exc:
                result.errors[name] = str(exc)
        return result

    def draft_pages(self, work: Iterable[tuple[Page, dict[str, Channel]]]) -> list[PageDrafts]:
        return list(self.draft_iter(work))

    def draft_iter(self, work: Iterable[tuple[Page, dict[str, Channel]]]) -> Iterator[PageDrafts]:
        for page, channels in work:
            yield self.draft_page(page, channels)


def _strip_urls(text: str) -> str:
    # Only the canonical link may appear in a post: URLs quoted in the page text go.
    urls = find_urls(text)
    if not urls:
        return text.strip()
    for url in urls:
        text = text.replace(url, "")
    return re.sub(r"\(\s*\)|\s{2,}", " ", text).strip()


def _clip(text: str, words: int | str | None) -> str:
    """At most `words` words, whole sentences where possible; "sN" keeps N sentences."""
    if words is None:
        return text
    if isinstance(words, str):
        return " ".join(re.split(r"(?<=[.!?])\s+", text.strip())[: int(words[1:])])
    if words <= 0:
        return ""
    tokens = text.split()
    if len(tokens) <= words:
        return text
    sentences = re.split(r"(?<=[.!?])\s+", text)
    kept: list[str] = []
    count = 0
    for s in sentences:
        n = len(s.split())
        if count + n > words:
            break
        kept.append(s)
        count += n
    if kept:
        return " ".join(kept)
    return " ".join(tokens[:words]).rstrip(",;:") + "…"
