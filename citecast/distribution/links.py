"""Every link in a text, in every spelling a platform or a reader would follow.

twitter-text finds what X links: URLs with a scheme and bare domains, both on
TLDs it knows. It misses what X would not link but another platform, a browser
or a reader would: hosts on special-use or new TLDs (`evil.example/x`), a
scheme-relative `//evil.example`, IP addresses (even with a scheme), non-ASCII
hosts without a scheme (`пример.рф`), full-width or ideographic spellings
(`ｅｖｉｌ．ｃｏｍ`, `evil。com`), hosts split by invisible characters, markdown and
HTML links, `javascript:`/`data:` URLs. The rules below cover those; every
check runs on the text as written and on its normalised spelling.
"""

from __future__ import annotations

import re
import unicodedata

from citecast.tweet_text import load as _twitter_text

extract_urls_with_indices = _twitter_text().extract_urls_with_indices

# Dots a browser's IDNA mapping treats as a dot, and the "[.]" style defanging readers undo.
_DOTS = str.maketrans({"\u3002": ".", "\uff61": ".", "\ufe12": ".", "\uff0e": "."})
_DEFANGED_DOT = re.compile(r"\s?[\[\(\{]\s?\.\s?[\]\)\}]\s?")
# Reserved and private-use names (RFC 2606, 6761, 6762, 7686 and common intranet suffixes):
# no public registry sells them, but a link to them is still a link.
SPECIAL_TLDS = frozenset({"example", "test", "invalid", "localhost", "local", "internal", "onion", "lan",
                          "intranet", "corp", "home", "arpa", "i2p", "localdomain"})
# A run of dot-separated labels (Unicode letters and digits, hyphens inside): a host candidate.
_HOST = re.compile(r"(?:[^\W_][\w-]{0,62}\.)+[^\W_][\w-]*")
_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<![\w+.-])[a-z][a-z0-9+.\-]{0,30}:/+\S*", re.I),  # any scheme: https://, hxxps://, ftp:/
    # A scheme word, then its payload: right after the colon, or after spaces when the payload still
    # looks like one (`javascript: alert(1)`, `data: text/html,...`, `mailto: a@b`). A title such as
    # "Data: the full answer" or "File: ..." is words (gohugo.io and Starlight pages failed X every week).
    re.compile(r"\b(?:javascript|data|vbscript|mailto|file|tel|sms|intent|blob)\s*:(?:(?!\s)|\s+(?=\S*[(/,%@;]))\S*",
               re.I),
    re.compile(r"(?<![\w:/])//[^\s/]\S*"),  # scheme-relative //host/path
    re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\w)\S*"),  # IPv4, with or without a path
    re.compile(r"\[[0-9a-f:.]*:[0-9a-f:.]*\]\S*", re.I),  # [IPv6]
    re.compile(r"\blocalhost\b(?::\d+|/)\S*", re.I),
    re.compile(r"!?\[[^\]\n]*\]\([^)\n]*\)"),  # markdown link or image
    re.compile(r"^\s*\[[^\]\n]+\]:\s*\S+", re.M),  # markdown reference definition
    re.compile(r"<[a-z][a-z0-9+.\-]*:[^>\s]*>", re.I),  # <scheme:...> autolink
)
TRAILING = ".,;:!?)]}'\""


def normalised(text: str) -> str:
    """The text as a platform may show it: NFKC, no invisible format characters, every dot a dot."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _DEFANGED_DOT.sub(".", text.translate(_DOTS))


def find_links(text: str) -> list[str]:
    """Every link-like span, as written or as normalised, first seen first, without trailing punctuation."""
    found: dict[str, None] = {}
    for variant in dict.fromkeys((text, normalised(text))):
        for span in _spans(variant):
            span = span.rstrip(TRAILING)
            if span:
                found.setdefault(span)
    # One link, one entry: `evil.example/x` found inside `https://evil.example/x` is the same link.
    spans = list(found)
    return [s for s in spans if not any(s != other and s in other for other in spans)]


def _spans(text: str) -> list[str]:
    spans = [u["url"] for u in extract_urls_with_indices(text)]
    for rule in _RULES:
        spans += [m.group(0) for m in rule.finditer(text)]
    for m in _HOST.finditer(text):
        rest = text[m.end():]
        path = re.match(r"(?::\d+)?/\S*|:\d+", rest)
        if path or text[: m.start()].endswith(("//", "@")) or host_is_linkable(m.group(0)):
            spans.append(m.group(0) + (path.group(0) if path else ""))
    return spans


def host_is_linkable(host: str) -> bool:
    """A dotted name that is a host: a TLD twitter-text knows (after IDNA), a special-use one, or punycode."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) < 2 or len(labels[-1]) < 2:
        return False
    if labels[-1] in SPECIAL_TLDS or any(label.startswith("xn--") for label in labels):
        return True
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(extract_urls_with_indices(f" {ascii_host} "))


def strip_links(text: str) -> str:
    """The text without any link (for the offline generator, which quotes page text)."""
    links = find_links(text)
    if not links:
        return text.strip()
    for link in sorted(links, key=len, reverse=True):
        text = text.replace(link, " ")
    if find_links(text):  # a link visible only once normalised: drop the words that carry it
        text = " ".join(w for w in text.split(" ") if not find_links(w))
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)  # the brackets a removed link leaves behind
    return re.sub(r"[ \t]{2,}", " ", text).strip()
