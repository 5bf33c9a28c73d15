"""Per-channel pacing: a minimum gap between live posts and a daily cap, against the LinkedIn fake."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from citecast.distribution.run import RunOptions, run_week
from tests.fakes.platforms import FAKES, citecast_env

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def linkedin(project, monkeypatch):
    fake = FAKES["linkedin"]().start()
    for var, value in citecast_env({"linkedin": fake}).items():
        monkeypatch.setenv(var, value)
    yield fake
    fake.stop()


def test_min_gap_spaces_live_posts(project, linkedin, monkeypatch):
    monkeypatch.setenv("CITECAST_DISTRIBUTION__MIN_GAP_SECONDS", "0.4")
    report = run_week(project.settings(), RunOptions(channels=["linkedin"]), now=MONDAY)
    assert report.count("published") == 5
    times = sorted(p["createdAt"] for p in linkedin.posts)
    gaps = [(b - a) / 1000 for a, b in zip(times, times[1:])]
    assert len(gaps) == 4 and min(gaps) >= 0.38, gaps


def test_daily_cap_defers_the_rest_and_a_later_run_posts_them(project, linkedin, monkeypatch):
    monkeypatch.setenv("CITECAST_DISTRIBUTION__DAILY_CAP", "2")
    settings = project.settings()
    report = run_week(settings, RunOptions(channels=["linkedin"]), now=MONDAY)
    assert report.count("published") == 2 and report.count("deferred") == 3
    assert all("daily cap" in o.detail for o in report.outcomes if o.status == "deferred")
    assert len(linkedin.posts) == 2
    # Nothing is lost: with the cap lifted (a later day), the same week's run posts the other three.
    monkeypatch.setenv("CITECAST_DISTRIBUTION__DAILY_CAP", "0")
    report = run_week(project.settings(), RunOptions(channels=["linkedin"]), now=MONDAY)
    assert report.count("published") == 3
    assert len(linkedin.posts) == 5 and len({p["commentary"] for p in linkedin.posts}) == 5
