"""Cadence rules: what is due in a week, in what order, within the weekly budget."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from citecast.pages.loading import load_page
from citecast.distribution.selection import LastDistribution, due_reason, iso_slot, select_due, weeks_between
from tests.conftest import good_page


@pytest.fixture
def make_page(empty_project):
    def make(slug, **front):
        extra = "".join(f"{k}: {v}\n" for k, v in front.items())
        path = empty_project.write_page(f"{slug}.md", good_page(slug).replace("topic: testing\n", "topic: testing\n" + extra))
        page, problems = load_page(path, empty_project.settings())
        assert page is not None, problems
        return page

    return make


def test_slot_is_the_iso_week_in_the_site_timezone():
    # Sunday 23:30 UTC is already Monday in Berlin: a new week there.
    sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=timezone.utc)
    assert iso_slot(sunday_night, ZoneInfo("UTC")) == "2026-W48"
    assert iso_slot(sunday_night, ZoneInfo("Europe/Berlin")) == "2026-W49"
    assert iso_slot(datetime(2021, 1, 3, 12, tzinfo=timezone.utc), ZoneInfo("UTC")) == "2020-W53"
    assert weeks_between("2020-W53", "2021-W02") == 2


@pytest.mark.parametrize(
    "cadence, last_slot, now_slot, due",
    [
        ("weekly", "2026-W47", "2026-W48", True),
        ("weekly", "2026-W48", "2026-W48", False),
        ("biweekly", "2026-W47", "2026-W48", False),
        ("biweekly", "2026-W46", "2026-W48", True),
        ("monthly", "2026-W45", "2026-W48", False),
        ("monthly", "2026-W44", "2026-W48", True),
        ("once", "2025-W01", "2026-W48", False),
    ],
)
def test_cadence_intervals(make_page, cadence, last_slot, now_slot, due):
    page = make_page("p", cadence=cadence)
    last = LastDistribution(last_slot, page.content_hash, None)
    assert (due_reason(page, last, now_slot) is not None) == due


def test_never_distributed_and_changed_pages_are_due(make_page):
    page = make_page("p", cadence="once")
    assert due_reason(page, None, "2026-W48") == "never distributed"
    changed = LastDistribution("2026-W40", "another-hash", None)
    assert due_reason(page, changed, "2026-W48") == "changed since 2026-W40"
    # ...but not twice in one week: the slot is the idempotency key.
    assert due_reason(page, LastDistribution("2026-W48", "another-hash", None), "2026-W48") is None


def test_order_is_priority_then_oldest_distribution_within_budget(make_page):
    old = datetime(2026, 1, 1, tzinfo=timezone.utc)
    newer = datetime(2026, 6, 1, tzinfo=timezone.utc)
    pages = [
        make_page("low", priority=5),
        make_page("high-recent", priority=1),
        make_page("high-old", priority=1),
        make_page("high-never", priority=1),
        make_page("links-only", priority=1, cohort="links"),
    ]
    last = {}
    for slug, at in (("high-recent", newer), ("high-old", old), ("low", old)):
        page = next(p for p in pages if p.slug == slug)
        for ch in page.channels:
            last[(slug, ch)] = LastDistribution("2026-W20", page.content_hash, at)
    sel = select_due(pages, last, "2026-W48", 3, today=date(2026, 11, 23))
    assert [d.page.slug for d in sel.due] == ["high-never", "high-old", "high-recent"]
    assert [d.page.slug for d in sel.over_budget] == ["low"]
    assert "budget" in sel.not_due["low"]
    assert "links" in sel.not_due["links-only"]


def test_budget_counts_pages_already_done_this_week(make_page):
    pages = [make_page(f"p{i}") for i in range(4)]
    sel = select_due(pages, {}, "2026-W48", 5, today=date(2026, 11, 23), pages_done_this_slot={"x1", "x2", "x3"})
    assert len(sel.due) == 2


def test_named_pages_and_channels_and_future_dates(make_page):
    pages = [make_page("a"), make_page("b"), make_page("later", date="2027-01-05")]
    sel = select_due(pages, {}, "2026-W48", 0, today=date(2026, 11, 23), only_pages=["b", "later"], channels=["reddit"])
    assert [(d.page.slug, d.channels) for d in sel.due] == [("b", ["reddit"])]
    assert "scheduled" in sel.not_due["later"]
