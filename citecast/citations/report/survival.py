"""Time to first citation as survival: Kaplan-Meier by cohort, Cox within topic (lifelines' and statsmodels'
estimators, computed in numeric.py and tested against them).

- start = the later of publication and the page's own start: first distribution
  (first published post, else first dry run), for the `links` cohort the first
  backlink's first-seen date, for a page with neither its publication date;
- a citation before publication never counts; a page already cited between
  publication and its start is left out of the curves (counted), since its
  first citation did not follow the start;
- a page never cited is censored at the last answer of its topic in the window;
- a page that started before `--since` enters at `since` (left truncation) and
  is left out when the ledger shows it cited before `since`;
- the curves are Kaplan-Meier with delayed entry; the comparison of two cohorts
  is a Cox model stratified by topic with delayed entry (its likelihood-ratio
  test; with one binary covariate this is the stratified log-rank question),
  hazard ratio with its interval, Holm across comparisons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Sequence

import numpy as np
import polars as pl

from citecast.citations.model import PageRef
from citecast.citations.report.data import ReportData
from citecast.citations.report.metrics import citing_answers, hits
from citecast.citations.report.numeric import cox_efron, holm, kaplan_meier, logrank
from citecast.citations.report.statistics import Rules

DAY = 86400.0


@dataclass
class PageTiming:
    slug: str
    cohort: str
    topic: str
    start: datetime | None
    start_kind: str  # distribution | link | publication | none
    first_distribution: datetime | None
    first_link: date | None
    first_citation: datetime | None  # at or after the start
    days_to_citation: float | None
    cited_before_start: bool
    entry_days: float = 0.0  # > 0: started before the window (left truncation)
    end: datetime | None = None  # censoring time: last answer of the topic in the window
    status: str = ""  # in the curves: cited | censored; else why not


@dataclass
class Curve:
    cohort: str
    pages: int
    events: int
    late_entries: int
    median_days: float | None
    median_low: float | None
    median_high: float | None
    points: list[tuple[float, float, float, float]]  # days, share cited, CI low, CI high


@dataclass
class SurvivalComparison:
    a: str
    b: str
    pages_a: int
    pages_b: int
    hazard_ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p: float | None = None
    p_holm: float | None = None
    logrank_p: float | None = None  # plain log-rank over pooled topics, only without late entries
    missing: list[str] = field(default_factory=list)


@dataclass
class Survival:
    timings: dict[str, PageTiming]
    curves: list[Curve]
    comparisons: list[SurvivalComparison]


def _day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def page_timings(data: ReportData, since: datetime | None) -> dict[str, PageTiming]:
    answers = citing_answers(data)
    topic_end = dict(answers.group_by("topic").agg(pl.col("observed_at").max()).iter_rows())
    first_link: dict[str, date] = {}
    for link in data.links:
        if link.page and link.first_seen and (link.page not in first_link or link.first_seen < first_link[link.page]):
            first_link[link.page] = link.first_seen
    starts = {p.slug: _start(p, data.first_distribution.get(p.slug), first_link.get(p.slug)) for p in data.pages}
    # one row per page in data.pages' order, which is the order hits number pages in (page_no): a gather, not a join
    clocks = pl.DataFrame({"published_at": [_day(p.published) if p.published else None for p in data.pages],
                           "start": [starts[p.slug][0] for p in data.pages]},
                          schema={"published_at": pl.Datetime("us", "UTC"), "start": pl.Datetime("us", "UTC")})
    cited = hits(data).select("page_no", "observed_at")
    # Per page: its first citation since publication, and its first at or after its start (one pass, in polars).
    firsts = (pl.concat([cited, clocks.gather(cited["page_no"])], how="horizontal")
              .filter(pl.col("published_at").is_null() | (pl.col("observed_at") >= pl.col("published_at")))
              .group_by("page_no").agg(pl.col("observed_at").min().alias("first_valid"),
                                       pl.col("observed_at").filter(pl.col("observed_at") >= pl.col("start")).min()
                                       .alias("first_after")))
    found = {data.pages[no].slug: (first_valid, first_after) for no, first_valid, first_after in firsts.iter_rows()}
    out = {}
    for page in data.pages:
        start, kind = starts[page.slug]
        first_valid, first_after = found.get(page.slug, (None, None))
        out[page.slug] = _timing(page, start, kind, data.first_distribution.get(page.slug), first_link.get(page.slug),
                                 first_valid, first_after, topic_end.get(page.topic),
                                 data.cited_before_window.get(page.slug), since)
    return out


def _start(page: PageRef, first_dist: datetime | None, first_link: date | None) -> tuple[datetime | None, str]:
    published = _day(page.published) if page.published else None
    if first_dist is not None and page.cohort != "links":
        start, kind = first_dist, "distribution"
    elif first_link is not None:
        start, kind = _day(first_link), "link"
    elif first_dist is not None:
        start, kind = first_dist, "distribution"
    elif published is not None:
        start, kind = published, "publication"
    else:
        start, kind = None, "none"
    if start is not None and published is not None and published > start:
        start = published  # distributed before it was published: its clock starts at publication
    return start, kind


def _timing(page: PageRef, start: datetime | None, kind: str, first_dist: datetime | None, first_link: date | None,
            first_valid: datetime | None, first: datetime | None, end: datetime | None,
            cited_earlier: datetime | None, since: datetime | None) -> PageTiming:
    """One page's clock; `first_valid`: its first citation since publication, `first`: since its start."""
    published = _day(page.published) if page.published else None
    before = bool(start is not None and ((first_valid is not None and first_valid < start)
                                         or (cited_earlier is not None and cited_earlier < start)))
    t = PageTiming(page.slug, page.cohort, page.topic, start, kind, first_dist, first_link, first,
                   (first - start).total_seconds() / DAY if first and start else None, before, end=end)
    if start is None:
        t.status = "no start date"
    elif before:
        t.status = "cited before its start"
    elif since is not None and start < since:
        if cited_earlier is not None and (published is None or cited_earlier >= published):
            t.status = "cited before the window"
        t.entry_days = (since - start).total_seconds() / DAY
    if not t.status:
        if end is None or (first is None and end <= start):
            t.status = "no answers after its start"
        else:
            t.status = "cited" if first else "censored"
    return t


