"""Engagement read-back: the real SDKs read our posts' counts from the platform fakes over HTTP; snapshots at
+1, +7 and +28 days, once each; a rate-limited channel waits for the next run; LinkedIn says what it needs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from citecast.channels.engagement import LINKEDIN_SCOPE, read_counts
from citecast.posts import Draft
from tests.fakes.engagement import serve_engagement
from tests.fakes.platforms import ENV, FAKES, channel_options, citecast_env, ticket

LINK = "https://citecast.dev/tracking-ai-citations"
NAMES = ("x", "reddit", "bluesky", "mastodon", "linkedin")


@pytest.fixture
def fakes(monkeypatch):
    servers = {name: FAKES[name]().start() for name in NAMES}
    for name in NAMES:
        serve_engagement(servers[name])
        for var, value in ENV[name].items():
            monkeypatch.setenv(var, value)
    yield servers
    for s in servers.values():
        s.stop()


def _publish(name: str, fake, text: str):
    from citecast.channels import adapter_class

    ch = adapter_class(name).from_options(channel_options(name, fake, timeout=3.0))
    draft = Draft(channel=name, parts=(f"{text} {LINK}",), link=LINK, title=text if name == "reddit" else None)
    post = ch.render(draft)
    return ch, ch.publish(post, ticket(ch, f"{text}:{name}:2026-W44:0"))


def test_counts_read_over_each_sdk(fakes):
    got = {}
    for name in NAMES:
        ch, published = _publish(name, fakes[name], "Tracking AI citations")
        fakes[name].counts[published.id] = {
            "x": {"like_count": 12, "retweet_count": 3, "reply_count": 2, "quote_count": 1, "impression_count": 900},
            "reddit": {"score": 40, "upvote_ratio": 0.9, "num_comments": 7},
            "bluesky": {"like_count": 5, "repost_count": 2, "reply_count": 1, "quote_count": 0},
            "mastodon": {"favourites_count": 4, "reblogs_count": 1, "replies_count": 2},
            "linkedin": {"likes": 9, "comments": 3},
        }[name]
        gone = {"x": "1999", "reddit": "t9999", "bluesky": f"at://{fakes['bluesky'].did}/app.bsky.feed.post/3lgone",
                "mastodon": "110000000000099999", "linkedin": "urn:li:share:9999"}[name]
        got[name] = (ch, published.id, read_counts(ch, [published.id, gone]), gone)
    x_ch, x_id, x, gone = got["x"]
    assert x[x_id].status == "ok" and x[x_id].metrics["impression_count"] == 900
    assert x[x_id].interactions("x") == 18 and x[gone].status == "not_found"
    assert [r.query.get("ids") for r in fakes["x"].requests if r.method == "GET" and r.path == "/2/tweets"] == [
        f"{x_id},1999"]  # one call for the batch
    _, r_id, reddit, gone = got["reddit"]
    # score 40 = 45 up - 5 down, 45/50 = 0.9; one of the 45 is the author's own
    assert reddit[r_id].metrics["num_comments"] == 7 and reddit[r_id].metrics["upvotes"] == 44
    assert reddit[gone].status == "not_found"
    _, b_id, bluesky, gone = got["bluesky"]
    assert bluesky[b_id].interactions("bluesky") == 8 and bluesky[gone].status == "not_found"
    _, m_id, masto, gone = got["mastodon"]
    assert masto[m_id].interactions("mastodon") == 7 and masto[gone].status == "not_found"
    li_ch, li_id, linkedin, _ = got["linkedin"]
    assert linkedin[li_id].status == "not_permitted" and linkedin[li_id].note == LINKEDIN_SCOPE
    fakes["linkedin"].read_scope = True  # a partner token with r_member_social
    assert read_counts(li_ch, [li_id])[li_id].metrics == {"likes": 9, "comments": 3}


def test_rate_limited_read_surfaces_as_rate_limited(fakes):
    from citecast.channels.base import RateLimited

    ch, published = _publish("x", fakes["x"], "Rate limits")
    fakes["x"].read_fault_rate, fakes["x"].read_fault_mix = 1.0, ("rate_limit",)
    with pytest.raises(RateLimited):
        read_counts(ch, [published.id])


def _events(project, posts: dict, published_at: datetime) -> None:
    from citecast.citations.model import open_ledger
    from citecast.ledger.tables import EventRow

    ledger = open_ledger(project.settings())
    with ledger.session() as s:
        for name, (page, pid) in posts.items():
            s.add(EventRow(page=page, channel=name, slot="2026-W44", seq=0, status="published",
                           canonical_url=LINK, platform_id=pid, published_at=published_at))
    ledger.close()


def _snapshots(project) -> list:
    from citecast.citations.model import open_ledger
    from citecast.ledger.engagement_tables import EngagementRow

    ledger = open_ledger(project.settings())
    with ledger.session() as s:
        rows = [(r.channel, r.due, r.status, r.interactions) for r in
                s.scalars(select(EngagementRow).order_by(EngagementRow.channel, EngagementRow.id))]
    ledger.close()
    return rows


def test_read_back_takes_each_due_snapshot_once(fakes, project, monkeypatch):
    from citecast.citations.funnel import funnel_for
    from citecast.citations.model import load_pages, open_ledger
    from citecast.distribution.engagement import read_back

    for var, value in citecast_env(fakes, timeout=3.0).items():
        monkeypatch.setenv(var, value)
    posts = {}
    for name in ("x", "mastodon", "linkedin"):
        _, published = _publish(name, fakes[name], "Read back")
        posts[name] = ("tracking-ai-citations", published.id)
    fakes["x"].counts[posts["x"][1]] = {"like_count": 3}
    fakes["mastodon"].counts[posts["mastodon"][1]] = {"favourites_count": 2, "replies_count": 1}
    start = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
    _events(project, posts, start)
    settings = project.settings()
    ledger = open_ledger(settings)
    try:
        assert read_back(settings, ledger, now=start + timedelta(hours=20)).summary() == "engagement: no snapshot due"
        fakes["x"].read_fault_rate, fakes["x"].read_fault_mix = 1.0, ("rate_limit",)
        first = read_back(settings, ledger, now=start + timedelta(days=8))
        assert first.failed == ["x"] and any("x: rate limited" in n for n in first.notes)
        assert any(LINKEDIN_SCOPE in n for n in first.notes)
        fakes["x"].read_fault_rate = 0.0
        second = read_back(settings, ledger, now=start + timedelta(days=8, hours=1))  # x again; others are done
        assert second.taken == {"x": 1}
        assert second.summary().startswith("engagement: 1 snapshot with counts\n"), second.summary()
        assert read_back(settings, ledger, now=start + timedelta(days=9)).summary() == "engagement: no snapshot due"
        fakes["x"].counts[posts["x"][1]] = {"like_count": 10, "reply_count": 2}
        read_back(settings, ledger, now=start + timedelta(days=29))
        read_back(settings, ledger, now=start + timedelta(days=29), on_demand=True, channels=["x"])
        funnel = funnel_for(ledger, load_pages(settings, ledger))
    finally:
        ledger.close()
    assert _snapshots(project) == [
        ("linkedin", "7d", "not_permitted", 0), ("linkedin", "1d", "missed", 0), ("linkedin", "28d", "not_permitted", 0),
        ("mastodon", "7d", "ok", 3), ("mastodon", "1d", "missed", 0), ("mastodon", "28d", "ok", 3),
        ("x", "7d", "ok", 3), ("x", "1d", "missed", 0), ("x", "28d", "ok", 12),
        ("x", "now:2026-11-30T09:00:00", "ok", 12),
    ]
    row = next(r for r in funnel.tables["funnel"].as_dicts() if r["page"] == "tracking-ai-citations")
    assert row["interactions"] == 15  # the newest snapshot of each post: x 12 + mastodon 3 (LinkedIn: not permitted)


@pytest.mark.parametrize("fault", ["server_error", "drop", "stall"])
def test_failing_reads_leave_the_snapshot_for_the_next_run(fakes, project, monkeypatch, fault):
    from citecast.citations.model import open_ledger
    from citecast.distribution.engagement import read_back

    for var, value in citecast_env(fakes, timeout=1.0).items():
        monkeypatch.setenv(var, value)
    posts = {}
    for name in ("x", "reddit", "bluesky", "mastodon"):
        _, published = _publish(name, fakes[name], "Faulty reads")
        posts[name] = ("tracking-ai-citations", published.id)
        fakes[name].read_fault_rate, fakes[name].read_fault_mix = 1.0, (fault,)
    start = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
    _events(project, posts, start)
    settings = project.settings()
    ledger = open_ledger(settings)
    try:
        failing = read_back(settings, ledger, now=start + timedelta(days=2))
        assert sorted(failing.failed) == ["bluesky", "mastodon", "reddit", "x"]
        assert _snapshots(project) == []  # nothing written: nothing lost
        for name in posts:
            fakes[name].read_fault_rate = 0.0
        again = read_back(settings, ledger, now=start + timedelta(days=2, hours=1))
    finally:
        ledger.close()
    assert not again.failed and again.taken == {"x": 1, "reddit": 1, "bluesky": 1, "mastodon": 1}
    assert sorted(_snapshots(project)) == [(n, "1d", "ok", 0) for n in ("bluesky", "mastodon", "reddit", "x")]


def test_engagement_now_with_only_dry_runs_says_nothing_live_is_read(project):
    """A new user's first week went to the outbox: `citecast engagement --now` says why it reads nothing."""
    from typer.testing import CliRunner

    from citecast.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["run", "--local", "--week", "2026-W48"]).exit_code == 0
    result = runner.invoke(app, ["engagement", "--now"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("engagement: no live post to read (posts to the outbox, dry runs, "
                                     "are never read back)")
    assert runner.invoke(app, ["engagement"]).output.strip() == "engagement: no snapshot due"
