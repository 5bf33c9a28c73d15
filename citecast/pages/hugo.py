"""Hugo: which files are pages, their URLs, and what Hugo does not publish.

Follows Hugo's URL management and permalinks docs
(https://gohugo.io/content-management/urls/, https://gohugo.io/configuration/permalinks/)
and its code (resources/page/permalinks.go, common/paths/path.go Sanitize).
Front-matter keys are case-insensitive in Hugo, so they are read lowercased.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path, PurePosixPath
from urllib.parse import quote

CONTENT_EXTS = {".md", ".markdown", ".mdown", ".mdx"}  # .mdx: read by Hugo only with a handler; kept for parity


@dataclass(frozen=True)
class Entry:
    kind: str               # "page" | "section"
    rel: PurePosixPath      # relative to contentDir
    sections: tuple[str, ...]
    bundle: bool            # a leaf bundle's index.md
    lang: str = ""          # the language of a translation by file name ("about.fr.md" -> "fr")


def lower_keys(meta: dict) -> dict:
    return {str(k).lower(): v for k, v in meta.items()}


def classify(rel: PurePosixPath, content_dir: Path, list_pages: bool, languages: tuple[str, ...] = ()) -> Entry | str:
    """The page a content file is, or why Hugo renders no page from it.

    With several languages configured, "about.fr.md" is the French translation
    of "about.md" (translation by file name).
    """
    if rel.suffix.lower() not in CONTENT_EXTS:
        return "not a content file"
    stem, lang = rel.stem, ""
    if "." in stem and stem.rsplit(".", 1)[1].lower() in languages:
        stem, lang = stem.rsplit(".", 1)[0], stem.rsplit(".", 1)[1].lower()
    parts = rel.parts
    index_names = [f"index{ext}" for ext in (".md", ".markdown", ".html")]
    index_names += [f"index.{code}{ext}" for code in languages for ext in (".md", ".markdown")]
    # A file beside a leaf bundle's index.md (in its folder or below) is a resource of that bundle.
    for depth in range(len(parts) - 1, 0, -1):
        folder = content_dir.joinpath(*parts[:depth])
        if stem != "index" or depth != len(parts) - 1:
            if any((folder / name).is_file() for name in index_names):
                return f"a resource of the leaf bundle {'/'.join(parts[:depth])}/ (not a page of its own)"
    sections = tuple(parts[:-1])
    if stem == "_index" or stem.startswith("_index."):  # `_index.zh-CN.md` for a language not configured too
        if not list_pages:
            return "a list page (_index.md): citecast distributes single pages"
        return Entry("section", rel, sections, False, lang)
    if stem == "index":
        return Entry("page", rel, sections[:-1], True, lang)
    return Entry("page", rel, sections, False, lang)


def sanitize(text: str) -> str:
    """paths.Sanitize: letters, digits, marks and ./\\_#+~ kept; spaces and '-' runs -> one '-'."""
    out: list[str] = []
    hyphen = False
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        allowed = ch != " " and (cat[0] in "LM" or cat == "Nd" or ch in "./\\_#+~"
                                 or (ch == "%" and re.match(r"%[0-9A-Fa-f]{2}", text[i:i + 3]) is not None))
        if allowed:
            if hyphen:
                out.append("-")
                hyphen = False
            out.append(ch)
        elif out and (ch == "-" or ch.isspace()):
            hyphen = True
    return "".join(out)


def urlize(text: str, lower: bool = True) -> str:
    """PathSpec.URLize: sanitize, lowercase (unless disablePathToLower), escape for a URL path."""
    clean = sanitize(text)
    return _escape(clean.lower() if lower else clean)


def _escape(path: str) -> str:
    """Go's url.URL.EscapedPath: non-ASCII and reserved bytes as %XX."""
    return quote(path, safe="/$&+,:;=@~%")


def _date_token(token: str, when: date | None) -> str:
    if when is None:
        when = date(1, 1, 1)  # Hugo's zero time
    return {
        "year": str(when.year), "month": f"{when.month:02d}", "monthname": when.strftime("%B"),
        "day": f"{when.day:02d}", "weekday": str((when.weekday() + 1) % 7),
        "weekdayname": when.strftime("%A"), "yearday": str(when.timetuple().tm_yday),
    }[token]


_TOKEN = re.compile(r":(\w+)(\[[^\]]*\])?")


def expand(pattern: str, entry: Entry, meta: dict, when: date | None, lower: bool = True) -> str:
    """A [permalinks] pattern for one page (permalinks.go)."""
    slug = meta.get("slug") or ""
    title = str(meta.get("title") or "")
    name = _base_name(entry)

    def value(m: re.Match) -> str:
        token, cut = m.group(1), m.group(2)
        if token in ("year", "month", "monthname", "day", "weekday", "weekdayname", "yearday"):
            return _date_token(token, when)
        if token == "section":
            return entry.sections[0] if entry.sections else ""
        if token == "sections":
            return "/".join(_slice(list(entry.sections), cut))
        if token == "title":
            return urlize(title, lower)
        if token == "slug":
            return urlize(str(slug), lower) if slug else urlize(title, lower)
        if token in ("filename", "contentbasename"):
            return urlize(name, lower)
        if token in ("slugorfilename", "slugorcontentbasename"):
            return urlize(str(slug), lower) if slug else urlize(name, lower)
        raise ValueError(f"the permalink {pattern!r} has :{token}, which Hugo does not know")

    return _TOKEN.sub(value, pattern.replace("\\:", "\x00")).replace("\x00", ":")