def _rows(timings: Sequence[PageTiming]) -> list[tuple[str, str, float, bool, float]]:
    """(cohort, topic, duration, event, entry) of the pages in the curves."""
    rows = []
    for t in timings:
        if t.status not in ("cited", "censored"):
            continue
        end = t.first_citation if t.first_citation else t.end
        duration = (end - t.start).total_seconds() / DAY
        if duration <= t.entry_days:
            t.status = "no time at risk in the window"
            continue
        rows.append((t.cohort, t.topic, max(duration, 1e-6), t.first_citation is not None, t.entry_days))
    return rows


def curves(rows: list[tuple[str, str, float, bool, float]], order: Sequence[str]) -> list[Curve]:
    """Kaplan-Meier per cohort with late entry and the exponential Greenwood band (lifelines' estimator,
    numeric.kaplan_meier)."""
    out = []
    for cohort in order:
        sel = [r for r in rows if r[0] == cohort]
        if not sel:
            continue
        km = kaplan_meier([r[2] for r in sel], [r[3] for r in sel], [r[4] for r in sel])
        points = [(float(t), 1 - float(s), 1 - float(hi), 1 - float(lo))
                  for t, s, lo, hi in zip(km.times, km.survival, km.lower, km.upper)]
        out.append(Curve(cohort, len(sel), sum(r[3] for r in sel), sum(r[4] > 0 for r in sel), _finite(km.median),
                         _finite(km.median_lower), _finite(km.median_upper), points))
    return out


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def compare_survival(rows: list[tuple[str, str, float, bool, float]], a: str, b: str,
                     rules: Rules) -> SurvivalComparison:
    sel = [r for r in rows if r[0] in (a, b)]
    topics = {arm: {r[1] for r in sel if r[0] == arm} for arm in (a, b)}
    shared = topics[a] & topics[b]
    sel = [r for r in sel if r[1] in shared]
    c = SurvivalComparison(a, b, sum(r[0] == a for r in sel), sum(r[0] == b for r in sel))
    for arm, n in ((a, c.pages_a), (b, c.pages_b)):
        if n < rules.min_pages:
            c.missing.append(f"{arm} has {n} page{'' if n == 1 else 's'} in shared topics (need {rules.min_pages})")
    events = sum(r[3] for r in sel)
    if not c.missing and events == 0:
        c.missing.append("no page was cited yet")
    if c.missing:
        return c
    frame = {"topic": np.array([r[1] for r in sel]), "duration": np.array([r[2] for r in sel], float),
             "event": np.array([r[3] for r in sel], bool), "entry": np.array([r[4] for r in sel], float),
             "treat": np.array([r[0] == a for r in sel], float)}
    try:
        c.hazard_ratio, c.ci_low, c.ci_high, c.p = cox_within_topic(frame)
    except ArithmeticError as exc:  # NoFiniteEstimate (e.g. every citation in one arm); a bug still raises
        c.missing.append(f"the model did not converge ({type(exc).__name__}): too few citations in one arm")
    if not (frame["entry"] > 0).any():
        in_a = frame["treat"] == 1
        c.logrank_p = logrank(frame["duration"][in_a], frame["duration"][~in_a], frame["event"][in_a],
                              frame["event"][~in_a])
    return c


def cox_within_topic(frame: Any) -> tuple[float, float, float, float]:
    """Hazard ratio of `treat` with its 95% interval and likelihood-ratio p: Cox, strata = topic, Efron ties,
    entry times for left truncation. `frame`: columns duration, event, treat, topic, entry (a dict of arrays
    or a data frame).

    statsmodels' PHReg's estimator, computed in numeric.cox_efron (one binary covariate: a few lines of
    numpy, without a second of imports); tested against PHReg and lifelines' CoxPHFitter.
    """
    col = {k: np.asarray(frame[k]) for k in ("duration", "event", "treat", "topic", "entry")}
    return cox_efron(col["duration"].astype(float), col["event"].astype(bool), col["treat"].astype(float),
                     col["topic"], col["entry"].astype(float))


def survival(data: ReportData, since: datetime | None, rules: Rules, cohorts: Sequence[str]) -> Survival:
    timings = page_timings(data, since)
    rows = _rows(list(timings.values()))
    present = {r[0] for r in rows}
    comps = [compare_survival(rows, a, b, rules) for a, b in rules.pairs if a in present and b in present]
    tested = [c for c in comps if c.p is not None]
    if tested:
        for c, adj in zip(tested, holm([c.p for c in tested])[1]):
            c.p_holm = float(adj)
    order = [c for c in cohorts if c in present] + sorted(present - set(cohorts))
    return Survival(timings, curves(rows, order), comps)
