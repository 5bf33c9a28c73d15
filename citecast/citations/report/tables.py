"""The report's one data model: named tables of plain values.

HTML, CSV, markdown and the Prefect artifacts all print these tables, so a
figure is computed once and reads the same everywhere. A column's `kind` says
how to print it (rates are fractions, printed as percentages); `links` say
which cells point at another table's rows (the drill-down), by value.
New tables (another engine's coverage, a holdout's arms) are one more entry in
`Report.tables`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Sequence

import numpy as np
import polars as pl

from citecast.citations.model import url_domain
from citecast.citations.report import metrics as m
from citecast.citations.report.data import Link, ReportData
from citecast.citations.report.statistics import Comparison, Rules, compare_cohorts, page_rates
from citecast.citations.report.survival import Survival, survival
from citecast.words import count

COHORTS = ("distribution", "links", "both", "control")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"  # text | int | rate | points | num | days | date | p | pages
    link: str | None = None  # a table name: the cell links to that table's row(s) keyed by this value


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str = ""
    key: str | None = None  # column whose value identifies a row (drill-down target)

    @property
    def head(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> list[Any]:
        i = self.head.index(name)
        return [r[i] for r in self.rows]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.head, r)) for r in self.rows]


def C(*specs: str) -> list[Column]:
    """Columns from `name:kind[>link]` specs."""
    out = []
    for spec in specs:
        name, _, rest = spec.partition(":")
        kind, _, link = (rest or "text").partition(">")
        out.append(Column(name, kind or "text", link or None))
    return out


@dataclass
class Report:
    generated_at: datetime
    since: datetime | None
    until: datetime | None
    answers: int  # answers from engines that can cite
    all_answers: int
    pages: int
    rounds: int
    rules: Rules
    comparisons: list[Comparison]
    survival: Survival
    tables: dict[str, Table]
    freshness_labels: list[str] = field(default_factory=list)

    def verdict_lines(self) -> list[str]:
        lines = [c.text(self.rules) for c in self.comparisons] or [
            "no comparison yet: it needs answers for pages of two cohorts (" + ", ".join(
                f"{a} vs {b}" for a, b in self.rules.pairs) + ")"]
        holdout = self.tables.get("holdout")
        return lines + ([str(holdout.column("verdict")[0])] if holdout is not None and holdout.rows else [])


# --- builders -----------------------------------------------------------------------------------


def _group_rates(cells: pl.DataFrame, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Per group: pages (with answers), answers, cited, mean page rate with t-interval, pooled rate, pages list."""
    per_page = (cells.group_by(*keys, "page").agg(pl.col("answers").sum(), pl.col("cited").sum())
                .filter(pl.col("answers") > 0)
                .sort(*keys, "page"))  # rates summed in one order: the same data gives the same last digit
    out = []
    for key, g in sorted(per_page.group_by(keys, maintain_order=True), key=lambda kg: [str(x) for x in kg[0]]):
        rates = (g["cited"] / g["answers"]).to_list()
        mean, lo, hi = m.mean_interval(rates)
        answers, cited = int(g["answers"].sum()), int(g["cited"].sum())
        out.append({**dict(zip(keys, key)), "pages": g.height, "answers": answers, "cited": cited, "mean_rate": mean,
                    "ci_low": lo, "ci_high": hi, "pooled_rate": cited / answers if answers else None,
                    "page_list": ";".join(sorted(g["page"].to_list()))})
    return out


def _rate_table(name: str, title: str, rows: list[dict[str, Any]], keys: Sequence[str], order: dict[str, list]) -> Table:
    for k in reversed(keys):
        if k in order:
            rows.sort(key=lambda r: order[k].index(r[k]) if r[k] in order[k] else len(order[k]))
    cols = C(*keys, "pages:int", "answers:int", "cited:int", "mean_rate:rate", "ci_low:rate", "ci_high:rate",
             "pooled_rate:rate", "page_list:pages>pages")
    return Table(name, title, cols, [[r[c.name] for c in cols] for r in rows],
                 note="mean_rate: mean of the pages' citation rates (the page is the unit), 95% t-interval over "
                      "pages (none from one page); pooled_rate: cited / answers, for reference.")


