"""The report's faster paths give what the slower ones gave (issue 16, item 7: the report at scale).

- Cox within topic: the report's (numeric.cox_efron: statsmodels' PHReg estimator) against lifelines' CoxPHFitter,
  strata = topic, Efron ties, late entries;
- times stored as text: the fixed-format parses against polars' inference, and its fallback;
- share of voice: the (topic, URL) counts by bincount over dense codes, and by hash when sparse, against
  a plain join and group-by;
- the permutation test's within-topic centring against the pseudo-inverse projection (the same p);
- page cells (hits by bincount over a dense grid, by hash when sparse; a page cited by two of its URLs in one
  answer counted once at its best position) against a plain join and group-by.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest

from citecast.citations.report.data import _text_times
from citecast.citations.report.numeric import NoFiniteEstimate
from citecast.citations.report.survival import cox_within_topic


def frame(seed: int, n: int = 120, late: bool = True, lift: float = 0.7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = pd.DataFrame({"duration": rng.uniform(1, 200, n), "event": rng.random(n) < 0.6,
                      "treat": (rng.random(n) < 0.5).astype(float), "topic": [f"t{i % 7}" for i in range(n)]})
    f.loc[f.treat == 1, "duration"] *= lift
    f["entry"] = np.where(rng.random(n) < 0.3, f.duration * rng.uniform(0, 0.8, n), 0.0) if late else 0.0
    return f


def lifelines_cox(f: pd.DataFrame, precision: float = 1e-10) -> tuple[float, float, float, float]:
    from lifelines import CoxPHFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter().fit(f[["duration", "event", "entry", "treat", "topic"]], "duration", "event",
                                entry_col="entry", strata=["topic"], fit_options={"precision": precision})
    lo, hi = cph.confidence_intervals_.loc["treat"]
    return (math.exp(cph.params_["treat"]), math.exp(lo), math.exp(hi),
            float(cph.log_likelihood_ratio_test().p_value))


@pytest.mark.parametrize("seed,late,lift", [(1, True, 0.7), (2, False, 1.0), (3, True, 0.4), (4, False, 0.9)])
def test_cox_matches_lifelines(seed, late, lift):
    f = frame(seed, late=late, lift=lift)
    ours = cox_within_topic(f)
    # lifelines run to the same precision: the same maximum; at its default stopping rule (a Newton step
    # under 1e-7 on standardised covariates) it stops up to ~1e-4 short, the 4th decimal of a CSV figure
    assert ours == pytest.approx(lifelines_cox(f), rel=1e-5, abs=1e-12)
    assert ours == pytest.approx(lifelines_cox(f, precision=1e-7), rel=2e-4, abs=1e-9)
    if lift == 0.4:
        assert ours[3] < 0.01 and ours[0] > 1  # shorter times to citation: a real effect, found


def test_cox_without_a_finite_estimate_is_an_error():
    f = frame(5, late=False)
    f["event"] = f["treat"] == 1  # every citation in one arm: the estimate runs off to infinity
    with pytest.raises(ArithmeticError):  # as lifelines did (OverflowError): the report says "did not converge"
        lifelines_cox(f)
    with pytest.raises(NoFiniteEstimate):  # not any arithmetic or linear-algebra error: this one
        cox_within_topic(f)


@pytest.mark.parametrize("values", [
    ["2026-05-10 14:30:00.000000", None, "2026-01-01 00:00:00.250000"],  # SQLAlchemy's format: the fast parse
    ["2026-05-10 14:30:00", "2026-05-10 14:30:00.5"],  # no fraction, or a short one: the "%.f" parse
    ["2026-05-10 14:30:00.000000", "2026-05-10 14:30:00"],  # six digits but not in every row
    ["2026-05-10T14:30:00+02:00", "2026-05-11T00:00:00+02:00"],  # another format: polars infers, as before
])
def test_text_times_as_polars_infers_them(values):
    s = pl.Series("t", values)
    assert _text_times(s).to_list() == s.str.to_datetime(time_zone="UTC", time_unit="us").to_list()


def _reference_counts(data) -> list[tuple]:
    """(topic, url, answers) the plain way: join cited URLs to their answers, count per topic and URL."""
    joined = data.cited.join(data.answers.filter(pl.col("can_cite")), left_on="observation_id", right_on="id")
    return sorted(joined.group_by("topic", "normalized_url").len("answers").iter_rows())


@pytest.mark.parametrize("topics", [3, 1500])  # dense counts (few topics), and the hash fallback (many)
def test_topic_url_counts_as_a_plain_group_by(topics):
    from datetime import datetime, timezone

    from citecast.citations.model import PageRef
    from citecast.citations.report import ReportData
    from citecast.citations.report.metrics import topic_url_counts

    rng = np.random.default_rng(topics)
    at = datetime(2026, 1, 5, tzinfo=timezone.utc)
    answers = [dict(id=10 + 3 * i, engine="openai", surface="api", topic=f"t{i % topics}", query="q", observed_at=at,
                    can_cite=bool(i % 5), brand_mentioned=None) for i in range(3000)]  # ids with gaps: the search
    cited = [dict(observation_id=a["id"], position=k + 1, normalized_url=u)
             for a in answers for k, u in enumerate(dict.fromkeys(
                 f"https://s{rng.integers(40)}.org/{rng.integers(900 if topics > 3 else 20)}"
                 for _ in range(rng.integers(1, 4))))]
    if not any(c["observation_id"] == 13 and c["normalized_url"] == "https://s1.org/1" for c in cited):
        cited.append(dict(observation_id=13, position=9, normalized_url="https://s1.org/1"))  # our page, cited
    data = ReportData.of([PageRef("a", "https://s1.org/1", (), "t0", "distribution")], answers, cited)
    got = topic_url_counts(data)
    assert sorted(got.select("topic", "normalized_url", "answers").iter_rows()) == _reference_counts(data)
    own = got.filter(pl.col("normalized_url") == "https://s1.org/1")
    assert own.height > 0 and own["page"].to_list() == ["a"] * own.height  # the page's URL maps to it
    assert got["page"].null_count() == got.height - own.height  # and no other URL maps to a page


def _fwl_permutation_p(treat, y, topics, n, seed):
    """The permutation p the general way: each shuffle's residual on the topic indicators by a pseudo-inverse."""
    levels = sorted(set(topics.tolist()))
    fe = np.column_stack([(topics == t).astype(float) for t in levels])

    def coef(t):
        resid = t - (t @ fe) @ np.linalg.pinv(fe)
        return (resid @ y) / np.einsum("ij,ij->i", resid, resid)

    rng = np.random.default_rng(seed)
    shuffled = np.repeat(treat[None, :], n, axis=0)
    for idx in [np.flatnonzero(topics == t) for t in levels]:
        shuffled[:, idx] = rng.permuted(shuffled[:, idx], axis=1)
    return float((1 + np.sum(np.abs(coef(shuffled)) >= abs(coef(treat[None, :])[0]) - 1e-12)) / (n + 1))


