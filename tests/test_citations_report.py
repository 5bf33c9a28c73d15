"""The report on a seeded dataset whose metrics were computed by hand (see the comments)."""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from fractions import Fraction as F

from citecast.citations.model import Observation, Cited, PageIndex, PageRef, record_observation
from citecast.ledger.citation_tables import BacklinkRow
from citecast.ledger.store import Ledger
from citecast.ledger.tables import EventRow
from citecast.citations.report import Link, Obs, ReportData, Tally, build_report, compare, load_data, to_html, to_markdown, write_csv

A = PageRef("a", "https://ex.com/a", ("https://ex.com/old-a",), "t1", "distribution", date(2026, 1, 1))
B = PageRef("b", "https://ex.com/b", (), "t1", "links", date(2025, 6, 1))
C = PageRef("c", "https://ex.com/c", (), "t2", "control")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T12:00:00+00:00")


OBS = [
    Obs(1, "openai", "t1", at("2026-01-10"), ((1, "https://ex.com/a?utm_source=x"), (2, "https://other.com/x")),
        brand_mentioned=False),
    Obs(2, "openai", "t1", at("2026-01-20"), ((1, "https://other.com/y"), (2, "https://ex.com/b"), (3, "https://ex.com/old-a"))),
    Obs(3, "perplexity", "t1", at("2026-02-15"), ()),
    Obs(4, "perplexity", "t2", at("2026-01-15"), ((1, "https://ex.com/c"),)),
    Obs(5, "perplexity", "t2", at("2026-02-20"), ((1, "https://other.com/z"), (2, "https://other.com/w"))),
    Obs(6, "llama", "t1", at("2026-01-11"), (), can_cite=False, brand_mentioned=True),
]
LINKS = [Link("b", "src1.com", "guide", date(2026, 1, 5)), Link("b", "src2.com", "Guide", date(2026, 1, 12), False),
         Link("b", "src1.com", "read more", date(2026, 1, 19))]
DATA = ReportData([A, B, C], OBS, {"a": datetime(2026, 1, 12, tzinfo=timezone.utc)}, LINKS)


def metrics(t: Tally):
    return (len(t.answers), t.pairs, t.cited, t.citations, t.rate, t.share, t.visibility)


def test_rates_shares_visibility_by_page_topic_cohort():
    r = build_report(DATA, min_observations=3)
    assert (r.answers, r.all_answers, r.pairs) == (5, 6, 8)
    # a: cited at 1 (o1) and 3 (o2, old URL), not in o3; all citations 2+3+0; visibility (1 + 1/3 + 0)/3
    assert metrics(r.by_page["a"]) == (3, 3, 2, 5, F(2, 3), F(2, 5), F(4, 9))
    # b: cited at 2 in o2 only
    assert metrics(r.by_page["b"]) == (3, 3, 1, 5, F(1, 3), F(1, 5), F(1, 6))
    # c: cited at 1 in o4, not in o5 (2 other citations)
    assert metrics(r.by_page["c"]) == (2, 2, 1, 3, F(1, 2), F(1, 3), F(1, 2))
    assert metrics(r.by_topic["t1"]) == (3, 6, 3, 10, F(1, 2), F(3, 10), F(11, 36))
    assert metrics(r.by_cohort["distribution"]) == metrics(r.by_page["a"])
    assert metrics(r.by_cohort["links"]) == metrics(r.by_page["b"])
    assert metrics(r.by_cohort["control"]) == metrics(r.by_page["c"])
    assert metrics(r.by_engine["openai"]) == (2, 4, 3, 10, F(3, 4), F(3, 10), F(1, 2) * (1 + F(1, 3) + F(1, 2)) / 2)


def test_freshness_buckets():
    r = build_report(DATA)
    # a updated 2026-01-01: ages 9, 19 (cited) and 45; b updated 2025-06-01: ages 223, 233, 259; c: no date
    assert {k: (t.pairs, t.cited) for k, t in r.by_freshness.items()} == {
        "0-30d": (2, 2), "31-90d": (1, 0), "181-365d": (3, 1), "unknown": (2, 1)}
    assert r.by_freshness["0-30d"].visibility == F(2, 3)
    assert r.by_freshness["31-90d"].share is None  # no citations at all: no share, not 0%


