"""The funnel: posts, AI fetches (from a real log import), citations (canonical and our posts), clicks; the stall."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from citecast.citations.agents import load_agents
from citecast.citations.copies import load_copies
from citecast.citations.funnel import funnel_for
from citecast.citations.logs import LogImporter, LogOptions, Matcher
from citecast.citations.model import Cited, Observation, PageIndex, PageRef, record_observation
from citecast.ledger.store import Ledger
from citecast.ledger.tables import EventRow

PAGES = [PageRef(slug, f"https://ex.com/{slug}", (), "t1", cohort, date(2026, 10, 1))
         for slug, cohort in (("a", "distribution"), ("b", "distribution"), ("c", "distribution"),
                              ("d", "links"), ("e", "distribution"))]
GPT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.3; +https://openai.com/gptbot)"
OAI = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.3; +https://openai.com/searchbot"
CGU = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot"
CHR = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36"
LOG = f"""\
20.171.206.1 - - [01/Oct/2026:09:00:00 +0000] "GET /a HTTP/1.1" 200 900 "-" "{GPT}"
20.171.206.1 - - [03/Nov/2026:09:00:00 +0000] "GET /a HTTP/1.1" 200 900 "-" "{GPT}"
51.8.102.7 - - [02/Nov/2026:21:00:00 +0000] "GET /a/ HTTP/1.1" 200 900 "-" "{OAI}"
23.98.142.180 - - [05/Nov/2026:12:00:00 +0000] "GET /a HTTP/1.1" 200 900 "-" "{CGU}"
81.2.69.142 - - [06/Nov/2026:12:00:00 +0000] "GET /a HTTP/2.0" 200 900 "https://chatgpt.com/" "{CHR}"
81.2.69.143 - - [07/Nov/2026:12:00:00 +0000] "GET /a?utm_source=chatgpt.com HTTP/2.0" 200 900 "-" "{CHR}"
51.8.102.8 - - [04/Nov/2026:09:00:00 +0000] "GET /e HTTP/1.1" 200 900 "-" "{OAI}"
51.8.102.9 - - [04/Nov/2026:09:00:00 +0000] "GET /b HTTP/1.1" 404 100 "-" "{OAI}"
"""


def at(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    yield ledger
    ledger.close()


def _post(ledger, page, channel, when, pid, url):
    with ledger.session() as s:
        s.add(EventRow(page=page, channel=channel, slot="2026-W44", seq=0, status="published",
                       canonical_url=f"https://ex.com/{page}", platform_id=pid, platform_url=url, published_at=when))


def _cite(ledger, when, *urls, engine="perplexity"):
    index = PageIndex(PAGES, load_copies(ledger))
    record_observation(ledger, Observation(engine, "api", "q", "t1", when, [Cited(u) for u in urls]), index)


def test_no_logs_means_not_measured(ledger):
    _post(ledger, "a", "x", at(2026, 11, 1, 9), "1860000000000000001", "https://x.com/i/status/1860000000000000001")
    funnel = funnel_for(ledger, PAGES)
    rows = {r["page"]: r for r in funnel.tables["funnel"].as_dicts()}
    assert rows["a"]["days_to_search_fetch"] == "not measured" and rows["a"]["ai_clicks"] == "not measured"
    assert rows["a"]["interactions"] == "not measured"
    assert rows["a"]["stalled_at"] == "posted, not cited"  # the first *measured* stage it has not reached
    assert rows["b"]["stalled_at"] == "not distributed yet"


def test_funnel_per_page_and_cohort(ledger, tmp_path):
    _post(ledger, "a", "x", at(2026, 11, 1, 9), "1860000000000000001", "https://x.com/i/status/1860000000000000001")
    _post(ledger, "a", "reddit", at(2026, 11, 2, 9), "t1abc9", "https://www.reddit.com/r/SEO/comments/t1abc9/")
    _post(ledger, "b", "x", at(2026, 11, 1, 9), "1860000000000000002", "https://x.com/i/status/1860000000000000002")
    _post(ledger, "e", "linkedin", at(2026, 11, 1, 9), "urn:li:share:7", "https://www.linkedin.com/feed/update/urn:li:share:7/")
    _post(ledger, "d", "x", at(2026, 11, 1, 9), "1860000000000000004", "https://x.com/i/status/1860000000000000004")
    log = tmp_path / "access.log"
    log.write_text(LOG)
    importer = LogImporter(ledger, Matcher(load_agents(None), PageIndex(PAGES), "ex.com"))
    importer.import_file(log, LogOptions())
    _cite(ledger, at(2026, 10, 20), "https://ex.com/a")  # before the first post: not the funnel's citation
    _cite(ledger, at(2026, 11, 8, 9), "https://twitter.com/citecast/status/1860000000000000001")
    _cite(ledger, at(2026, 11, 9, 9), "https://ex.com/a?utm_source=x", engine="openai")
    _cite(ledger, at(2026, 11, 11, 9), "https://ex.com/e")
    funnel = funnel_for(ledger, PAGES)
    rows = {r["page"]: r for r in funnel.tables["funnel"].as_dicts()}
    a = rows["a"]
    assert (a["first_post"], a["channels"]) == (date(2026, 11, 1), "reddit;x")
    # GPTBot's October fetch came before the post; OAI-SearchBot 1.5 days after, ChatGPT-User 4.1 days after
    assert (a["days_to_search_fetch"], a["days_to_user_fetch"], a["days_to_training_fetch"]) == (1.5, 4.1, 2.0)
    assert (a["days_to_citation"], a["first_citation"]) == (7.0, "perplexity via x")  # our X post was cited first
    assert (a["ai_clicks"], a["stalled_at"]) == (2, "through every measured stage")
    assert rows["b"]["stalled_at"] == "posted, never fetched by an AI crawler"  # its only AI request got a 404
    assert rows["c"]["stalled_at"] == "not distributed yet"
    assert rows["d"]["stalled_at"] == "posted, never fetched by an AI crawler"
    assert (rows["e"]["days_to_citation"], rows["e"]["stalled_at"]) == (10.0, "cited, no clicks from AI answers")
    cohorts = {r["cohort"]: r for r in funnel.tables["funnel_cohorts"].as_dicts()}
    assert {k: cohorts["distribution"][k] for k in ("pages", "posted", "fetched", "cited", "clicked")} == {
        "pages": 4, "posted": "3/4", "fetched": "2/4", "cited": "2/4", "clicked": "1/4"}
    assert (cohorts["distribution"]["median_days_to_fetch"], cohorts["distribution"]["fetch_pages"]) == (2.2, 2)
    copies = {r["page"]: r for r in funnel.tables["copies_cited"].as_dicts()}
    assert copies["a"] == {"page": "a", "canonical": 1, "x": 1}
    assert funnel.stalled_lines() == ["b: posted, never fetched by an AI crawler", "c: not distributed yet",
                                      "d: posted, never fetched by an AI crawler", "e: cited, no clicks from AI answers"]
    stages = [(r["page"], r["stage"]) for r in funnel.tables["funnel_timeline"].as_dicts() if r["page"] == "a"]
    assert stages[:3] == [("a", "fetched"), ("a", "cited"), ("a", "posted")]  # all events, in time order


def test_report_prints_the_funnel(project):
    from citecast.citations.model import open_ledger
    from citecast.citations.report import run_report

    settings = project.settings()
    ledger = open_ledger(settings)
    try:
        _post(ledger, "tracking-ai-citations", "x", at(2026, 11, 1, 9), "1860000000000000001",
              "https://x.com/i/status/1860000000000000001")
        log = project.root / "access.log"
        log.write_text(LOG.replace("/a", "/tracking-ai-citations"))
        from citecast.cli.logs import _importer

        importer = _importer(settings, [])
        importer.import_file(log, LogOptions())
        importer.ledger.close()
        written = run_report(settings, out=project.root / "reports", ledger=ledger)
    finally:
        ledger.close()
    html = written.html.read_text()
    assert "Funnel per page" in html and "Funnel: each page" in html and "data:image/svg+xml;base64" in html
    names = {p.name for p in written.csv}
    assert {"funnel.csv", "funnel_cohorts.csv", "copies_cited.csv", "funnel_timeline.csv"} <= names
    assert "Funnel per cohort" in written.markdown
    row = next(r for r in written.report.tables["funnel"].as_dicts() if r["page"] == "tracking-ai-citations")
    assert row["stalled_at"] == "fetched, not cited" and row["days_to_search_fetch"] == 1.5


def test_engagement_is_measured_per_page(ledger):
    from citecast.ledger.engagement_tables import EngagementRow

    _post(ledger, "a", "x", at(2026, 11, 1, 9), "1860000000000000001", "https://x.com/i/status/1860000000000000001")
    _post(ledger, "b", "x", at(2026, 11, 1, 9), "1860000000000000002", "https://x.com/i/status/1860000000000000002")
    _post(ledger, "e", "linkedin", at(2026, 11, 1, 9), "urn:li:share:7", "https://www.linkedin.com/feed/update/urn:li:share:7/")
    with ledger.session() as s:
        ids = {e.page: e.id for e in s.query(EventRow)}
        for page, status, n in (("a", "ok", 4), ("b", "ok", 0), ("e", "not_permitted", 0)):
            s.add(EngagementRow(event_id=ids[page], channel="x", platform_id="p", due="1d", status=status,
                                interactions=n, taken_at=at(2026, 11, 2, 9)))
        s.add(EngagementRow(event_id=ids["a"], channel="x", platform_id="p", due="7d", status="ok", interactions=9,
                            taken_at=at(2026, 11, 8, 9)))
    rows = {r["page"]: r for r in funnel_for(ledger, PAGES).tables["funnel"].as_dicts()}
    assert rows["a"]["interactions"] == 9  # the newest snapshot, not the sum of snapshots
    assert (rows["b"]["interactions"], rows["b"]["stalled_at"]) == (0, "posted, no engagement")
    # LinkedIn would not say: unmeasured, so the page stalls where it really stops (no citation here)
    assert (rows["e"]["interactions"], rows["e"]["stalled_at"]) == ("not measured", "posted, not cited")


def test_a_page_posted_only_to_the_outbox_says_so(ledger):
    """A new user's first weeks are dry runs: the funnel says why the page counts as not distributed."""
    with ledger.session() as s:
        for seq, (page, status) in enumerate([("a", "dry_run"), ("b", "dry_run"), ("b", "published")]):
            s.add(EventRow(page=page, channel="x", slot="2026-W44", seq=seq, status=status,
                           canonical_url=f"https://ex.com/{page}", published_at=at(2026, 11, 1, 9)))
    stalled = {f.page: f.stalled for f in funnel_for(ledger, PAGES).pages}
    assert stalled["a"] == "not distributed yet (dry runs only: posts in the outbox)"
    assert "dry runs" not in stalled["b"]  # posted for real once: the dry runs say nothing
    assert stalled["c"] == "not distributed yet"  # never even drafted
