"""Astro: which files are pages, their URLs, and what Astro does not publish.

Follows Astro's routing and content-collection docs
(https://docs.astro.build/en/guides/routing/, https://docs.astro.build/en/guides/content-collections/,
https://docs.astro.build/en/reference/configuration-reference/#trailingslash) and its code:
an entry's id is `slug` from front matter, else each path segment through
github-slugger with a trailing "/index" dropped (content/utils.ts
getContentEntryIdAndSlug); the built page's pathname ends in "/" for
build.format "directory" unless trailingSlash is "never", in ".html" for
"file" (core/build/generate.ts getUrlForPath).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

CONTENT_EXTS = {".md", ".mdx", ".markdown"}


@dataclass(frozen=True)
class Entry:
    kind: str            # "collection" | "page"
    collection: str      # collection name, "" for src/pages files
    rel: PurePosixPath   # relative to the collection folder, or to src/pages


def github_slug(segment: str) -> str:
    """github-slugger's slug(): lowercase, punctuation and symbols removed, each space -> '-'."""
    kept = []
    for ch in segment.lower():
        cat = unicodedata.category(ch)
        if cat[0] in "LMN" or ch in "-_ " or cat == "Pc":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def classify(rel_to_root: PurePosixPath, bases: dict[str, str] | None = None) -> Entry | str:
    """A collection entry (under a glob loader's `base`, or src/content/<collection>/) or a src/pages/ page."""
    if rel_to_root.suffix.lower() not in CONTENT_EXTS:
        return "not a markdown or MDX file"
    text = rel_to_root.as_posix()
    for name, base in (bases or {}).items():
        if text.startswith(base + "/"):
            return Entry("collection", name, PurePosixPath(text[len(base) + 1:]))
    parts = rel_to_root.parts
    if parts[:2] == ("src", "content") and len(parts) > 3:
        return Entry("collection", parts[2], PurePosixPath(*parts[3:]))
    if parts[:2] == ("src", "pages") and len(parts) > 2:
        if any(p.startswith("_") for p in parts[2:]):
            return "starts with '_' under src/pages (Astro does not route it)"
        return Entry("page", "", PurePosixPath(*parts[2:]))
    return "outside the content collections and src/pages/ (not routed by Astro)"


_COLLECTION = re.compile(r"""(?:const|let)\s+(\w+)\s*=\s*defineCollection\(\s*\{.*?glob\(\s*\{[^}]*?"""
                         r"""base\s*:\s*['"`]\.?/?([^'"`]+?)/?['"`]""", re.S)
_EXPORTED = re.compile(r"collections\s*=\s*\{([^}]*)\}", re.S)


def collection_bases(config_text: str) -> dict[str, str]:
    """Collection name -> its glob loader's base folder, from src/content.config.ts (string literals only)."""
    variables = {var: base for var, base in _COLLECTION.findall(config_text)}
    exported = _EXPORTED.search(config_text)
    names: dict[str, str] = {}
    for item in (exported.group(1).split(",") if exported else []):
        name, _, var = (part.strip().strip("'\"") for part in item.partition(":"))
        var = var or name
        if var in variables and name:
            names[name] = variables[var]
    return names


def entry_id(entry: Entry, meta: dict) -> str:
    if meta.get("slug"):
        return str(meta["slug"])
    stem = entry.rel.with_suffix("").as_posix()
    slug = "/".join(github_slug(s) for s in stem.split("/"))
    return re.sub(r"/index$", "", slug)


def url_path(entry: Entry, meta: dict, route: str, base: str, trailing_slash: str, build_format: str,
             index_at_root: bool = False) -> str:
    """The pathname Astro builds the page at: base + route + id + the format's ending.

    `index_at_root`: Starlight's docs, where the entry `index` is the route's root, not `/index/`.
    """
    if entry.kind == "page":
        stem = entry.rel.with_suffix("").as_posix()
        path = "" if stem == "index" else re.sub(r"(^|/)index$", "", stem)
        is_index = entry.rel.stem == "index"
    else:
        ident = entry_id(entry, meta)
        if index_at_root and ident == "index":
            ident = ""
        path = route.replace(":slug", ident).replace(":id", ident).replace(":collection", entry.collection)
        is_index = False
    path = path.strip("/")
    fmt = build_format if build_format != "preserve" else ("directory" if is_index else "file")
    base = "/" + base.strip("/") if base.strip("/") else ""
    if not path:
        return (base or "") + "/"
    if fmt == "file":
        return f"{base}/{path}.html"
    return f"{base}/{path}" + ("" if trailing_slash == "never" else "/")


def not_published(meta: dict) -> str | None:
    if meta.get("draft") is True:
        return "`draft: true` (Astro sites leave drafts out of their builds)"
    return None
