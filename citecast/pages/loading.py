"""Canonical source pages: loading content/, checking them, and what a post is built from.

A page is markdown with YAML (`---`) or TOML (`+++`) front matter, in the
spellings Hugo, Jekyll and Astro use. Page text is data: it is parsed, never
compiled as a template.
"""

from __future__ import annotations

import gc
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from pydantic import BaseModel, Field, ValidationError, field_validator

from citecast.pages.dates import AmbiguousDate, parse_date
from citecast.pages.frontmatter import PageError, body_of, line_of, read_text
from citecast.pages.frontmatter import split as split_front_matter
from citecast.pages.generators import SiteProfile
from citecast.pages.generators import detect as detect_site
from citecast.pages.hugo import lower_keys
from citecast.pages.limits import title_warnings
from citecast.pages.markup import clean_body, clean_title
from citecast.pages.problems import Problem, ProblemsBySeverity, display_path
from citecast.pages.sites import Located, candidate_files, is_candidate, locate, slug_from_url
from citecast.settings import CADENCE_WEEKS, KNOWN_CHANNELS, Settings, check_channel_names
from citecast.words import count, plural

MAX_PAGE_BYTES = 1_000_000
GC_FREEZE_EVERY = 100
DIRECT_ANSWER_MAX_WORDS = 90
DIRECT_ANSWER_WITHIN_WORDS = 150
MIN_WORDS = 300
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")

# Front-matter spellings of Hugo, Jekyll and Astro, first one wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "canonical_url": ("canonical_url", "canonical", "canonicalURL", "canonicalUrl"),
    "published": ("date", "published", "pubDate", "publishDate", "date_published", "datePublished"),
    "updated": ("updated", "lastmod", "last_modified_at", "updatedDate", "modified", "lastModified",
                "dateModified", "date_modified"),
    "description": ("description", "summary", "excerpt"),
    "previous_urls": ("previous_urls", "aliases", "redirect_from"),
}

FIXES = {
    "title": "add `title: ...` to the front matter",
    "canonical_url": "use an absolute https:// URL, or leave it out to derive it from site.base_url + slug",
    "cohort": "use one of distribution, links, both, control",
    "cadence": "use one of " + ", ".join(CADENCE_WEEKS),
    "channels": "use any of " + ", ".join(KNOWN_CHANNELS),
    "priority": "use a whole number; 1 is the most important",
    "published": "write the date as YYYY-MM-DD",
    "updated": "write the date as YYYY-MM-DD",
    "queries": "give a list of questions, e.g. queries: [\"what is ...\"]",
    "slug": "use lowercase letters, digits, '-', '_' or '.', e.g. slug: my-page",
    "previous_urls": "give a list of absolute URLs the page had before",
    "subreddit": "write the subreddit's name: 3 to 21 letters, digits or _, e.g. subreddit: SEO",
    "mentions": "list the handles a post may name, e.g. mentions: [citecast]",
    "hashtags": "list the hashtags a post may carry, e.g. hashtags: [SEO]",
    "templates": "name a file inside the templates folder, e.g. templates: {x: x-short.md.j2}",
}
SUBREDDIT_RE = re.compile(r"[A-Za-z0-9_]{3,21}")
HANDLE_RE = re.compile(r"[A-Za-z0-9_]{1,30}(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?")
HASHTAG_RE = re.compile(r"[^\W\d_][\w]{0,99}|[\d_]+[^\W\d_]\w*")


