"""Checks every draft must pass before it may be published, whoever wrote it.

A post carries the canonical link (exactly once) and words: no other link in
any spelling (see `links`), no HTML or template syntax the page does not itself
contain word for word, no @mention or #hashtag that is not on the page's
`mentions:`/`hashtags:` lists or the channel's allowed lists (X's automation
rules forbid unsolicited automated mentions; text in the page body does not
make a handle allowed). Everything is checked on the NFKC-normalised text too,
so full-width `＠`, `＃` and `ｈｔｔｐｓ：／／` count as what they look like.
"""

from __future__ import annotations

import re
from typing import Iterable

from citecast.channels.base import Channel
from citecast.distribution.links import find_links, normalised
from citecast.pages.markup import generator_markup
from citecast.posts import Draft

_HTML = re.compile(r"</?[a-z][^<>]*>|<!--.*?-->|<![a-z][^>]*>|<\?.*?\?>", re.I | re.S)
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\$\{[^}\n]*\}|<%.*?%>", re.S)
_STRAY_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}|\$\{|<%|%>")
_MENTION = re.compile(r"(?<![\w@.+-])@([^\W_][\w.]*(?:@[\w-]+(?:\.[\w-]+)+)?|_\w*)")
_HASHTAG = re.compile(r"(?<![\w&#/])#(\w*[^\W\d_]\w*)")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_CLEAN_END = ".,;:!?)]\"'"


def find_urls(text: str) -> list[str]:
    """Every URL in the text, as a platform or a reader would see it (kept for callers of the old name)."""
    return find_links(text)


def draft_problems(
    draft: Draft,
    channel: Channel,
    source_text: str,
    allowed_handles: Iterable[str] = (),
    allowed_hashtags: Iterable[str] = (),
    page_options: dict | None = None,
) -> list[str]:
    """What is wrong with a draft, in words that can go back to a model as feedback.

    `source_text` is the page's own text: HTML or template syntax may appear
    only where the page has the exact same text. Handles and hashtags come
    only from the allowed lists, never from `source_text`.
    """
    texts = [p for p in draft.parts] + ([draft.title] if draft.title else [])
    if not draft.parts or not any(p.strip() for p in draft.parts):
        return ["the post is empty"]
    found = link_problems(draft, texts)
    found += markup_problems(texts, source_text)
    found += handle_problems([_without(t, draft.link) for t in texts], allowed_handles, allowed_hashtags)
    found.extend(channel.problems(channel.render(draft, page_options)))
    return found


def link_problems(draft: Draft, texts: list[str]) -> list[str]:
    found: list[str] = []
    count = sum(_clean_occurrences(t, draft.link)[0] for t in draft.parts)
    others = [link for t in texts for link in find_links(_clean_occurrences(t, draft.link)[1])]
    if count == 0:
        found.append(f"the link {draft.link} must appear exactly once, and it is missing")
    elif count > 1:
        found.append(f"the link {draft.link} appears {count} times; use it exactly once")
    if others:
        found.append(f"only the link {draft.link} is allowed; remove {_listed(others)}")
    if draft.title and draft.link in draft.title:
        found.append("the link belongs in the post, not in the title")
    return found


def markup_problems(texts: list[str], source_text: str) -> list[str]:
    found: list[str] = []
    for text in texts:
        for spelling in dict.fromkeys((text, normalised(text))):
            html = [m.group(0) for m in _HTML.finditer(spelling) if m.group(0) not in source_text]
            if html:
                found.append(f"HTML is not allowed in a post: remove {_listed(html)}")
            rest = _TEMPLATE.sub(lambda m: " " if m.group(0) in source_text else m.group(0), spelling)
            template = [m.group(0) for m in _TEMPLATE.finditer(rest)] or [m.group(0) for m in _STRAY_TEMPLATE.finditer(rest)]
            if template:
                found.append(f"template syntax is not allowed in a post: remove {_listed(template)}")
            source = [m for m in generator_markup(spelling) if m not in source_text]  # issue 12: words only
            if source:
                found.append(f"source markup is not allowed in a post: remove {_listed(source)}")
        if _BIDI.search(text):
            found.append("invisible text-direction characters are not allowed in a post")
    return list(dict.fromkeys(found))


def handle_problems(texts: list[str], allowed_handles: Iterable[str], allowed_hashtags: Iterable[str]) -> list[str]:
    handles = {h.lower().lstrip("@＠") for h in allowed_handles}
    tags = {t.lower().lstrip("#＃") for t in allowed_hashtags}
    mentions: list[str] = []
    hashtags: list[str] = []
    for text in texts:
        for spelling in dict.fromkeys((text, normalised(text))):
            mentions += ["@" + m for m in _MENTION.findall(spelling) if m.lower() not in handles]
            hashtags += ["#" + t for t in _HASHTAG.findall(spelling) if t.lower() not in tags]
    found: list[str] = []
    if mentions:
        found.append(f"@mentions are allowed only from the page's mentions: list; remove {_listed(mentions)}")
    if hashtags:
        found.append(f"hashtags are allowed only from the page's hashtags: list; remove {_listed(hashtags)}")
    return found


def _clean_occurrences(text: str, link: str) -> tuple[int, str]:
    """(times the link stands on its own, the text with those occurrences blanked).

    An occurrence glued to more URL characters (`LINK.evil.com/x`, `LINK@evil.com`)
    does not count: what follows it makes it another link, which the caller finds.
    """
    count, out, pos = 0, [], 0
    for m in re.finditer(re.escape(link), text):
        tail = text[m.end(): m.end() + 2]
        if tail == "" or tail[0].isspace() or (tail[0] in _CLEAN_END and (len(tail) == 1 or tail[1].isspace())):
            count += 1
            out += [text[pos: m.start()], " "]
            pos = m.end()
    out.append(text[pos:])
    return count, "".join(out)


def _without(text: str, link: str) -> str:
    return _clean_occurrences(text, link)[1]


def _listed(items: list[str], most: int = 5) -> str:
    """A short list for a message that may go back to the model: a flood must not flood the repair."""
    unique = list(dict.fromkeys(i if len(i) <= 80 else i[:79] + "…" for i in items))
    shown = ", ".join(unique[:most])
    return shown + (f" and {len(unique) - most} more" if len(unique) > most else "")
