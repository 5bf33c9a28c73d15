"""Jekyll: which files are pages, their URLs, and what Jekyll does not publish.

Follows Jekyll 4's own code (lib/jekyll/url.rb, drops/url_drop.rb,
document.rb, page.rb, utils.rb, configuration.rb) and its permalink docs,
https://jekyllrb.com/docs/permalinks/ .
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatch
from pathlib import PurePosixPath
from urllib.parse import quote

import regex

# Built-in permalink styles (configuration.rb STYLE_TO_PERMALINK).
STYLES = {
    "none": "/:categories/:title:output_ext",
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
}
DEFAULT_PERMALINK = "date"
DATE_FILENAME = re.compile(r"^(?:.+/)*?(\d{2,4}-\d{1,2}-\d{1,2})-([^/]*)(\.[^.]+)$")
DATELESS_FILENAME = re.compile(r"^(?:.+/)*(.*)(\.[^.]+)$")
MARKDOWN_EXTS = {".md", ".markdown", ".mkdown", ".mkdn", ".mkd"}
# Folders Jekyll reads for itself, never as pages.
SPECIAL_DIRS = {"_layouts", "_includes", "_data", "_sass", "_site", "_plugins", ".jekyll-cache",
                "node_modules", "vendor", ".bundle", ".git"}
DEFAULT_EXCLUDES = ("Gemfile", "Gemfile.lock", "node_modules", "vendor/bundle/", "vendor/cache/",
                    "vendor/gems/", "vendor/ruby/", ".sass-cache", ".jekyll-cache", "gemfiles")

_SLUG_MODES = {
    "raw": regex.compile(r"\s+"),
    "default": regex.compile(r"[^\p{M}\p{L}\p{Nd}]+"),
    "pretty": regex.compile(r"[^\p{M}\p{L}\p{Nd}._~!$&'()+,;=@]+"),
    "ascii": regex.compile(r"[^A-Za-z0-9]+"),
}
_ESCAPE_SAFE = "!$&'()*+,;=:@/~"  # Addressable's PATH class: unreserved + sub-delims + ":@/"
_PLAIN_PATH = re.compile(r"^[a-zA-Z0-9./-]+$")


def slugify(text: object, mode: str = "default", cased: bool = False) -> str | None:
    """Jekyll's Utils.slugify (modes raw, default, pretty, ascii)."""
    if text is None:
        return None
    value = str(text)
    if mode not in _SLUG_MODES and mode != "latin":
        return value if cased else value.lower()
    if mode == "latin":  # I18n.transliterate: accents dropped
        value = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
        mode = "default"
    slug = _SLUG_MODES[mode].sub("-", value)
    slug = re.sub(r"^-|-$", "", slug, flags=re.M)
    return slug if cased else slug.lower()


def escape_path(value: str) -> str:
    """Jekyll::URL.escape_path: percent-encode all but Addressable's path characters."""
    if not value or _PLAIN_PATH.match(value):
        return value
    return quote(value, safe=_ESCAPE_SAFE)


def titleize_slug(slug: str) -> str:
    """Utils.titleize_slug: "edge-case-no-yaml-title" -> "Edge Case No Yaml Title"."""
    return " ".join(part.capitalize() for part in slug.split("-"))


@dataclass(frozen=True)
class Document:
    """A file as Jekyll reads it: its collection and what its path says."""

    kind: str              # "post" | "collection" | "page"
    collection: str        # "posts", a collection label, or "" for pages
    rel: PurePosixPath     # relative to the site source
    file_date: date | None
    file_slug: str         # file name without date prefix and extension
    path_categories: tuple[str, ...]  # folders above _posts


def classify(rel: PurePosixPath, collections: dict[str, dict], exclude: tuple[str, ...],
             include: tuple[str, ...] = ()) -> Document | str:
    """The document a file is, or why Jekyll does not render it as a page."""
    parts = rel.parts
    if _excluded(rel, exclude) and not _excluded(rel, include):
        return "excluded by `exclude` in _config.yml"
    if rel.suffix.lower() not in MARKDOWN_EXTS:
        return "not a markdown file"
    if "_drafts" in parts:
        return "a draft in _drafts/ (Jekyll builds drafts only with --drafts)"
    if "_posts" in parts:
        at = parts.index("_posts")
        found = DATE_FILENAME.match(rel.as_posix())
        if not found:
            return "in _posts/ without a YYYY-MM-DD- date in its file name (Jekyll skips it)"
        file_date = _file_date(found.group(1))
        if file_date is None:
            return f"file name date {found.group(1)} is not a real date"
        categories = tuple(p for p in parts[:at] if p and p != "_posts")
        return Document("post", "posts", rel, file_date, _strip_periods(found.group(2)), categories)
    for label, options in collections.items():
        folder = f"_{label}"
        if parts and parts[0] == folder and label != "posts":
            if not options.get("output", False):
                return f"in collection {label!r}, which has no `output: true` (not rendered)"
            found = DATE_FILENAME.match(rel.as_posix())
            file_date = _file_date(found.group(1)) if found else None
            stem = found.group(2) if found else DATELESS_FILENAME.match(rel.as_posix()).group(1)
            return Document("collection", label, rel, file_date, _strip_periods(stem), ())
    hidden = any(p.startswith(("_", ".")) for p in parts[:-1]) or parts[-1].startswith(("_", "."))
    if hidden and not _excluded(rel, include):
        return "in a folder or file whose name starts with '_' or '.' (Jekyll does not render it)"
    return Document("page", "", rel, None, _strip_periods(rel.stem), ())


