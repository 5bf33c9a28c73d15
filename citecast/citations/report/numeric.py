"""The report's statistics on page-level data (hundreds of rows) in numpy and scipy.special.

Why not statsmodels, scipy.stats and lifelines here: importing them costs about a second of CPU per
report (scipy.stats, statsmodels.base, pandas), more than the computations, which are a few
formulas on at most a few thousand numbers. Each function below computes what the library computes
(the same estimator, interval and tie rule) and tests/test_citations_report_numeric.py checks it
against the library on varied data, so the libraries stay the reference:

- ols_fixed_effects      statsmodels OLS: coefficient, t-interval, residual scale
- wilson                 statsmodels proportion_confint(method="wilson")
- t_interval_half        scipy.stats.t.ppf
- holm                   statsmodels multipletests(method="holm")
- ttest_ind_pages        statsmodels TTestIndPower().solve_power (nobs1, ratio 1, two-sided)
- kaplan_meier           lifelines KaplanMeierFitter (entry times, exponential Greenwood band, medians)
- cox_efron              statsmodels PHReg (one covariate, strata, Efron ties, entry times) + LR test
- logrank                lifelines logrank_test (two groups)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import special


def norm_quantile(p: float) -> float:
    return float(special.ndtri(p))


def t_quantile(p: float, df: float) -> float:
    return float(special.stdtrit(df, p))


def chi2_1_sf(x: float) -> float:
    """Survival function of chi-square with one degree of freedom (the square of a standard normal)."""
    return math.erfc(math.sqrt(max(x, 0.0) / 2))


def ols_fixed_effects(treat: np.ndarray, y: np.ndarray, dummies: np.ndarray,
                      level: float = 0.95) -> tuple[float, float, float, float]:
    """Coefficient of `treat` in OLS of y on [treat, dummies], its t-interval and sqrt(residual scale)."""
    X = np.column_stack([treat, dummies])
    pinv = np.linalg.pinv(X)
    beta = pinv @ y
    rank = np.linalg.matrix_rank(X)
    df = len(y) - rank
    resid = y - X @ beta
    if df <= 0:
        return float(beta[0]), math.nan, math.nan, math.nan
    scale = float(resid @ resid) / df
    se = math.sqrt((pinv @ pinv.T)[0, 0] * scale)
    half = t_quantile(0.5 + level / 2, df) * se
    return float(beta[0]), float(beta[0] - half), float(beta[0] + half), math.sqrt(scale)


def wilson(cited: int, n: int, level: float = 0.95) -> tuple[float, float]:
    z = norm_quantile(0.5 + level / 2)
    q, z2 = cited / n, z * z
    denom = 1 + z2 / n
    centre = (q + z2 / (2 * n)) / denom
    half = z * math.sqrt(q * (1 - q) / n + z2 / (4 * n * n)) / denom
    return centre - half, centre + half


def t_interval_half(sd: float, n: int, level: float = 0.95) -> float:
    """Half-width of the t-interval of a mean of n values with standard deviation sd."""
    return t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n)


def holm(pvalues: Sequence[float], alpha: float = 0.05) -> tuple[list[bool], list[float]]:
    """Holm's step-down adjustment: (reject, adjusted p) in the order given."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    steps = np.arange(m, 0, -1)
    not_reject = p[order] > alpha / steps
    first = int(np.flatnonzero(not_reject)[0]) if not_reject.any() else m
    reject_sorted = np.arange(m) < first
    adjusted_sorted = np.minimum(np.maximum.accumulate(p[order] * steps), 1.0)
    reject, adjusted = np.empty(m, bool), np.empty(m)
    reject[order], adjusted[order] = reject_sorted, adjusted_sorted
    return reject.tolist(), adjusted.tolist()


def _ttest_ind_power(effect: float, n: float, alpha: float) -> float:
    df, nc = 2 * n - 2, effect * math.sqrt(n / 2)
    upper, lower = special.stdtrit(df, 1 - alpha / 2), special.stdtrit(df, alpha / 2)
    return float(1 - special.nctdtr(df, nc, upper) + special.nctdtr(df, nc, lower))


