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
from citecast.pages.limits import post_title
from citecast.pages.loading import Page
from citecast.posts import Draft
from citecast.distribution.templates import ChannelTemplate, TemplateProblem, Templates
from citecast.distribution.angles import Angle, next_angle
from citecast.distribution.links import strip_links
from citecast.distribution.validation import draft_problems

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
                     answer_words: int | str | None = None, points: int = 5, subreddit: str | None = None,
                     angle: Angle | None = None, handles: Iterable[str] = (), hashtags: Iterable[str] = ()
                     ) -> dict[str, Any]:
    """The page's words for a template, made safe to publish: no links, no markup, no stray handles.

    `angle` picks what leads: the direct answer (the default), or a key point, FAQ
    answer or statistic of the page, so a re-share of an unchanged page differs.
    """
    ex = page.extract
    clean = _Cleaner(page, handles, hashtags)
    answer = clean(ex.direct_answer or page.description or "")
    key_points = [clean(p) for p in ex.key_points]
    faq = [(clean(q), _clip(clean(a), 40)) for q, a in ex.faq]
    if angle is not None and angle.kind == "point" and angle.index < len(key_points):
        answer, key_points = key_points[angle.index], key_points[angle.index + 1:] + key_points[:angle.index]
    elif angle is not None and angle.kind == "faq" and angle.index < len(faq):
        q, a = faq[angle.index]
        answer, faq = f"{q} {a}", faq[angle.index + 1:] + faq[:angle.index]
        key_points = _rotated(key_points, _share_number(page, angle))
    elif angle is not None and angle.kind == "stat":
        answer = clean(angle.text)
        key_points = _rotated(key_points, _share_number(page, angle))
    return dict(
        # social_title, else the title shortened to fit (issue 12). A title that is all link-like words
        # (gohugo.io's "time.Now", "collections.Group": .now and .group are TLDs X links) cleans to
        # nothing: the description stands in, so Reddit's required title is there.
        title=clean(post_title(page, channel)) or _clip(clean(page.description), 25),
        description=clean(page.description),
        answer=_clip(answer, answer_words),
        points=key_points[:points],
        faq=faq[:3],
        link=link,
        topic=page.topic,
        tags=list(page.tags),
        channel=channel,
        subreddit=subreddit or page.subreddit,
        detail=detail,
        # Which share of the page this is (0 = the direct answer, then each point, FAQ, statistic):
        # templates vary their fixed lines by it, so no part of a re-share repeats last week's text.
        share=_share_number(page, angle),
    )


def _rotated(items: list[str], by: int) -> list[str]:
    """The same items starting elsewhere, so a thread's list of points differs from last week's."""
    if not items:
        return items
    by %= len(items)
    return items[by:] + items[:by]


def _share_number(page: Page, angle: Angle | None) -> int:
    if angle is None or angle.kind == "answer":
        return 0
    ex = page.extract
    offset = {"point": 1, "faq": 1 + len(ex.key_points), "stat": 1 + len(ex.key_points) + len(ex.faq)}
    return offset.get(angle.kind, 0) + angle.index


def guidance_context(channel: str) -> dict[str, Any]:
    """The context a template's `guidance` block renders with: no page data at all.

    Guidance goes into the system message; the page's own fields (title, subreddit,
    link) reach the model only in the user message, as data.
    """
    return dict(title="the page's title", description="", answer="", points=[], faq=[],
                link="the link given for this channel", topic="", tags=[], channel=channel, subreddit=None,
                detail=3, share=0)


