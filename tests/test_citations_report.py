"""Every figure of the report's tables on a small dataset computed by hand (see the comments).

Pages (topic, cohort, published/updated, start):
  a  t1 distribution  2026-01-01/01-01  distributed 01-12   (also https://ex.com/old-a)
  e  t1 distribution  2026-01-01/01-01  distributed 01-05
  b  t1 links         2025-06-01/06-01  first link 01-05
  f  t1 links         -                 first link 02-01, never cited
  c  t2 control       -                 no start
  d  t2 distribution  2026-01-15/-      distributed 01-14 (before publication: starts 01-15)
Answers (12:00 UTC):
  1 openai     t1 01-10  ex.com/a, other.com/x
  2 openai     t1 01-20  other.com/y, ex.com/b, ex.com/old-a
  3 perplexity t1 02-15  ex.com/e
  4 perplexity t2 01-12  ex.com/c, ex.com/d            (d not yet published)
  5 perplexity t2 02-20  other.com/z, ex.com/d, ex.com/unknown-page
  6 llama      t1 01-11  cannot cite, brand mentioned
"""

from __future__ import annotations

import csv
import math
from datetime import date, datetime, timezone

import pytest

from citecast.citations.model import Cited, Observation, PageIndex, PageRef, record_observation
from citecast.citations.report import Link, ReportData, Rules, build_report, load_data
from citecast.citations.report.csv import write_csv
from citecast.citations.report.html import to_html
from citecast.citations.report.markdown import to_markdown
from citecast.citations.report.metrics import mean_interval, wilson
from citecast.ledger.citation_tables import BacklinkRow
from citecast.ledger.store import Ledger
from citecast.ledger.tables import EventRow

D = date
PAGES = [
    PageRef("a", "https://ex.com/a", ("https://ex.com/old-a",), "t1", "distribution", D(2026, 1, 1), D(2026, 1, 1)),
    PageRef("e", "https://ex.com/e", (), "t1", "distribution", D(2026, 1, 1), D(2026, 1, 1)),
    PageRef("b", "https://ex.com/b", (), "t1", "links", D(2025, 6, 1), D(2025, 6, 1)),
    PageRef("f", "https://ex.com/f", (), "t1", "links"),
    PageRef("c", "https://ex.com/c", (), "t2", "control"),
    PageRef("d", "https://ex.com/d", (), "t2", "distribution", None, D(2026, 1, 15)),
]


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


ANSWERS = [
    (1, "openai", "t1", "2026-01-10", ["https://ex.com/a?utm_source=x", "https://other.com/x"], True, False),
    (2, "openai", "t1", "2026-01-20", ["https://other.com/y", "https://ex.com/b", "https://ex.com/old-a"], True, None),
    (3, "perplexity", "t1", "2026-02-15", ["https://ex.com/e"], True, None),
    (4, "perplexity", "t2", "2026-01-12", ["https://ex.com/c", "https://ex.com/d"], True, None),
    (5, "perplexity", "t2", "2026-02-20", ["https://other.com/z", "https://ex.com/d", "https://ex.com/unknown-page"],
     True, None),
    (6, "llama", "t1", "2026-01-11", [], False, True),
]
FIRSTS = {"a": at("2026-01-12", 0), "e": at("2026-01-05", 0), "d": at("2026-01-14", 0)}
LINKS = [Link("b", "src1.com", "guide", D(2026, 1, 5), True), Link("b", "src2.com", "Guide", D(2026, 1, 12), False),
         Link("b", "src1.com", "read more", D(2026, 1, 19), None), Link("f", "src3.com", "x", D(2026, 2, 1), True)]
NOW = at("2026-03-01", 0)


def data() -> ReportData:
    from citecast.citations.model import normalize_url

    answers = [dict(id=i, engine=e, surface="api", topic=t, query=f"q{i}", observed_at=at(d), can_cite=c,
                    brand_mentioned=b) for i, e, t, d, _, c, b in ANSWERS]
    cited = [dict(observation_id=a[0], position=k + 1, normalized_url=normalize_url(u))
             for a in ANSWERS for k, u in enumerate(a[4])]
    return ReportData.of(PAGES, answers, cited, first_distribution=FIRSTS, links=LINKS,
                         excerpts={2: "Backlinks still matter, says ex.com."}, calls=CALLS)


