"""Citations: settings, URL normalisation, matching cited URLs to pages, the observation log.

Everything here is plain Python over the ledger; engines (engines.py), CSV
imports (imports.py) and the report (report.py) build on it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal, Protocol, Sequence
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from citecast.settings import Settings
    from citecast.ledger.store import Ledger

from citecast.settings import Citations, EngineKind, EngineSettings, Surface  # noqa: F401  (re-exported)


def citations_settings(settings: "Settings | None") -> Citations:
    """The `[citations]` settings (defaults when there are no settings)."""
    return settings.citations if settings is not None else Citations()


def resolve(settings: "Settings | None", p: Path) -> Path:
    if p.is_absolute() or settings is None:
        return p
    return Path(getattr(settings, "root", Path("."))) / p


# --- URL normalisation -------------------------------------------------------

# Parameters that say where a visitor came from, never which page it is.
TRACKING_PARAMS = frozenset(
    {
        "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "yclid", "twclid",
        "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "_hsenc", "_hsmktg", "hsctatracking",
        "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "ref", "ref_src", "ref_url", "referrer",
        "source", "srsltid", "si", "s_kwcid", "_ga", "_gl", "spm", "cmpid", "campaign_id",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "ga_", "hsa_", "itm_")
DEFAULT_PORTS = {"http": 80, "https": 443}
INDEX_FILES = ("index.html", "index.htm", "index.php")
_UNRESERVED = "-._~"


def is_tracking_param(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """The form two URLs share when they name the same page.

    http and https, host case, `www.`, default ports, a trailing slash, an index
    file, fragments and tracking parameters make no difference; the order of the
    remaining query parameters does not either. Raises ValueError when `url` is
    not an http(s) URL.
    """
    raw = (url or "").strip()
    if not raw:
        raise ValueError("empty URL")
    if "://" not in raw:
        if raw.startswith("//"):
            raw = "https:" + raw
        elif re.match(r"^[\w.-]+\.[a-z]{2,}(?::\d+)?(/|$|\?)", raw, re.I):
            raw = "https://" + raw
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host or " " in host or "." not in host and host != "localhost":
        raise ValueError(f"no host in URL: {url!r}")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    if host.startswith("www."):
        host = host[4:]
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in URL: {url!r}") from None
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=" + _UNRESERVED + "%")
    path = re.sub(r"/{2,}", "/", path)
    for index in INDEX_FILES:
        if path.endswith("/" + index):
            path = path[: -len(index)]
    path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)]
    # https for all: the same page served over both schemes is one page.
    return urlunsplit(("https", netloc, path, urlencode(sorted(query)), ""))


def is_url(text: str) -> bool:
    try:
        normalize_url(text)
    except ValueError:
        return False
    return True


def url_domain(url: str) -> str:
    """Host without `www.`, for referring-domain counts."""
    return urlsplit(normalize_url(url)).hostname or ""


# --- pages and tracked queries ----------------------------------------------


class PageLike(Protocol):
    slug: str
    canonical_url: str
    previous_urls: list[str]
    topic: str
    cohort: str
    updated: date | None
    published: date | None
    queries: list[str]


@dataclass(frozen=True)
class PageRef:
    """What the citation side needs of a page (citecast.pages.loading.Page has all of it)."""

    slug: str
    canonical_url: str
    previous_urls: tuple[str, ...] = ()
    topic: str = "general"
    cohort: str = "distribution"
    updated: date | None = None
    published: date | None = None
    queries: tuple[str, ...] = ()

    @classmethod
    def of(cls, page: Any) -> "PageRef":
        if isinstance(page, PageRef):
            return page
        return cls(
            slug=page.slug,
            canonical_url=page.canonical_url,
            previous_urls=tuple(getattr(page, "previous_urls", None) or ()),
            topic=getattr(page, "topic", None) or "general",
            cohort=getattr(page, "cohort", None) or "distribution",
            updated=getattr(page, "updated", None),
            published=getattr(page, "published", None),
            queries=tuple(getattr(page, "queries", None) or ()),
        )


def query_key(q: str) -> str:
    """The form two spellings of one query share: case, spacing and a final "?" make no difference."""
    return " ".join(q.lower().split()).rstrip("?").strip()




class PageIndex:
    """Finds the page a cited URL names: its canonical URL, any previous one, or one of our posts of it.

    `copies` (citecast.citations.copies.CopyIndex) makes a cited Reddit thread, X post, LinkedIn
    update, Bluesky or Mastodon post of ours count for its page; `via` says through which copy.
    """

    def __init__(self, pages: Iterable[Any], copies: Any = None):
        self.copies = copies
        self.pages: dict[str, PageRef] = {}
        self._by_url: dict[str, str] = {}
        self._by_query: dict[str, str] = {}
        for page in pages:
            ref = PageRef.of(page)
            self.pages[ref.slug] = ref
            for u in (ref.canonical_url, *ref.previous_urls):
                try:
                    self._by_url.setdefault(normalize_url(u), ref.slug)
                except ValueError:
                    continue
            for q in ref.queries:
                self._by_query.setdefault(query_key(q), ref.slug)

    def match(self, url: str) -> str | None:
        found = self.via(url)
        return found[0] if found else None

    def via(self, url: str) -> tuple[str, str] | None:
        """(page, "canonical" or the channel of our post) for a URL naming one of our pages."""
        try:
            slug = self._by_url.get(normalize_url(url))
        except ValueError:
            slug = None
        if slug is not None:
            return (slug, "canonical")
        if self.copies is not None:
            return self.copies.match(url)
        return None

    def page_for_query(self, query: str) -> str | None:
        return self._by_query.get(query_key(query))

    def topic_for_query(self, query: str) -> str | None:
        slug = self.page_for_query(query)
        return self.pages[slug].topic if slug else None


@dataclass(frozen=True)
class TrackedQuery:
    query: str
    topic: str
    page: str | None = None


def tracked_queries(pages: Iterable[Any], queries_dir: Path | None = None) -> list[TrackedQuery]:
    """Each page's `queries:`, then `<queries_dir>/<topic>.txt` (one a line, `#` comments)."""
    found: dict[str, TrackedQuery] = {}
    for page in pages:
        ref = PageRef.of(page)
        for q in ref.queries:
            found.setdefault(query_key(q), TrackedQuery(q.strip(), ref.topic, ref.slug))
    if queries_dir is not None and queries_dir.is_dir():
        for f in sorted(queries_dir.glob("*.txt")):
            for line in f.read_text(encoding="utf-8").splitlines():
                q = line.split("#", 1)[0].strip()
                if q:
                    found.setdefault(query_key(q), TrackedQuery(q, f.stem))
    return list(found.values())


