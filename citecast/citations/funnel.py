"""The funnel per page: posted -> engaged -> fetched by an AI crawler -> cited -> clicked from an answer.

Each stage is read from the ledger:

    posted    the first published distribution event (dry runs posted nothing)
    engaged   the platforms' own counts of our posts (engagement snapshots); > 0 interactions
    fetched   the first request by an AI agent (access logs, status < 400) after the first post, per class:
              training, search, user (someone asked an assistant)
    cited     the first answer citing the page, canonical URL or one of our posts, after the first post
    clicked   visits from an AI answer (Referer or utm_source) after the first post

A stage nobody measured (no engagement read-back yet, no logs imported) is
"not measured", not a stall: the stalled stage is the first measured stage a
page has not reached. Per cohort: pages reaching each stage (n of N) and the
median delay from the first post, with the pages it rests on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from citecast.citations.model import PageRef, _utc

if TYPE_CHECKING:
    from citecast.citations.report.tables import Table
    from citecast.ledger.store import Ledger

STAGES = ("posted", "engaged", "fetched", "cited", "clicked")
FETCH_CLASSES = ("search", "user", "training")
STALL_TEXT = {  # "{last}" is the last stage the page reached that anyone measured
    "posted": "not distributed yet",
    "engaged": "{last}, no engagement",
    "fetched": "{last}, never fetched by an AI crawler",
    "cited": "{last}, not cited",
    "clicked": "{last}, no clicks from AI answers",
}
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Event:
    page: str
    at: datetime
    stage: str  # posted | engagement | fetched | cited | clicked
    detail: str = ""  # channel, agent (class, verified), engine (via), ...
    value: int = 1  # interactions for engagement snapshots


@dataclass
class FunnelData:
    pages: list[PageRef]
    events: list[Event] = field(default_factory=list)
    logs_imported: bool = False  # any access log imported: fetches and clicks are measured
    engagement_read: bool = False  # any engagement snapshot: engagement is measured
    dry_run_only: set[str] = field(default_factory=set)  # pages posted only to the outbox so far


@dataclass
class PageFunnel:
    page: str
    cohort: str
    topic: str
    first_post: datetime | None = None
    channels: list[str] = field(default_factory=list)
    interactions: int | None = None  # None: not measured
    first_fetch: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # class -> (at, "agent, verified")
    first_citation: tuple[datetime, str] | None = None  # (at, "engine via copy")
    citations_by_copy: dict[str, int] = field(default_factory=dict)
    clicks: int = 0
    first_click: datetime | None = None
    stalled: str = ""

    def days(self, at: datetime | None) -> float | None:
        if at is None or self.first_post is None:
            return None
        return round((at - self.first_post).total_seconds() / 86400, 1)

    @property
    def first_any_fetch(self) -> datetime | None:
        return min((at for at, _ in self.first_fetch.values()), default=None)


def build_funnel(data: FunnelData) -> list[PageFunnel]:
    by_page: dict[str, list[Event]] = defaultdict(list)
    for e in sorted(data.events, key=lambda e: e.at):
        by_page[e.page].append(e)
    out = []
    for ref in data.pages:
        f = PageFunnel(ref.slug, ref.cohort, ref.topic)
        events = by_page.get(ref.slug, [])
        posts = [e for e in events if e.stage == "posted"]
        if posts:
            f.first_post = posts[0].at
            f.channels = sorted({e.detail for e in posts})
        latest: dict[str, int] = {}
        for e in events:
            if e.stage == "engagement":
                latest[e.detail] = e.value  # the newest snapshot of each post wins (events are in time order)
        # Measured only where some post of the page was read (LinkedIn without the scope, or a post younger
        # than a day, leaves it unmeasured rather than "no engagement").
        f.interactions = sum(latest.values()) if latest else None
        for e in events:
            if f.first_post is None or e.at < f.first_post:
                continue
            if e.stage == "fetched":
                klass, _, rest = e.detail.partition(":")
                f.first_fetch.setdefault(klass, (e.at, rest))
            elif e.stage == "cited":
                f.first_citation = f.first_citation or (e.at, e.detail)
                via = e.detail.rsplit(" via ", 1)[-1]
                f.citations_by_copy[via] = f.citations_by_copy.get(via, 0) + 1
            elif e.stage == "clicked":
                f.clicks += 1
                f.first_click = f.first_click or e.at
        f.stalled = _stall(f, data)
        if f.first_post is None and ref.slug in data.dry_run_only:
            f.stalled += " (dry runs only: posts in the outbox)"  # a new user's first weeks, before credentials
        out.append(f)
    return out


def _stall(f: PageFunnel, data: FunnelData) -> str:
    reached = {
        "posted": f.first_post is not None,
        "engaged": None if f.interactions is None else f.interactions > 0,
        "fetched": None if not data.logs_imported else bool(f.first_fetch),
        "cited": f.first_citation is not None,
        "clicked": None if not data.logs_imported else f.clicks > 0,
    }
    last = "posted"
    for stage in STAGES:
        if reached[stage] is False:
            return STALL_TEXT[stage].format(last=last)
        if reached[stage]:
            last = stage
    return "through every measured stage"


# --- loading ---------------------------------------------------------------------------


def load_funnel(ledger: "Ledger", pages: Sequence[PageRef], copies: Any = None) -> FunnelData:
    """Posts, engagement snapshots, AI fetches and clicks, and citations of the pages, from the ledger.

    `copies` is a citecast.citations.copies.CopyIndex (default: the ledger's published posts)."""
    from sqlalchemy import inspect, select

    from citecast.citations.copies import load_copies
    from citecast.ledger.citation_tables import CitedUrlRow, ObservationRow
    from citecast.ledger.tables import EventRow

    import citecast.ledger.log_tables as lt

    slugs = {p.slug for p in pages}
    copies = copies if copies is not None else load_copies(ledger)
    data = FunnelData(list(pages))
    tables = set(inspect(ledger.engine).get_table_names())
    with ledger.session() as s:
        for r in s.execute(select(EventRow.page, EventRow.channel, EventRow.published_at)
                           .where(EventRow.status == "published", EventRow.published_at.is_not(None))):
            if r.page in slugs:
                data.events.append(Event(r.page, _utc(r.published_at), "posted", r.channel))
        data.dry_run_only = set(s.scalars(select(EventRow.page).where(EventRow.status == "dry_run").distinct())) \
            & slugs - {e.page for e in data.events}
        if "log_hits" in tables:
            data.logs_imported = s.scalar(select(lt.LogImportRow.id).limit(1)) is not None
            for h in s.scalars(select(lt.LogHitRow).where(lt.LogHitRow.page.in_(slugs))):
                if h.kind == "fetch" and 0 < h.status < 400 and h.agent_class in FETCH_CLASSES:
                    data.events.append(Event(h.page, _utc(h.at), "fetched", f"{h.agent_class}:{h.agent}, {h.verified}"))
                elif h.kind == "referral":
                    data.events.append(Event(h.page, _utc(h.at), "clicked", h.agent))
        q = (select(CitedUrlRow.page, CitedUrlRow.normalized_url, ObservationRow.observed_at, ObservationRow.engine)
             .join(ObservationRow, ObservationRow.id == CitedUrlRow.observation_id)
             .where(CitedUrlRow.kind == "citation"))
        via: dict[str, tuple[str, str] | None] = {}
        for r in s.execute(q):
            if r.normalized_url not in via:
                via[r.normalized_url] = copies.match(r.normalized_url) if len(copies) else None
            page, channel = via[r.normalized_url] or (r.page, "canonical")
            if page in slugs:
                data.events.append(Event(page, _utc(r.observed_at), "cited", f"{r.engine} via {channel}"))
        data.engagement_read = _load_engagement(s, tables, slugs, data.events)
    return data


def _load_engagement(session: Any, tables: set[str], slugs: set[str], events: list[Event]) -> bool:
    """Engagement snapshots (total interactions per post over time), when the read-back has run."""
    if "engagement_snapshots" not in tables:
        return False
    from sqlalchemy import select

    from citecast.ledger.engagement_tables import EngagementRow
    from citecast.ledger.tables import EventRow

    found = False
    q = (select(EventRow.page, EventRow.channel, EngagementRow.event_id, EngagementRow.taken_at,
                EngagementRow.interactions)
         .join(EventRow, EventRow.id == EngagementRow.event_id).where(EngagementRow.status == "ok"))
    for r in session.execute(q):
        found = True
        if r.page in slugs:
            events.append(Event(r.page, _utc(r.taken_at), "engagement", f"{r.channel}#{r.event_id}", r.interactions))
    return found


# --- tables ------------------------------------------------------------------------------


def _median(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return round(median(got), 1) if got else None


def funnel_tables(funnels: Sequence[PageFunnel], data: FunnelData) -> dict[str, "Table"]:
    from citecast.citations.report.tables import C, Table

    na = "" if data.logs_imported else NOT_MEASURED
    rows = []
    for f in funnels:
        fetch = {k: f.first_fetch.get(k) for k in FETCH_CLASSES}
        rows.append([
            f.page, f.cohort, f.topic, f.first_post.date() if f.first_post else None, ";".join(f.channels),
            f.interactions if f.interactions is not None else NOT_MEASURED,
            *[(f.days(fetch[k][0]) if fetch[k] else na) for k in FETCH_CLASSES],
            f.days(f.first_citation[0]) if f.first_citation else "",
            f.first_citation[1] if f.first_citation else "",
            f.clicks if data.logs_imported else NOT_MEASURED, f.stalled,
        ])
    page_table = Table(
        "funnel", "Funnel per page: posted → engaged → fetched by an AI crawler → cited → clicked",
        C("page:text>pages", "cohort", "topic", "first_post:date", "channels", "interactions",
          "days_to_search_fetch:days", "days_to_user_fetch:days", "days_to_training_fetch:days",
          "days_to_citation:days", "first_citation", "ai_clicks", "stalled_at"),
        rows, key="page",
        note="days are from the page's first published post; fetches are AI agents' requests with status < 400 "
             "(search indexers, user-triggered fetchers, training crawlers), citations count our posts of the page "
             "too; 'not measured': no engagement read-back or no access log imported yet.")
    return {"funnel": page_table, "funnel_cohorts": _cohort_table(funnels, data),
            "copies_cited": _copies_table(funnels), "funnel_timeline": _timeline_table(data)}


def _cohort_table(funnels: Sequence[PageFunnel], data: FunnelData) -> "Table":
    from citecast.citations.report.tables import C, Table

    by_cohort: dict[str, list[PageFunnel]] = defaultdict(list)
    for f in funnels:
        by_cohort[f.cohort].append(f)
    rows = []
    for cohort, fs in sorted(by_cohort.items()):
        posted = [f for f in fs if f.first_post]
        n = len(fs)
        engaged = (f"{sum(1 for f in posted if (f.interactions or 0) > 0)}/{n}" if data.engagement_read
                   else NOT_MEASURED)
        fetched = f"{sum(1 for f in posted if f.first_fetch)}/{n}" if data.logs_imported else NOT_MEASURED
        clicked = f"{sum(1 for f in posted if f.clicks)}/{n}" if data.logs_imported else NOT_MEASURED
        fetch_days = [f.days(f.first_any_fetch) for f in posted if f.first_any_fetch]
        cite_days = [f.days(f.first_citation[0]) for f in posted if f.first_citation]
        rows.append([cohort, n, f"{len(posted)}/{n}", engaged, fetched,
                     f"{sum(1 for f in posted if f.first_citation)}/{n}", clicked,
                     _median(fetch_days), len(fetch_days), _median(cite_days), len(cite_days)])
    return Table("funnel_cohorts", "Funnel per cohort: pages reaching each stage, median days from the first post",
                 C("cohort", "pages:int", "posted", "engaged", "fetched", "cited", "clicked",
                   "median_days_to_fetch:days", "fetch_pages:int", "median_days_to_citation:days",
                   "citation_pages:int"), rows,
                 note="n/N: pages of the cohort that reached the stage; medians only over the pages that reached "
                      "it (fetch_pages, citation_pages): with few pages they say little.")


def _copies_table(funnels: Sequence[PageFunnel]) -> "Table":
    from citecast.citations.report.tables import C, Table

    channels = sorted({c for f in funnels for c in f.citations_by_copy if c != "canonical"})
    rows = [[f.page, f.citations_by_copy.get("canonical", 0), *[f.citations_by_copy.get(c, 0) for c in channels]]
            for f in funnels if f.citations_by_copy]
    return Table("copies_cited", "Which copy gets cited: answers citing the canonical URL vs each channel's post",
                 C("page:text>pages", "canonical:int", *[f"{c}:int" for c in channels]), rows,
                 note="answers after the page's first post; a cited post of ours counts for its page.")


def _timeline_table(data: FunnelData) -> "Table":
    from citecast.citations.report.tables import C, Table

    rows = [[e.page, e.at, e.stage, e.detail, e.value] for e in sorted(data.events, key=lambda e: (e.page, e.at))]
    return Table("funnel_timeline", "Funnel events per page, in time order",
                 C("page", "at", "stage", "detail", "value:int"), rows)


def timeline_chart(timeline: "Table", funnel: "Table") -> str:
    """One row per page on a time axis: posts, AI fetches by class, citations, clicks (from the two tables), SVG."""
    from citecast.citations.report import svg

    styles = {"posted": ("square", "#444444", "post"), "fetched:search": ("up", "#1f77b4", "AI fetch: search"),
              "fetched:user": ("down", "#17becf", "AI fetch: user"),
              "fetched:training": ("x", "#9467bd", "AI fetch: training"),
              "cited": ("star", "#d62728", "citation"), "clicked": ("circle", "#2ca02c", "AI click")}
    stalled = dict(zip(funnel.column("page"), funnel.column("stalled_at")))
    order = list(stalled)
    points, legend = [], {}
    for page, at, stage, detail, _ in timeline.rows:
        if page not in stalled or stage == "engagement":
            continue
        style = stage if stage != "fetched" else "fetched:" + detail.split(":", 1)[0]
        marker, color, label = styles.get(style, ("dot", "#999999", stage))
        points.append((at, order.index(page), marker, color))
        legend.setdefault(label, color)
    return svg.timeline([f"{p}  ({stalled[p]})" for p in order], points, list(legend.items()),
                        "Each page's funnel over time")


@dataclass
class Funnel:
    data: FunnelData
    pages: list[PageFunnel]
    tables: dict[str, Any]

    def stalled_lines(self) -> list[str]:
        return [f"{f.page}: {f.stalled}" for f in self.pages if not f.stalled.startswith("through")]


def funnel_for(ledger: "Ledger", pages: Sequence[PageRef], copies: Any = None) -> Funnel:
    data = load_funnel(ledger, pages, copies)
    funnels = build_funnel(data)
    return Funnel(data, funnels, funnel_tables(funnels, data))