def _shown(value: object) -> str:
    """A field value in an error message: quoted, one line, short (it may be hostile)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


_MD = MarkdownIt("commonmark")
# Block structure only: inline markup is parsed just for the few blocks the
# extract reads (headings, the first paragraph, key points, FAQ answers).
_MD_BLOCKS = MarkdownIt("commonmark").disable("inline")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?%?")
_KEY_POINTS_HEADING = re.compile(r"key (points|takeaways)|tl;?dr|summary|in short")


@dataclass(frozen=True)
class Extract:
    """What the offline generator and the weak-page checks read from the body."""

    direct_answer: str
    key_points: tuple[str, ...]
    faq: tuple[tuple[str, str], ...]
    words: int  # up to MIN_WORDS + 1: enough for the weak-page rule
    numbers: int
    links: int
    body: str = field(repr=False, default="")
    source: Path | None = field(repr=False, default=None)  # to read the body again if it was not kept
    dialect: str = field(repr=False, default="plain")  # to clean a body read again the same way
    mdx: bool = field(repr=False, default=False)

    @cached_property
    def plain_text(self) -> str:
        """The body as plain text, made on first use: a library scan never needs it."""
        parts = []
        body = self.body or (read_body(self.source, self.dialect, self.mdx) if self.source else "")
        for tok in _MD.parse(body):
            if tok.type == "inline":
                text = _plain(tok)
                if text:
                    parts.append(text)
        return "\n".join(parts)


class Page(BaseModel):
    model_config = {"arbitrary_types_allowed": True}

    slug: str
    title: str = Field(min_length=1)
    description: str = ""
    canonical_url: str
    previous_urls: list[str] = Field(default_factory=list)
    topic: str = "general"
    cohort: Literal["distribution", "links", "both", "control"] = "distribution"
    # True when the front matter names the cohort: an editor's cohort wins over a randomised arm.
    cohort_set: bool = False
    published: date | None = None
    updated: date | None = None
    draft: bool = False
    channels: list[str]
    subreddit: str | None = None
    queries: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)  # @handles a post may name (none unless listed)
    hashtags: list[str] = Field(default_factory=list)  # #hashtags a post may carry (none unless listed)
    priority: int = 3
    cadence: Literal["weekly", "biweekly", "monthly", "once"]
    templates: dict[str, str] = Field(default_factory=dict)
    social_title: str = ""  # a shorter title for posts, when the page's own is too long for a channel
    path: Path
    body: str
    content_hash: str
    extract: Extract

    @field_validator("canonical_url")
    @classmethod
    def _absolute(cls, v: str) -> str:
        if not _is_absolute_http(v):
            raise ValueError(f"{v!r} is not an absolute http(s) URL")
        return v

    @field_validator("previous_urls")
    @classmethod
    def _absolute_all(cls, v: list[str]) -> list[str]:
        bad = [u for u in v if not _is_absolute_http(u)]
        if bad:
            raise ValueError(f"{bad} are not absolute http(s) URLs")
        return v

    @field_validator("channels")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        return check_channel_names(v)

    @field_validator("subreddit")
    @classmethod
    def _subreddit(cls, v: str | None) -> str | None:
        if v is not None and not SUBREDDIT_RE.fullmatch(v.removeprefix("r/")):
            raise ValueError(f"{_shown(v)} is not a subreddit name")
        return v.removeprefix("r/") if v else v

    @field_validator("mentions", "hashtags")
    @classmethod
    def _handles(cls, v: list[str], info) -> list[str]:
        sign = "@" if info.field_name == "mentions" else "#"
        rule = HANDLE_RE if sign == "@" else HASHTAG_RE
        bad = [h for h in v if not isinstance(h, str) or not rule.fullmatch(h.removeprefix(sign))]
        if bad:
            raise ValueError(f"{', '.join(_shown(b) for b in bad)} {'is' if len(bad) == 1 else 'are'} not "
                             f"{'a handle' if sign == '@' else 'a hashtag'}")
        return [h.removeprefix(sign) for h in v]

    @field_validator("templates")
    @classmethod
    def _inside_templates(cls, v: dict[str, str]) -> dict[str, str]:
        for channel, name in v.items():
            parts = PurePosixPath(str(name).replace("\\", "/")).parts
            if not name or PurePosixPath(str(name)).is_absolute() or ":" in str(name) or ".." in parts:
                raise ValueError(f"{channel}: {_shown(name)} points outside the templates folder")
        return v

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG_RE.match(v):
            raise ValueError(f"{v!r} is not a usable slug")
        return v

    @property
    def distributable(self) -> bool:
        """Link-only and control pages are tracked for citations but never distributed."""
        return self.cohort in ("distribution", "both") and not self.draft

    def snapshot(self) -> dict[str, Any]:
        return dict(
            slug=self.slug, canonical_url=self.canonical_url, previous_urls=list(self.previous_urls),
            content_hash=self.content_hash, title=self.title, topic=self.topic, cohort=self.cohort,
            updated=self.updated or self.published, path=str(self.path),
        )


@dataclass
class Library(ProblemsBySeverity):
    pages: list[Page] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    site: SiteProfile | None = None

    def failed_files(self) -> list[str]:
        return sorted({p.file for p in self.errors})

    @property
    def base_url_unknown(self) -> bool:
        """A generator's site whose URL neither its config nor citecast.toml gives: links would be guesses."""
        return self.site is not None and self.site.generator != "plain" and self.site.sources.get("base_url") == "default"