# --- answers -------------------------------------------------------------------


def answer_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def answer_excerpt(text: str, keep: str = "excerpt", chars: int = 1000) -> str | None:
    """What the ledger keeps of an answer: all of it, its first `chars` characters (cut at a word), or nothing."""
    if keep == "none":
        return None
    if keep == "full" or len(text) <= chars:
        return text
    cut = text[:chars]
    space = cut.rfind(" ")
    return (cut[:space] if space > chars // 2 else cut).rstrip() + " …"


def mentions_brand(text: str, brand_names: Sequence[str]) -> bool:
    """A brand name as a whole word, any case (`Acme` in "acme's", not in "acmeville")."""
    for name in brand_names:
        name = name.strip()
        if name and re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.IGNORECASE):
            return True
    return False


@dataclass(frozen=True)
class Cited:
    url: str
    kind: str = "citation"  # citation | source
    title: str | None = None
    position: int | None = None  # as an export states it; else the order of appearance


@dataclass
class Observation:
    engine: str
    surface: str
    query: str
    topic: str
    observed_at: datetime
    cited: list[Cited] = field(default_factory=list)  # in answer order
    page: str | None = None
    engine_kind: str = ""
    model: str | None = None
    sample: int = 0
    can_cite: bool = True
    brand_mentioned: bool | None = None
    answer_sha256: str | None = None
    run_id: str | None = None
    dedupe_key: str | None = None
    answer_text: str | None = None  # all or a bounded excerpt, as citations.keep_answer says
    search_queries: list[str] = field(default_factory=list)  # the searches the engine ran, in order
    input_tokens: int | None = None
    output_tokens: int | None = None
    search_calls: int | None = None
    cost_usd: float | None = None
    country: str | None = None  # where the answer was seen (imports); answers of two countries never merge
    import_group: str | None = None  # an import's identity without its URLs (imports.py)


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def observation_row(obs: Observation, index: PageIndex, import_id: int | None = None):
    """The ORM rows of one observation: cited URLs deduplicated per kind, positions 1-based."""
    from citecast.ledger.citation_tables import CitedUrlRow, ObservationRow, SearchQueryRow

    row = ObservationRow(
        engine=obs.engine, engine_kind=obs.engine_kind, surface=obs.surface, model=obs.model,
        query=obs.query, topic=obs.topic, page=obs.page, sample=obs.sample,
        observed_at=_utc(obs.observed_at), can_cite=obs.can_cite, brand_mentioned=obs.brand_mentioned,
        answer_sha256=obs.answer_sha256, run_id=obs.run_id, import_id=import_id, dedupe_key=obs.dedupe_key,
        answer_text=obs.answer_text, input_tokens=obs.input_tokens, output_tokens=obs.output_tokens,
        search_calls=obs.search_calls, cost_usd=obs.cost_usd, country=obs.country, import_group=obs.import_group,
    )
    ran = [q.strip() for q in obs.search_queries if q and q.strip()]
    # query_key is an indexed String(500): an engine's overlong search is kept whole in `query`, folded in part.
    row.search_queries = [SearchQueryRow(position=k + 1, query=q, query_key=query_key(q)[:500])
                          for k, q in enumerate(ran)]
    seen: set[tuple[str, str]] = set()
    position = {"citation": 0, "source": 0}
    for c in obs.cited:
        try:
            norm = normalize_url(c.url)
        except ValueError:
            continue  # an engine's odd reference (a file, a bare name) is not a web citation
        if (c.kind, norm) in seen:
            continue
        seen.add((c.kind, norm))
        position[c.kind] = c.position if c.position else position.get(c.kind, 0) + 1
        row.cited.append(
            CitedUrlRow(kind=c.kind, position=position[c.kind], url=c.url, normalized_url=norm,
                        page=index.match(c.url), title=c.title)
        )
    return row