CALLS = [("openai", D(2026, 1, 10), True, 3, None), ("openai", D(2026, 1, 11), False, 1, "RateLimitError 429"),
         ("openai", D(2026, 1, 12), True, 2, None)]


@pytest.fixture(scope="module")
def report():
    return build_report(data(), now=NOW)


def rows(report, name, key_cols):
    t = report.tables[name]
    return {tuple(r[k] for k in key_cols): r for r in t.as_dicts()}


def approx(x):
    return pytest.approx(x, abs=1e-9)


def test_page_table(report):
    p = rows(report, "pages", ["page"])
    # a: answers 1,2,3 of t1; cited in 1 (pos 1) and 2 (old URL, pos 3); URLs in them 2+3+1
    assert (p[("a",)]["answers"], p[("a",)]["cited"]) == (3, 2)
    assert p[("a",)]["rate"] == approx(2 / 3) and p[("a",)]["visibility"] == approx((1 + 1 / 3) / 3)
    assert p[("a",)]["share"] == approx(2 / 6)
    # Wilson by hand: z = 1.959964, n = 3, p = 2/3
    z, n, q = 1.959963984540054, 3, 2 / 3
    centre = (q + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(q * (1 - q) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert p[("a",)]["rate_low"] == approx(centre - half) and p[("a",)]["rate_high"] == approx(centre + half)
    assert (p[("b",)]["cited"], p[("b",)]["visibility"], p[("b",)]["share"]) == (1, approx(0.5 / 3), approx(1 / 6))
    assert (p[("e",)]["cited"], p[("e",)]["visibility"]) == (1, approx(1 / 3))
    assert (p[("f",)]["answers"], p[("f",)]["cited"], p[("f",)]["rate"]) == (3, 0, 0.0)
    # c: answers 4 and 5 (no publication date: both count); cited in 4 at 1; URLs 2 + 3
    assert (p[("c",)]["answers"], p[("c",)]["cited"], p[("c",)]["share"]) == (2, 1, approx(1 / 5))
    # d: published 01-15, so answer 4 (01-12) is no opportunity and its citation no pickup
    assert (p[("d",)]["answers"], p[("d",)]["cited"], p[("d",)]["rate"]) == (1, 1, 1.0)
    # freshness on 2026-03-01: a updated 01-01 -> 59 days; b 2025-06-01 -> 273; d published 01-15 -> 45
    assert [p[(s,)]["freshness"] for s in "abcd"] == ["31-90d", "181-365d", "unknown", "31-90d"]
    # links of b: 3 rows, 2 domains; follow said by 2 of them, 1 dofollow
    assert (p[("b",)]["links"], p[("b",)]["referring_domains"], p[("b",)]["dofollow_share"]) == (3, 2, 0.5)
    # dates and clocks: a distributed 01-12 (cited 01-10 before that), b's first link 01-05
    assert (p[("a",)]["published"], p[("a",)]["first_distribution"], p[("a",)]["first_link"]) == (
        D(2026, 1, 1), at("2026-01-12", 0), None)
    assert (p[("a",)]["first_citation"], p[("a",)]["days_to_citation"], p[("a",)]["timing"]) == (
        at("2026-01-20"), approx(8.5), "cited before its start")
    assert (p[("b",)]["first_link"], p[("b",)]["first_citation"], p[("b",)]["timing"]) == (
        D(2026, 1, 5), at("2026-01-20"), "cited")
    assert (p[("f",)]["first_citation"], p[("f",)]["days_to_citation"], p[("f",)]["timing"]) == (None, None, "censored")


def test_cohort_by_topic_and_freshness(report):
    ct = rows(report, "cohort_topic", ["cohort", "topic"])
    dt1 = ct[("distribution", "t1")]  # a 2/3, e 1/3: mean 1/2; t(1) interval clipped to [0, 1]
    assert (dt1["pages"], dt1["answers"], dt1["cited"], dt1["page_list"]) == (2, 6, 3, "a;e")
    assert dt1["mean_rate"] == approx(0.5) and (dt1["ci_low"], dt1["ci_high"]) == (0.0, 1.0)
    lt1 = ct[("links", "t1")]  # b 1/3, f 0
    assert lt1["mean_rate"] == approx(1 / 6) and lt1["pooled_rate"] == approx(1 / 6)
    assert ct[("distribution", "t2")]["mean_rate"] == 1.0 and ct[("distribution", "t2")]["ci_low"] is None
    assert ct[("control", "t2")]["mean_rate"] == approx(0.5)
    assert list(ct) == [("distribution", "t1"), ("distribution", "t2"), ("links", "t1"), ("control", "t2")]
    cf = rows(report, "cohort_freshness", ["cohort", "freshness"])
    # a: 01-10, 01-20 fresh (9, 19 days) both cited; 02-15 (45 days) not; e the other way round; d 36 days, cited
    assert (cf[("distribution", "0-30d")]["mean_rate"], cf[("distribution", "0-30d")]["pages"]) == (approx(0.5), 2)
    assert cf[("distribution", "31-90d")]["mean_rate"] == approx(2 / 3)
    assert cf[("distribution", "31-90d")]["page_list"] == "a;d;e"
    assert (cf[("links", "181-365d")]["cited"], cf[("links", "181-365d")]["answers"]) == (1, 3)
    assert (cf[("links", "unknown")]["cited"], cf[("control", "unknown")]["mean_rate"]) == (0, approx(0.5))
    # distribution 31-90d: a 0/1, d 1/1, e 1/1 -> mean 2/3, sd 0.57735, t(0.975, 2) = 4.302653: clipped to [0, 1]
    assert (cf[("distribution", "31-90d")]["ci_low"], cf[("distribution", "31-90d")]["ci_high"]) == (0.0, 1.0)
    assert cf[("distribution", "31-90d")]["pooled_rate"] == approx(2 / 3)


def test_mean_interval_by_hand():
    mean, lo, hi = mean_interval([0.2, 0.4, 0.6])
    half = 4.302652729911275 * 0.2 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert (mean, lo, hi) == (approx(0.4), 0.0, approx(0.4 + half))
    assert wilson(0, 0) == (None, None)


def test_time_to_first_citation(report):
    t = report.survival.timings
    assert (t["a"].status, t["a"].cited_before_start) == ("cited before its start", True)  # 01-10 < 01-12
    assert t["a"].days_to_citation == approx(8.5)
    assert (t["e"].status, t["e"].days_to_citation) == ("cited", approx(41.5))
    assert (t["d"].start, t["d"].start_kind, t["d"].days_to_citation) == (at("2026-01-15", 0), "distribution", 36.5)
    assert (t["b"].start_kind, t["b"].days_to_citation) == ("link", approx(15.5))
    assert (t["f"].status, t["f"].end) == ("censored", at("2026-02-15"))  # last answer of t1
    assert t["c"].status == "no start date"
    curves = {c.cohort: c for c in report.survival.curves}
    # distribution: e 41.5 and d 36.5, both cited: KM median 36.5; links: f censored at 14.5, b cited at 15.5
    assert (curves["distribution"].pages, curves["distribution"].events, curves["distribution"].median_days) == (
        2, 2, approx(36.5))
    assert (curves["links"].pages, curves["links"].events, curves["links"].median_days) == (2, 1, approx(15.5))
    assert [p[:2] for p in curves["links"].points] == [(0.0, 0.0), (14.5, 0.0), (15.5, 1.0)]
    table = rows(report, "time_to_citation", ["cohort"])
    assert [table[(c,)]["pages"] for c in ("distribution", "links")] == [2, 2]
    assert (table[("links",)]["cited"], table[("links",)]["late_entries"], table[("links",)]["median_days"]) == (
        1, 0, approx(15.5))
    steps = [tuple(r[1:3]) for r in report.tables["survival_curves"].rows if r[0] == "distribution"]
    assert steps == [(0.0, 0.0), (36.5, 0.5), (41.5, 1.0)]  # 1 - KM: one of two cited at 36.5, both at 41.5
    tests = rows(report, "time_to_citation_tests", ["arm_a", "arm_b"])
    assert tests[("distribution", "links")]["p"] is None
    # d is in t2, where no links page is: 1 distribution page shares a topic with links
    assert "distribution has 1 page in shared topics (need 5)" in tests[("distribution", "links")]["note"]


def test_left_truncation_for_pages_started_before_since():
    d = data()
    d.cited_before_window = {}
    since = at("2026-01-15", 0)
    d.answers = d.answers.filter(d.answers["observed_at"] >= since)
    r = build_report(d, since=since, now=NOW)
    t = r.survival.timings
    # e started 01-05: at risk from 01-15 (10 days in), cited 02-15 12:00 -> 41.5 days from its own start
    assert (t["e"].entry_days, t["e"].days_to_citation, t["e"].status) == (10.0, approx(41.5), "cited")
    d.cited_before_window = {"e": at("2026-01-10")}
    t = build_report(d, since=since, now=NOW).survival.timings
    assert t["e"].status == "cited before the window"


def test_competitors_and_unmatched(report):
    comp = rows(report, "competitors", ["topic", "domain"])
    # t1: 6 cited URLs, 4 on ex.com (a, b, old-a, e: 4 distinct), 2 on other.com (x, y)
    assert (comp[("t1", "ex.com")]["urls"], comp[("t1", "ex.com")]["citations"]) == (4, 4)
    assert (comp[("t2", "ex.com")]["urls"], comp[("t2", "ex.com")]["citations"]) == (3, 4)  # d cited twice
    assert comp[("t1", "ex.com")]["share_of_voice"] == approx(4 / 6) and comp[("t1", "ex.com")]["ours"] == "yes"
    assert comp[("t1", "other.com")]["share_of_voice"] == approx(2 / 6) and comp[("t1", "other.com")]["ours"] == ""
    assert comp[("t2", "ex.com")]["share_of_voice"] == approx(4 / 5)
    urls = report.tables["top_cited_urls"].as_dicts()
    assert [(u["url"], u["answers"], u["page"]) for u in urls if u["topic"] == "t2"] == [
        ("https://ex.com/d", 2, "d"), ("https://ex.com/c", 1, "c"), ("https://ex.com/unknown-page", 1, ""),
        ("https://other.com/z", 1, "")]
    (un,) = report.tables["unmatched_own_urls"].as_dicts()
    assert (un["url"], un["answers"], un["first_seen"], un["example_query"]) == (
        "https://ex.com/unknown-page", 1, at("2026-02-20"), "q5")


def test_engine_weeks_and_answers(report):
    ew = rows(report, "engine_weeks", ["engine", "week"])
    assert set(ew) == {("openai", "2026-W02"), ("openai", "2026-W04"), ("perplexity", "2026-W03"),
                       ("perplexity", "2026-W07"), ("perplexity", "2026-W08"), ("llama", "2026-W02")}
    assert (ew[("llama", "2026-W02")]["can_cite"], ew[("llama", "2026-W02")]["citing_us_rate"]) == (0, None)
    assert ew[("llama", "2026-W02")]["brand_rate"] == 1.0 and ew[("openai", "2026-W02")]["brand_rate"] == 0.0
    assert ew[("openai", "2026-W04")]["citing_us"] == 1
    # perplexity, 2026-W03: answer 4 (01-12) cites c and d: 1 answer, citing us, no brand flag known
    assert ew[("perplexity", "2026-W03")] == {"engine": "perplexity", "week": "2026-W03", "answers": 1, "can_cite": 1,
                                              "citing_us": 1, "citing_us_rate": 1.0, "brand_rate": None}
    ans = report.tables["answers"].as_dicts()
    # newest first per page; d's answer 4 came before d was published: not behind any figure
    assert [(a["page"], a["answer_id"], a["position"]) for a in ans] == [
        ("a", 2, 3), ("a", 1, 1), ("b", 2, 2), ("c", 4, 1), ("d", 5, 2), ("e", 3, 1)]
    assert ans[0]["excerpt"] == "Backlinks still matter, says ex.com."


def test_coverage_per_engine_and_week(report):
    # 01-10 (Sat) and 01-11 (Sun) are 2026-W02: 3 answered + 1 failed; 01-12 (Mon) is W03
    assert report.tables["coverage"].rows == [["openai", "2026-W02", 4, 3, 1, 0.25, "RateLimitError 429"],
                                              ["openai", "2026-W03", 2, 2, 0, 0.0, ""]]


def test_verdict_says_not_enough_data(report):
    (dl,) = [c for c in report.comparisons if (c.a, c.b) == ("distribution", "links")]
    assert dl.p is None and dl.winner is None and (dl.pages_a, dl.pages_b, dl.rounds) == (2, 2, 3)
    text = dl.text(report.rules)
    assert text.startswith("distribution vs links: not enough data yet (distribution has 2 pages (need 5); "
                           "links has 2 pages (need 5); 2 vs 2 pages in 1 topic, 3 rounds)")


def test_outputs(report, tmp_path):
    html = to_html(report)
    assert html.count("data:image/svg+xml;base64,") == 5 and "<script" not in html
    assert "src='http" not in html and "href='http" not in html
    assert "id='pages-a'" in html and "href='#answers-a'" in html and "id='answers-a'" in html
    md = to_markdown(report)
    assert "| distribution | t1 | 2 | 6 | 3 | 50.0% | 0.0% | 100.0% | 50.0% |" in md
    files = {p.name: p for p in write_csv(report, tmp_path)}
    assert set(report.tables) == {n.removesuffix(".csv") for n in files}
    with files["cohort_topic.csv"].open() as fh:
        first = next(csv.DictReader(fh))
    assert first == {"cohort": "distribution", "topic": "t1", "pages": "2", "answers": "6", "cited": "3",
                     "mean_rate": "0.5", "ci_low": "0.0", "ci_high": "1.0", "pooled_rate": "0.5", "page_list": "a;e"}


def test_load_data_from_the_ledger(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        index = PageIndex(PAGES)
        record_observation(ledger, Observation("openai", "api", "q", "t1", at("2026-01-10"),
                                               [Cited("https://ex.com/a?utm_source=x"), Cited("https://other.com/x"),
                                                Cited("https://ex.com/src", "source")], answer_text="A cites ex.com"),
                           index)
        record_observation(ledger, Observation("openai", "api", "q", "t1", at("2025-12-01"), [Cited("https://ex.com/e")]),
                           index)
        with ledger.session() as s:
            for status, ts in (("dry_run", at("2026-01-05", 0)), ("published", at("2026-01-12", 0))):
                s.add(EventRow(page="a", channel="x" if status == "dry_run" else "reddit", slot="2026-W02", seq=0,
                               status=status, canonical_url=PAGES[0].canonical_url, published_at=ts))
            s.add(BacklinkRow(source_url="https://src1.com/p", source_domain="src1.com", target_url="https://ex.com/b",
                              target_normalized="https://ex.com/b", page="b", anchor="g", first_seen=D(2026, 1, 5),
                              follow=True, tool="ahrefs"))
        got = load_data(ledger, PAGES, since=at("2026-01-01", 0))
    finally:
        ledger.close()
    assert got.first_distribution == {"a": at("2026-01-12", 0)}  # published beats dry run
    assert got.answers["observed_at"].to_list() == [at("2026-01-10")]
    assert sorted(got.cited.select("position", "normalized_url").iter_rows()) == [
        (1, "https://ex.com/a"), (2, "https://other.com/x")]
    assert got.cited_before_window == {"e": at("2025-12-01")}
    assert got.excerpts == {1: "A cites ex.com"}  # the drill-down's answers only
    assert got.calls == []  # recorded answers without a probe call: imports, or this test
    assert got.links == [Link("b", "src1.com", "g", D(2026, 1, 5), True)]


def test_load_data_reads_queries_of_shown_answers_only(tmp_path):
    """The answers frame carries no query text; load_data reads it for the answers a table shows: the
    drill-down's and those citing our domain without a page (their example query), no others."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        index = PageIndex(PAGES)
        for query, urls in (("cites a", ["https://ex.com/a"]), ("cites nothing of ours", ["https://other.com/x"]),
                            ("cites a moved page", ["https://ex.com/moved", "https://other.com/y"])):
            record_observation(ledger, Observation("openai", "api", query, "t1", at("2026-01-10"),
                                                   [Cited(u) for u in urls]), index)
        got = load_data(ledger, PAGES)
    finally:
        ledger.close()
    assert "query" not in got.answers.columns and got.answers.height == 3
    assert got.queries == {1: "cites a", 3: "cites a moved page"}
    report = build_report(got, now=NOW)
    assert report.tables["answers"].column("query") == ["cites a"]
    assert report.tables["unmatched_own_urls"].column("example_query") == ["cites a moved page"]