def load_library(settings: Settings, distributed_urls: dict[str, set[str]] | None = None,
                 keep_text: bool = True) -> Library:
    """Every page under the content folder; a bad page never stops the others.

    `keep_text=False` drops each page's body once it is checked (a check of a
    large library then holds a fraction of the memory); the text is read again
    from the file if something asks for it.
    """
    content = settings.path("content")
    lib = Library()
    if not content.is_dir():
        lib.problems.append(Problem(display_path(content, settings.root), "content folder not found",
                                    "create it or set paths.content in citecast.toml"))
        return lib
    lib.site, config_problems = detect_site(settings)
    where = display_path(lib.site.config_file or content, settings.root)
    for message in config_problems:
        lib.problems.append(Problem(where, message, "fix the file, or set the site's keys in citecast.toml [site]"))
    if lib.base_url_unknown:
        # Every link would go to a host the site is not on (astro-theme-cactus and Starlight compute
        # `site` in code, which citecast does not run): an error, and `run` distributes nothing.
        lib.problems.append(Problem(where, f"the site's base URL is not known (its config has no literal `url`, "
                                    f"`baseURL` or `site`), so links would go to {lib.site.base_url}: nothing is "
                                    "distributed until it is set",
                                    "set `url` (Jekyll), `baseURL` (Hugo) or `site` (Astro) in the site's config, "
                                    "or site.base_url in citecast.toml", "base_url"))
    try:
        own = tuple(settings.path(name) for name in ("outbox", "state", "templates"))
        for path in candidate_files(content, lib.site, own):
            if not is_candidate(path, lib.site):
                continue
            lib.files += 1
            page, problems = load_page(path, settings, content, keep_text, lib.site)
            lib.problems.extend(problems)
            if page is not None:
                lib.pages.append(page)
            if lib.files % GC_FREEZE_EVERY == 0:
                # The pages loaded so far stay alive; without this every full garbage
                # collection walks them all again (10,000 pages: 10.7 s -> 9.5 s).
                gc.freeze()
    finally:
        gc.unfreeze()
    _check_library(lib, settings, distributed_urls or {})
    return lib


def load_page(path: Path, settings: Settings, content_root: Path | None = None,
              keep_text: bool = True, site: SiteProfile | None = None) -> tuple[Page | None, list[Problem]]:
    """One page and its problems; the page is None when any problem is an error.

    A file the site does not publish comes back as None with one "info"
    problem that says why (the generator's rule), never as an error.
    """
    name = display_path(path, settings.root, resolve=False)
    content_root = content_root or settings.path("content")
    site = site or detect_site(settings)[0]
    text = ""
    try:
        text = read_text(path, content_root)
        meta, body = _split_unless_skipped(text, path, site)
        if site.generator == "hugo":
            meta = lower_keys(meta)  # Hugo's front-matter keys are case-insensitive
        located = _locate(path, meta, site)
        if isinstance(located, str):
            return None, [Problem(name, located, severity="info")]
        if not body.strip():
            if located is not None:  # a layout-only page (an archive, a list): nothing to post
                return None, [Problem(name, "not distributed: the page has no text of its own", severity="info")]
            raise PageError("has no body text", "write the page below the front matter")
        if located is not None and _is_not_found_page(located.url_path, site):
            # Jekyll's `permalink: /404.html`, Astro's src/pages/404.md: what the host serves for a
            # missing URL. It is published, but it answers no question: posting it links an error page.
            return None, [Problem(name, "not distributed: the site's 404 page (served for URLs that do not exist)",
                                  severity="info")]
        fields, spelled = _front_matter_fields(meta, located)
        _read_dates(fields, spelled, located)
        _tidy_lists(fields, spelled, settings, site, located)
        _place(fields, meta, path, settings, site, located, content_root)
        _apply_defaults(fields, meta, settings)
        _add_text(fields, body, path, keep_text, located)
        page = _validate(fields, spelled, name, text)
    except PageError as exc:
        line = exc.line if exc.line is not None else line_of(text, exc.field)
        return None, [Problem(name, exc.message, exc.fix, exc.field, line)]
    except _Invalid as exc:
        return None, exc.problems
    except _Skipped as exc:
        return None, [Problem(name, exc.reason, severity="info")]
    return page, _page_warnings(name, page, spelled, text)


