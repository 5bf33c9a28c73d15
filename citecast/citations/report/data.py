"""What the report reads: pages, answers and their cited URLs, first distributions, backlinks.

Answers and cited URLs are read straight into polars frames (one SQL query
each), so a million answers cost about what reading them costs; everything
after that is column arithmetic.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import polars as pl

from citecast.citations.model import PageRef, _utc

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

# The answers' columns every figure needs. The query text is not among them: only the answers a table
# shows need it (the drill-down, our URLs without a page), and load_data reads it for those alone
# (`ReportData.queries`), which spares a million strings at a million answers.
ANSWER_SCHEMA = {"id": pl.Int64, "engine": pl.String, "topic": pl.String, "observed_at": pl.Datetime("us", "UTC"),
                 "can_cite": pl.Boolean, "brand_mentioned": pl.Boolean}
CITED_SCHEMA = {"observation_id": pl.Int64, "position": pl.Int64, "normalized_url": pl.String}
REPORT_ANSWERS_SQL = ("SELECT id, engine, topic, observed_at, can_cite, brand_mentioned "
                      "FROM citation_observations")
# The observations as a bare read takes them (benchmarks/bench_report.py measures the report against
# it): every answer with its engine, surface, topic, query, time and flags, and every cited URL.
ANSWERS_SQL = ("SELECT id, engine, surface, topic, query, observed_at, can_cite, brand_mentioned "
               "FROM citation_observations")
CITED_SQL = ("SELECT c.observation_id, c.position, c.normalized_url FROM cited_urls c "
             "JOIN citation_observations o ON o.id = c.observation_id WHERE c.kind = 'citation'")
# The URLs engines retrieved; served by the partial index ix_cited_urls_sources (migration 0009), not a scan
# of every cited URL.
RETRIEVED_SQL = ("SELECT c.observation_id, c.normalized_url FROM cited_urls c "
                 "JOIN citation_observations o ON o.id = c.observation_id WHERE c.kind = 'source'")
RETRIEVED_SCHEMA = {"observation_id": pl.Int64, "normalized_url": pl.String}
SEARCHED_SCHEMA = {"observation_id": pl.Int64, "page": pl.String, "query_key": pl.String, "query": pl.String}


@dataclass(frozen=True)
class Arm:
    """A page's randomised arm (cohort_assignments)."""

    arm: str  # distribution | holdout
    stratum: str
    assigned_on: date
    seed: str = ""


@dataclass(frozen=True)
class Link:
    page: str | None
    source_domain: str
    anchor: str = ""
    first_seen: date | None = None
    follow: bool | None = True  # None: the export did not say


@dataclass
class ReportData:
    pages: list[PageRef]
    answers: pl.DataFrame  # ANSWER_SCHEMA
    cited: pl.DataFrame  # CITED_SCHEMA, kind = citation only
    first_distribution: dict[str, datetime] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    # Each page's first citation before the window (ledger's match at record time): left truncation.
    cited_before_window: dict[str, datetime] = field(default_factory=dict)
    excerpts: dict[int, str] = field(default_factory=dict)  # answer id -> excerpt, drill-down only
    # answer id -> its query, for the answers the tables show (drill-down, our URLs without a page)
    queries: dict[int, str] = field(default_factory=dict)
    # Cited URLs that are our own posts (citations.copies) -> (page, channel): they count for the page.
    copies: dict[str, tuple[str, str]] = field(default_factory=dict)
    # probe calls per (engine, day, ok): count and an example error; empty for imports
    calls: list[tuple[str, date, bool, int, str | None]] = field(default_factory=list)
    # What the engines did: URLs they retrieved (kind = source) and the searches they ran.
    retrieved: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RETRIEVED_SCHEMA))
    searched: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SEARCHED_SCHEMA))
    arms: dict[str, Arm] = field(default_factory=dict)  # page -> randomised arm
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # frames shared by several tables (metrics)

    @classmethod
    def of(cls, pages: Sequence[PageRef], answers: Sequence[dict[str, Any]], cited: Sequence[dict[str, Any]],
           **kw: Any) -> "ReportData":
        """From plain rows (tests and benchmarks build data this way); every answer's query is kept."""
        kw.setdefault("queries", {r["id"]: r["query"] for r in answers if r.get("query") is not None})
        a = pl.DataFrame([{**r, "observed_at": _utc(r["observed_at"])} for r in answers] or None,
                         schema=ANSWER_SCHEMA, orient="row") if answers else pl.DataFrame(schema=ANSWER_SCHEMA)
        c = pl.DataFrame(list(cited), schema=CITED_SCHEMA, orient="row") if cited else pl.DataFrame(schema=CITED_SCHEMA)
        for name, schema in (("retrieved", RETRIEVED_SCHEMA), ("searched", SEARCHED_SCHEMA)):
            if isinstance(kw.get(name), (list, tuple)):
                kw[name] = pl.DataFrame(list(kw[name]), schema=schema, orient="row") if kw[name] \
                    else pl.DataFrame(schema=schema)
        return cls(list(pages), a, c, **kw)


