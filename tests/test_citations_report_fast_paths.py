"""The report's faster paths give what the slower ones gave (issue 16, item 7: the report at scale).

- Cox within topic: the report's (numeric.cox_efron: statsmodels' PHReg estimator) against lifelines' CoxPHFitter,
  strata = topic, Efron ties, late entries;
- times stored as text: the fixed-format parses against polars' inference, and its fallback;
- share of voice: the (topic, URL) counts by bincount over dense codes, and by hash when sparse, against
  a plain join and group-by.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest

from citecast.citations.report.data import _text_times
from citecast.citations.report.survival import CoxNotConverged, cox_within_topic


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
    with pytest.raises((CoxNotConverged, ArithmeticError, np.linalg.LinAlgError)):
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
    data = ReportData.of([PageRef("a", "https://s1.org/1", (), "t0", "distribution")], answers, cited)
    got = topic_url_counts(data)
    assert sorted(got.select("topic", "normalized_url", "answers").iter_rows()) == _reference_counts(data)
    assert set(got.filter(pl.col("normalized_url") == "https://s1.org/1")["page"].to_list()) <= {"a"}