def verdict_table(comps: Sequence[Comparison], rules: Rules) -> Table:
    cols = C("arm_a", "arm_b", "pages_a:int", "pages_b:int", "topics:int", "rounds:int", "effect:points",
             "ci_low:points", "ci_high:points", "p:p", "p_holm:p", "winner", "pages_needed:int", "verdict")
    rows = [[c.a, c.b, c.pages_a, c.pages_b, len(c.topics), c.rounds, c.effect, c.ci_low, c.ci_high, c.p, c.p_holm,
             c.winner or "", c.pages_needed, c.text(rules)] for c in comps]
    return Table("verdicts", "Verdict: cohorts compared within topic, the page as the unit", cols, rows,
                 note=f"effect = topic-adjusted difference of page citation rates (a − b, OLS on cohort + topic), "
                      f"p = within-topic permutation test, Holm across comparisons; no test below "
                      f"{count(rules.min_pages, 'page')} per arm or {rules.min_rounds} weekly rounds.")


def survival_tables(sv: Survival) -> list[Table]:
    curves = Table("time_to_citation", "Time to first citation (Kaplan-Meier, never-cited pages censored)",
                   C("cohort", "pages:int", "cited:int", "late_entries:int", "median_days:days", "median_low:days",
                     "median_high:days"),
                   [[c.cohort, c.pages, c.events, c.late_entries, c.median_days, c.median_low, c.median_high]
                    for c in sv.curves],
                   note="median_days: KM median (– while fewer than half are cited); late entries: pages started "
                        "before the window, at risk from its start.")
    tests = Table("time_to_citation_tests", "Time to first citation: cohorts compared within topic (Cox, strata = topic)",
                  C("arm_a", "arm_b", "pages_a:int", "pages_b:int", "hazard_ratio:num", "ci_low:num", "ci_high:num",
                    "p:p", "p_holm:p", "logrank_p:p", "note"),
                  [[c.a, c.b, c.pages_a, c.pages_b, c.hazard_ratio, c.ci_low, c.ci_high, c.p, c.p_holm, c.logrank_p,
                    "; ".join(c.missing) or ("a cited sooner" if (c.hazard_ratio or 1) > 1 and (c.p_holm or 1) < 0.05
                                              else "b cited sooner" if (c.p_holm or 1) < 0.05 else "no clear difference")]
                   for c in sv.comparisons],
                  note="hazard_ratio > 1: arm a is cited sooner. logrank_p: plain log-rank over pooled topics, "
                       "only when no page entered late.")
    points = Table("survival_curves", "Share of pages cited by day (1 − KM), with 95% band",
                   C("cohort", "days:days", "share_cited:rate", "ci_low:rate", "ci_high:rate"),
                   [[c.cohort, *p] for c in sv.curves for p in c.points])
    return [curves, tests, points]