def test_permutation_p_is_the_general_projections_p_on_varied_data():
    """The report's shortcut (a shuffle's residual = shuffle minus its topic's mean of treat) gives the same p as
    the pseudo-inverse projection, ties included (rates on a coarse grid tie often)."""
    from citecast.citations.report.statistics import permutation_p

    tested = 0
    for seed in range(120):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(8, 120))
        topics = np.array([f"t{i}" for i in rng.integers(0, int(rng.integers(1, 12)), n)])
        treat = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(float)
        y = rng.integers(0, 5, n) / 4.0 if seed % 3 == 0 else np.round(rng.random(n), int(rng.integers(1, 4)))
        both = np.zeros(n, dtype=bool)  # the report compares only topics holding both arms
        for t in set(topics.tolist()):
            idx = topics == t
            both |= idx if 0 < treat[idx].sum() < idx.sum() else False
        if both.sum() < 4:
            continue
        tested += 1
        args = treat[both], y[both], topics[both]
        assert permutation_p(*args, n=500, seed=seed) == _fwl_permutation_p(*args, n=500, seed=seed), seed
    assert tested > 80


def _reference_cells(data) -> list[tuple]:
    """(page, day, engine, answers, citations, cited, weight) the plain way: every page against the answers of
    its topic that can cite from its publication day, joined to the cited URLs that are the page's own."""
    from citecast.citations.report.metrics import pages_frame, url_frame

    answers = data.answers.filter(pl.col("can_cite")).with_columns(pl.col("observed_at").dt.date().alias("day"))
    n_urls = data.cited.group_by("observation_id").len("citations")
    answers = (answers.join(n_urls, left_on="id", right_on="observation_id", how="left")
               .with_columns(pl.col("citations").fill_null(0)))
    pages = pages_frame(data.pages)
    opp = (pages.join(answers, on="topic")
           .filter(pl.col("published").is_null() | (pl.col("day") >= pl.col("published"))))
    best = (data.cited.join(url_frame(data.pages), on="normalized_url")
            .group_by("observation_id", "page").agg(pl.col("position").min()))
    opp = opp.join(best, left_on=["id", "page"], right_on=["observation_id", "page"], how="left")
    out = opp.group_by("page", "day", "engine").agg(
        pl.len().alias("answers"), pl.col("citations").sum(), pl.col("position").is_not_null().sum().alias("cited"),
        (1.0 / pl.col("position")).fill_null(0.0).sum().alias("weight"))
    return sorted((r[0], r[1], r[2], r[3], r[4], r[5], round(r[6], 9)) for r in out.iter_rows())