BATCH = 100_000  # rows per fetch: the database driver's Python rows for one batch at a time, not all


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while rows are fetched. A batch allocates about a million
    objects (row tuples, SQLAlchemy rows, strings), none in a cycle, and each allocation threshold crossed
    starts a collection over the growing heap: at a million answers that is ~35% of the read's CPU
    (measured: 7.6 s with the collector, 4.85 s without, for the same rows). Memory is still freed by
    reference counting; the collector's previous state is restored, whatever happens."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read(sql: str, conn: Any, schema: dict[str, Any], params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Rows into a polars frame in batches (bounded memory), typed as `schema` says."""
    options = {"parameters": params} if params else None
    known = {k: v for k, v in schema.items() if not isinstance(v, pl.Datetime)}  # times: text or datetime by driver
    with collector_paused():
        batches = [b for b in pl.read_database(sql, connection=conn, execute_options=options, iter_batches=True,
                                               batch_size=BATCH, schema_overrides=known) if b.height]
    if not batches:
        return pl.DataFrame(schema=schema)
    frame = pl.concat(batches, how="vertical_relaxed")
    casts = []
    for name, dtype in schema.items():
        col = frame[name]
        if isinstance(dtype, pl.Datetime) and col.dtype == pl.String:  # SQLite stores text
            casts.append(_text_times(col).alias(name))
        elif isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.replace_time_zone("UTC") if col.dtype.time_zone is None  # type: ignore
                         else pl.col(name).dt.convert_time_zone("UTC"))
        else:
            casts.append(pl.col(name).cast(dtype))
    return frame.select(casts)


# SQLAlchemy's DateTime on SQLite: "2026-05-10 14:30:00.000000", always six digits of fraction. polars
# parses that exact form on a fast path (a million rows: 0.04 s); "%.f" (any fraction, or none) takes
# 0.3 s; inferring the format about as long.
SQLITE_TIMES = ("%Y-%m-%d %H:%M:%S.%6f", "%Y-%m-%d %H:%M:%S%.f")


def _text_times(col: pl.Series) -> pl.Series:
    """Times stored as text, as UTC: SQLAlchemy's format when every row has it, else polars' own inference."""
    for fmt in SQLITE_TIMES:
        # no cache: it hashes every string to parse each distinct one once, and answer times are nearly all
        # distinct (a million rows: 0.077 s with it, 0.038 s without)
        parsed = col.str.to_datetime(fmt, time_zone="UTC", time_unit="us", strict=False, cache=False)
        if parsed.null_count() == col.null_count():
            return parsed
    return col.str.to_datetime(time_zone="UTC", time_unit="us")


def _window(column: str, since: datetime | None, until: datetime | None) -> str:
    where = []
    if since:
        where.append(f"{column} >= :since")
    if until:
        where.append(f"{column} < :until")
    return (" WHERE " + " AND ".join(where)) if where else ""


