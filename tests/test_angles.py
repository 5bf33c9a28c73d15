"""Every week a fresh angle: a re-share of an unchanged page leads with another part of it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from citecast.distribution.angles import angles_of, next_angle
from citecast.distribution.run import RunOptions, run_week
from citecast.ledger import Ledger
from citecast.pages.loading import load_library

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_angles_rotate_through_answer_points_faq_and_statistics(project):
    page = {p.slug: p for p in load_library(project.settings()).pages}["tracking-ai-citations"]
    keys = [a.key for a in angles_of(page)]
    assert keys[0] == "answer" and "point:0" in keys and any(k.startswith("faq:") for k in keys)
    assert len(keys) == len(set(keys)) >= 3
    seen, previous = [], None
    for _ in range(len(keys) + 1):
        previous = next_angle(page, previous).key
        seen.append(previous)
    assert seen[: len(keys)] == keys and seen[-1] == "answer"  # every angle once, then round again
    assert next_angle(page, "point:999").key == "answer"  # an angle the page no longer has: start over


def test_consecutive_weeks_differ_and_the_angle_is_in_the_ledger(project):
    settings = project.settings()
    texts: dict[tuple[str, str], list[str]] = {}
    for week in range(3):
        report = run_week(settings, now=MONDAY + timedelta(weeks=week))
        assert report.count("dry_run") >= 9 and report.count("failed") == 0  # some pages are not weekly
    forced = run_week(settings, RunOptions(force=True), now=MONDAY + timedelta(weeks=2))
    assert forced.count("dry_run") == 15
    ledger = Ledger(settings.ledger_url)
    try:
        rows = sorted(ledger.events(), key=lambda r: r.id)
    finally:
        ledger.close()
    for r in rows:
        texts.setdefault((r.page, r.channel), []).append((r.angle, str(r.title) + str(r.text)))
    for key, shares in texts.items():
        assert [a for a, _ in shares][:2] == ["answer", "point:0"], key
        bodies = [t for _, t in shares]
        assert all(a != b for a, b in zip(bodies, bodies[1:])), key  # no two consecutive shares alike


def test_no_part_of_an_x_thread_repeats_the_previous_share(project):
    """X refuses a post whose text it saw recently, even the closing part of a thread."""
    from citecast import channels as registry
    from citecast.distribution.drafting import OfflineDrafter
    from citecast.distribution.templates import Templates

    settings = project.settings()
    page = {p.slug: p for p in load_library(settings).pages}["tracking-ai-citations"]
    channel = registry.resolve("x", {}, settings.path("outbox"), dry_run=True).channel
    drafter = OfflineDrafter(Templates(settings.path("templates"), settings.templates), {}, {})
    previous, last_parts = None, None
    for _ in range(len(angles_of(page, statistics=False))):
        angle = next_angle(page, previous)
        drafter.previous_angles = {page.slug: previous} if previous else {}
        result = drafter.draft_page(page, {"x": channel})
        assert result.errors == {}
        parts = result.drafts["x"].parts
        if last_parts is not None:
            assert set(parts).isdisjoint(last_parts), angle.key
        previous, last_parts = angle.key, parts
