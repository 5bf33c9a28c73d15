"""The citation report: pickup by topic, freshness and cohort, time to first citation, before/after.

The unit is a page-answer pair: every sampled answer (from an engine that can
cite) to a query of topic T is an opportunity for every page of topic T.
For a set of pairs:

- citation rate = pairs whose answer cites the page / pairs;
- citation share = those citations / all distinct URLs cited in the pairs' answers;
- visibility = mean of 1/k, k the page's best position in the answer (0 when
  not cited): earlier citations count more, after the GEO paper's
  position-adjusted measures (Aggarwal et al., 2023), but independent of the
  answer's length so hand-checkable.

Numbers are exact (`Fraction`) until they are printed; every rate is printed
with its counts, and no winner is named when an arm has fewer than
`min_observations` pairs or the difference is within noise (two-proportion
z-test, |z| < 1.96).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from citecast.citations.model import PageIndex, PageRef, _utc

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

COHORTS = ("distribution", "links", "both", "control")


# --- input -----------------------------------------------------------------------


@dataclass(frozen=True)
class Obs:
    id: int
    engine: str
    topic: str
    observed_at: datetime
    cited: tuple[tuple[int, str], ...] = ()  # (position, normalized URL) of kind citation
    can_cite: bool = True
    brand_mentioned: bool | None = None
    surface: str = "api"
    query: str = ""


@dataclass(frozen=True)
class Link:
    page: str | None
    source_domain: str
    anchor: str = ""
    first_seen: date | None = None
    follow: bool = True


@dataclass
class ReportData:
    pages: list[PageRef]
    observations: list[Obs]
    first_distribution: dict[str, datetime] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)


def load_data(ledger: "Ledger", pages: Sequence[PageRef], since: datetime | None = None,
              until: datetime | None = None) -> ReportData:
    """Observations, first distributions and backlinks from the ledger (read only)."""
    from sqlalchemy import func, select

    from citecast.ledger.citation_tables import BacklinkRow, CitedUrlRow, ObservationRow
    from citecast.ledger.tables import EventRow

    with ledger.session() as s:
        q = select(ObservationRow)
        if since:
            q = q.where(ObservationRow.observed_at >= since)
        if until:
            q = q.where(ObservationRow.observed_at < until)
        rows = list(s.scalars(q.order_by(ObservationRow.observed_at, ObservationRow.id)))
        cited: dict[int, list[tuple[int, str]]] = defaultdict(list)
        cq = select(CitedUrlRow.observation_id, CitedUrlRow.position, CitedUrlRow.normalized_url).where(
            CitedUrlRow.kind == "citation")
        for oid, pos, norm in s.execute(cq):
            cited[oid].append((pos, norm))
        observations = [
            Obs(r.id, r.engine, r.topic, _utc(r.observed_at), tuple(sorted(cited.get(r.id, []))), r.can_cite,
                r.brand_mentioned, r.surface, r.query)
            for r in rows
        ]
        firsts: dict[str, datetime] = {}
        for status in ("dry_run", "published"):  # published wins where a page has both
            for page, first in s.execute(
                select(EventRow.page, func.min(EventRow.published_at))
                .where(EventRow.status == status, EventRow.published_at.is_not(None)).group_by(EventRow.page)
            ):
                firsts[page] = _utc(first)
        links = [Link(r.page, r.source_domain, r.anchor or "", r.first_seen, r.follow)
                 for r in s.scalars(select(BacklinkRow))]
    return ReportData(list(pages), observations, firsts, links)


# --- metrics -----------------------------------------------------------------------


@dataclass
class Tally:
    answers: set[int] = field(default_factory=set)
    pairs: int = 0
    cited: int = 0
    citations: int = 0  # all distinct URLs cited in the pairs' answers
    weight: Fraction = Fraction(0)

    def add(self, obs: Obs, position: int | None) -> None:
        self.answers.add(obs.id)
        self.pairs += 1
        self.citations += len(obs.cited)
        if position is not None:
            self.cited += 1
            self.weight += Fraction(1, position)

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.cited, self.pairs) if self.pairs else None

    @property
    def share(self) -> Fraction | None:
        return Fraction(self.cited, self.citations) if self.citations else None

    @property
    def visibility(self) -> Fraction | None:
        return self.weight / self.pairs if self.pairs else None


def pct(value: Fraction | None) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f}%"


def fmt_rate(num: int, den: int) -> str:
    return f"{pct(Fraction(num, den) if den else None)} ({num}/{den})"


def freshness_bucket(age_days: int | None, edges: Sequence[int]) -> str:
    if age_days is None:
        return "unknown"
    lo = 0
    for edge in edges:
        if age_days <= edge:
            return f"{lo}-{edge}d"
        lo = edge + 1
    return f">{edges[-1]}d" if edges else "all"


def bucket_labels(edges: Sequence[int]) -> list[str]:
    labels, lo = [], 0
    for edge in edges:
        labels.append(f"{lo}-{edge}d")
        lo = edge + 1
    return labels + ([f">{edges[-1]}d"] if edges else []) + ["unknown"]


def page_age(page: PageRef, when: datetime) -> int | None:
    """Days since the page was updated, as of `when`.

    Only the current `updated` date is known; an observation made before it saw
    an older version, so fall back to `published`, else unknown.
    """
    day = when.date()
    for ref in (page.updated, page.published):
        if ref is not None and ref <= day:
            return (day - ref).days
    return None


@dataclass(frozen=True)
class Pair:
    page: PageRef
    obs: Obs
    position: int | None  # best position of the page in the answer, None when not cited


def pairs_of(data: ReportData, index: PageIndex) -> list[Pair]:
    by_topic: dict[str, list[PageRef]] = defaultdict(list)
    for p in data.pages:
        by_topic[p.topic].append(p)
    pairs: list[Pair] = []
    for obs in data.observations:
        if not obs.can_cite:
            continue
        best: dict[str, int] = {}
        for pos, url in obs.cited:
            slug = index.match(url)
            if slug and (slug not in best or pos < best[slug]):
                best[slug] = pos
        for page in by_topic.get(obs.topic, []):
            pairs.append(Pair(page, obs, best.get(page.slug)))
    return pairs


def tally(pairs: Iterable[Pair], key: Callable[[Pair], Any]) -> dict[Any, Tally]:
    out: dict[Any, Tally] = defaultdict(Tally)
    for p in pairs:
        out[key(p)].add(p.obs, p.position)
    return dict(out)


@dataclass(frozen=True)
class Verdict:
    a: str
    b: str
    a_cited: int
    a_pairs: int
    b_cited: int
    b_pairs: int
    winner: str | None
    text: str


def compare(a: str, ta: Tally | None, b: str, tb: Tally | None, min_observations: int) -> Verdict:
    ta, tb = ta or Tally(), tb or Tally()
    counts = f"{a} {fmt_rate(ta.cited, ta.pairs)} vs {b} {fmt_rate(tb.cited, tb.pairs)}"
    if ta.pairs < min_observations or tb.pairs < min_observations:
        text = f"no winner yet: too few observations ({counts}; need {min_observations} per arm)"
        return Verdict(a, b, ta.cited, ta.pairs, tb.cited, tb.pairs, None, text)
    pooled = (ta.cited + tb.cited) / (ta.pairs + tb.pairs)
    se = math.sqrt(pooled * (1 - pooled) * (1 / ta.pairs + 1 / tb.pairs))
    diff = ta.cited / ta.pairs - tb.cited / tb.pairs
    z = diff / se if se else 0.0
    if abs(z) < 1.96:
        text = f"no clear difference ({counts}; z={z:.2f})"
        return Verdict(a, b, ta.cited, ta.pairs, tb.cited, tb.pairs, None, text)
    winner = a if diff > 0 else b
    text = f"{winner} ahead ({counts}; z={z:.2f}, p<0.05)"
    return Verdict(a, b, ta.cited, ta.pairs, tb.cited, tb.pairs, winner, text)


@dataclass
class PageTiming:
    slug: str
    cohort: str
    start: datetime | None
    start_kind: str  # distribution | link | none
    first_distribution: datetime | None
    first_link: date | None
    first_citation: datetime | None  # at or after start
    days_to_citation: int | None
    cited_before_start: bool
    before: Tally
    after: Tally


@dataclass
class LinkStats:
    links: int
    referring_domains: int
    links_per_week: Fraction | None
    dofollow_share: Fraction | None
    anchor_diversity: Fraction | None  # distinct anchors / links


def link_stats(links: Sequence[Link]) -> LinkStats:
    if not links:
        return LinkStats(0, 0, None, None, None)
    days = sorted(l.first_seen for l in links if l.first_seen)
    weeks = max(1, math.ceil(((days[-1] - days[0]).days + 1) / 7)) if days else None
    anchors = {" ".join(l.anchor.lower().split()) for l in links}
    return LinkStats(
        len(links), len({l.source_domain for l in links}),
        Fraction(len(days), weeks) if weeks else None,
        Fraction(sum(l.follow for l in links), len(links)),
        Fraction(len(anchors), len(links)),
    )


Table = tuple[list[str], list[list[Any]]]


@dataclass
class Report:
    generated_at: datetime
    since: datetime | None
    until: datetime | None
    answers: int  # observations from engines that can cite
    all_answers: int
    pairs: int
    by_topic: dict[str, Tally]
    by_freshness: dict[str, Tally]
    by_cohort: dict[str, Tally]
    by_engine: dict[str, Tally]
    by_page: dict[str, Tally]
    by_week: dict[tuple[str, str], Tally]  # (ISO week, cohort)
    timing: dict[str, PageTiming]
    links: dict[str, LinkStats]
    brand: dict[str, tuple[int, int]]  # engine -> (mentioned, answers with a known mention)
    verdicts: list[Verdict]
    window_days: int
    min_observations: int
    freshness_labels: list[str]
    pages: dict[str, PageRef]

    # -- tables (CSV, markdown and HTML all print these) ------------------------------

    def _rows(self, tallies: dict[Any, Tally], order: Iterable[Any] | None = None) -> list[list[Any]]:
        keys = [k for k in (order or sorted(tallies)) if k in tallies]
        return [[k, len(t.answers), t.pairs, t.cited, t.citations, _num(t.rate), _num(t.share), _num(t.visibility)]
                for k, t in ((k, tallies[k]) for k in keys)]

    def tables(self) -> dict[str, Table]:
        head = ["answers", "pairs", "cited", "citations", "citation_rate", "citation_share", "visibility"]
        timing_rows = []
        for slug, t in sorted(self.timing.items()):
            timing_rows.append([slug, t.cohort, t.start_kind, _iso(t.first_distribution), _iso(t.first_link),
                                _iso(t.first_citation), t.days_to_citation, t.cited_before_start,
                                t.before.pairs, t.before.cited, _num(t.before.rate),
                                t.after.pairs, t.after.cited, _num(t.after.rate)])
        window_rows = []
        for cohort in COHORTS:
            ts = [t for t in self.timing.values() if t.cohort == cohort and t.start]
            if not ts:
                continue
            b, a = Tally(), Tally()
            for t in ts:
                _merge(b, t.before)
                _merge(a, t.after)
            days = [t.days_to_citation for t in ts if t.days_to_citation is not None]
            window_rows.append([cohort, len(ts), len(days), median(days) if days else None,
                                b.pairs, b.cited, _num(b.rate), a.pairs, a.cited, _num(a.rate)])
        page_rows = []
        for slug, ref in sorted(self.pages.items()):
            t = self.by_page.get(slug, Tally())
            ls = self.links.get(slug, LinkStats(0, 0, None, None, None))
            page_rows.append([slug, ref.topic, ref.cohort, _iso(ref.updated), len(t.answers), t.pairs, t.cited,
                              _num(t.rate), _num(t.share), _num(t.visibility), ls.links, ls.referring_domains,
                              _num(ls.links_per_week), _num(ls.dofollow_share), _num(ls.anchor_diversity)])
        return {
            "by_topic": (["topic", *head], self._rows(self.by_topic)),
            "by_freshness": (["freshness", *head], self._rows(self.by_freshness, self.freshness_labels)),
            "by_cohort": (["cohort", *head], self._rows(self.by_cohort, COHORTS)),
            "by_engine": (["engine", *head], self._rows(self.by_engine)),
            "by_page": (["page", "topic", "cohort", "updated", "answers", "pairs", "cited", "citation_rate",
                         "citation_share", "visibility", "links", "referring_domains", "links_per_week",
                         "dofollow_share", "anchor_diversity"], page_rows),
            "time_to_citation": (["page", "cohort", "start", "first_distribution", "first_link", "first_citation",
                                  "days_to_citation", "cited_before_start", "before_pairs", "before_cited",
                                  "before_rate", "after_pairs", "after_cited", "after_rate"], timing_rows),
            "windows_by_cohort": (["cohort", "pages_started", "pages_cited", "median_days_to_citation",
                                   "before_pairs", "before_cited", "before_rate", "after_pairs", "after_cited",
                                   "after_rate"], window_rows),
            "by_week": (["week", "cohort", *head], [[w, c, *r[1:]] for (w, c), r in
                                                    ((k, self._rows({k: v})[0]) for k, v in sorted(self.by_week.items()))]),
            "brand_mentions": (["engine", "answers", "mentioned", "mention_rate"],
                               [[e, n, m, _num(Fraction(m, n) if n else None)] for e, (m, n) in sorted(self.brand.items())]),
            "verdicts": (["arm_a", "arm_b", "a_cited", "a_pairs", "b_cited", "b_pairs", "winner", "verdict"],
                         [[v.a, v.b, v.a_cited, v.a_pairs, v.b_cited, v.b_pairs, v.winner or "", v.text]
                          for v in self.verdicts]),
        }


def _merge(into: Tally, other: Tally) -> None:
    into.answers |= other.answers
    into.pairs += other.pairs
    into.cited += other.cited
    into.citations += other.citations
    into.weight += other.weight


def _num(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _iso(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else value.isoformat()


def _week(ts: datetime) -> str:
    y, w, _ = ts.isocalendar()
    return f"{y}-W{w:02d}"


def build_report(data: ReportData, *, freshness_days: Sequence[int] = (30, 90, 180, 365), min_observations: int = 30,
                 window_days: int = 28, since: datetime | None = None, until: datetime | None = None,
                 now: datetime | None = None) -> Report:
    index = PageIndex(data.pages)
    pages = {p.slug: p for p in data.pages}
    pairs = pairs_of(data, index)
    edges = sorted(freshness_days)
    by_cohort = tally(pairs, lambda p: p.page.cohort)

    links_by_page: dict[str, list[Link]] = defaultdict(list)
    for link in data.links:
        if link.page:
            links_by_page[link.page].append(link)

    window = timedelta(days=window_days)
    by_page_pairs: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        by_page_pairs[p.page.slug].append(p)
    timing: dict[str, PageTiming] = {}
    for slug, page in pages.items():
        first_dist = data.first_distribution.get(slug)
        seen = [l.first_seen for l in links_by_page.get(slug, []) if l.first_seen]
        first_link = min(seen) if seen else None
        if first_dist is not None and page.cohort != "links":
            start, kind = first_dist, "distribution"
        elif first_link is not None:
            start, kind = datetime.combine(first_link, datetime.min.time(), tzinfo=timezone.utc), "link"
        elif first_dist is not None:
            start, kind = first_dist, "distribution"
        else:
            start, kind = None, "none"
        before, after = Tally(), Tally()
        first_cite, cited_before = None, False
        for p in by_page_pairs.get(slug, []):
            at = p.obs.observed_at
            if start is None:
                continue
            if p.position is not None:
                if at >= start:
                    first_cite = at if first_cite is None or at < first_cite else first_cite
                else:
                    cited_before = True
            if start - window <= at < start:
                before.add(p.obs, p.position)
            elif start <= at < start + window:
                after.add(p.obs, p.position)
        days = (first_cite - start).days if first_cite and start else None
        timing[slug] = PageTiming(slug, page.cohort, start, kind, first_dist, first_link, first_cite, days,
                                  cited_before, before, after)

    brand: dict[str, tuple[int, int]] = {}
    for obs in data.observations:
        if obs.brand_mentioned is None:
            continue
        m, n = brand.get(obs.engine, (0, 0))
        brand[obs.engine] = (m + bool(obs.brand_mentioned), n + 1)

    verdicts = [compare(a, by_cohort.get(a), b, by_cohort.get(b), min_observations)
                for a, b in (("distribution", "links"), ("distribution", "control"), ("links", "control"),
                             ("both", "control"))
                if a in by_cohort or b in by_cohort]
    return Report(
        generated_at=now or datetime.now(timezone.utc), since=since, until=until,
        answers=sum(o.can_cite for o in data.observations), all_answers=len(data.observations), pairs=len(pairs),
        by_topic=tally(pairs, lambda p: p.page.topic),
        by_freshness=tally(pairs, lambda p: freshness_bucket(page_age(p.page, p.obs.observed_at), edges)),
        by_cohort=by_cohort,
        by_engine=tally(pairs, lambda p: p.obs.engine),
        by_page=tally(pairs, lambda p: p.page.slug),
        by_week=tally(pairs, lambda p: (_week(p.obs.observed_at), p.page.cohort)),
        timing=timing, links={s: link_stats(ls) for s, ls in links_by_page.items()}, brand=brand,
        verdicts=verdicts, window_days=window_days, min_observations=min_observations,
        freshness_labels=bucket_labels(edges), pages=pages,
    )


# --- outputs ---------------------------------------------------------------------------


def write_csv(report: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (head, rows) in report.tables().items():
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(head)
            w.writerows([["" if c is None else c for c in row] for row in rows])
        written.append(path)
    return written


def _cell_text(head: str, value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and head.endswith(("rate", "share", "visibility", "diversity")):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _rated(tallies: dict[Any, Tally], order: Iterable[Any]) -> list[list[str]]:
    rows = []
    for k in order:
        t = tallies.get(k)
        if t is None:
            continue
        rows.append([str(k), f"{pct(t.rate)} ({t.cited}/{t.pairs})", f"{pct(t.share)} ({t.cited}/{t.citations})",
                     f"{float(t.visibility or 0):.3f}", str(len(t.answers))])
    return rows


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "_no data_\n"
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


RATED_HEAD = ["", "citation rate (cited/pairs)", "citation share (cited/all citations)", "visibility", "answers"]


def summary_sections(report: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    """Titled tables with counts beside every rate, shared by markdown and HTML."""
    sections = [
        ("By cohort", ["cohort", *RATED_HEAD[1:]], _rated(report.by_cohort, COHORTS)),
        ("By topic", ["topic", *RATED_HEAD[1:]], _rated(report.by_topic, sorted(report.by_topic))),
        ("By freshness (days since the page was updated, at the time of the answer)",
         ["freshness", *RATED_HEAD[1:]], _rated(report.by_freshness, report.freshness_labels)),
        ("By engine", ["engine", *RATED_HEAD[1:]], _rated(report.by_engine, sorted(report.by_engine))),
    ]
    timing_rows = []
    for slug, t in sorted(report.timing.items()):
        timing_rows.append([
            slug, t.cohort, f"{t.start_kind} {_iso(t.start)[:10]}" if t.start else "not started",
            _iso(t.first_citation)[:10] or "–", "–" if t.days_to_citation is None else str(t.days_to_citation),
            "yes" if t.cited_before_start else "no",
            f"{pct(t.before.rate)} ({t.before.cited}/{t.before.pairs})",
            f"{pct(t.after.rate)} ({t.after.cited}/{t.after.pairs})",
        ])
    sections.append((f"Time to first citation; {report.window_days}-day windows before/after the start",
                     ["page", "cohort", "start", "first citation", "days", "cited before", "before", "after"],
                     timing_rows))
    link_rows = []
    for slug, ls in sorted(report.links.items()):
        link_rows.append([slug, str(ls.links), str(ls.referring_domains),
                          "–" if ls.links_per_week is None else f"{float(ls.links_per_week):.2f}",
                          pct(ls.dofollow_share), pct(ls.anchor_diversity)])
    sections.append(("Backlinks", ["page", "links", "referring domains", "links/week", "dofollow", "anchor diversity"],
                     link_rows))
    sections.append(("Brand mentions", ["engine", "mentioned (n/answers)"],
                     [[e, fmt_rate(m, n)] for e, (m, n) in sorted(report.brand.items())]))
    return sections


def to_markdown(report: Report) -> str:
    period = f"{_iso(report.since)[:10] or 'start'} – {_iso(report.until)[:10] or 'now'}"
    out = [f"# Citation report ({period})", "",
           f"{report.answers} answers from engines that cite ({report.all_answers} in all), "
           f"{report.pairs} page-answer pairs. Winners need {report.min_observations} pairs per arm.", "",
           "## Verdict", ""]
    out += [f"- {v.text}" for v in report.verdicts] or ["- no cohorts with observations yet"]
    out.append("")
    for title, head, rows in summary_sections(report):
        out += [f"## {title}", "", _md_table(head, rows)]
    return "\n".join(out)


# -- HTML with charts -----------------------------------------------------------------------


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _bar(ax, labels: list[str], tallies: list[Tally], color: str) -> None:
    values = [float(t.rate or 0) * 100 for t in tallies]
    bars = ax.bar(labels, values, color=color)
    for bar, t in zip(bars, tallies):
        ax.annotate(f"{t.cited}/{t.pairs}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_ylabel("citation rate, %")
    ax.set_ylim(0, max([*values, 10]) * 1.2)
    ax.spines[["top", "right"]].set_visible(False)


def charts(report: Report) -> list[tuple[str, str]]:
    """(title, base64 PNG) pairs; needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    cohorts = [c for c in COHORTS if c in report.by_cohort]
    if cohorts:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        _bar(ax, cohorts, [report.by_cohort[c] for c in cohorts], "#3b6ea5")
        ax.set_title("Citation rate by cohort (labels: cited/pairs)")
        out.append(("Citation rate by cohort", _png(fig)))
    fresh = [b for b in report.freshness_labels if b in report.by_freshness]
    if fresh:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        _bar(ax, fresh, [report.by_freshness[b] for b in fresh], "#6a9f58")
        ax.set_title("Citation rate by days since update")
        out.append(("Citation rate by freshness", _png(fig)))
    if report.by_topic:
        topics = sorted(report.by_topic)
        fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(topics)))
        vals = [float(report.by_topic[t].rate or 0) * 100 for t in topics]
        bars = ax.barh(topics, vals, color="#c07a3a")
        for bar, t in zip(bars, topics):
            tt = report.by_topic[t]
            ax.annotate(f"{tt.cited}/{tt.pairs}", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                        va="center", fontsize=8, xytext=(3, 0), textcoords="offset points")
        ax.set_xlabel("citation rate, %")
        ax.set_xlim(0, max([*vals, 10]) * 1.25)
        ax.set_title("Citation rate by topic")
        ax.spines[["top", "right"]].set_visible(False)
        out.append(("Citation rate by topic", _png(fig)))
    if report.by_week:
        weeks = sorted({w for w, _ in report.by_week})
        fig, ax = plt.subplots(figsize=(7, 3.2))
        for cohort in cohorts:
            pts = [(i, float(report.by_week[(w, cohort)].rate) * 100) for i, w in enumerate(weeks)
                   if (w, cohort) in report.by_week]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=cohort)
        ax.set_xticks(range(len(weeks)), weeks, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel("citation rate, %")
        ax.set_title("Weekly citation rate by cohort")
        ax.legend(fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        out.append(("Weekly citation rate", _png(fig)))
    started = [c for c in cohorts if any(t.cohort == c and t.start for t in report.timing.values())]
    if started:
        fig, ax = plt.subplots(figsize=(6, 3.2))
        width = 0.38
        for shift, side, color in ((-width / 2, "before", "#9aa5b1"), (width / 2, "after", "#3b6ea5")):
            vals, labels = [], []
            for c in started:
                t = Tally()
                for pt in report.timing.values():
                    if pt.cohort == c and pt.start:
                        _merge(t, getattr(pt, side))
                vals.append(float(t.rate or 0) * 100)
                labels.append(f"{t.cited}/{t.pairs}")
            bars = ax.bar([i + shift for i in range(len(started))], vals, width, label=side, color=color)
            for bar, lab in zip(bars, labels):
                ax.annotate(lab, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                            va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(len(started)), started)
        ax.set_ylabel("citation rate, %")
        ax.set_title(f"{report.window_days} days before vs after the start")
        ax.legend(fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        out.append(("Before / after", _png(fig)))
    return out


CSS = """body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f6f8}.verdict{background:#f7f7ee;border-left:4px solid #c9b94a;padding:.5em 1em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1em}
figure{margin:0}figcaption{font-size:12px;color:#555}img{max-width:100%}.note{color:#555;font-size:13px}"""


def to_html(report: Report, with_charts: bool = True) -> str:
    e = html.escape
    period = f"{_iso(report.since)[:10] or 'start'} – {_iso(report.until)[:10] or 'now'}"
    parts = [f"<!doctype html><html lang=en><meta charset=utf-8><title>citecast citation report</title>"
             f"<style>{CSS}</style><body><h1>Citation report <small>{e(period)}</small></h1>",
             f"<p>{report.answers} answers from engines that cite ({report.all_answers} in all), "
             f"{report.pairs} page-answer pairs; generated {e(_iso(report.generated_at))}.</p>",
             "<div class=verdict><strong>Verdict</strong><ul>"]
    parts += [f"<li>{e(v.text)}</li>" for v in report.verdicts] or ["<li>no cohorts with observations yet</li>"]
    parts.append(f"</ul><p class=note>A winner needs at least {report.min_observations} page-answer pairs per arm "
                 "and a difference beyond noise (|z| ≥ 1.96).</p></div>")
    if with_charts:
        parts.append("<div class=charts>")
        for title, png in charts(report):
            parts.append(f"<figure><img alt='{e(title)}' src='data:image/png;base64,{png}'>"
                         f"<figcaption>{e(title)}</figcaption></figure>")
        parts.append("</div>")
    for title, head, rows in summary_sections(report):
        parts.append(f"<h2>{e(title)}</h2>")
        if not rows:
            parts.append("<p class=note>no data</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table>")
    parts.append("<h2>How to read this</h2><p class=note>A page-answer pair is one sampled answer to a query in "
                 "the page's topic. Citation rate: pairs whose answer cites the page. Citation share: those "
                 "citations among all URLs cited in the same answers. Visibility: mean of 1/position (1 for "
                 "the first citation, ½ for the second, 0 when absent). Freshness: days between the page's "
                 "update and the answer. Start: first distribution (links cohort: first backlink).</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


@dataclass
class Written:
    html: Path | None
    csv: list[Path]
    markdown: str
    report: Report


def run_report(settings: Any, *, out: Path | None = None, since: datetime | None = None,
               until: datetime | None = None, ledger: "Ledger | None" = None, html_report: bool = True,
               csv_files: bool = True) -> Written:
    """Load, compute, and write the HTML report and CSV files under `out` (default: citations.report_dir)."""
    from citecast.citations.model import citations_settings, load_pages, open_ledger, resolve

    cfg = citations_settings(settings)
    own = ledger is None
    ledger = ledger or open_ledger(settings)
    try:
        pages = load_pages(settings, ledger)
        data = load_data(ledger, pages, since, until)
    finally:
        if own:
            ledger.close()
    report = build_report(data, freshness_days=cfg.freshness_days, min_observations=cfg.min_observations,
                          window_days=cfg.window_days, since=since, until=until)
    folder = out or resolve(settings, cfg.report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    html_path = None
    if html_report:
        html_path = folder / "citations.html"
        html_path.write_text(to_html(report), encoding="utf-8")
    csvs = write_csv(report, folder / "csv") if csv_files else []
    return Written(html_path, csvs, to_markdown(report), report)
