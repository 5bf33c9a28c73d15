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
