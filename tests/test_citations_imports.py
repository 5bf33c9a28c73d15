"""CSV imports: presets, mappings, dedupe, and bad files that change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from citecast.citations.model import PageIndex, PageRef
from citecast.citations.imports import ImportFailed, import_backlinks, import_citations
from citecast.ledger.citation_tables import BacklinkRow, CitedUrlRow, ImportRow, ObservationRow
from citecast.ledger.store import Ledger

PAGES = [PageRef(slug="bvd", canonical_url="https://citecast.dev/bvd", previous_urls=("https://citecast.dev/old",),
                 topic="ai", queries=("do backlinks matter",))]


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield led
    led.close()


def counts(ledger):
    with ledger.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (ObservationRow, BacklinkRow, ImportRow))


def test_citation_export_grouped_into_answers(ledger, tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("\ufeffDate,Engine,Prompt,Cited URL,Position\n"
                 "2026-03-01,ChatGPT,do backlinks matter,https://other.org/x,1\n"
                 "2026-03-01,ChatGPT,do backlinks matter,https://www.citecast.dev/old?utm_source=chatgpt.com,2\n"
                 "2026-03-01,Perplexity,what is GEO,,\n", encoding="utf-8")
    result = import_citations(ledger, f, PageIndex(PAGES))
    assert (result.rows, result.added, result.skipped, result.matched, result.unmatched) == (3, 2, 0, {"bvd": 1}, 1)
    with ledger.session() as s:
        rows = list(s.scalars(select(ObservationRow).order_by(ObservationRow.engine)))
        assert [(r.engine, r.surface, r.page, r.topic, len(r.cited)) for r in rows] == [
            ("chatgpt", "import", "bvd", "ai", 2), ("perplexity", "import", None, "general", 0)]
        assert [(c.position, c.page) for c in rows[0].cited] == [(1, None), (2, "bvd")]
    again = import_citations(ledger, f, PageIndex(PAGES))
    assert (again.added, again.skipped) == (0, 2)
    assert counts(ledger) == (2, 0, 2)


def test_superlines_preset_and_explicit_mapping(ledger, tmp_path):
    f = tmp_path / "superlines.csv"
    f.write_text("LLM Service,Prompt,Cited Status,Domain,Page Title,Page URL,Country,Date,Sentiment\n"
                 "perplexity,do backlinks matter,cited,citecast.dev,BvD,https://citecast.dev/bvd,us,2026-03-02,pos\n")
    assert import_citations(ledger, f, PageIndex(PAGES), preset="superlines").matched == {"bvd": 1}
    g = tmp_path / "odd.tsv"
    g.write_text("When\tAsked\tLink\n2026-03-03\tdo backlinks matter\thttps://citecast.dev/bvd\n")
    r = import_citations(ledger, g, PageIndex(PAGES), mapping={"date": "When", "prompt": "Asked", "url": "Link"},
                         engine="gemini", surface="app")
    assert r.added == 1
    with ledger.session() as s:
        assert s.scalar(select(ObservationRow.surface).where(ObservationRow.engine == "gemini")) == "app"


def test_wrong_columns_name_the_expected_ones(ledger, tmp_path):
    f = tmp_path / "wrong.csv"
    f.write_text("day,bot,text\n2026-03-01,x,y\n")
    with pytest.raises(ImportFailed) as exc:
        import_citations(ledger, f, PageIndex(PAGES))
    msg = str(exc.value)
    assert "missing: date, engine, prompt, cited URL" in msg
    assert "expected columns: date ('date'" in msg and "found columns: day, bot, text" in msg
    assert "nothing was imported" in msg
    assert counts(ledger) == (0, 0, 0)


def test_bad_rows_listed_and_nothing_changes(ledger, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("date,engine,prompt,cited_url,position\n2026-03-01,chatgpt,q,https://a.org/x,1\n")
    import_citations(ledger, good, PageIndex(PAGES))
    before = counts(ledger)
    f = tmp_path / "bad.csv"
    f.write_text("date,engine,prompt,cited_url,position\n"
                 "2026-03-01,chatgpt,q2,https://a.org/y,1\n"
                 "yesterday,chatgpt,q2,https://a.org/z,2\n"
                 "2026-03-01,chatgpt,q2,not a url,3\n"
                 "2026-03-01,,q2,https://a.org/w,zero\n")
    with pytest.raises(ImportFailed) as exc:
        import_citations(ledger, f, PageIndex(PAGES))
    assert exc.value.problems == [
        "row 3: date: 'yesterday' is not a date (use YYYY-MM-DD)",
        "row 4: cited URL: 'not a url' is not an http(s) URL",
        "row 5: engine: empty; position: 'zero' is not a whole number >= 1",
    ]
    assert "3 bad rows" in str(exc.value)
    assert counts(ledger) == before


def test_backlink_presets(ledger, tmp_path):
    ahrefs = tmp_path / "ahrefs.tsv"
    text = ("Referring page title\tReferring page URL\tTarget URL\tAnchor\tFirst seen\tLast seen\tNofollow\n"
            "A\thttps://blog.one.org/a\thttps://citecast.dev/bvd?ref=x\tbacklinks guide\t2026-01-05\t2026-03-01\tfalse\n"
            "B\thttps://www.two.org/b\thttps://citecast.dev/old\tread more\t2026-01-19 08:00:00\t\ttrue\n")
    ahrefs.write_bytes(text.encode("utf-16"))  # Ahrefs' "for Excel" export
    r = import_backlinks(ledger, ahrefs, PageIndex(PAGES), preset="ahrefs")
    assert (r.added, r.matched) == (2, {"bvd": 2})
    semrush = tmp_path / "semrush.csv"
    semrush.write_text("Page ascore,Source title,Source url,Target url,Anchor,Nofollow,First seen,Last seen\n"
                       "10,T,https://three.net/c,https://citecast.dev/bvd,guide,true,2026-02-01,2026-02-02\n"
                       "10,T,https://blog.one.org/a,https://citecast.dev/bvd,dup,false,2026-01-01,2026-02-02\n")
    r = import_backlinks(ledger, semrush, PageIndex(PAGES))  # auto-detected
    assert (r.added, r.skipped) == (1, 1)
    gsc = tmp_path / "gsc.csv"
    gsc.write_text("Linking page,Last crawled\nhttps://four.io/d,2026-02-10\n")
    r = import_backlinks(ledger, gsc, PageIndex(PAGES), preset="search-console", target="https://citecast.dev/bvd")
    assert r.added == 1
    with ledger.session() as s:
        rows = {r.source_domain: r for r in s.scalars(select(BacklinkRow))}
    assert set(rows) == {"blog.one.org", "two.org", "three.net", "four.io"}
    assert rows["blog.one.org"].first_seen.isoformat() == "2026-01-01"  # the earlier sighting wins
    assert rows["two.org"].follow is False and rows["three.net"].follow is False
    assert rows["four.io"].follow is None  # Search Console does not say: not counted as dofollow
    assert rows["four.io"].first_seen is None and rows["four.io"].last_seen.isoformat() == "2026-02-10"


def test_bad_backlinks_change_nothing(ledger, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("Source url,Target url,First seen,Nofollow\n"
                 "https://ok.org/a,https://citecast.dev/bvd,2026-01-01,false\n"
                 "ok.org/b,/relative,2026-13-45,maybe\n")
    with pytest.raises(ImportFailed) as exc:
        import_backlinks(ledger, f, PageIndex(PAGES))
    assert exc.value.problems == ["row 3: target URL: '/relative' is not an http(s) URL; "
                                  "first seen: '2026-13-45' is not a date (use YYYY-MM-DD); nofollow: 'maybe' is not yes/no"]
    assert counts(ledger) == (0, 0, 0)
    g = tmp_path / "nocols.csv"
    g.write_text("foo,bar\n1,2\n")
    with pytest.raises(ImportFailed, match="missing: source URL, target URL"):
        import_backlinks(ledger, g, PageIndex(PAGES))


# --- hygiene: answers identified by content, dates, duplicates, normalised backlinks -----------------------


def _csv(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text)
    return f


def test_fuller_export_of_the_same_day_adds_what_the_partial_one_lacked(ledger, tmp_path):
    head = "date,engine,prompt,country,cited_url,position\n"
    partial = _csv(tmp_path, "partial.csv", head + "2026-03-01,chatgpt,do backlinks matter,us,https://a.org/1,1\n")
    fuller = _csv(tmp_path, "fuller.csv", head
                  + "2026-03-01,chatgpt,do backlinks matter,us,https://a.org/1,1\n"
                  + "2026-03-01,chatgpt,do backlinks matter,us,https://citecast.dev/bvd,2\n"
                  + "2026-03-01,chatgpt,do backlinks matter,de,https://a.org/1,1\n"
                  + "2026-03-01,perplexity,do backlinks matter,us,https://b.org/2,1\n")
    assert import_citations(ledger, partial, PageIndex(PAGES)).added == 1
    r = import_citations(ledger, fuller, PageIndex(PAGES))
    # the us answer gets its second URL; de (another country) and perplexity are new answers
    assert (r.added, r.extended, r.skipped) == (2, 1, 0)
    assert "1 completed by this fuller export" in r.summary()
    again = import_citations(ledger, fuller, PageIndex(PAGES))
    assert (again.added, again.extended, again.skipped) == (0, 0, 3)
    with ledger.session() as s:
        rows = {(o.engine, o.country): sorted((c.position, c.normalized_url) for c in o.cited)
                for o in s.scalars(select(ObservationRow))}
    assert rows == {("chatgpt", "us"): [(1, "https://a.org/1"), (2, "https://citecast.dev/bvd")],
                    ("chatgpt", "de"): [(1, "https://a.org/1")], ("perplexity", "us"): [(1, "https://b.org/2")]}


def test_ambiguous_day_month_dates_are_an_error_naming_both_readings(ledger, tmp_path):
    f = _csv(tmp_path, "dates.csv", "date,engine,prompt,cited_url\n10/05/2026,chatgpt,q,https://a.org/1\n"
             "10/05/2026 14:30,chatgpt,q2,https://a.org/1\n")
    with pytest.raises(ImportFailed) as exc:
        import_citations(ledger, f, PageIndex(PAGES))
    assert exc.value.problems[0] == ("row 2: date: '10/05/2026' is ambiguous: 10 May 2026 (day first) or "
                                     "5 October 2026 (month first); pass --date-format '%d/%m/%Y' or '%m/%d/%Y'")
    assert exc.value.problems[1].startswith("row 3: date: '10/05/2026 14:30' is ambiguous")
    r = import_citations(ledger, f, PageIndex(PAGES), date_format="%d/%m/%Y")
    assert r.added == 2
    with ledger.session() as s:
        assert sorted(o.observed_at.replace(tzinfo=None).isoformat() for o in s.scalars(select(ObservationRow))) == [
            "2026-05-10T00:00:00", "2026-05-10T14:30:00"]


def test_a_files_unambiguous_dates_settle_the_order_and_mixed_orders_fail(ledger, tmp_path):
    us = _csv(tmp_path, "us.csv", "date,engine,prompt,cited_url\n10/25/2026,chatgpt,q,https://a.org/1\n"
              "10/05/2026 14:30,chatgpt,q,https://a.org/2\n")
    r = import_citations(ledger, us, PageIndex(PAGES))
    assert r.notes[0] == "dates read month first, as row 2 ('10/25/2026') shows"
    with ledger.session() as s:
        assert max(o.observed_at for o in s.scalars(select(ObservationRow))).replace(tzinfo=None).isoformat() == (
            "2026-10-25T00:00:00")
        assert s.scalar(select(func.min(ObservationRow.observed_at))).replace(tzinfo=None).isoformat() == (
            "2026-10-05T14:30:00")
    mixed = _csv(tmp_path, "mixed.csv", "date,engine,prompt,cited_url\n25/10/2026,chatgpt,q,https://a.org/1\n"
                 "10/25/2026,chatgpt,q,https://a.org/2\n")
    with pytest.raises(ImportFailed, match="dates in two day/month orders") as exc:
        import_citations(ledger, mixed, PageIndex(PAGES))
    assert exc.value.problems[0] == "row 2: '25/10/2026' is day first; row 3: '10/25/2026' is month first"


def test_duplicate_rows_are_reported_and_counted_once(ledger, tmp_path):
    f = _csv(tmp_path, "dups.csv", "date,engine,prompt,cited_url\n2026-03-01,chatgpt,q,https://a.org/1\n"
             "2026-03-01,chatgpt,q,https://www.a.org/1/?utm_source=x\n2026-03-01,chatgpt,q,https://a.org/2\n")
    r = import_citations(ledger, f, PageIndex(PAGES))
    assert r.added == 1 and "1 duplicate row counted once: rows 3" in r.notes
    with ledger.session() as s:
        assert s.scalar(select(func.count()).select_from(CitedUrlRow)) == 2


def test_backlinks_dedupe_on_normalised_urls_and_report_missing_first_seen(ledger, tmp_path):
    f = _csv(tmp_path, "links.csv", "Source url,Target url,First seen,Nofollow\n"
             "https://blog.one.org/a,https://citecast.dev/bvd,2026-01-05,false\n"
             "http://www.blog.one.org/a/?utm_source=x,https://citecast.dev/bvd/,2026-01-02,\n"
             "https://two.org/b,https://citecast.dev/bvd,,true\n")
    r = import_backlinks(ledger, f, PageIndex(PAGES))
    assert (r.added, r.matched) == (2, {"bvd": 2})
    assert r.notes == ["1 row repeats a link (same source and target, normalised): counted once",
                       "1 link without a first-seen date: rows 4"]
    with ledger.session() as s:
        rows = {r.source_domain: r for r in s.scalars(select(BacklinkRow))}
    # the earlier sighting wins, its follow unknown (empty cell) is no dofollow
    assert rows["blog.one.org"].first_seen.isoformat() == "2026-01-02" and rows["blog.one.org"].follow is None
    again = _csv(tmp_path, "again.csv", "Source url,Target url,First seen,Nofollow\n"
                 "https://blog.one.org/a/,https://citecast.dev/bvd?ref=y,2026-01-09,false\n")
    r = import_backlinks(ledger, again, PageIndex(PAGES))
    assert (r.added, r.skipped) == (0, 1)
    with ledger.session() as s:
        assert s.scalar(select(BacklinkRow.follow).where(BacklinkRow.source_domain == "blog.one.org")) is True  # Nofollow: false


def test_import_summaries_count_their_nouns():
    from citecast.citations.imports import ImportResult
    from citecast.citations.logs import LogImportResult
    assert "1 link added" in ImportResult("backlinks", "l.csv", "auto", rows=1, added=1).summary()
    assert "2 answers added" in ImportResult("citations", "c.csv", "auto", rows=3, added=2).summary()
    one = LogImportResult("a.log", "combined", lines=2, requests=2, referrals=1).summary()
    assert "1 AI referral visit;" in one and "visits" not in one