def load_data(ledger: "Ledger", pages: Sequence[PageRef], since: datetime | None = None,
              until: datetime | None = None, answers_per_page: int = 10) -> ReportData:
    """Everything the report needs from the ledger, read only."""
    from sqlalchemy import func, select

    from citecast.ledger.citation_tables import BacklinkRow, CitedUrlRow, ObservationRow
    from citecast.ledger.tables import EventRow

    params = {k: v for k, v in (("since", since), ("until", until)) if v is not None}
    answers_sql = REPORT_ANSWERS_SQL + _window("observed_at", since, until)
    cited_sql = CITED_SQL + _window("o.observed_at", since, until).replace(" WHERE ", " AND ")
    window = _window("o.observed_at", since, until).replace(" WHERE ", " AND ")
    retrieved_sql = RETRIEVED_SQL + window
    searched_sql = ("SELECT q.observation_id, o.page, q.query_key, q.query FROM search_queries q "
                    "JOIN citation_observations o ON o.id = q.observation_id WHERE 1 = 1" + window)
    with ledger.engine.connect() as conn:
        answers = _read(answers_sql, conn, ANSWER_SCHEMA, params)
        cited = _read(cited_sql, conn, CITED_SCHEMA, params)
        retrieved = _read(retrieved_sql, conn, RETRIEVED_SCHEMA, params)
        searched = _read(searched_sql, conn, SEARCHED_SCHEMA, params)
    with ledger.session() as s:
        firsts: dict[str, datetime] = {}
        for status in ("dry_run", "published"):  # published wins where a page has both
            for page, first in s.execute(
                select(EventRow.page, func.min(EventRow.published_at))
                .where(EventRow.status == status, EventRow.published_at.is_not(None)).group_by(EventRow.page)
            ):
                firsts[page] = _utc(first)
        links = [Link(r.page, r.source_domain, r.anchor or "", r.first_seen, r.follow)
                 for r in s.scalars(select(BacklinkRow))]
        before: dict[str, datetime] = {}
        if since is not None:
            q = (select(CitedUrlRow.page, func.min(ObservationRow.observed_at))
                 .join(ObservationRow, ObservationRow.id == CitedUrlRow.observation_id)
                 .where(CitedUrlRow.page.is_not(None), CitedUrlRow.kind == "citation",
                        ObservationRow.observed_at < since).group_by(CitedUrlRow.page))
            before = {p: _utc(t) for p, t in s.execute(q)}
    data = ReportData(list(pages), answers, cited, firsts, links, before, retrieved=retrieved, searched=searched,
                      arms=_arms(ledger))
    data.copies = _copies(ledger, cited)
    data.excerpts, data.queries = _shown_answers(ledger, data, answers_per_page)
    data.calls = _calls(ledger, since, until)
    return data


def _copies(ledger: "Ledger", cited: pl.DataFrame) -> dict[str, tuple[str, str]]:
    from citecast.citations.copies import load_copies

    index = load_copies(ledger)
    if not len(index):
        return {}
    found = {}
    for url in cited["normalized_url"].unique().to_list():
        hit = index.match(url)
        if hit is not None:
            found[url] = hit
    return found


def _calls(ledger: "Ledger", since: datetime | None, until: datetime | None) -> list:
    """Probe calls grouped by engine, day and outcome, in SQL: a few rows whatever the number of calls."""
    from sqlalchemy import func, select

    from citecast.ledger.citation_tables import ProbeCallRow

    day = func.date(ProbeCallRow.called_at)
    q = select(ProbeCallRow.engine, day, ProbeCallRow.ok, func.count(), func.max(ProbeCallRow.error))
    if since:
        q = q.where(ProbeCallRow.called_at >= since)
    if until:
        q = q.where(ProbeCallRow.called_at < until)
    with ledger.session() as s:
        rows = s.execute(q.group_by(ProbeCallRow.engine, day, ProbeCallRow.ok)).all()
    return [(e, d if isinstance(d, date) else date.fromisoformat(str(d)), bool(ok), n, err) for e, d, ok, n, err in rows]


def _arms(ledger: "Ledger") -> dict[str, Arm]:
    from sqlalchemy import select

    from citecast.ledger.tables import CohortAssignmentRow

    with ledger.session() as s:
        return {r.page: Arm(r.arm, r.stratum, r.assigned_on, r.seed) for r in s.scalars(select(CohortAssignmentRow))}


def _shown_answers(ledger: "Ledger", data: ReportData, per_page: int) -> tuple[dict[int, str], dict[int, str]]:
    """The kept text and the query of the answers the tables show (the drill-down's, and those citing our
    domain without a page to match), and of no others (bounded memory)."""
    from sqlalchemy import select

    from citecast.citations.report.metrics import recent_citing, unmatched_own_citations
    from citecast.ledger.citation_tables import ObservationRow

    drill = set(recent_citing(data, per_page)["observation_id"].to_list()) if per_page else set()
    ids = sorted(drill | set(unmatched_own_citations(data)["observation_id"].to_list()))
    excerpts: dict[int, str] = {}
    queries: dict[int, str] = {}
    with ledger.engine.connect() as conn:  # Core rows: no ORM session for a few thousand id lookups
        for start in range(0, len(ids), 1000):
            q = select(ObservationRow.id, ObservationRow.query, ObservationRow.answer_text).where(
                ObservationRow.id.in_(ids[start:start + 1000]))
            for i, query, text in conn.execute(q):
                queries[i] = query
                if text is not None and i in drill:
                    excerpts[i] = text
    return excerpts, queries