def link_stats(links: Sequence[Link]) -> tuple[int, int, float | None, float | None, float | None]:
    """links, referring domains, links per week, dofollow share (of rows that say), anchor diversity."""
    if not links:
        return 0, 0, None, None, None
    days = sorted(l.first_seen for l in links if l.first_seen)
    weeks = max(1, -(-((days[-1] - days[0]).days + 1) // 7)) if days else None
    said = [l.follow for l in links if l.follow is not None]
    anchors = {" ".join(l.anchor.lower().split()) for l in links}
    return (len(links), len({l.source_domain for l in links}), len(days) / weeks if weeks else None,
            sum(said) / len(said) if said else None, len(anchors) / len(links))


def page_table(data: ReportData, cells: pl.DataFrame, sv: Survival, edges: Sequence[int], asof: datetime) -> Table:
    per = {r["page"]: r for r in cells.group_by("page").agg(
        pl.col("answers").sum(), pl.col("cited").sum(), pl.col("weight").sum(), pl.col("citations").sum()).to_dicts()}
    links: dict[str, list[Link]] = defaultdict(list)
    for l in data.links:
        if l.page:
            links[l.page].append(l)
    fresh = m.with_freshness(m.pages_frame(data.pages).with_columns(pl.lit(asof.date()).alias("day")), edges)
    freshness = dict(fresh.select("page", "freshness").iter_rows())
    cols = C("page:text>answers", "cohort", "topic", "freshness", "published:date", "first_distribution:date",
             "first_link:date", "answers:int", "cited:int", "rate:rate", "rate_low:rate", "rate_high:rate",
             "visibility:num", "share:rate", "first_citation:date", "days_to_citation:days", "timing", "links:int",
             "referring_domains:int", "dofollow_share:rate")
    rows = []
    for p in sorted(data.pages, key=lambda p: p.slug):
        r = per.get(p.slug, {"answers": 0, "cited": 0, "weight": 0.0, "citations": 0})
        lo, hi = m.wilson(r["cited"], r["answers"])
        t = sv.timings[p.slug]
        ls = link_stats(links.get(p.slug, []))
        rows.append([p.slug, p.cohort, p.topic, freshness.get(p.slug), p.published, t.first_distribution, t.first_link,
                     r["answers"], r["cited"], r["cited"] / r["answers"] if r["answers"] else None, lo, hi,
                     r["weight"] / r["answers"] if r["answers"] else None,
                     r["cited"] / r["citations"] if r["citations"] else None, t.first_citation, t.days_to_citation,
                     t.status, ls[0], ls[1], ls[3]])
    return Table("pages", "Pages", cols, rows, key="page",
                 note="rate: answers citing the page / answers to its topic since publication, Wilson 95% interval "
                      "(treats the page's answers as independent); visibility: mean of 1/position; share: its "
                      "citations among all URLs cited in those answers; dofollow_share: of the links whose export "
                      "says follow or nofollow.")


def pooled_table(name: str, title: str, cells: pl.DataFrame, key: str, order: list[str] | None = None) -> Table:
    g = cells.group_by(key).agg(pl.col("page").n_unique().alias("pages"), pl.col("answers").sum(),
                                pl.col("cited").sum(), pl.col("weight").sum(), pl.col("citations").sum())
    rows = []
    for r in g.to_dicts():
        a = r["answers"]
        rows.append([r[key], r["pages"], a, r["cited"], r["cited"] / a if a else None,
                     r["cited"] / r["citations"] if r["citations"] else None, r["weight"] / a if a else None])
    rows.sort(key=lambda row: (order.index(row[0]) if order and row[0] in order else 99, str(row[0])))
    return Table(name, title, C(key, "pages:int", "opportunities:int", "cited:int", "rate:rate", "share:rate",
                                "visibility:num"), rows,
                 note="pooled over page-answer opportunities: descriptive only, not a comparison.")


def competitor_tables(data: ReportData, top: int) -> list[Table]:
    """Share of voice per topic, the most cited URLs, and our domain cited without a page to match.

    A URL appears once per answer (the ledger dedupes them), so counting rows
    counts answers; the domain is computed once per distinct URL, not per row.
    """
    by_url = m.topic_url_counts(data)
    ours = {url_domain(p.canonical_url) for p in data.pages}
    totals = dict(by_url.group_by("topic").agg(pl.col("answers").sum()).iter_rows())
    by_domain = (by_url.group_by("topic", "domain").agg(pl.col("answers").sum().alias("citations"),
                                                        pl.len().alias("urls"))
                 .sort(["topic", "citations", "domain"], descending=[False, True, False]))
    dom_rows = []
    for (topic,), g in by_domain.group_by(["topic"], maintain_order=True):
        for r in g.head(top).to_dicts():
            dom_rows.append([topic, r["domain"], r["urls"], r["citations"], r["citations"] / totals[topic],
                             "yes" if r["domain"] in ours else ""])
    url_rows = []
    # the `top` largest counts per topic (with ties at the edge), then a sort of those few rows only
    edge = by_url.group_by("topic").agg(pl.col("answers").top_k(top).min().alias("edge"))
    best = (by_url.join(edge, on="topic").filter(pl.col("answers") >= pl.col("edge"))
            .sort(["answers", "normalized_url"], descending=[True, False])  # ties by URL: reproducible
            .group_by("topic", maintain_order=True).head(top).sort("topic", maintain_order=True))
    for (topic,), g in best.group_by(["topic"], maintain_order=True):
        for r in g.to_dicts():
            url_rows.append([topic, r["normalized_url"], r["answers"], r["page"] or ""])
    queries = pl.DataFrame({"observation_id": list(data.queries), "query": list(data.queries.values())},
                           schema={"observation_id": pl.Int64, "query": pl.String})
    unmatched = (m.unmatched_own_citations(data).join(queries, on="observation_id", how="left")
                 .group_by("normalized_url").agg(pl.len().alias("answers"),
                                                 pl.col("observed_at").min().alias("first_seen"),
                                                 pl.col("observed_at").max().alias("last_seen"),
                                                 pl.col("query").min().alias("example_query"))
                 .sort(["answers", "normalized_url"], descending=[True, False]))
    return [
        Table("competitors", f"Share of voice per topic: the {top} most cited domains",
              C("topic", "domain", "urls:int", "citations:int", "share_of_voice:rate", "ours"), dom_rows,
              note="citations: the domain's URLs cited, once per answer; share_of_voice: those / all cited URLs in "
                   "the topic's answers; urls: its distinct URLs cited."),
        Table("top_cited_urls", f"The {top} most cited URLs per topic", C("topic", "url", "answers:int", "page:text>pages"),
              url_rows),
        Table("unmatched_own_urls", "Our domain cited, but no page matches (add them to previous_urls?)",
              C("url", "answers:int", "first_seen:date", "last_seen:date", "example_query"),
              [list(r.values()) for r in unmatched.select("normalized_url", "answers", "first_seen", "last_seen",
                                                           "example_query").to_dicts()]),
    ]


def engine_week_table(data: ReportData) -> Table:
    answers = m.answers_by_id(data)
    ours = np.zeros(answers.height, dtype=bool)  # answers citing one of our pages, by row: no join of a million
    ours[m.matched_citations(data)["row"].to_numpy()] = True
    per_day = (answers.with_columns(pl.Series("ours", ours))
               .group_by(((pl.col("day").cast(pl.Int32).cast(pl.Int64) + (1 << 21)) * (1 << 20)  # one integer key
                          + pl.col("engine_code").cast(pl.Int64)).alias("key"))
               .agg(pl.col("engine", "day").first(), pl.len().alias("answers"),
                    pl.col("can_cite").sum().alias("can_cite"),
                    (pl.col("ours") & pl.col("can_cite")).sum().alias("citing_us"),
                    pl.col("brand_mentioned").sum().alias("brand"),
                    pl.col("brand_mentioned").is_not_null().sum().alias("brand_known")))
    # the week label on a few thousand (engine, day) rows, not on every answer
    g = (per_day.with_columns(pl.col("day").dt.strftime("%G-W%V").alias("week"))
         .group_by("engine", "week").agg(pl.col("answers", "can_cite", "citing_us", "brand", "brand_known").sum())
         .sort("engine", "week"))
    rows = [[r["engine"], r["week"], r["answers"], r["can_cite"], r["citing_us"],
             r["citing_us"] / r["can_cite"] if r["can_cite"] else None,
             r["brand"] / r["brand_known"] if r["brand_known"] else None] for r in g.to_dicts()]
    return Table("engine_weeks", "Trends per engine and week",
                 C("engine", "week", "answers:int", "can_cite:int", "citing_us:int", "citing_us_rate:rate",
                   "brand_rate:rate"), rows,
                 note="citing_us: answers citing any of our pages; brand_rate: of answers where the mention is known.")


def coverage_table(data: ReportData) -> Table:
    """Every probe call per engine and week: answered or failed, with an example reason."""
    agg: dict[tuple[str, str], list] = {}
    for engine, day, ok, n, error in data.calls:
        row = agg.setdefault((engine, m.iso_week(day)), [0, 0, None])
        row[0 if ok else 1] += n
        if not ok and error and (row[2] is None or error < row[2]):
            row[2] = error
    rows = [[e, w, a + f, a, f, f / (a + f), err or ""] for (e, w), (a, f, err) in sorted(agg.items())]
    return Table("coverage", "Probe coverage per engine and week (every call, answered or failed)",
                 C("engine", "week", "calls:int", "answered:int", "failed:int", "failure_rate:rate", "example_error"),
                 rows, note="imported answers have no calls; a week without rows had no probe run.")


def answers_table(data: ReportData, per_page: int) -> Table:
    """The drill-down: each page's most recent citing answers, with the answer excerpt when kept."""
    rows = [[r["page"], r["observation_id"], r["engine"], r["observed_at"], data.queries.get(r["observation_id"], ""),
             r["position"], data.excerpts.get(r["observation_id"], "")]
            for r in m.recent_citing(data, per_page).to_dicts()]
    return Table("answers", f"Answers behind the figures: up to {per_page} most recent citing answers per page",
                 C("page", "answer_id:int", "engine", "observed_at:date", "query", "position:int", "excerpt"), rows,
                 key="page")


def _engine_tables(data: ReportData, cells: pl.DataFrame, rules: Rules, power_lift: float | None) -> list[Table]:
    """What engines did (retrieved, searched) and the randomised holdout; own modules, they build on this one."""
    from citecast.citations.report.holdout import holdout_tables, power_table
    from citecast.citations.report.retrieval import engine_queries_table, retrieval_table

    return [retrieval_table(data), engine_queries_table(data), *holdout_tables(data, cells, rules),
            power_table(cells, rules, power_lift)]


def build_report(data: ReportData, *, rules: Rules | None = None, freshness_days: Sequence[int] = (30, 90, 180, 365),
                 since: datetime | None = None, until: datetime | None = None, now: datetime | None = None,
                 top: int = 10, answers_per_page: int = 10, power_lift: float | None = None) -> Report:
    rules = rules or Rules()
    now = now or datetime.now(timezone.utc)
    edges = sorted(freshness_days)
    cells = m.with_freshness(m.cells(data), edges)
    rounds = dict(cells.group_by("topic").agg(pl.col("week").n_unique()).iter_rows())
    comps = compare_cohorts(page_rates(cells), rounds, rules)
    present = set(cells["cohort"].unique().to_list())
    order = [c for c in COHORTS if c in present] + sorted(present - set(COHORTS))
    labels = m.bucket_labels(edges)
    sv = survival(data, since, rules, order)
    tables = [
        verdict_table(comps, rules),
        _rate_table("cohort_topic", "Citation rate by cohort and topic", _group_rates(cells, ["cohort", "topic"]),
                    ["cohort", "topic"], {"cohort": order}),
        _rate_table("cohort_freshness", "Citation rate by cohort and freshness (days since update at the answer)",
                    _group_rates(cells, ["cohort", "freshness"]), ["cohort", "freshness"],
                    {"cohort": order, "freshness": labels}),
        *survival_tables(sv),
        page_table(data, cells, sv, edges, until or now),
        pooled_table("by_topic", "By topic (pooled)", cells, "topic"),
        pooled_table("by_engine", "By engine (pooled)", cells, "engine"),
        engine_week_table(data),
        coverage_table(data),
        *competitor_tables(data, top),
        answers_table(data, answers_per_page),
        *_engine_tables(data, cells, rules, power_lift),
    ]
    answers_n = int(data.answers["can_cite"].sum()) if data.answers.height else 0
    return Report(now, since, until, answers_n, data.answers.height, cells["page"].n_unique(),
                  cells["week"].n_unique(), rules, comps, sv, {t.name: t for t in tables}, labels)