def _slice(items: list[str], cut: str | None) -> list[str]:
    if not cut:
        return items
    spec = cut[1:-1].strip().lower()
    if ":" not in spec:
        index = len(items) - 1 if spec == "last" else int(spec or 0)
        return [items[index]] if 0 <= index < len(items) else []
    low, high = spec.split(":", 1)
    lo = 0 if low == "" else (len(items) - 1 if low == "last" else int(low))
    hi = len(items) if high == "" else (len(items) - 1 if high == "last" else int(high))
    return items[lo:hi]


def _base_name(entry: Entry) -> str:
    if entry.bundle:
        return entry.rel.parent.name
    return entry.rel.stem[: -len(entry.lang) - 1] if entry.lang else entry.rel.stem


def url_path(entry: Entry, meta: dict, when: date | None, permalinks: dict[str, str],
             ugly: bool = False, lower: bool = True) -> str:
    """The site-relative URL Hugo renders the page at (front matter `url` > [permalinks] > path).

    Endings as page_paths.go CreateTargetPaths writes them: a `url` with a dot
    and no trailing slash is a file, any other `url` a folder; a page from a
    permalink pattern or from its path is a folder ("/.../"), or "name.html"
    with uglyURLs.
    """
    own = meta.get("url")
    if isinstance(own, str) and own:
        path = "/" + own.lstrip("/")
        if re.search(r"(?<!\\):\w", path):  # permalink tokens in front matter (Hugo 0.131+)
            path = expand(path, entry, meta, when, lower)
        path = path.replace("\\:", ":")
        return path if path.endswith("/") or "." in own else path + "/"
    section = entry.sections[0] if entry.sections else ""
    pattern = permalinks.get(section) if entry.kind == "page" else None
    if pattern:
        path = expand(pattern, entry, meta, when, lower)
        path = "/" + path.strip("/")
        path = path.lower() if lower else path  # the whole link goes through MakePathSanitized
    else:
        folder = [urlize(s, lower) for s in entry.sections]
        slug = meta.get("slug")
        last = urlize(str(slug), lower) if slug and entry.kind == "page" else urlize(_base_name(entry), lower)
        path = "/" + "/".join(folder + ([last] if entry.kind == "page" else []))
    path = re.sub(r"/{2,}", "/", path)
    if ugly and entry.kind == "page":
        return path.rstrip("/") + ".html"
    return path.rstrip("/") + "/"


def aliases(meta: dict, entry: Entry) -> list[str]:
    """`aliases` as server-relative paths: page-relative ones resolve from the page's folder."""
    raw = meta.get("aliases") or []
    if isinstance(raw, str):
        raw = [raw]
    folder = "/" + "/".join(entry.sections)
    out = []
    for alias in raw:
        alias = str(alias)
        if re.match(r"^[a-z][a-z0-9+.-]*://", alias):
            out.append(alias)
            continue
        path = alias if alias.startswith("/") else posixpath.join(folder, alias)
        path = posixpath.normpath(path)
        out.append(path if posixpath.splitext(path)[1] else path.rstrip("/") + "/")
    return out


def not_published(meta: dict, today: date, future: bool, expired: bool, drafts: bool,
                  publish_date: date | None, expiry_date: date | None) -> str | None:
    """Why Hugo would not render this page, or None. `meta` has lowercased keys."""
    if meta.get("draft") is True and not drafts:
        return "`draft: true` (Hugo builds drafts only with --buildDrafts)"
    if meta.get("headless") is True:
        return "a headless bundle (`headless: true`): Hugo never renders it"
    build = meta.get("build") or meta.get("_build")
    if isinstance(build, dict):
        render = build.get("render")
        if render in ("never", False, "false"):
            return "`build.render: never`: Hugo does not render it"
    if publish_date is not None and publish_date > today and not future:
        return f"publishDate {publish_date} is in the future (Hugo builds it only with buildFuture)"
    if expiry_date is not None and expiry_date <= today and not expired:
        return f"expiryDate {expiry_date} has passed (Hugo builds it only with buildExpired)"
    return None


def cascaded(content_dir: Path, entry: Entry) -> dict:
    """Front matter `cascade`d down from the `_index.md` of the page's sections and the home page.

    The nearest section wins, and the page's own front matter wins over all
    (https://gohugo.io/content-management/front-matter/#cascade). Cascade
    entries with a `target` (page matchers) are left out.
    """
    merged: dict = {}
    for depth in range(len(entry.sections), -1, -1):  # the nearest section first
        index = content_dir.joinpath(*entry.sections[:depth], "_index.md")
        try:
            stamp = index.stat().st_mtime_ns
        except OSError:
            continue
        for key, value in _cascade_of(str(index), stamp).items():
            merged.setdefault(key, value)
    return merged


@lru_cache(maxsize=2048)
def _cascade_of(index: str, stamp: int) -> dict:
    """The `cascade` values of one `_index.md` (cached by path and modification time)."""
    from citecast.pages.frontmatter import PageError, split

    try:
        meta = lower_keys(split(Path(index).read_text("utf-8"))[0])
    except (OSError, UnicodeDecodeError, PageError):
        return {}
    cascade = meta.get("cascade")
    entries = cascade if isinstance(cascade, list) else [cascade] if isinstance(cascade, dict) else []
    values: dict = {}
    for item in entries:
        if isinstance(item, dict) and not ({"_target", "target"} & {str(k).lower() for k in item}):
            values.update(lower_keys(item))
    return values
