"""The store's schema and migrations."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from citecast.ledger import store


def test_head_constant_matches_the_newest_migration():
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(store.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == store.HEAD


def test_a_new_database_is_migrated_once_and_then_only_checked(tmp_path):
    url = f"sqlite:///{tmp_path / 'l.db'}"
    ledger = store.Ledger(url)
    assert ledger._revision() == store.HEAD
    ledger.close()
    again = store.Ledger(url)  # finds HEAD with one query
    assert again._revision() == store.HEAD
    assert again.events() == []
    again.close()


def test_page_snapshots_are_upserted(tmp_path):
    from datetime import date

    from sqlalchemy import select

    from citecast.ledger.tables import PageRow

    ledger = store.Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    snap = dict(slug="a", canonical_url="https://x.test/a", previous_urls=[], content_hash="h1", title="A",
                topic="t", cohort="distribution", updated=date(2026, 1, 1), path="content/a.md")
    ledger.record_pages([snap])
    with ledger.session() as s:
        first_seen = s.scalar(select(PageRow.first_seen))
    ledger.record_pages([{**snap, "content_hash": "h2"}, {**snap, "slug": "b", "canonical_url": "https://x.test/b"}])
    with ledger.session() as s:
        rows = {r.slug: (r.content_hash, r.first_seen) for r in s.scalars(select(PageRow))}
    ledger.close()
    assert rows == {"a": ("h2", first_seen), "b": ("h1", rows["b"][1])}


def test_the_retrieved_sources_are_read_through_their_index_not_a_scan_of_every_citation(tmp_path):
    from sqlalchemy import text

    from citecast.citations.report.data import RETRIEVED_SQL

    ledger = store.Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    with ledger.engine.connect() as conn:
        for sql in (RETRIEVED_SQL, RETRIEVED_SQL + " AND o.observed_at >= '2026-01-01'"):
            plan = " | ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            assert "USING INDEX ix_cited_urls_sources" in plan, plan
    ledger.close()