def record_observation(ledger: "Ledger", obs: Observation, index: PageIndex, call: dict[str, Any] | None = None) -> int:
    """Write one observation, its cited URLs (and the probe call that got it) in one transaction; return its id."""
    from citecast.ledger.citation_tables import ProbeCallRow

    with ledger.session() as s:
        row = observation_row(obs, index)
        s.add(row)
        s.flush()
        if call is not None:
            s.add(ProbeCallRow(**call, ok=True, observation_id=row.id))
        return row.id


def record_failed_call(ledger: "Ledger", call: dict[str, Any], error: str) -> None:
    """A probe call that got no answer, with the reason: coverage counts it."""
    from citecast.ledger.citation_tables import ProbeCallRow

    with ledger.session() as s:
        s.add(ProbeCallRow(**call, ok=False, error=error[:2000]))


def load_pages(settings: "Settings", ledger: "Ledger | None" = None) -> list[PageRef]:
    """The pages from content/ (cohorts as randomised arms make them), else the ledger's snapshots."""
    try:
        from citecast.pages.arms import apply_arms
        from citecast.pages.loading import load_library

        library = load_library(settings)
        if library.pages:
            return [PageRef.of(p) for p in apply_arms(library.pages, ledger.cohort_arms() if ledger else {})]
    except ImportError:
        pass
    if ledger is None:
        return []
    from sqlalchemy import select

    from citecast.ledger.tables import PageRow

    with ledger.session() as s:
        return [
            PageRef(slug=r.slug, canonical_url=r.canonical_url, previous_urls=tuple(r.previous_urls or ()),
                    topic=r.topic or "general", cohort=r.cohort or "distribution", updated=r.updated)
            for r in s.scalars(select(PageRow))
        ]


def open_ledger(settings: "Settings") -> "Ledger":
    import citecast.ledger.citation_tables  # noqa: F401
    from citecast.ledger.store import Ledger

    return Ledger(settings.ledger_url)