def _split_unless_skipped(text: str, path: Path, site: SiteProfile) -> tuple[dict, str]:
    """Front matter and body; a file the generator would not publish anyway is skipped, not an error."""
    try:
        return split_front_matter(text)
    except PageError:
        reason = _locate(path, {}, site)  # excluded files, drafts, resources: Jekyll reads no front matter there
        if isinstance(reason, str):
            raise _Skipped(reason)
        if site.generator == "jekyll" and not text.startswith("---"):
            raise _Skipped("not published by Jekyll as a page: without front matter it is copied as a static file")
        raise


def _is_not_found_page(url_path: str, site: SiteProfile) -> bool:
    """The site's own 404 page, at the root of the site (gohugo.io's /templates/404/ is a real page)."""
    base = site.base_path.rstrip("/")
    path = url_path[len(base):] if base and url_path.startswith(base + "/") else url_path
    return path in ("/404", "/404/", "/404.html", "/404.htm")


class _Skipped(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _locate(path: Path, meta: dict, site: SiteProfile) -> Located | str | None:
    """The generator's view of the file (None on a plain site); PageError for an unusable date or rule."""
    if site.generator == "plain":
        return None
    try:
        return locate(path, meta, site, date.today())
    except AmbiguousDate as exc:
        raise PageError(f"{exc}", "write the date as YYYY-MM-DD", _date_key(meta))
    except ValueError as exc:  # a permalink placeholder the generator does not know
        raise PageError(str(exc), "use the generator's own placeholders (see docs/sites.md)", "permalink")


def _date_key(meta: dict) -> str | None:
    return next((k for k in meta if str(k).lower() in ("date", "pubdate", "publishdate", "updateddate")), None)


def _front_matter_fields(meta: dict, located: Located | None) -> tuple[dict[str, Any], dict[str, str]]:
    """citecast's fields from the front matter, under any of the spellings in ALIASES."""
    fold = located is not None and located.dialect == "hugo"  # keys already lowercased

    def pick(canonical: str) -> tuple[str | None, Any]:
        for key in ALIASES.get(canonical, (canonical,)):
            key = key.lower() if fold else key
            if key in meta and meta[key] not in (None, ""):
                return key, meta[key]
        return None, None

    fields: dict[str, Any] = {}
    spelled: dict[str, str] = {}  # field -> the key the file used, for error lines
    names = ("title", "topic", "cohort", "subreddit", "priority", "cadence", "draft", "templates", "tags",
             "queries", "mentions", "hashtags", "social_title", "canonical_url", "description", "previous_urls", "published", "updated")
    if located is None:
        names += ("slug",)  # on a generator's site `slug` is the generator's, read by its URL rules
    for name_ in names:
        key, value = pick(name_)
        if key is not None:
            fields[name_] = value
            spelled[name_] = key
    if located is not None:
        if "title" not in fields and located.title:
            fields["title"] = located.title
        fields.pop("draft", None)  # the generator's draft rules already decided
    return fields, spelled


def _read_dates(fields: dict[str, Any], spelled: dict[str, str], located: Located | None) -> None:
    for name_ in ("published", "updated"):
        if name_ not in fields:
            continue
        try:
            parsed = parse_date(fields[name_])
        except AmbiguousDate as exc:
            raise PageError(str(exc), "write the date as YYYY-MM-DD", spelled[name_])
        if parsed is None:
            raise PageError(f"{fields[name_]!r} is not a date", FIXES[name_], spelled[name_])
        fields[name_] = parsed
    if located is not None and located.published and "published" not in fields:
        fields["published"] = located.published


def _tidy_lists(fields: dict[str, Any], spelled: dict[str, str], settings: Settings, site: SiteProfile,
                located: Located | None) -> None:
    for listed in ("tags", "mentions", "hashtags"):
        if isinstance(fields.get(listed), str):
            jekyll_tags = listed == "tags" and located is not None and located.dialect == "jekyll"
            sep = None if jekyll_tags else ","  # Jekyll splits a tags string on spaces
            fields[listed] = [t.strip() for t in fields[listed].split(sep) if t.strip()]
    if located is not None and located.tags and not fields.get("tags"):
        fields["tags"] = list(located.tags)
    if isinstance(fields.get("queries"), str):
        fields["queries"] = [fields["queries"]]
    if isinstance(fields.get("previous_urls"), str):
        fields["previous_urls"] = [fields["previous_urls"]]
    if located is not None and located.previous and spelled.get("previous_urls") != "previous_urls":
        fields["previous_urls"] = list(located.previous)  # aliases / redirect_from, resolved by the generator's rule
    # Site-relative old URLs (Hugo aliases, jekyll-redirect-from) become absolute on the site.
    base = site.base_url if located is not None else settings.site.base_url
    if "previous_urls" in fields and isinstance(fields["previous_urls"], list):
        fields["previous_urls"] = [_absolutise(u, base) for u in fields["previous_urls"]]


def _place(fields: dict[str, Any], meta: dict, path: Path, settings: Settings, site: SiteProfile,
           located: Located | None, content_root: Path) -> None:
    """slug and canonical URL: explicit > the generator's URL > plain site.base_url + slug."""
    if located is not None:
        fields["slug"] = slug_from_url(located.url_path)
        fields.setdefault("canonical_url", site.base_url + located.url_path)
        return
    if "slug" not in fields:
        permalink = meta.get("permalink") or meta.get("url")
        if isinstance(permalink, str) and permalink.strip("/"):
            fields["slug"] = urlsplit(permalink).path.strip("/").split("/")[-1]
        else:
            rel = path.relative_to(content_root) if path.is_relative_to(content_root) else Path(path.name)
            stem = rel.with_suffix("")
            fields["slug"] = (stem.parent.as_posix() if stem.name == "index" else stem.as_posix()).lower()
    if "canonical_url" not in fields:
        permalink = meta.get("permalink") or meta.get("url")
        if isinstance(permalink, str) and _is_absolute_http(permalink):
            fields["canonical_url"] = permalink
        elif isinstance(permalink, str) and permalink.startswith("/"):
            fields["canonical_url"] = settings.site.base_url.rstrip("/") + permalink
        else:
            fields["canonical_url"] = settings.site.base_url.rstrip("/") + "/" + str(fields["slug"]).strip("/")


def _apply_defaults(fields: dict[str, Any], meta: dict, settings: Settings) -> None:
    fields.setdefault("channels", meta.get("channels", settings.distribution.channels))
    fields.setdefault("cadence", settings.distribution.cadence)
    fields["draft"] = bool(fields.get("draft", False))
    fields["cohort_set"] = "cohort" in fields
    if "topic" not in fields:
        tags = fields.get("tags") or []
        fields["topic"] = str(tags[0]) if tags else "general"


def _add_text(fields: dict[str, Any], body: str, path: Path, keep_text: bool, located: Located | None) -> None:
    """Title, description and body as words: the generator's markup is gone before anything drafts."""
    dialect = located.dialect if located is not None else "plain"
    mdx = located.mdx if located is not None else path.suffix.lower() == ".mdx"
    raw_title, raw_description = fields.get("title", ""), fields.get("description", "")
    for name_ in ("title", "description", "social_title"):
        if isinstance(fields.get(name_), str):  # anything else is left for validation to report
            fields[name_] = clean_title(fields[name_], dialect)
    words = clean_body(body, dialect, mdx)
    fields.update(
        path=path,
        body=words if keep_text else "",
        extract=extract_body(words, source=None if keep_text else path, dialect=dialect, mdx=mdx),
        # The source, not the cleaned text: a change to the page's markup is a change.
        content_hash=content_hash(raw_title, raw_description, body),
    )


class _Invalid(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("invalid page")
        self.problems = problems


def _validate(fields: dict[str, Any], spelled: dict[str, str], name: str, text: str) -> Page:
    spelled.setdefault("channels", "channels")
    try:
        return Page.model_validate(fields)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            fname = str(err["loc"][0]) if err["loc"] else None
            key = spelled.get(fname or "", fname)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                msg = "is required"
            problems.append(Problem(name, msg, FIXES.get(fname or "", ""), key, line_of(text, key) if key else None))
        raise _Invalid(sorted(problems, key=lambda p: p.line or 0))  # in the order the editor reads them


def _page_warnings(name: str, page: Page, spelled: dict[str, str], text: str) -> list[Problem]:
    problems: list[Problem] = []
    if page.published and page.published > date.today():
        key = spelled.get("published", "date")
        problems.append(Problem(name, f"is dated {page.published}, in the future: it is not distributed before then",
                                "change the date if it should go out now", spelled.get("published"), line_of(text, key), "warning"))
    if page.updated and page.updated > date.today():
        key = spelled.get("updated", "updated")
        problems.append(Problem(name, f"{page.updated} is in the future; freshness counts it as today",
                                "set it to the day the page last changed", spelled.get("updated"), line_of(text, key), "warning"))
    problems.extend(title_warnings(name, page, lambda: line_of(text, spelled.get("title", "title"))))
    problems.extend(_weak_page_warnings(name, page))
    return problems


def extract_body(body: str, source: Path | None = None, dialect: str = "plain", mdx: bool = False) -> Extract:
    """Direct answer, key points and FAQ from the markdown, as plain text.

    Only the tokens those need are turned into text; counting words, numbers
    and links runs over the raw body, which keeps a library scan close to the
    cost of parsing alone.
    """
    env: dict = {}  # link reference definitions, found by the block parse
    tokens = _MD_BLOCKS.parse(body, env)

    def text_of(tok) -> str:
        return _plain(_MD.parseInline(tok.content, env)[0])

    direct = ""
    words_before = 0
    key_points: list[str] = []
    first_list: list[str] = []
    faq: list[tuple[str, str]] = []
    heading: str | None = None
    question: str | None = None
    list_depth = 0
    list_target: list[str] | None = None
    for i, tok in enumerate(tokens):
        kind = tok.type
        if kind == "inline":
            parent = tokens[i - 1]
            if parent.type == "heading_open":
                text = text_of(tok)
                if parent.tag in ("h1", "h2"):
                    heading = text.lower()
                    question = None
                elif text.endswith("?"):  # a question as a sub-heading, answered below: FAQ material
                    question = text
            elif parent.type == "paragraph_open":
                if list_depth == 0:
                    if question is not None:
                        faq.append((question, text_of(tok)))
                        question = None
                    elif not direct and heading is None and words_before <= DIRECT_ANSWER_WITHIN_WORDS:
                        text = text_of(tok)
                        n = len(text.split())
                        if n <= DIRECT_ANSWER_MAX_WORDS:
                            direct = text
                        words_before += n
                elif list_target is not None and list_depth == 1:
                    list_target.append(text_of(tok))
        elif kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
            if list_depth == 1:
                if heading and not key_points and _KEY_POINTS_HEADING.search(heading):
                    list_target = key_points
                elif not first_list:
                    list_target = first_list
                else:
                    list_target = None
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
            if list_depth == 0:
                list_target = None
    return Extract(
        direct_answer=direct,
        key_points=tuple(key_points or first_list),
        faq=tuple(faq),
        words=len(body.split(None, MIN_WORDS)),  # counting stops past the weak-page threshold
        numbers=sum(1 for _ in islice(_NUMBER.finditer(body), 2)),  # the rule wants "at least two"
        links=body.count("](http") + body.count("<http"),
        body="" if source else body,
        source=source,
        dialect=dialect,
        mdx=mdx,
    )


def read_body(path: Path, dialect: str = "plain", mdx: bool = False) -> str:
    """A page's body read again from its file, cleaned as when it was loaded ("" if it no longer reads)."""
    try:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError):
        return ""
    return clean_body(body_of(text), dialect, mdx)


def _plain(inline) -> str:
    """An inline token as plain text: markup, images and raw HTML dropped."""
    out: list[str] = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return " ".join("".join(out).split())


def content_hash(title: str, description: str, body: str) -> str:
    """What the summaries are made of; front-matter bookkeeping does not make a page 'changed'."""
    h = hashlib.sha256()
    for part in (str(title), str(description), body.strip()):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")  # a separator no text contains, so ("ab", "c") != ("a", "bc")
    return h.hexdigest()


def _weak_page_warnings(name: str, page: Page) -> list[Problem]:
    ex = page.extract
    found = []

    def warn(message: str, fix: str) -> None:
        found.append(Problem(name, message, fix, severity="warning"))

    if not ex.direct_answer:
        warn("weak page: no direct answer near the top",
             f"open with a paragraph of at most {DIRECT_ANSWER_MAX_WORDS} words that answers the page's question")
    if ex.numbers < 2 and ex.links < 1:
        warn("weak page: no evidence (numbers or cited sources)", "add figures and links to the sources behind them")
    if not ex.faq:
        warn("weak page: no FAQ", "add a `## FAQ` section with `### Question?` headings")
    if ex.words <= MIN_WORDS:
        warn(f"weak page: {count(ex.words, 'word')}, short for a source page", f"aim for at least {MIN_WORDS} words")
    return found


def _check_library(lib: Library, settings: Settings, distributed_urls: dict[str, set[str]]) -> None:
    """Rules across pages: unique slugs and URLs, stable canonical URLs."""
    by_slug: dict[str, Page] = {}
    by_url: dict[str, Page] = {}
    keep: list[Page] = []
    # On a clash the page whose file name is its slug keeps it: a stray copy must not
    # knock out the established page.
    for page in sorted(lib.pages, key=lambda pg: (pg.path.stem != pg.slug.split("/")[-1], str(pg.path))):
        name = display_path(page.path, settings.root, resolve=False)
        if page.slug in by_slug:
            other = display_path(by_slug[page.slug].path, settings.root, resolve=False)
            lib.problems.append(Problem(name, f"slug {page.slug!r} is already used by {other}", "give each page its own slug", "slug"))
            continue
        url = page.canonical_url.rstrip("/")
        if url in by_url:
            other = display_path(by_url[url].path, settings.root, resolve=False)
            lib.problems.append(Problem(name, f"canonical URL {page.canonical_url} is already used by {other}",
                                        "each page needs its own canonical URL", "canonical_url"))
            continue
        old = distributed_urls.get(page.slug, set()) - {page.canonical_url} - set(page.previous_urls)
        if old:
            lib.problems.append(Problem(
                name, f"canonical URL changed to {page.canonical_url} after the page was distributed as {', '.join(sorted(old))}",
                "restore the old URL, or declare it under `previous_urls:` so citation history stays joined", "canonical_url"))
            continue
        by_slug[page.slug] = page
        by_url[url] = page
        keep.append(page)
    lib.pages = sorted(keep, key=lambda pg: str(pg.path))


def _is_absolute_http(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url


def _absolutise(url: Any, base: str) -> Any:
    if isinstance(url, str) and url.startswith("/"):
        return base.rstrip("/") + url
    return url