def offline_draft(page: Page, channel: Channel, template: ChannelTemplate, link: str,
                  options: dict[str, Any] | None = None, generator: str = "offline", note: str | None = None,
                  angle: Angle | None = None, handles: Iterable[str] = (), hashtags: Iterable[str] = ()) -> Draft:
    """The richest extractive draft that passes every check, or DraftError."""
    last: list[str] = []
    handles, hashtags = [*handles, *page.mentions], [*hashtags, *page.hashtags]
    for answer_words, points, detail in LEVELS:
        ctx = template_context(page, channel.name, link, detail, answer_words, points, (options or {}).get("subreddit"),
                               angle, handles, hashtags)
        title = template.render_block("title", ctx) or None
        draft = Draft(channel=channel.name, parts=template.render_parts(ctx), link=link,
                      title=title, generator=generator, generator_note=note, angle=angle.key if angle else None)
        last = draft_problems(draft, channel, page.extract.plain_text + "\n" + page.title, handles, hashtags,
                              page_options=options)
        if not last:
            return draft
    raise DraftError(f"no version of the {channel.name} post fits: {'; '.join(last)}")


class OfflineDrafter:
    """Drafts every channel of every page from the templates, no network."""

    def __init__(self, templates: Templates, utm: dict[str, str], channel_defaults: dict[str, dict[str, Any]],
                 previous_angles: dict[str, str] | None = None, handles: Iterable[str] = (),
                 hashtags: Iterable[str] = ()):
        self.templates = templates
        self.utm = utm
        self.channel_defaults = channel_defaults
        self.previous_angles = previous_angles or {}  # page -> angle of its last share (from the ledger)
        self.handles, self.hashtags = list(handles), list(hashtags)  # allowed on every page (llm.allowed_*)

    def draft_page(self, page: Page, channels: dict[str, Channel]) -> PageDrafts:
        result = PageDrafts(page)
        angle = next_angle(page, self.previous_angles.get(page.slug))
        for name, channel in channels.items():
            try:
                template = self.templates.get(name, page.templates)
                options = page_options(page, name, self.channel_defaults.get(name, {}))
                result.drafts[name] = offline_draft(page, channel, template, link_for(page, name, self.utm), options,
                                                    angle=angle, handles=self.handles, hashtags=self.hashtags)
            except (DraftError, TemplateProblem) as exc:
                result.errors[name] = str(exc)
        return result

    def draft_pages(self, work: Iterable[tuple[Page, dict[str, Channel]]]) -> list[PageDrafts]:
        return list(self.draft_iter(work))

    def draft_iter(self, work: Iterable[tuple[Page, dict[str, Channel]]]) -> Iterator[PageDrafts]:
        for page, channels in work:
            yield self.draft_page(page, channels)


class _Cleaner:
    """Page text as the offline generator may quote it.

    Links go (only the canonical link is ever published); @mentions and
    #hashtags not on the page's lists lose their sign and stay as words (X
    forbids unsolicited automated mentions); HTML tags go.
    """

    def __init__(self, page: Page, handles: Iterable[str], hashtags: Iterable[str]):
        self.handles = {h.lower().lstrip("@") for h in (*handles, *page.mentions)}
        self.hashtags = {t.lower().lstrip("#") for t in (*hashtags, *page.hashtags)}

    def __call__(self, text: str) -> str:
        text = _BIDI.sub("", strip_links(text or "").translate(_SIGNS))
        text = _MARKUP.sub(" ", text)
        text = _MENTION.sub(lambda m: m.group(0) if m.group(1).lower() in self.handles else m.group(1), text)
        text = _HASHTAG.sub(lambda m: m.group(0) if m.group(1).lower() in self.hashtags else m.group(1), text)
        return re.sub(r"[ \t]{2,}", " ", text).strip()


# Full-width and small forms of the signs that make markup, mentions and tags (what NFKC would map),
# without normalising the rest of the text: CJK punctuation stays as the page wrote it.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")  # direction overrides can disguise text
_SIGNS = str.maketrans("＜＞｛｝＠＃﹫﹟％＄", "<>{}@#@#%$")
# HTML tags go; template syntax the page itself contains stays, as text (it is data, never rendered).
_MARKUP = re.compile(r"</?[a-z][^<>]*>|<!--.*?-->", re.I | re.S)
_MENTION = re.compile(r"(?<![\w@.+-])[@]([^\W_][\w.]*(?:@[\w-]+(?:\.[\w-]+)+)?|_\w*)")
_HASHTAG = re.compile(r"(?<![\w&#/])#+(\w*[^\W\d_]\w*)")


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
