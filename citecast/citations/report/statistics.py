"""Cohort comparisons with the page as the unit, within topic, Holm-corrected.

Why this design (simulations in tests/test_citations_statistics.py and docs/citations.md):

- one number per page (its citation rate over the window): repeated samples of
  a query, days and engines are inside the page's variance, never extra units;
- topics are strata: the effect is the cohort coefficient of an OLS of page
  rate on cohort + topic (percentage points, with its t-interval), and only
  topics that hold both arms contribute;
- the p-value is a permutation test of cohort labels among pages *within* each
  topic, with that coefficient as the statistic: exact under the null whatever
  the topics' rates and spreads (robust standard errors over-reject when hot
  and cold topics hold the arms unevenly);
- Holm across the comparisons that have enough data;
- below `min_pages` per arm or `min_rounds` rounds there is no test, only
  "not enough data yet", and a power estimate says how many pages are needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import polars as pl

from citecast.citations.report.numeric import holm, norm_quantile, ols_fixed_effects, ttest_ind_pages
from citecast.words import count

DEFAULT_PAIRS = (("distribution", "links"), ("distribution", "control"), ("links", "control"), ("both", "control"))
PERMUTATIONS = 4000
SEED = 20260301  # fixed: the same data gives the same report


@dataclass
class Rules:
    min_pages: int = 5  # per arm, in topics that hold both arms
    min_rounds: int = 3  # distinct ISO weeks with answers
    alpha: float = 0.05
    min_effect: float = 0.10  # the smallest difference in citation rate worth detecting (power estimate)
    power: float = 0.8
    pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS


@dataclass
class Comparison:
    a: str
    b: str
    pages_a: int = 0
    pages_b: int = 0
    topics: list[str] = field(default_factory=list)
    rounds: int = 0
    effect: float | None = None  # a minus b, topic-adjusted, as a fraction
    ci_low: float | None = None
    ci_high: float | None = None
    p: float | None = None
    p_holm: float | None = None
    page_sd: float | None = None
    pages_needed: int | None = None  # per arm, for min_effect at the given power
    rounds_help: bool | None = None  # False: the variance is between pages, more rounds will not do it
    missing: list[str] = field(default_factory=list)  # why there is no test
    winner: str | None = None
    min_effect_used: float = 0.10
    power_used: float = 0.8

    @property
    def tested(self) -> bool:
        return self.p is not None

    def text(self, rules: Rules) -> str:
        size = (f"{self.pages_a} vs {self.pages_b} pages in {len(self.topics)} topic"
                f"{'' if len(self.topics) == 1 else 's'}, {self.rounds} round{'' if self.rounds == 1 else 's'}")
        if not self.tested:
            return f"{self.a} vs {self.b}: not enough data yet ({'; '.join(self.missing)}; {size})" + self._need()
        eff = (f"{_pts(self.effect)} points (95% CI {_pts(self.ci_low)} to {_pts(self.ci_high)}), {size}, "
               f"p = {self.p:.3f}, Holm p = {self.p_holm:.3f}")
        if self.winner:
            return f"{self.winner} ahead of {self.b if self.winner == self.a else self.a}: {self.a} − {self.b} = {eff}"
        return f"{self.a} vs {self.b}: no clear difference: {eff}" + self._need()

    def _need(self) -> str:
        if self.pages_needed is None:
            return ""
        have = min(self.pages_a, self.pages_b)
        more = max(0, self.pages_needed - have)
        size = f"{self.min_effect_used * 100:.1f}-point"
        if more == 0 and self.tested:
            return (f"; {count(have, 'page')} per arm are enough to find a {size} difference with "
                    f"{self.power_used:.0%} power (about {self.pages_needed} needed), so one that large is unlikely")
        text = (f"; to detect a {size} difference with {self.power_used:.0%} power: about "
                f"{count(self.pages_needed, 'page')} per arm ({more} more)")
        if self.rounds_help is False:
            text += "; more rounds alone will not get there (most variation is between pages)"
        return text


def _pts(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:+.1f}"


def page_rates(cells: pl.DataFrame) -> pl.DataFrame:
    """page, cohort, topic, answers, cited, rate: one row per page with answers."""
    return (cells.group_by("page", "cohort", "topic")
            .agg(pl.col("answers").sum(), pl.col("cited").sum())
            .filter(pl.col("answers") > 0)
            .with_columns((pl.col("cited") / pl.col("answers")).alias("rate"))
            .sort("page"))


def _design(topics: np.ndarray) -> np.ndarray:
    levels = sorted(set(topics.tolist()))
    return np.column_stack([(topics == t).astype(float) for t in levels])


def _centred_coef(resid: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.einsum("ij,j->i", resid, y) / np.einsum("ij,ij->i", resid, resid)


def permutation_p(treat: np.ndarray, y: np.ndarray, topics: np.ndarray, n: int = PERMUTATIONS,
                  seed: int = SEED) -> float:
    """Two-sided p of the topic-adjusted coefficient, cohort labels shuffled within each topic."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(topics == t) for t in sorted(set(topics.tolist()))]
    shuffled = np.repeat(treat[None, :], n, axis=0)
    for idx in groups:
        shuffled[:, idx] = rng.permuted(shuffled[:, idx], axis=1)
    # The coefficient with topic effects (Frisch-Waugh-Lovell) without its matrix products: the
    # effects are one indicator per topic, so the residual of treat is treat minus its topic's mean, and a
    # shuffle within topics keeps those means: every row's residual is the row minus the same vector
    # (element-wise; the products took BLAS threads for a few milliseconds of work).
    means = np.zeros(len(treat))
    for idx in groups:
        means[idx] = treat[idx].mean()
    observed = _centred_coef((treat - means)[None, :], y)[0]
    null = _centred_coef(shuffled - means, y)
    return float((1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (n + 1))


def ols_effect(treat: np.ndarray, y: np.ndarray, topics: np.ndarray) -> tuple[float, float, float, float]:
    """Effect, 95% t-interval and residual SD of `y ~ treat + topic` (OLS; numeric.py, checked against statsmodels)."""
    return ols_fixed_effects(treat, y, _design(topics))


def pages_needed(sd: float, rules: Rules, alpha: float) -> int | None:
    """Pages per arm for a two-sided t-test to find `min_effect` at `power` (statsmodels' TTestIndPower's
    answer, computed in numeric.py)."""
    if not sd or not math.isfinite(sd) or sd <= 0:
        return None
    n = ttest_ind_pages(rules.min_effect / sd, alpha, rules.power)
    if not math.isfinite(n):  # the normal approximation, where the t-test's solver gives up
        n = 2 * ((norm_quantile(1 - alpha / 2) + norm_quantile(rules.power)) * sd / rules.min_effect) ** 2
    return max(2, int(math.ceil(n)))


def compare_cohorts(pages: pl.DataFrame, rounds_by_topic: dict[str, int], rules: Rules) -> list[Comparison]:
    """Every configured pair with pages on both sides; Holm over the ones that were tested."""
    present = set(pages["cohort"].to_list())
    out: list[Comparison] = []
    for a, b in rules.pairs:
        if a not in present or b not in present:
            continue
        out.append(_compare(pages, a, b, rounds_by_topic, rules))
    tested = [c for c in out if c.tested]
    if tested:
        reject, adjusted = holm([c.p for c in tested], alpha=rules.alpha)
        for c, r, adj in zip(tested, reject, adjusted):
            c.p_holm = float(adj)
            c.winner = (c.a if c.effect > 0 else c.b) if r else None
    first_alpha = rules.alpha / max(1, len(tested) or len(out))
    for c in out:
        if c.page_sd is not None and c.winner is None:
            c.pages_needed = pages_needed(c.page_sd, rules, first_alpha)
            c.min_effect_used, c.power_used = rules.min_effect, rules.power
    return out


def _compare(pages: pl.DataFrame, a: str, b: str, rounds_by_topic: dict[str, int], rules: Rules) -> Comparison:
    arms = pages.filter(pl.col("cohort").is_in([a, b]))
    topics_of = {arm: set(arms.filter(pl.col("cohort") == arm)["topic"].to_list()) for arm in (a, b)}
    shared = sorted(topics_of[a] & topics_of[b])
    sel = arms.filter(pl.col("topic").is_in(shared))
    c = Comparison(a, b, pages_a=sel.filter(pl.col("cohort") == a).height,
                   pages_b=sel.filter(pl.col("cohort") == b).height, topics=shared,
                   rounds=min((rounds_by_topic.get(t, 0) for t in shared), default=0))
    if not shared:
        c.missing.append(f"no topic has pages of both {a} and {b}")
    for arm, n in ((a, c.pages_a), (b, c.pages_b)):
        if shared and n < rules.min_pages:
            c.missing.append(f"{arm} has {n} page{'' if n == 1 else 's'} (need {rules.min_pages})")
    if shared and c.rounds < rules.min_rounds:
        c.missing.append(f"{c.rounds} round{'' if c.rounds == 1 else 's'} (need {rules.min_rounds})")
    y = sel["rate"].to_numpy().astype(float)
    treat = (sel["cohort"].to_numpy() == a).astype(float)
    topics = sel["topic"].to_numpy()
    if c.pages_a >= 2 and c.pages_b >= 2 and len(y) > len(shared) + 1:
        c.effect, c.ci_low, c.ci_high, c.page_sd = ols_effect(treat, y, topics)
        within = sel.select((pl.col("rate") * (1 - pl.col("rate")) / pl.col("answers")).mean()).item()
        if c.page_sd and math.isfinite(c.page_sd):
            c.rounds_help = bool(within > 0.25 * c.page_sd ** 2)
    if c.missing:
        return c
    if np.ptp(y) == 0:  # every page has the same rate: nothing to test, and no winner
        c.p = 1.0
        return c
    c.p = permutation_p(treat, y, topics)
    return c
