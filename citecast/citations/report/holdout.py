"""The effect of distribution from randomised pages (intention to treat), and the pages and weeks a lift needs.

Pages drawn by `citecast cohorts assign --randomize` are analysed in the arm they were drawn into,
whatever happened afterwards (an editor's `cohort:`, a forced post): that is what the draw
protects. A page's outcome is its citation rate over the answers to its topic's queries from its
assignment day on (the report's cells: since publication, engines that can cite). The effect is
the coefficient of arm in an OLS of page rate on arm + stratum (the topics of the draw), with its
t-interval, and its p-value is the randomisation test itself: arms re-drawn within strata
(statistics.ols_effect and statistics.permutation_p).

Power: a page's rate over W weeks varies by σ²_b (between pages) + σ²_w / W (week to week); both
come from a one-way ANOVA of page-week rates (pages as groups). The pages per arm for a lift L are
the two-sample t-test's for a standard deviation sqrt(σ²_b + σ²_w / W) (statistics.pages_needed):
about 2 (z_{1-α/2} + z_{1-β})² (σ²_b + σ²_w / W) / L², plus about one page for the t-distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import polars as pl

from citecast.citations.report.data import ReportData
from citecast.citations.report.statistics import Rules, ols_effect, pages_needed, permutation_p
from citecast.citations.report.tables import C, Table
from citecast.words import count

DISTRIBUTED = ("distribution", "both")


@dataclass
class Holdout:
    pages: dict[str, int] = field(default_factory=lambda: {"distribution": 0, "holdout": 0})
    strata: list[str] = field(default_factory=list)
    rounds: int = 0
    mean_rate: dict[str, float | None] = field(default_factory=dict)
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p: float | None = None
    page_sd: float | None = None
    pages_needed: int | None = None
    deviations: list[tuple[str, str]] = field(default_factory=list)  # (page, why)
    missing: list[str] = field(default_factory=list)

    def text(self, rules: Rules) -> str:
        size = (f"{self.pages['distribution']} distribution vs {count(self.pages['holdout'], 'holdout page')} in "
                f"{count(len(self.strata), 'stratum', 'strata')}, {count(self.rounds, 'round')} since assignment, "
                f"{count(len(self.deviations), 'deviation')}")
        if self.effect is None or self.missing:
            need = f"; about {count(self.pages_needed, 'page')} per arm would detect {rules.min_effect * 100:.0f} points" \
                if self.pages_needed else ""
            return f"randomised holdout: not enough data yet ({'; '.join(self.missing) or 'no pages'}; {size}){need}"
        pts = f"{self.effect * 100:+.1f} points (95% CI {self.ci_low * 100:+.1f} to {self.ci_high * 100:+.1f})"
        if self.p is not None and self.p < rules.alpha:
            lead = "distribution raised" if self.effect > 0 else "distribution lowered"
            return f"randomised holdout: {lead} the citation rate by {pts}, p = {self.p:.3f}; {size}"
        return f"randomised holdout: no effect distinguishable from zero: {pts}, p = {self.p:.3f}; {size}"


def after_assignment(data: ReportData, cells: pl.DataFrame) -> pl.DataFrame:
    """The cells of randomised pages from their assignment day on, with arm and stratum."""
    arms = pl.DataFrame({"page": list(data.arms), "arm": [a.arm for a in data.arms.values()],
                         "stratum": [a.stratum for a in data.arms.values()],
                         "assigned_on": [a.assigned_on for a in data.arms.values()]},
                        schema={"page": pl.String, "arm": pl.String, "stratum": pl.String, "assigned_on": pl.Date})
    return cells.join(arms, on="page").filter(pl.col("day") >= pl.col("assigned_on"))


def page_outcomes(after: pl.DataFrame) -> pl.DataFrame:
    """page, arm, stratum, answers, cited, rate: one row per randomised page with answers after assignment."""
    return (after.group_by("page", "arm", "stratum").agg(pl.col("answers").sum(), pl.col("cited").sum())
            .filter(pl.col("answers") > 0)
            .with_columns((pl.col("cited") / pl.col("answers")).alias("rate")).sort("page"))


def deviations(data: ReportData) -> list[tuple[str, str]]:
    """Randomised pages not run as drawn: an editor's cohort against the arm, or a post while held out."""
    out = []
    by_slug = {p.slug: p for p in data.pages}
    for slug, a in sorted(data.arms.items()):
        page = by_slug.get(slug)
        if page is not None and (page.cohort in DISTRIBUTED) != (a.arm == "distribution"):
            out.append((slug, f"runs as {page.cohort} (the editor's cohort:) in arm {a.arm}"))
            continue
        first = data.first_distribution.get(slug)
        if a.arm == "holdout" and first is not None and first.date() >= a.assigned_on:
            out.append((slug, "distributed while in the holdout arm"))
    return out