def ttest_ind_pages(effect: float, alpha: float, power: float) -> float:
    """Observations per arm (equal arms, two-sided pooled t-test) for `power`: the root of power(n) = power.

    nan where even two per arm have more power (the library's solver gives up there too)."""
    lo, hi = 2.0, 4.0
    if _ttest_ind_power(effect, lo, alpha) >= power:
        return math.nan
    while _ttest_ind_power(effect, hi, alpha) < power:
        lo, hi = hi, hi * 2
        if hi > 1e12:
            return math.inf
    for _ in range(200):  # bisection to the last digits: ceil() of the answer must not move
        mid = (lo + hi) / 2
        if _ttest_ind_power(effect, mid, alpha) < power:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10 * hi:
            break
    return (lo + hi) / 2


@dataclass
class KMCurve:
    times: np.ndarray
    survival: np.ndarray
    lower: np.ndarray  # exponential Greenwood band
    upper: np.ndarray
    median: float  # inf while the curve stays above one half
    median_lower: float  # the median of the lower band (inf likewise)
    median_upper: float


def _median(times: np.ndarray, s: np.ndarray) -> float:
    """The first time the curve is at or below one half (lifelines' qth_survival_time)."""
    if s[-1] > 0.5:
        return math.inf
    return float(times[np.argmax(s <= 0.5)])