def test_time_to_first_citation_and_windows():
    r = build_report(DATA, window_days=28)
    a, b, c = r.timing["a"], r.timing["b"], r.timing["c"]
    # a: distributed 01-12 00:00; cited 01-10 (before) and 01-20 12:00 (8.5 days after)
    assert (a.start_kind, a.first_citation, a.days_to_citation, a.cited_before_start) == (
        "distribution", at("2026-01-20"), 8, True)
    assert (a.before.pairs, a.before.cited, a.after.pairs, a.after.cited) == (1, 1, 1, 1)  # o3 (02-15) is past 02-09
    # b (links cohort): first link 01-05; cited 01-20 12:00
    assert (b.start_kind, b.first_link, b.days_to_citation, b.cited_before_start) == ("link", date(2026, 1, 5), 15, False)
    assert (b.before.pairs, b.after.pairs, b.after.cited) == (0, 2, 1)
    assert (c.start_kind, c.start, c.days_to_citation) == ("none", None, None)
    ls = r.links["b"]
    assert (ls.links, ls.referring_domains, ls.links_per_week, ls.dofollow_share, ls.anchor_diversity) == (
        3, 2, F(1), F(2, 3), F(2, 3))
    assert r.brand == {"openai": (0, 1), "llama": (1, 1)}


def test_no_winner_on_small_numbers_or_noise():
    few = build_report(DATA, min_observations=30).verdicts[0]
    assert few.winner is None and few.text.startswith("no winner yet: too few observations")
    assert "distribution 66.7% (2/3) vs links 33.3% (1/3)" in few.text
    noise = build_report(DATA, min_observations=3).verdicts[0]
    assert noise.winner is None and noise.text.startswith("no clear difference")
    big = lambda c, n: Tally(pairs=n, cited=c)
    assert compare("distribution", big(60, 100), "links", big(30, 100), 30).winner == "distribution"
    assert compare("distribution", big(30, 100), "links", big(60, 100), 30).winner == "links"
    assert compare("distribution", big(60, 100), "links", big(30, 29), 30).winner is None


def test_outputs(tmp_path):
    r = build_report(DATA, min_observations=3)
    html = to_html(r)
    assert html.count("data:image/png;base64,") == 5 and "<script" not in html and "http" not in html.split("<body>")[0]
    assert "66.7% (2/3)" in html
    md = to_markdown(r)
    assert "| distribution | 66.7% (2/3) | 40.0% (2/5) | 0.444 | 3 |" in md
    files = {p.name: p for p in write_csv(r, tmp_path)}
    with files["by_cohort.csv"].open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0] == {"cohort": "distribution", "answers": "3", "pairs": "3", "cited": "2", "citations": "5",
                       "citation_rate": "0.6667", "citation_share": "0.4", "visibility": "0.4444"}


def test_load_data_from_the_ledger(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        index = PageIndex([A, B, C])
        record_observation(ledger, Observation("openai", "api", "q", "t1", at("2026-01-10"),
                                               [Cited("https://ex.com/a?utm_source=x"), Cited("https://other.com/x"),
                                                Cited("https://ex.com/src", "source")]), index)
        with ledger.session() as s:
            for status, ts in (("dry_run", datetime(2026, 1, 5, tzinfo=timezone.utc)),
                               ("published", datetime(2026, 1, 12, tzinfo=timezone.utc))):
                s.add(EventRow(page="a", channel="x" if status == "dry_run" else "reddit", slot="2026-W02", seq=0,
                               status=status, canonical_url=A.canonical_url, published_at=ts))
            s.add(BacklinkRow(source_url="https://src1.com/p", source_domain="src1.com", target_url="https://ex.com/b",
                              target_normalized="https://ex.com/b", page="b", anchor="g", first_seen=date(2026, 1, 5),
                              follow=True, tool="ahrefs"))
        data = load_data(ledger, [A, B, C])
    finally:
        ledger.close()
    assert data.first_distribution == {"a": datetime(2026, 1, 12, tzinfo=timezone.utc)}  # published beats dry run
    assert data.observations[0].cited == ((1, "https://ex.com/a"), (2, "https://other.com/x"))
    assert data.links == [Link("b", "src1.com", "g", date(2026, 1, 5), True)]