def estimate(data: ReportData, cells: pl.DataFrame, rules: Rules) -> Holdout:
    h = Holdout(deviations=deviations(data))
    if not data.arms:
        h.missing.append("no randomised pages: `citecast cohorts assign --randomize --seed S`")
        return h
    after = after_assignment(data, cells)
    out = page_outcomes(after)
    both = sorted(set(out.filter(pl.col("arm") == "distribution")["stratum"].to_list())
                  & set(out.filter(pl.col("arm") == "holdout")["stratum"].to_list()))
    sel = out.filter(pl.col("stratum").is_in(both))
    h.strata = both
    h.pages = {arm: sel.filter(pl.col("arm") == arm).height for arm in ("distribution", "holdout")}
    h.mean_rate = {arm: (sel.filter(pl.col("arm") == arm)["rate"].mean() if h.pages[arm] else None)
                   for arm in ("distribution", "holdout")}
    h.rounds = int(after.filter(pl.col("page").is_in(sel["page"].to_list()))["week"].n_unique()) if sel.height else 0
    for arm, n in h.pages.items():
        if n < rules.min_pages:
            h.missing.append(f"{arm} has {count(n, 'page')} with answers in shared strata "
                             f"(need {rules.min_pages})")
    if h.rounds < rules.min_rounds:
        h.missing.append(f"{count(h.rounds, 'round')} (need {rules.min_rounds})")
    y = sel["rate"].to_numpy().astype(float)
    treat = (sel["arm"].to_numpy() == "distribution").astype(float)
    strata = sel["stratum"].to_numpy()
    if h.pages["distribution"] >= 2 and h.pages["holdout"] >= 2 and len(y) > len(both) + 1:
        h.effect, h.ci_low, h.ci_high, h.page_sd = ols_effect(treat, y, strata)
        h.p = 1.0 if np.ptp(y) == 0 else permutation_p(treat, y, strata)
    if h.page_sd:
        h.pages_needed = pages_needed(h.page_sd, rules, rules.alpha)
    return h


def holdout_tables(data: ReportData, cells: pl.DataFrame, rules: Rules) -> list[Table]:
    h = estimate(data, cells, rules)
    summary = Table("holdout", "Randomised holdout: the effect of distribution (intention to treat)",
                    C("pages_distribution:int", "pages_holdout:int", "strata:int", "rounds:int",
                      "mean_rate_distribution:rate", "mean_rate_holdout:rate", "effect:points", "ci_low:points",
                      "ci_high:points", "p:p", "pages_needed:int", "deviations:int", "verdict"),
                    [[h.pages["distribution"], h.pages["holdout"], len(h.strata), h.rounds,
                      h.mean_rate.get("distribution"), h.mean_rate.get("holdout"), h.effect, h.ci_low, h.ci_high,
                      h.p, h.pages_needed, len(h.deviations), h.text(rules)]] if data.arms else [],
                    note="pages by the arm they were drawn into (deviations included); effect = coefficient of arm "
                         "in OLS of page citation rate on arm + stratum, 95% t-interval; p = randomisation test "
                         "(arms re-drawn within strata).")
    devs = Table("holdout_deviations", "Randomised pages not run as drawn", C("page:text>pages", "why"),
                 [list(d) for d in h.deviations], key="page")
    return [summary, devs]


# --- power ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VarianceParts:
    between: float  # σ²_b
    within: float  # σ²_w
    pages: int
    page_weeks: int


def variance_parts(page_weeks: dict[str, Sequence[float]]) -> VarianceParts | None:
    """One-way ANOVA of weekly rates, pages as groups; n0 = (N - Σ n_i² / N) / (k - 1) for unequal weeks."""
    groups = [list(v) for v in page_weeks.values() if v]
    k, total = len(groups), sum(len(g) for g in groups)
    if k < 2 or total - k < 1:
        return None
    grand = sum(map(sum, groups)) / total
    means = [sum(g) / len(g) for g in groups]
    msb = sum(len(g) * (mu - grand) ** 2 for g, mu in zip(groups, means)) / (k - 1)
    msw = sum((x - mu) ** 2 for g, mu in zip(groups, means) for x in g) / (total - k)
    n0 = (total - sum(len(g) ** 2 for g in groups) / total) / (k - 1)
    return VarianceParts(max(0.0, (msb - msw) / n0), msw, k, total)


def power_table(cells: pl.DataFrame, rules: Rules, lift: float | None = None,
                weeks: Sequence[int] = (4, 8, 12, 26)) -> Table:
    lift = lift or rules.min_effect
    rates = (cells.group_by("page", "week").agg(pl.col("answers").sum(), pl.col("cited").sum())
             .filter(pl.col("answers") > 0).with_columns((pl.col("cited") / pl.col("answers")).alias("rate"))
             .sort("page", "week"))  # summed in one order: at a boundary the last digit can change pages_per_arm
    by_page: dict[str, list[float]] = {}
    for page, rate in rates.select("page", "rate").iter_rows():
        by_page.setdefault(page, []).append(rate)
    parts = variance_parts(by_page)
    cols = C("lift:points", "weeks:int", "sd_page_rate:num", "pages_per_arm:int", "between_var:num", "within_var:num")
    if parts is None:
        return Table("power", f"Pages and weeks to detect {lift * 100:.0f} points", cols, [],
                     note="not enough data yet: needs weekly rates of 2 or more pages, one with 2 or more weeks")
    rows = []
    for w in weeks:
        sd = math.sqrt(parts.between + parts.within / w)
        rows.append([lift, w, sd, pages_needed(sd, Rules(min_effect=lift, power=rules.power), rules.alpha),
                     parts.between, parts.within])
    return Table("power", f"Pages and weeks to detect {lift * 100:.0f} points ({rules.power:.0%} power, "
                          f"α = {rules.alpha})", cols, rows,
                 note=f"from {parts.page_weeks} page-weeks of {count(parts.pages, 'page')}: a page's rate over W weeks has "
                      "variance between_var + within_var / W; pages_per_arm: two-sample t-test on page rates. "
                      "When between_var dominates, more weeks will not help: more pages will.")
