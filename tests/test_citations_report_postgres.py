"""The report from a PostgreSQL ledger is the report from a SQLite ledger: the same rows, the same tables.

The report reads the answers without their query text, finds each cited URL's answer by binary search over
sorted ids and reads the queries of the answers it shows afterwards (issue 16, item 7); PostgreSQL returns
rows in storage order, so one answer is moved to the end of the table first (an UPDATE writes a new row
version) and the ids arrive out of order.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from citecast.citations.model import Cited, Observation, PageIndex, record_observation
from citecast.citations.report import build_report, load_data
from citecast.ledger.citation_tables import ObservationRow
from citecast.ledger.store import Ledger
from tests.pgserver import started_or_skip
from tests.test_citations_report import ANSWERS, NOW, PAGES, at

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg():
    yield from started_or_skip()


def _report(url: str):
    ledger = Ledger(url)
    try:
        index = PageIndex(PAGES)
        for i, engine, topic, day, urls, can_cite, brand in ANSWERS:
            record_observation(ledger, Observation(engine, "api", f"q{i}", topic, at(day), [Cited(u) for u in urls],
                                                   can_cite=can_cite, brand_mentioned=brand,
                                                   answer_text=f"answer {i}"), index)
        with ledger.session() as s:  # a new row version of answer 1: last in storage order
            s.execute(update(ObservationRow).where(ObservationRow.id == 1).values(sample=1))
        data = load_data(ledger, PAGES)
    finally:
        ledger.close()
    return data, build_report(data, now=NOW)


def _rounded(rows):
    return [[float(f"{v:.12g}") if isinstance(v, float) else v for v in row] for row in rows]


def test_postgres_and_sqlite_give_the_same_report(pg, tmp_path):
    pg_data, pg_report = _report(pg.create_database("ledger_report"))
    lite_data, lite_report = _report(f"sqlite:///{tmp_path / 'l.db'}")
    assert pg_data.answers["id"].to_list() != sorted(pg_data.answers["id"].to_list())  # out of order, as meant
    assert pg_data.queries == lite_data.queries and pg_data.excerpts == lite_data.excerpts
    assert set(pg_report.tables) == set(lite_report.tables)
    for name, table in lite_report.tables.items():  # sums in another row order may differ in the last bit
        assert _rounded(pg_report.tables[name].rows) == _rounded(table.rows), name
    # and the figures are the hand-computed ones (tests/test_citations_report.py): page a cited in 2 of 3
    pages = {r["page"]: r for r in pg_report.tables["pages"].as_dicts()}
    assert (pages["a"]["answers"], pages["a"]["cited"]) == (3, 2)
    assert pg_report.tables["answers"].column("query")[:2] == ["q2", "q1"]
