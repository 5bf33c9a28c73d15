"""The report's parts on what engines did and on randomised holdouts, each figure against a hand computation."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from scipy import stats
from typer.testing import CliRunner

from citecast.citations.model import PageRef
from citecast.citations.report import ReportData, Rules, build_report
from citecast.citations.report.data import Arm
from citecast.citations.report.holdout import estimate, power_table, variance_parts
from citecast.citations.report.metrics import cells as make_cells
from citecast.cli.app import app


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def answer(i, engine="gemini", topic="t", day=date(2026, 11, 2), query="q", can_cite=True):
    return {"id": i, "engine": engine, "surface": "api", "topic": topic, "query": query, "observed_at": at(day),
            "can_cite": can_cite, "brand_mentioned": None}


# --- retrieved but not cited -----------------------------------------------------------------------

PAGES_R = [PageRef("a", "https://ex.com/a", topic="t", queries=("what is a",)),
           PageRef("b", "https://ex.com/b", topic="t"), PageRef("c", "https://ex.com/c", topic="t")]


def retrieval_data() -> ReportData:
    # answer: engine, retrieved (sources), cited
    #   1 gemini     retrieved a, b, x   cited a
    #   2 anthropic  retrieved a         cited -      -> a retrieved, not cited
    #   3 gemini     retrieved b         cited b
    #   4 openai     lists no sources    cited a      -> says nothing about what it passed over: left out
    #   5 anthropic  retrieved x         cited b      -> a cited page counts as retrieved
    engines = {1: "gemini", 2: "anthropic", 3: "gemini", 4: "openai", 5: "anthropic"}
    retrieved = [(1, "https://ex.com/a"), (1, "https://ex.com/b"), (1, "https://x.org/x"), (2, "https://ex.com/a"),
                 (3, "https://ex.com/b"), (5, "https://x.org/x")]
    cited = [(1, 1, "https://ex.com/a"), (3, 1, "https://ex.com/b"), (4, 1, "https://ex.com/a"),
             (5, 1, "https://ex.com/b")]
    searched = [(1, "a", "what is a", "What is A"), (1, "a", "a vs b", "a vs b"), (2, "a", "a vs b", "A vs B?"),
                (5, "a", "a vs b", "a vs b"), (5, "a", "a pricing", "a pricing"), (3, None, "b basics", "b basics")]
    return ReportData.of(PAGES_R, [answer(i, e) for i, e in engines.items()], cited, retrieved=retrieved,
                         searched=searched)


def test_retrieved_but_not_cited_per_page_by_hand():
    report = build_report(retrieval_data(), now=at(date(2026, 11, 30)))
    t = report.tables["retrieval"]
    rows = {r["page"]: r for r in t.as_dicts()}
    # a: retrieved by 1 (cited) and 2 (not): 2 / 1 / 1, share 1/2; passed over by anthropic.
    assert [rows["a"][k] for k in ("retrieved_in", "cited_in", "retrieved_not_cited", "not_cited_share",
                                   "engines_passing_over")] == [2, 1, 1, 0.5, "anthropic"]
    # b: retrieved by 1 (not cited), 3 (cited), 5 (cited, so retrieved): 3 / 2 / 1, share 1/3.
    assert [rows["b"][k] for k in ("retrieved_in", "cited_in", "retrieved_not_cited")] == [3, 2, 1]
    assert rows["b"]["not_cited_share"] == pytest.approx(1 / 3) and rows["b"]["engines_passing_over"] == "gemini"
    assert [rows["c"][k] for k in ("retrieved_in", "cited_in", "retrieved_not_cited", "not_cited_share")] == [0, 0, 0, None]
    assert t.column("page") == ["a", "b", "c"]  # most passed over first, then the higher share
    assert "over the 4 answers that list the URLs they retrieved" in t.note


def test_engine_queries_per_page_by_hand():
    t = build_report(retrieval_data(), now=at(date(2026, 11, 30))).tables["engine_queries"]
    rows = [(r["page"], r["query"], r["answers"], r["share"], r["engines"], r["tracked"]) for r in t.as_dicts()]
    # Page a: answers 1, 2, 5 searched. "a vs b" in all 3 (spellings "a vs b" twice, "A vs B?" once);
    # "a pricing" in 1 (answer 5), "what is a" in 1 (answer 1, the tracked query itself).
    assert rows == [
        ("a", "a vs b", 3, 1.0, "anthropic, gemini", ""),
        ("a", "a pricing", 1, pytest.approx(1 / 3), "anthropic", ""),
        ("a", "What is A", 1, pytest.approx(1 / 3), "gemini", "yes"),
        ("topic:t", "b basics", 1, 1.0, "gemini", ""),
    ]


# --- the randomised holdout ------------------------------------------------------------------------

ASSIGNED = date(2026, 11, 1)
# stratum -> page -> (arm, citing answers out of the stratum's 10 answers)
DESIGN = {
    "s1": {"d1": ("distribution", 6), "d2": ("distribution", 4), "h1": ("holdout", 3), "h2": ("holdout", 1)},
    "s2": {"d3": ("distribution", 5), "d4": ("distribution", 3), "h3": ("holdout", 2), "h4": ("holdout", 2)},
}


def holdout_data() -> ReportData:
    pages, answers, cited, arms = [], [], [], {}
    for stratum, members in DESIGN.items():
        ids = [len(answers) + k + 1 for k in range(10)]
        # 10 answers over three ISO weeks (rounds), all after the assignment day.
        answers += [answer(i, topic=stratum, day=date(2026, 11, 2) + timedelta(days=7 * (k % 3)))
                    for k, i in enumerate(ids)]
        for slug, (arm, n) in members.items():
            cohort = "distribution" if arm == "distribution" else "control"
            pages.append(PageRef(slug, f"https://ex.com/{slug}", topic=stratum,
                                 cohort="links" if slug == "d4" else cohort))  # d4: the editor's cohort wins
            arms[slug] = Arm(arm, stratum, ASSIGNED, "7")
            cited += [(i, 1, f"https://ex.com/{slug}") for i in ids[:n]]
    firsts = {"h4": at(date(2026, 11, 9))}  # posted while held out
    # An answer before the assignment day is not an outcome: it cites h1, which would lift the holdout arm.
    answers.append(answer(99, topic="s1", day=date(2026, 10, 20)))
    cited.append((99, 1, "https://ex.com/h1"))
    return ReportData.of(pages, answers, cited, arms=arms, first_distribution=firsts)


def test_intention_to_treat_effect_by_hand():
    data = holdout_data()
    rules = Rules(min_pages=2, min_rounds=3)
    h = estimate(data, make_cells(data), rules)
    # Page rates: s1 d .6 .4 / h .3 .1; s2 d .5 .3 / h .2 .2 (d4 analysed in its arm despite its cohort).
    # Balanced strata: the OLS coefficient = mean of within-stratum differences = (.3 + .2) / 2 = .25.
    assert h.pages == {"distribution": 4, "holdout": 4} and h.strata == ["s1", "s2"] and h.rounds == 3
    assert h.mean_rate["distribution"] == pytest.approx(0.45) and h.mean_rate["holdout"] == pytest.approx(0.20)
    assert h.effect == pytest.approx(0.25)
    # Residuals from fitted arm + stratum means: s1 .125 -.075 .075 -.125, s2 .075 -.125 .025 .025;
    # RSS = .065, df = 8 - 1 - 2 = 5, sigma² = .013; SE = sqrt(.013 / Σ(treat - stratum mean)²) = sqrt(.013 / 2).
    rss = 2 * (0.125 ** 2 + 0.075 ** 2) + 0.075 ** 2 + 0.125 ** 2 + 2 * 0.025 ** 2
    se = math.sqrt(rss / 5 / (8 * 0.25))
    half = stats.t.ppf(0.975, 5) * se
    assert (h.ci_low, h.ci_high) == (pytest.approx(0.25 - half), pytest.approx(0.25 + half))  # .0428 to .4572
    # The randomisation test by enumeration: 6 x 6 equally likely within-stratum draws.
    rates = {s: {p: n / 10 for p, (_, n) in m.items()} for s, m in DESIGN.items()}

    def diff(stratum, treated):
        r = rates[stratum]
        return sum(r[p] for p in treated) / 2 - sum(v for p, v in r.items() if p not in treated) / 2

    draws = [(diff("s1", a) + diff("s2", b)) / 2 for a in itertools.combinations(rates["s1"], 2)
             for b in itertools.combinations(rates["s2"], 2)]
    exact = sum(abs(d) >= 0.25 - 1e-12 for d in draws) / len(draws)  # 2 of 36
    assert exact == pytest.approx(2 / 36) and h.p == pytest.approx(exact, abs=0.02)
    assert h.deviations == [("d4", "runs as links (the editor's cohort:) in arm distribution"),
                            ("h4", "distributed while in the holdout arm")]
    assert "randomised holdout: no effect distinguishable from zero" in h.text(rules)  # p ≈ .056 > .05


def test_holdout_needs_enough_pages_and_says_so():
    data = holdout_data()
    h = estimate(data, make_cells(data), Rules(min_pages=5, min_rounds=4))
    assert h.missing == ["distribution has 4 pages with answers in shared strata (need 5)",
                         "holdout has 4 pages with answers in shared strata (need 5)", "3 rounds (need 4)"]
    assert h.text(Rules(min_pages=5)).startswith("randomised holdout: not enough data yet")
    assert h.pages_needed is not None
    no_arms = ReportData.of(PAGES_R, [answer(1)], [])
    assert estimate(no_arms, make_cells(no_arms), Rules()).missing[0].startswith("no randomised pages")


def test_report_shows_the_holdout_and_its_deviations():
    report = build_report(holdout_data(), rules=Rules(min_pages=2, min_rounds=3), now=at(date(2026, 11, 30)))
    row = report.tables["holdout"].as_dicts()[0]
    assert (row["pages_distribution"], row["pages_holdout"], row["deviations"]) == (4, 4, 2)
    assert row["effect"] == pytest.approx(0.25)
    assert report.tables["holdout_deviations"].column("page") == ["d4", "h4"]
    assert report.verdict_lines()[-1].startswith("randomised holdout:")
    from citecast.citations.report.html import to_html
    from citecast.citations.report.markdown import to_markdown

    page = to_html(report)
    assert page.index("id='t-holdout'") < page.index("id='t-cohort_topic'") < page.index("id='t-retrieval'")
    assert "## Randomised holdout: the effect of distribution (intention to treat)" in to_markdown(report)


# --- power -----------------------------------------------------------------------------------------


def test_variance_parts_and_pages_needed_by_hand():
    # Weekly rates: P1 .2 .4, P2 .6 .8. Grand mean .5; MSB = 2(.2²) + 2(.2²) / 1 = .16;
    # MSW = 4 x .01 / 2 = .02; n0 = (4 - 8/4) / 1 = 2; between = (.16 - .02) / 2 = .07, within = .02.
    parts = variance_parts({"p1": [0.2, 0.4], "p2": [0.6, 0.8]})
    assert (parts.between, parts.within) == (pytest.approx(0.07), pytest.approx(0.02))
    cells = pl.DataFrame({"page": ["p1", "p1", "p2", "p2"], "week": ["2026-W45", "2026-W46"] * 2,
                          "answers": [10] * 4, "cited": [2, 4, 6, 8]})
    table = power_table(cells, Rules(), lift=0.10, weeks=(4, 12))
    rows = table.as_dicts()
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    for row, w in zip(rows, (4, 12)):
        var = 0.07 + 0.02 / w  # .075 at 4 weeks, .07167 at 12
        assert row["sd_page_rate"] == pytest.approx(math.sqrt(var))
        normal = 2 * z ** 2 * var / 0.10 ** 2  # 117.7 and 112.5 pages per arm
        assert normal <= row["pages_per_arm"] <= normal + 2  # the t-test needs about one page more
    assert rows[0]["pages_per_arm"] > rows[1]["pages_per_arm"]
    assert variance_parts({"p1": [0.2]}) is None


def test_cli_power_prints_and_writes_nothing(project):
    runner = CliRunner()
    res = runner.invoke(app, ["report", "--lift", "0.2"])
    assert res.exit_code == 2 and "--lift goes with --power" in res.output
    for wrong in ("10", "0", "-0.1"):  # points or nothing, where a fraction is meant
        res = runner.invoke(app, ["report", "--power", "--lift", wrong], env={"COLUMNS": "200"})
        assert res.exit_code == 2 and "write a fraction between 0 and 1 (0.10 = 10 points)" in res.output, res.output
    res = runner.invoke(app, ["report", "--power", "--lift", "0.2"])
    assert res.exit_code == 0, res.output
    assert "Pages and weeks to detect 20 points" in res.output and "not enough data yet" in res.output
    assert not (project.root / "reports").exists()
