"""CSV imports: presets, mappings, dedupe, and bad files that change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from citecast.citations.model import PageIndex, PageRef
from citecast.citations.imports import ImportFailed, import_backlinks, import_citations
from citecast.ledger.citation_tables import BacklinkRow, ImportRow, ObservationRow
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
    assert "3 bad row(s)" in str(exc.value)
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
    assert rows["two.org"].follow is False and rows["three.net"].follow is False and rows["four.io"].follow
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