def kaplan_meier(durations: Sequence[float], events: Sequence[bool], entry: Sequence[float],
                 level: float = 0.95) -> KMCurve:
    """Kaplan-Meier with late entry, as lifelines computes it: at each distinct time (of events, censoring or
    entries) entrants join the risk set after that time's deaths (except at the first time)."""
    d, e, b = np.asarray(durations, float), np.asarray(events, bool), np.asarray(entry, float)
    times = np.unique(np.concatenate([d, b]))
    removed = np.bincount(np.searchsorted(times, d), minlength=len(times)).astype(float)
    observed = np.bincount(np.searchsorted(times, d), weights=e.astype(float), minlength=len(times))
    entrance = np.bincount(np.searchsorted(times, b), minlength=len(times)).astype(float)
    net = np.cumsum(entrance - removed)
    half = len(times) // 2
    if half and net[:half].min() == 0:  # lifelines refuses these too (StatError): nobody at risk early on
        raise ValueError(f"no page at risk at day {times[int(np.argmin(net[:half]))]:g}: too few early entries")
    at_risk = np.cumsum(entrance) - np.concatenate([[0.0], np.cumsum(removed)[:-1]])
    joined = entrance.copy()
    joined[0] = 0
    population = at_risk - joined
    with np.errstate(divide="ignore", invalid="ignore"):
        log_terms = np.log(population - observed) - np.log(population)
        var_terms = observed / (population * (population - observed))
    log_terms[np.isnan(log_terms)] = 0.0  # lifelines: nobody at risk, the estimate carries forward
    var_terms[np.isnan(var_terms) | np.isinf(var_terms)] = 0.0
    log_s, var = np.cumsum(log_terms), np.cumsum(var_terms)
    s = np.exp(log_s)
    z = norm_quantile(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.exp(-np.exp(np.log(-log_s) - z * np.sqrt(var) / log_s))
        upper = np.exp(-np.exp(np.log(-log_s) + z * np.sqrt(var) / log_s))
    lower[np.isnan(lower)], upper[np.isnan(upper)] = 1.0, 1.0
    return KMCurve(times, s, lower, upper, _median(times, s), _median(times, lower), _median(times, upper))


class NoFiniteEstimate(ArithmeticError):
    pass


def _efron_terms(beta: float, risk1: np.ndarray, risk0: np.ndarray, dead1: np.ndarray,
                 dead0: np.ndarray) -> tuple[float, float, float]:
    """Log partial likelihood, score and information of a binary covariate's coefficient (Efron ties), summed
    over failure times given as counts at risk and failing in each arm."""
    theta = math.exp(beta)
    m = (dead1 + dead0).astype(int)
    k = np.repeat(np.arange(len(m)), m)  # one row per failure, r = 0..m-1 within its time
    r = np.arange(len(k)) - np.repeat(np.cumsum(m) - m, m)
    frac = r / m[k]
    s0 = risk1[k] * theta + risk0[k] - frac * (dead1[k] * theta + dead0[k])
    s1 = risk1[k] * theta - frac * dead1[k] * theta
    ratio = s1 / s0
    loglik = beta * dead1.sum() - np.log(s0).sum()
    return float(loglik), float(dead1.sum() - ratio.sum()), float((ratio - ratio ** 2).sum())


def cox_efron(durations: np.ndarray, events: np.ndarray, treat: np.ndarray, strata: np.ndarray,
              entry: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """Cox model of a 0/1 covariate, stratified, Efron ties, late entry (at risk at t when entry <= t <= duration,
    statsmodels' PHReg rule): hazard ratio, its Wald interval and the likelihood-ratio test's p-value."""
    risk1, risk0, dead1, dead0 = [], [], [], []
    for s in np.unique(strata):
        sel = strata == s
        d, e, x, b = durations[sel], events[sel].astype(bool), treat[sel] == 1, entry[sel]
        fail = np.unique(d[e])
        for arm, risk, dead in ((x, risk1, dead1), (~x, risk0, dead0)):
            ds, bs = np.sort(d[arm]), np.sort(b[arm])
            # at risk at t: duration >= t and entry <= t (entry <= duration, so: #(d >= t) - #(b > t))
            risk.append(len(ds) - np.searchsorted(ds, fail, "left") - (len(bs) - np.searchsorted(bs, fail, "right")))
            dead.append(np.bincount(np.searchsorted(fail, d[arm & e]), minlength=len(fail)))
    r1, r0, d1, d0 = (np.concatenate(v).astype(float) for v in (risk1, risk0, dead1, dead0))
    beta, (ll0, _, _) = 0.0, _efron_terms(0.0, r1, r0, d1, d0)
    ll = ll0
    for _ in range(100):  # Newton's method; the log-likelihood is concave in beta
        _, score, info = _efron_terms(beta, r1, r0, d1, d0)
        if not info > 0:
            raise NoFiniteEstimate("no information about the coefficient")
        step = score / info
        while True:
            new_ll = _efron_terms(beta + step, r1, r0, d1, d0)[0]
            if new_ll >= ll - 1e-12 or abs(step) < 1e-14:
                break
            step /= 2
        beta, ll = beta + step, new_ll
        if abs(beta) > 30:  # a hazard ratio beyond 1e13: every event in one arm, no finite maximum
            raise NoFiniteEstimate("the estimate runs off to infinity")
        if abs(step) < 1e-10:
            break
    else:
        raise NoFiniteEstimate("Newton's method did not converge")
    _, _, info = _efron_terms(beta, r1, r0, d1, d0)
    half = norm_quantile(0.5 + level / 2) / math.sqrt(info)
    return math.exp(beta), math.exp(beta - half), math.exp(beta + half), chi2_1_sf(2 * (ll - ll0))


def logrank(durations_a: Sequence[float], durations_b: Sequence[float], events_a: Sequence[bool],
            events_b: Sequence[bool]) -> float:
    """Two-group log-rank test's p-value (hypergeometric variance, ties as one time)."""
    da, db = np.asarray(durations_a, float), np.asarray(durations_b, float)
    ea, eb = np.asarray(events_a, bool), np.asarray(events_b, bool)
    times = np.unique(np.concatenate([da[ea], db[eb]]))
    if not len(times):
        return math.nan
    sa, sb = np.sort(da), np.sort(db)
    na = len(sa) - np.searchsorted(sa, times, "left")
    nb = len(sb) - np.searchsorted(sb, times, "left")
    oa = np.bincount(np.searchsorted(times, da[ea]), minlength=len(times))
    ob = np.bincount(np.searchsorted(times, db[eb]), minlength=len(times))
    n, dead = na + nb, oa + ob
    expected = dead * na / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n > 1, dead * (na / n) * (1 - na / n) * (n - dead) / (n - 1), 0.0)
    if not var.sum() > 0:  # one group empty, or every event at a time when nobody else was at risk
        return 1.0
    return chi2_1_sf(float((oa.sum() - expected.sum()) ** 2 / var.sum()))