@pytest.mark.parametrize("pages,days", [(40, 60), (2500, 700)])  # a dense (page, day, engine) grid; a sparse one
def test_cells_as_a_plain_join_and_group_by(pages, days):
    """Cells count hits by bincount over the dense grid, or by hash group-by and join when the grid would be far
    larger than the rows; both give the plain computation's figures."""
    from datetime import date, datetime, timedelta, timezone

    from citecast.citations.model import PageRef
    from citecast.citations.report import ReportData
    from citecast.citations.report.metrics import cells

    rng = np.random.default_rng(pages)
    refs = [PageRef(f"p{i}", f"https://ex.com/p{i}", (f"https://ex.com/old/p{i}",) if i % 5 == 0 else (),
                    f"t{i % 30}", "distribution", date(2026, 1, 1) + timedelta(days=int(rng.integers(0, days))))
            for i in range(pages)]
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    answers, cited = [], []
    for i in range(4000):
        topic = int(rng.integers(30))
        answers.append(dict(id=i + 1, engine=["openai", "gemini", "perplexity"][i % 3], topic=f"t{topic}",
                            query="q", observed_at=start + timedelta(days=int(rng.integers(days)), hours=i % 24),
                            can_cite=bool(i % 7), brand_mentioned=None))
        urls = dict.fromkeys(f"https://ex.com/{'old/' if rng.random() < 0.2 else ''}p{topic + 30 * int(rng.integers(pages // 30))}"
                             if rng.random() < 0.5 else f"https://s{rng.integers(50)}.org/a" for _ in range(rng.integers(1, 5)))
        if topic % 5 == 0 and i % 3 == 0:  # one page cited by both its URLs in one answer: counted once, best position
            x = topic + 30 * int(rng.integers(pages // 30))
            both = [f"https://ex.com/old/p{x}", f"https://ex.com/p{x}"]
            urls = dict.fromkeys([*urls, *(both if i % 2 else both[::-1])])
        cited += [dict(observation_id=i + 1, position=k, normalized_url=u) for k, u in enumerate(urls, 1)]
    data = ReportData.of(refs, answers, cited)
    got = cells(data)
    assert got.filter(pl.col("cited") > 0).height > 50  # pages are cited, some by their previous URL
    assert sorted((r["page"], r["day"], r["engine"], r["answers"], r["citations"], r["cited"], round(r["weight"], 9))
                  for r in got.iter_rows(named=True)) == _reference_cells(data)
