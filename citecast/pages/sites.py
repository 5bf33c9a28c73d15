"""One file of a generator's site: is it a page the site serves, at which URL, and why.

Each generator's rules live in its own module (jekyll, hugo, astro); this one
turns a file and its front matter into what the loader needs, the same way
for all of them. See docs/sites.md for the rules and the documents behind them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote

from citecast.pages.dates import parse_date
from citecast.pages.generators import SiteProfile

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx")


@dataclass(frozen=True)
class Located:
    """What the generator makes of a page file."""

    url_path: str                 # site-relative, as the generator writes it ("/notes/edge%20case/x/")
    dialect: str                  # whose template layer the body carries
    mdx: bool
    title: str | None = None      # the generator's title when the front matter has none
    published: date | None = None  # the generator's date when the front matter has none
    previous: list[str] = field(default_factory=list)  # server-relative or absolute old URLs
    tags: list[str] = field(default_factory=list)


# Folders no generator reads pages from, at any depth: dependencies, version control.
_ALWAYS_SKIPPED = frozenset({"node_modules", ".git", ".hg", ".svn", ".cache"})
# Each generator's build output and caches: folders of the site's root only (its config's
# folder), so pointing paths.content at the root does not crawl them, while a section that
# happens to share the name (gohugo.io's content/functions/resources/) is still read.
NOT_CONTENT = {
    "jekyll": frozenset({"_site", ".jekyll-cache", ".sass-cache", ".bundle", "vendor"}),
    "hugo": frozenset({"public", "resources"}),
    "astro": frozenset({"dist", ".astro", "public"}),
}


def candidate_files(content: Path, site: SiteProfile, own: tuple[Path, ...] = ()) -> list[Path]:
    """Every file under the content folder, sorted; on a generator's site its build and dependency folders are skipped.

    `own` are citecast's own folders (outbox, state, templates): with the site's root
    as the content folder they sit inside it, and the outbox's drafts are not pages.
    """
    skipped = {os.path.normpath(folder) for folder in own}
    if site.generator != "plain":
        skipped |= {os.path.normpath(os.path.join(site.root, name)) for name in NOT_CONTENT[site.generator]}
    always = _ALWAYS_SKIPPED if site.generator != "plain" else frozenset()
    found: list[Path] = []
    for folder, subfolders, files in os.walk(content):
        subfolders[:] = [d for d in subfolders if d not in always
                         and os.path.normpath(os.path.join(folder, d)) not in skipped]
        found.extend(Path(folder, name) for name in files)
    return sorted(found)


def is_candidate(path: Path, site: SiteProfile) -> bool:
    """Files the loader reads at all: markdown and MDX (plain sites: no '_' or '.' names, as before)."""
    if path.suffix.lower() not in MARKDOWN_SUFFIXES:
        return False
    if site.generator == "plain":
        return path.suffix.lower() != ".mdx" and not path.name.startswith((".", "_"))
    return True


def locate(path: Path, meta: dict, site: SiteProfile, today: date) -> Located | str:
    """Where the site serves the page, or why it does not publish it (a sentence for `check`)."""
    if site.generator == "jekyll":
        found = _jekyll(path, meta, site, today)
    elif site.generator == "hugo":
        found = _hugo(path, meta, site, today)
    elif site.generator == "astro":
        found = _astro(path, meta, site)
    else:
        raise ValueError(f"no URL rules for generator {site.generator!r}")
    if isinstance(found, str):
        return found
    return replace(found, url_path=as_sent(found.url_path))


def as_sent(url_path: str) -> str:
    """The path as a browser requests it: non-ASCII and spaces percent-encoded, existing escapes kept.

    Jekyll's absolute_url (Addressable normalize), Hugo's permalinks and Astro's
    `new URL(pathname, site)` all emit this form.
    """
    return quote(url_path, safe="!$&'()*+,;=:@/-._~%[]|^")


def _relative(path: Path, root: Path) -> PurePosixPath | None:
    text, prefix = str(path), str(root).rstrip("/") + "/"  # string work: this runs for every file
    return PurePosixPath(text[len(prefix):]) if text.startswith(prefix) else None


def _jekyll(path: Path, meta: dict, site: SiteProfile, today: date) -> Located | str:
    # Each generator's rules are imported for the sites that use them: a plain folder pays for none.
    from citecast.pages import jekyll

    rel = _relative(path, site.root)
    if rel is None:
        return f"outside the Jekyll site folder {site.root}"
    doc = jekyll.classify(rel, site.collections, site.exclude, site.include)
    if isinstance(doc, str):
        return f"not published by Jekyll: {doc}"
    if site.defaults:
        meta = {**jekyll.front_matter_defaults(doc, site.defaults), **meta}
    when = parse_date(meta.get("date")) or doc.file_date
    reason = jekyll.not_published(meta, doc, when, today, site.future)
    if reason:
        return f"not published by Jekyll: {reason}"
    url = jekyll.url_path(doc, meta, when, site.permalink, site.collections)
    title = None if meta.get("title") not in (None, "") else jekyll.titleize_slug(doc.file_slug)
    previous = _as_list(meta.get("redirect_from"))
    tags = jekyll.categories(meta, doc) if doc.kind != "page" else []
    return Located(url, "jekyll", False, title, when, previous, tags)


def _hugo(path: Path, meta: dict, site: SiteProfile, today: date) -> Located | str:
    from citecast.pages import hugo

    content_dir = site.content_dir or site.root
    rel = _relative(path, content_dir)
    if rel is None:
        return f"outside Hugo's content folder {content_dir}"
    entry = hugo.classify(rel, content_dir, list_pages=False, languages=site.languages)
    if isinstance(entry, str):
        return f"not published by Hugo: {entry}"
    cascade = hugo.cascaded(content_dir, entry)
    if cascade:
        meta = {**cascade, **meta}
    # Hugo's default date order: publishDate falls back to date; expiryDate has no fallback.
    when = _first_date(meta, "date", "publishdate", "pubdate", "published", "lastmod", "modified")
    publish = _first_date(meta, "publishdate", "pubdate", "published", "date")
    expiry = _first_date(meta, "expirydate", "unpublishdate")
    reason = hugo.not_published(meta, today, site.future, site.build_expired, site.build_drafts, publish, expiry)
    if reason:
        return f"not published by Hugo: {reason}"
    permalinks = dict(site.permalinks)
    if site.permalink:
        section = entry.sections[0] if entry.sections else ""
        permalinks.setdefault(section, site.permalink)
    url = _language_prefix(entry, site) + hugo.url_path(entry, meta, when, permalinks, site.ugly_urls,
                                                         site.path_to_lower)
    return Located(url, "hugo", path.suffix.lower() == ".mdx", None, publish, hugo.aliases(meta, entry))


def _language_prefix(entry, site: SiteProfile) -> str:
    """Hugo's language folder: every language but the default one, which only with defaultContentLanguageInSubdir."""
    if len(site.languages) < 2:
        return ""
    lang = entry.lang or site.default_language
    return f"/{lang}" if lang != site.default_language or site.default_language_in_subdir else ""


