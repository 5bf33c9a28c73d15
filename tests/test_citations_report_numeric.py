"""The report's numpy statistics (citecast/citations/report/numeric.py) against the libraries they stand in
for, on varied generated data: statsmodels (OLS, Wilson, Holm, t-test power, PHReg), scipy.stats (t
quantiles) and lifelines (Kaplan-Meier with late entry, its band and medians, the log-rank test).

The report imports none of those libraries (a second of CPU per report, issue 16 item 7); they stay
here, as the reference.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from citecast.citations.report import numeric as N

SEEDS = range(40)


def _close(ours, ref, tol=1e-9):
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    assert (np.isfinite(ours) == np.isfinite(ref)).all(), (ours, ref)
    fin = np.isfinite(ref)
    assert ours[fin] == pytest.approx(ref[fin], rel=tol, abs=tol)
    assert (ours[~fin] == ref[~fin]).all()


def _survival_data(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 80))
    d = np.round(rng.uniform(0.5, 60, n), int(rng.integers(0, 3)))  # 0 decimals: many ties
    e = rng.random(n) < rng.uniform(0.2, 0.9)
    late = rng.random(n) < (0.3 if seed % 2 else 0.0)
    b = np.where(late, np.round(d * rng.uniform(0, 0.9, n), 1), 0.0)
    return rng, d, e, b


@pytest.mark.parametrize("seed", SEEDS)
def test_kaplan_meier_as_lifelines(seed):
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    _, d, e, b = _survival_data(seed)
    try:
        kmf = KaplanMeierFitter().fit(d, e, entry=b)
    except Exception:  # lifelines refuses (nobody at risk early on): so do we
        with pytest.raises(ValueError):
            N.kaplan_meier(d, e, b)
        return
    km = N.kaplan_meier(d, e, b)
    band = kmf.confidence_interval_
    _close(km.times, kmf.survival_function_.index.values)
    _close(km.survival, kmf.survival_function_.iloc[:, 0])
    _close(km.lower, band.iloc[:, 0])
    _close(km.upper, band.iloc[:, 1])
    medians = median_survival_times(band)
    _close([km.median, km.median_lower, km.median_upper],
           [kmf.median_survival_time_, medians.iloc[0, 0], medians.iloc[0, 1]])


@pytest.mark.parametrize("seed", SEEDS)
def test_logrank_as_lifelines(seed):
    from lifelines.statistics import logrank_test

    rng, d, e, _ = _survival_data(seed)
    g = rng.random(len(d)) < 0.5
    _close([N.logrank(d[g], d[~g], e[g], e[~g])], [logrank_test(d[g], d[~g], e[g], e[~g]).p_value])


@pytest.mark.parametrize("seed", SEEDS)
def test_cox_as_statsmodels_phreg(seed):
    from scipy.stats import chi2
    from statsmodels.duration.hazard_regression import PHReg

    rng, d, e, b = _survival_data(seed)
    treat = (rng.random(len(d)) < 0.5).astype(float)
    lift = np.where(treat == 1, rng.uniform(0.4, 1.2), 1.0)  # treated pages cited sooner (or later)
    d, b = d * lift + 0.01, b * lift
    topics = np.array([f"t{i % 4}" for i in range(len(d))])
    model = PHReg(d, treat[:, None], status=e.astype(float), entry=b, strata=topics, ties="efron")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = model.fit(gtol=1e-12)
        except np.linalg.LinAlgError:  # no information (e.g. no event where both arms are at risk)
            with pytest.raises(N.NoFiniteEstimate):
                N.cox_efron(d, e, treat, topics, b)
            return
        stat = 2 * (fit.llf - model.loglike(np.zeros(1)))
    beta, (lo, hi) = float(fit.params[0]), fit.conf_int()[0]
    if not (abs(beta) < 8 and np.isfinite([lo, hi]).all()):  # no finite maximum: we say so
        with pytest.raises(N.NoFiniteEstimate):
            N.cox_efron(d, e, treat, topics, b)
        return
    ours = N.cox_efron(d, e, treat, topics, b)
    assert ours == pytest.approx((math.exp(beta), math.exp(lo), math.exp(hi), chi2.sf(stat, 1)), rel=1e-6)


def test_cox_without_any_event_in_one_arm_has_no_finite_estimate():
    d = np.arange(1.0, 21.0)
    treat = np.array([1.0, 0.0] * 10)
    with pytest.raises(N.NoFiniteEstimate):
        N.cox_efron(d, treat == 1, treat, np.array(["t"] * 20), np.zeros(20))


@pytest.mark.parametrize("seed", SEEDS)
def test_ols_wilson_holm_and_t_as_statsmodels_and_scipy(seed):
    from scipy import stats
    from statsmodels.regression.linear_model import OLS
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 8))
    m = int(rng.integers(k + 3, 60))
    topics = rng.integers(0, k, m)
    treat = (rng.random(m) < 0.5).astype(float)
    y = rng.random(m) * rng.uniform(0.1, 1)
    dummies = np.column_stack([(topics == t).astype(float) for t in sorted(set(topics.tolist()))])
    res = OLS(y, np.column_stack([treat, dummies])).fit()
    lo, hi = res.conf_int(0.05)[0]
    _close(N.ols_fixed_effects(treat, y, dummies), [res.params[0], lo, hi, math.sqrt(res.scale)])

    n = int(rng.integers(1, 300))
    cited = int(rng.integers(0, n + 1))
    _close(N.wilson(cited, n), proportion_confint(cited, n, alpha=0.05, method="wilson"))

    p = rng.random(int(rng.integers(1, 6))) ** 3
    reject, adjusted = N.holm(p, alpha=0.05)
    ref_reject, ref_adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    assert reject == list(ref_reject)
    _close(adjusted, ref_adjusted)

    _close([N.t_interval_half(0.3, m)], [stats.t.ppf(0.975, m - 1) * 0.3 / math.sqrt(m)])


@pytest.mark.parametrize("effect", [0.05, 0.1, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0])
@pytest.mark.parametrize("alpha", [0.05, 0.0125])
def test_pages_per_arm_as_statsmodels_ttest_power(effect, alpha):
    from statsmodels.stats.power import TTestIndPower

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TTestIndPower().solve_power(effect_size=effect, alpha=alpha, power=0.8, ratio=1.0)
    ours = N.ttest_ind_pages(effect, alpha, 0.8)
    assert ours == pytest.approx(ref, rel=1e-6) and math.ceil(ours) == math.ceil(ref)


def test_the_report_imports_no_statistics_or_plotting_library():
    code = ("import sys\n"
            "from tests.test_citations_report import data, NOW\n"
            "from citecast.citations.report import build_report\n"
            "from citecast.citations.report.html import to_html\n"
            "to_html(build_report(data(), now=NOW))\n"
            "print(sorted(m for m in ('statsmodels', 'lifelines', 'scipy.stats', 'pandas', 'matplotlib')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