def _excluded(rel: PurePosixPath, exclude: tuple[str, ...]) -> bool:
    text = rel.as_posix()
    for pattern in exclude:
        pattern = pattern.strip("/")
        if not pattern:
            continue
        if text == pattern or text.startswith(pattern + "/") or rel.match(pattern):
            return True
    return False


def _file_date(text: str) -> date | None:
    try:
        y, m, d = (int(x) for x in text.split("-"))
        return date(y, m, d)
    except ValueError:
        return None


def _strip_periods(stem: str) -> str:
    return re.sub(r"\.*\Z", "", stem)


def front_matter_defaults(doc: Document, sets: tuple[dict, ...]) -> dict:
    """`defaults:` from _config.yml that apply to the document, the more specific scope winning.

    A set applies when its scope's `path` is a prefix of (or a glob matching)
    the file's path and its `type` (posts, pages, drafts or a collection) is
    the document's (Jekyll's FrontmatterDefaults); front matter wins over all.
    """
    doc_type = {"post": "posts", "page": "pages"}.get(doc.kind, doc.collection)
    found: list[tuple[int, int, int, dict]] = []
    for order, entry in enumerate(sets):
        if not isinstance(entry, dict) or not isinstance(entry.get("values"), dict):
            continue
        scope = entry.get("scope") if isinstance(entry.get("scope"), dict) else {}
        path = str(scope.get("path") or "").strip("/")
        wanted = scope.get("type")
        if wanted and str(wanted) != doc_type:
            continue
        if path and not _in_scope(doc.rel, path):
            continue
        found.append((len(path), 1 if wanted else 0, order, entry["values"]))
    merged: dict = {}
    for *_, values in sorted(found, key=lambda t: t[:3]):
        merged.update(values)
    return merged


def _in_scope(rel: PurePosixPath, path: str) -> bool:
    text = rel.as_posix()
    if "*" in path:
        return fnmatch(text, path) or fnmatch(text, path + "/*")
    return text == path or text.startswith(path + "/")


def categories(meta: dict, doc: Document) -> list[str]:
    """Folder categories, then `categories`/`category` (a list, or words split on spaces)."""
    found: list[str] = list(doc.path_categories)
    for key in ("categories", "category"):
        value = meta.get(key)
        if value is None:
            continue
        values = value.split() if isinstance(value, str) else value if isinstance(value, list) else [value]
        for v in values:
            if v is not None and str(v) not in found:
                found.append(str(v))
        break  # Jekyll reads the singular key only when the plural one is absent
    return found


def template_for(doc: Document, site_permalink: str, collections: dict[str, dict]) -> str:
    """The URL template Jekyll uses for a document that has no `permalink:` of its own."""
    style = STYLES.get(site_permalink, site_permalink)
    if doc.kind == "post":
        posts = collections.get("posts", {})
        return STYLES.get(posts.get("permalink", ""), posts.get("permalink")) or style
    if doc.kind == "collection":
        own = collections.get(doc.collection, {}).get("permalink")
        return STYLES.get(own, own) if own else _add_suffix("/:collection/:path", site_permalink)
    if _strip_periods(doc.rel.stem) == "index":
        return "/:path/"
    return _add_suffix("/:path/:basename", site_permalink)


def _add_suffix(template: str, style: str) -> str:
    """Utils.add_permalink_suffix."""
    if style == "pretty":
        return template + "/"
    if style in ("date", "ordinal", "none"):
        return template + ":output_ext"
    style = STYLES.get(style, style)
    if style.endswith("/"):
        template += "/"
    if style.endswith(":output_ext"):
        template += ":output_ext"
    return template