def _astro(path: Path, meta: dict, site: SiteProfile) -> Located | str:
    from citecast.pages import astro

    rel = _relative(path, site.root)
    if rel is None:
        return f"outside the Astro project {site.root}"
    entry = astro.classify(rel, site.collection_bases)
    if isinstance(entry, str):
        return f"not published by Astro: {entry}"
    reason = astro.not_published(meta)
    if reason:
        return f"not published by Astro: {reason}"
    route = site.permalinks.get(entry.collection) or site.permalink or site.routes.get(entry.collection)
    if not route and entry.kind != "page" and site.routes:
        # Routes were found for other collections but none renders this one's entries: a data
        # collection (astro-theme-cactus's `tag` entries are intros of /tags/<tag>/ pages). A guessed
        # /<collection>/<id>/ would be a link the site does not serve.
        return (f"not published by Astro: no page in src/pages renders the `{entry.collection}` collection's "
                f"entries (if one does, set site.permalinks = {{ {entry.collection} = \"/route/:slug/\" }})")
    route = route or "/:collection/:slug"
    url = astro.url_path(entry, meta, route, site.base_path, site.trailing_slash, site.build_format,
                         index_at_root=site.starlight and entry.collection == "docs")
    return Located(url, "astro", path.suffix.lower() == ".mdx")


def _first_date(meta: dict, *keys: str) -> date | None:
    for key in keys:
        if meta.get(key) not in (None, ""):
            return parse_date(meta[key])
    return None


def _as_list(value: object) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


_SLUG_JUNK = re.compile(r"[^a-z0-9._/-]+")


def slug_from_url(url_path: str, base_path: str = "") -> str:
    """A page's identity in the ledger, from the URL the site serves it at (lowercase, no escapes)."""
    path = unquote(url_path)
    if base_path and path.startswith(base_path.rstrip("/") + "/"):
        path = path[len(base_path.rstrip("/")):]
    path = _SLUG_JUNK.sub("-", path.lower())
    segments = [s.strip("-._") for s in path.split("/")]
    return "/".join(s for s in segments if s) or "index"
