"""The comparison on generated data where the truth is known (docs/citations.md has the full-size figures).

Generator: page i of cohort c in topic t; round r (one ISO week), query q, S samples:
p = expit(base_t + effect_c + u_i + v_irq), u_i ~ N(0, sd_page) (strong page-level variation),
v_irq ~ N(0, sd_day) (samples of one query on one day are alike); every answer of topic t is an
opportunity for every page of t. The data go through the report's own path (answers and cited URLs ->
page cells -> page rates -> compare_cohorts), so the unit of analysis is tested, not assumed.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from citecast.citations.model import PageRef
from citecast.citations.report import ReportData, Rules, build_report
from citecast.citations.report.metrics import cells
from citecast.citations.report.statistics import compare_cohorts, page_rates, pages_needed

T0 = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)  # a Monday


def expit(x):
    return 1 / (1 + np.exp(-x))


def generate(seed: int, *, spread: dict[str, dict[str, int]] | None = None, base: dict[str, float] | None = None,
             effect: float = 0.0, rounds: int = 2, queries: int = 3, samples: int = 5, sd_page: float = 1.0,
             sd_day: float = 0.5) -> ReportData:
    rng = np.random.default_rng(seed)
    spread = spread or {c: {"t1": 4, "t2": 4, "t3": 4} for c in ("distribution", "links")}
    topics = sorted({t for per in spread.values() for t in per})
    base = base or {t: math.log(0.25 / 0.75) for t in topics}
    pages, rates = [], {}
    for cohort, per in spread.items():
        for topic, n in per.items():
            for _ in range(n):
                slug = f"p{len(pages)}"
                pages.append(PageRef(slug, f"https://ex.com/{slug}", (), topic, cohort))
                u = rng.normal(0, sd_page)
                v = rng.normal(0, sd_day, size=(rounds, queries))
                rates[slug] = expit(base[topic] + (effect if cohort == "distribution" else 0.0) + u + v)
    answers, cited = [], []
    for topic in topics:
        mine = [p.slug for p in pages if p.topic == topic]
        for r in range(rounds):
            for q in range(queries):
                counts = {s: rng.binomial(samples, rates[s][r, q]) for s in mine}
                for k in range(samples):
                    aid = len(answers) + 1
                    answers.append(dict(id=aid, engine="e", surface="api", topic=topic, query=f"{topic}-{q}",
                                        observed_at=T0 + timedelta(days=7 * r, minutes=k), can_cite=True,
                                        brand_mentioned=None))
                    pos = 0
                    for s in mine:
                        if k < counts[s]:  # this page is cited in counts[s] of the round's samples
                            pos += 1
                            cited.append(dict(observation_id=aid, position=pos, normalized_url=f"https://ex.com/{s}"))
    return ReportData.of(pages, answers, cited)


def verdicts(data: ReportData, rules: Rules) -> dict[tuple[str, str], object]:
    c = cells(data)
    rounds = dict(c.group_by("topic").agg(pl.col("week").n_unique()).iter_rows())
    return {(x.a, x.b): x for x in compare_cohorts(page_rates(c), rounds, rules)}


RULES = Rules(min_pages=5, min_rounds=2, pairs=[("distribution", "links")])


def false_winners(seeds: range, **kw) -> int:
    return sum(verdicts(generate(s, **kw), RULES)[("distribution", "links")].winner is not None for s in seeds)


def pooled_gap(data: ReportData) -> float:
    c = cells(data).group_by("cohort").agg(pl.col("cited").sum() / pl.col("answers").sum())
    d = dict(c.iter_rows())
    return d["distribution"] - d["links"]


def test_no_effect_with_strong_page_variation_names_few_winners():
    # The case: 12 pages per arm, 2 probe days, repeated samples; the pair z-test named a winner in
    # 35 of 40 seeds. Full size (200 seeds, `python -m tests.test_citations_statistics`): 6.5%; here 80, at most 10%.
    assert false_winners(range(80)) <= 8


def test_no_effect_over_eight_rounds():
    assert false_winners(range(100, 160), rounds=8) <= 6


SIMPSON = dict(spread={"distribution": {"hot": 9, "cold": 3}, "links": {"hot": 3, "cold": 9}},
               base={"hot": math.log(0.45 / 0.55), "cold": math.log(0.12 / 0.88)}, rounds=4)


def test_simpson_imbalance_is_no_winner():
    data = generate(7, **SIMPSON, sd_page=0.3)  # the case: pages alike within topic
    assert pooled_gap(data) > 0.08  # pooled over topics, distribution looks far ahead
    v = verdicts(data, RULES)[("distribution", "links")]
    assert v.winner is None and v.ci_low < 0 < v.ci_high
    # over seeds, no more false winners than the level allows (200 seeds: 4.5%)
    assert false_winners(range(200, 260), **SIMPSON) <= 6


def test_exact_simpson_case_estimates_zero():
    """Identical within each topic (pooled 36.8% vs 20.3%): the estimate is 0 and there is no winner."""
    hot, cold = [0.40, 0.45, 0.50], [0.10, 0.12, 0.14]
    rows = []
    for cohort, n_hot, n_cold in (("distribution", 3, 1), ("links", 1, 3)):
        for rate in hot * n_hot:
            rows.append(("hot", cohort, rate))
        for rate in cold * n_cold:
            rows.append(("cold", cohort, rate))
    pages = pl.DataFrame({"page": [f"p{i}" for i in range(len(rows))], "topic": [r[0] for r in rows],
                          "cohort": [r[1] for r in rows], "answers": [100] * len(rows),
                          "cited": [int(r[2] * 100) for r in rows], "rate": [r[2] for r in rows]})
    pooled = pages.group_by("cohort").agg(pl.col("rate").mean())
    assert dict(pooled.iter_rows()) == pytest.approx({"distribution": 0.3675, "links": 0.2025})
    (v,) = compare_cohorts(pages, {"hot": 4, "cold": 4}, RULES)
    assert v.effect == pytest.approx(0, abs=1e-12) and v.winner is None and v.p == pytest.approx(1.0, abs=0.01)


def test_real_effect_over_eight_weekly_rounds_is_found():
    # +1.5 on the logit scale (about +25 points), 12 pages per arm, 8 weekly rounds: full size 93.5% found.
    found = 0
    for seed in range(300, 330):
        v = verdicts(generate(seed, effect=1.5, rounds=8), RULES)[("distribution", "links")]
        found += v.winner == "distribution"
        assert v.winner != "links"
    assert found >= 24


def test_holm_across_comparisons_and_effect_interval():
    data = generate(11, effect=1.5, rounds=8, spread={c: {"t1": 6, "t2": 6} for c in ("distribution", "links",
                                                                                      "control")})
    rules = Rules(min_pages=5, min_rounds=3)
    vs = verdicts(data, rules)
    assert set(vs) == {("distribution", "links"), ("distribution", "control"), ("links", "control")}
    ps = sorted((v.p, v.p_holm) for v in vs.values())
    assert ps[0][1] == pytest.approx(min(1, ps[0][0] * 3))  # Holm: smallest p times 3
    assert ps[1][1] == pytest.approx(max(ps[0][1], min(1, ps[1][0] * 2)))
    dl = vs[("distribution", "links")]
    assert dl.ci_low < dl.effect < dl.ci_high and dl.winner == "distribution"
    assert "distribution ahead of links" in dl.text(rules) and "Holm p" in dl.text(rules)


def test_not_enough_data_says_how_much_more():
    data = generate(3, spread={c: {"t1": 3} for c in ("distribution", "links")}, rounds=2)
    v = verdicts(data, Rules(min_pages=5, min_rounds=3))[("distribution", "links")]
    assert v.p is None and v.winner is None
    assert v.missing == ["distribution has 3 pages (need 5)", "links has 3 pages (need 5)", "2 rounds (need 3)"]
    assert v.pages_needed == pages_needed(v.page_sd, Rules(), 0.05) and v.pages_needed > 3
    assert (f"to detect a 10.0-point difference with 80% power: about {v.pages_needed} pages per arm "
            f"({v.pages_needed - 3} more)") in v.text(Rules())


def test_enough_pages_for_the_smallest_effect_says_so():
    data = generate(22, rounds=8, sd_page=0.2, spread={c: {"t1": 8, "t2": 8} for c in ("distribution", "links")})
    v = verdicts(data, RULES)[("distribution", "links")]
    assert v.winner is None and v.pages_needed <= 16
    assert ("; 16 pages per arm are enough to find a 10.0-point difference with 80% power (about "
            f"{v.pages_needed} needed), so one that large is unlikely") in v.text(RULES)


def test_pages_needed_matches_the_normal_approximation():
    # n = 2 (z_.975 + z_.8)^2 (sd/delta)^2 = 2 * 7.849 * 1.44 = 22.6, the t-test needs a little more
    n = pages_needed(0.12, Rules(min_effect=0.10), 0.05)
    assert 23 <= n <= 25


def test_topics_without_both_arms_are_no_comparison():
    data = generate(5, spread={"distribution": {"t1": 6}, "links": {"t2": 6}}, rounds=3)
    v = verdicts(data, RULES)[("distribution", "links")]
    assert v.p is None and v.missing == ["no topic has pages of both distribution and links"]


def test_report_verdicts_come_from_the_page_level_test():
    r = build_report(generate(300, effect=1.5, rounds=8), rules=RULES, now=T0 + timedelta(days=70))
    (v,) = r.tables["verdicts"].as_dicts()
    assert (v["arm_a"], v["pages_a"], v["pages_b"], v["topics"], v["rounds"]) == ("distribution", 12, 12, 3, 8)
    assert v["winner"] == "distribution" and v["p_holm"] < 0.05


def test_effect_interval_and_permutation_p_by_hand():
    """Two topics, 2 + 2 pages each: within-topic differences 0.2 and 0.2, residuals all +-0.1.

    OLS rate ~ cohort + topic: effect 0.2; RSS 8 x 0.01 = 0.08 on 8 - 3 = 5 df, s^2 = 0.016;
    cohort residualised on topic is +-0.5, sum of squares 2, so se = sqrt(0.016 / 2) and the 95%
    interval is 0.2 +- t(0.975, 5) x se = 0.2 +- 2.570582 x 0.0894427. The exact permutation p
    enumerates the 6 x 6 ways to label 2 of 4 pages per topic.
    """
    import itertools

    rows = [("t1", "distribution", .5), ("t1", "distribution", .7), ("t1", "links", .3), ("t1", "links", .5),
            ("t2", "distribution", .2), ("t2", "distribution", .4), ("t2", "links", .0), ("t2", "links", .2)]
    pages = pl.DataFrame({"page": [f"p{i}" for i in range(8)], "topic": [r[0] for r in rows],
                          "cohort": [r[1] for r in rows], "answers": [10] * 8, "cited": [int(r[2] * 10) for r in rows],
                          "rate": [r[2] for r in rows]})
    (v,) = compare_cohorts(pages, {"t1": 3, "t2": 3}, Rules(min_pages=2, min_rounds=3, pairs=[("distribution", "links")]))
    half = 2.570582 * math.sqrt(0.016 / 2)
    assert v.effect == pytest.approx(0.2) and (v.ci_low, v.ci_high) == pytest.approx((0.2 - half, 0.2 + half), abs=1e-6)
    assert v.page_sd == pytest.approx(math.sqrt(0.016))
    rates = {"t1": [.5, .7, .3, .5], "t2": [.2, .4, .0, .2]}
    diffs = []
    for a1, a2 in itertools.product(itertools.combinations(range(4), 2), repeat=2):
        d = 0.0
        for topic, chosen in (("t1", a1), ("t2", a2)):
            r = rates[topic]
            d += (sum(r[i] for i in chosen) - sum(r[i] for i in range(4) if i not in chosen)) / 2 / 2
        diffs.append(d)
    exact = sum(abs(d) >= 0.2 - 1e-9 for d in diffs) / len(diffs)
    assert v.p == pytest.approx(exact, abs=0.02)  # 4,000 random draws of the 36 labelings


def full_size(seeds: int = 200) -> None:
    """The figures in docs/citations.md through the report's own path: `python -m tests.test_citations_statistics 200`."""
    base = 10_000
    cases = [("no effect, 12 pages per arm, 2 rounds", {}, None),
             ("no effect, 12 pages per arm, 8 rounds", dict(rounds=8), None),
             ("Simpson: hot/cold topics, 9 + 3 vs 3 + 9 pages, 4 rounds", SIMPSON, None),
             ("effect +1.5 logit, 12 pages per arm, 8 rounds", dict(effect=1.5, rounds=8), "distribution"),
             ("effect +1.0 logit, 12 pages per arm, 8 rounds", dict(effect=1.0, rounds=8), "distribution")]
    for k, (name, kw, truth) in enumerate(cases):
        won = [verdicts(generate(base * (k + 1) + s, **kw), RULES)[("distribution", "links")].winner
               for s in range(seeds)]
        named = sum(w is not None for w in won) if truth is None else sum(w == truth for w in won)
        what = "false winners" if truth is None else "found"
        print(f"{name}: {what} {named}/{seeds} = {named / seeds:.1%}", flush=True)


if __name__ == "__main__":
    import sys

    full_size(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