def url_path(doc: Document, meta: dict, when: date | None, site_permalink: str,
             collections: dict[str, dict]) -> str:
    """The site-relative URL Jekyll writes the document to (url.rb)."""
    own = meta.get("permalink")
    template = str(own) if isinstance(own, str) and own else template_for(doc, site_permalink, collections)
    if doc.kind == "page":
        result = template
        for key, value in _page_placeholders(doc).items():  # generate_url_from_hash
            if ":" not in result:
                break
            result = result.replace("/:" + key, "") if value is None else result.replace(":" + key, escape_path(value))
        return _sanitize(result)
    known = _DROP if when is not None else _DROP_UNDATED

    def swap(m: re.Match) -> str:  # generate_url_from_drop: only the placeholders used are computed
        name = m.group(1)
        pool = [name, name[:-1]] if name.endswith("_") else [name]
        winner = next((k for k in pool if k in known), None)
        if winner is None:
            raise ValueError(f"the permalink {template!r} has no :{name} placeholder Jekyll knows")
        value = known[winner](doc, meta, when) or ""
        return escape_path(value) + m.group(0)[1 + len(winner):]

    return _sanitize(_PLACEHOLDER.sub(swap, template))


_PLACEHOLDER = re.compile(r":([a-z_]+)")


def _sanitize(url: str) -> str:
    """URL#sanitize_url: a leading slash, no '..', no './', no '//'."""
    url = ("/" + url).replace("..", "/").replace("./", "")
    return re.sub(r"/{2,}", "/", url) if "//" in url else url


def _page_placeholders(doc: Document) -> dict[str, str | None]:
    folder = doc.rel.parent.as_posix()
    basename = _strip_periods(doc.rel.stem)  # Page#process: "trailing-dots...md" -> "trailing-dots"
    return {"path": "" if folder == "." else "/" + folder, "basename": basename, "output_ext": ".html"}


def _slug_source(doc: Document, meta: dict) -> str:
    return meta.get("slug") if meta.get("slug") not in (None, "") else doc.file_slug


def _categories_value(doc: Document, meta: dict, when: date | None) -> str:
    """Each category downcased, duplicates dropped, joined with '/' (UrlDrop#categories)."""
    return "/".join(dict.fromkeys(c.lower() for c in categories(meta, doc)))


def _collection_path(doc: Document, meta: dict, when: date | None) -> str:
    """Document#cleaned_relative_path: the path inside the collection folder, no extension."""
    relative = doc.rel.as_posix()[: -len(doc.rel.suffix)] if doc.rel.suffix else doc.rel.as_posix()
    folder = f"_{doc.collection}"
    return _strip_periods(relative[len(folder):] if relative.startswith(folder) else relative)


_DROP_UNDATED = {
    "collection": lambda doc, meta, when: doc.collection,
    "path": _collection_path,
    "name": lambda doc, meta, when: slugify(doc.rel.stem),
    "title": lambda doc, meta, when: slugify(_slug_source(doc, meta), "pretty", cased=True),
    "slug": lambda doc, meta, when: slugify(_slug_source(doc, meta)),
    "categories": _categories_value,
    "slugified_categories": lambda doc, meta, when: "/".join(dict.fromkeys(slugify(c) or "" for c in categories(meta, doc))),
    "output_ext": lambda doc, meta, when: ".html",
}
_DROP = {
    **_DROP_UNDATED,
    "year": lambda doc, meta, d: f"{d.year:04d}",
    "month": lambda doc, meta, d: f"{d.month:02d}",
    "day": lambda doc, meta, d: f"{d.day:02d}",
    "hour": lambda doc, meta, d: "00",
    "minute": lambda doc, meta, d: "00",
    "second": lambda doc, meta, d: "00",
    "i_day": lambda doc, meta, d: str(d.day),
    "i_month": lambda doc, meta, d: str(d.month),
    "short_month": lambda doc, meta, d: d.strftime("%b"),
    "long_month": lambda doc, meta, d: d.strftime("%B"),
    "short_year": lambda doc, meta, d: d.strftime("%y"),
    "w_year": lambda doc, meta, d: str(d.isocalendar()[0]),
    "week": lambda doc, meta, d: f"{d.isocalendar()[1]:02d}",
    "w_day": lambda doc, meta, d: str(d.isocalendar()[2]),
    "short_day": lambda doc, meta, d: d.strftime("%a"),
    "long_day": lambda doc, meta, d: d.strftime("%A"),
    "y_day": lambda doc, meta, d: d.strftime("%j"),
}


def not_published(meta: dict, doc: Document, when: date | None, today: date, future: bool) -> str | None:
    """Why Jekyll would not build this document, or None."""
    if meta.get("published") is False:
        return "`published: false`"
    if doc.kind != "page" and when is not None and when > today and not future:
        return f"dated {when}, in the future (Jekyll builds future posts only with `future: true`)"
    return None
