"""Unknown outcomes, one misbehaviour at a time: the ledger, the real adapters and SDKs, the platform fakes.

A post whose outcome is unknown is never released blindly: a failed or
incomplete lookup keeps it unconfirmed, indexing lag is waited out for the
grace period, the platforms' own idempotency is used where it exists, a
duplicate refusal after an unknown outcome is recorded as the post, and
errors on reads and token calls are retried later, never rejected.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from citecast import channels
from citecast.channels.base import LookupIncomplete, LookupNotPermitted, Misconfigured, RateLimited, Ticket
from citecast.channels.linkedin import default_version
from citecast.distribution.publishing import Item, publish_channel, reconcile
from citecast.ledger.store import Ledger, owner_id
from citecast.posts import Draft
from tests.fakes.platforms import ENV, FAKES, channel_options, months_ago, ticket

LINK = "https://citecast.dev/backlinks-vs-distribution"
SLOT = "2026-W49"


@pytest.fixture
def ledger(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield ledger
    ledger.close()


@pytest.fixture
def platform(request, monkeypatch):
    """(fake, channel factory) for the platform named by the test's `name` parameter."""
    name = request.param
    for var, value in ENV[name].items():
        monkeypatch.setenv(var, value)
    fake = FAKES[name]()
    fake.wait = 1
    fake.stall_seconds, fake.late_seconds = 0.5, 0.2
    fake.start()

    def make(**options):
        return channels.adapter_class(name).from_options(channel_options(name, fake, timeout=0.3) | options)

    yield fake, make
    fake.stop()


def items(name: str, *texts) -> list[Item]:
    page = lambda i: SimpleNamespace(slug=f"p{i}", canonical_url=LINK, content_hash=f"h{i}")  # noqa: E731
    return [Item(page(i), Draft(channel=name, parts=t if isinstance(t, tuple) else (t,), link=LINK, title=f"Title {i}"))
            for i, t in enumerate(texts)]


def publish(ledger, channel, *texts, run="run-1"):
    return publish_channel(ledger, channel, items(channel.name, *texts), SLOT, owner=owner_id(run), run_id=run)


def settle(ledger, channel, run="run-2"):
    return reconcile(ledger, channel, owner_id(run), run)


def wait_until(ts) -> None:
    from datetime import datetime, timezone

    ts = ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    time.sleep(max(0.0, (ts - datetime.now(timezone.utc)).total_seconds()) + 0.1)


def only_event(ledger):
    (ev,) = ledger.events(slot=SLOT)
    return ev


@pytest.mark.parametrize("platform", ["x"], indirect=True)
def test_a_failed_lookup_never_releases_the_claim(platform, ledger):
    fake, make = platform
    x = make(grace_seconds=0)
    fake.fail_next("timeout_after_store")
    fake.read_fault_rate = 1.0  # every read fails
    (out,) = publish(ledger, x, f"one post {LINK}")
    assert out.status == "unconfirmed"
    for run in ("run-2", "run-3"):
        (again,) = settle(ledger, x, run)
        assert again.status == "unconfirmed" and "lookup failed" in again.detail
        assert only_event(ledger).wait_reason == "lookup"
    assert len(fake.posts) == 1  # never re-sent while the lookup could not finish
    fake.read_fault_rate = 0.0
    (done,) = settle(ledger, x, "run-4")
    assert done.status == "published" and done.platform_id == fake.posts[0]["id"]
    assert only_event(ledger).found_by == "lookup"


@pytest.mark.parametrize("platform", ["reddit"], indirect=True)
def test_indexing_lag_is_waited_out_then_the_post_is_found_not_resent(platform, ledger):
    fake, make = platform
    fake.lag_seconds = 3.0
    reddit = make(grace_seconds=6)
    fake.fail_next("timeout_after_store")
    (out,) = publish(ledger, reddit, f"body {LINK}")
    assert out.status == "unconfirmed" and "sent again from" in out.detail
    ev = only_event(ledger)
    assert ev.eligible_at is not None and ev.wait_reason == "lag" and ev.doubt_since is not None
    (early,) = settle(ledger, reddit)  # not visible yet, inside the grace period: it waits
    assert early.status == "unconfirmed" and "indexing" in early.detail
    time.sleep(3.1)
    (done,) = settle(ledger, reddit, "run-3")
    assert done.status == "published" and len(fake.posts) == 1


@pytest.mark.parametrize("platform", ["reddit"], indirect=True)
def test_missing_after_the_grace_period_is_sent_again_once(platform, ledger):
    fake, make = platform
    reddit = make(grace_seconds=0.5)
    fake.fail_next("drop_before_store")
    (out,) = publish(ledger, reddit, f"body {LINK}")
    assert out.status == "unconfirmed" and fake.posts == []
    time.sleep(0.6)
    (done,) = settle(ledger, reddit)
    assert done.status == "published" and len(fake.posts) == 1
    assert settle(ledger, reddit, "run-3") == []


@pytest.mark.parametrize("platform", ["x"], indirect=True)
def test_duplicate_refusal_after_a_missed_lookup_records_the_post_that_exists(platform, ledger):
    fake, make = platform
    fake.lag_seconds = 2.0  # longer than the grace period: the lookup misses the post that landed
    x = make(grace_seconds=0.3)
    fake.fail_next("timeout_after_store")
    (out,) = publish(ledger, x, f"one post {LINK}")
    assert out.status == "unconfirmed"
    time.sleep(0.4)
    (refused,) = settle(ledger, x)  # sent again; X refuses the repeat: the first attempt landed
    assert refused.status == "unconfirmed" and "duplicate" in refused.detail
    assert only_event(ledger).wait_reason == "exists" and len(fake.posts) == 1
    time.sleep(1.7)
    (done,) = settle(ledger, x, "run-3")
    assert done.status == "published" and done.platform_id == fake.posts[0]["id"]


@pytest.mark.parametrize("platform", ["x"], indirect=True)
def test_after_a_resend_the_lookup_still_searches_back_to_the_first_send(platform, ledger):
    """A part sent twice: the copy that landed is the first one. Searching only from the latest send
    minus clock_skew_seconds (as X's lookup once did) never reached it: the event waited for ever as
    'exists' while X showed the post (the ledger disagreeing with the platform)."""
    fake, make = platform
    fake.lag_seconds = 3.0  # longer than the grace period: the lookup after it misses the first copy
    x = make(grace_seconds=1.5, clock_skew_seconds=0.2)
    fake.fail_next("timeout_after_store")
    (out,) = publish(ledger, x, f"one post {LINK}")
    assert out.status == "unconfirmed"
    first_copy = fake.posts[0]
    wait_until(only_event(ledger).eligible_at)
    (refused,) = settle(ledger, x)  # sent again, more than a second after the first; X refuses the repeat
    assert refused.status == "unconfirmed" and only_event(ledger).wait_reason == "exists"
    assert len([r for r in fake.requests if r.method == "POST"]) == 2 and len(fake.posts) == 1
    time.sleep(max(0.0, first_copy["stored_at"] + fake.lag_seconds + 0.1 - time.time()))
    (done,) = settle(ledger, x, "run-3")  # X shows the first copy now
    assert done.status == "published" and done.platform_id == first_copy["id"], done.detail
    assert len(fake.posts) == 1


def test_single_post_lookups_search_back_to_the_first_unknown_send_after_resends(ledger):
    """Reddit, LinkedIn, Mastodon and Bluesky look up from `ticket.since`: after re-sends it must stay
    the first send whose outcome was unknown (the copy that may have landed), not the latest."""
    from datetime import datetime, timedelta, timezone

    from citecast.distribution.publishing import ticket_of

    claim = ledger.claim(page="p0", channel="reddit", slot=SLOT, seq=0, owner=owner_id("r1"), run_id="r1",
                         text=["body"], link=LINK, canonical_url=LINK)
    first = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    ledger.mark_sent(claim.id, first)
    ledger.doubt(claim.id)  # unknown outcome
    ledger.wait(claim.id, "lag", "not found yet", first + timedelta(minutes=1))
    for minutes in (2, 5):  # re-sent after the grace period, twice, each outcome unknown again
        ledger.mark_sent(claim.id, first + timedelta(minutes=minutes))
        ledger.doubt(claim.id)
        ledger.wait(claim.id, "lag", "not found yet", first + timedelta(minutes=minutes + 1))
    since = ticket_of(ledger, ledger.get(claim.id)).since
    assert since == first, since


@pytest.mark.parametrize("platform", ["x"], indirect=True)
def test_a_repeat_refused_without_an_unknown_outcome_is_rejected(platform, ledger):
    fake, make = platform
    x = make()
    publish(ledger, x, f"same words {LINK}", run="w1")
    (out,) = publish_channel(ledger, x, items("x", f"same words {LINK}"), "2026-W50", owner=owner_id("w2"), run_id="w2")
    assert out.status == "rejected" and "repeat" in out.detail


@pytest.mark.parametrize("platform", ["linkedin"], indirect=True)
def test_linkedin_without_read_scope_resends_and_records_the_post_duplicate_post_names(platform, ledger):
    fake, make = platform
    li = make(grace_seconds=4)
    fake.fail_next("timeout_after_store")
    (out,) = publish(ledger, li, f"Backlinks (still) matter? {LINK}")
    assert out.status == "unconfirmed"
    (early,) = settle(ledger, li)
    assert early.status == "unconfirmed" and only_event(ledger).wait_reason == "scope"
    wait_until(only_event(ledger).eligible_at)
    (done,) = settle(ledger, li, "run-3")
    assert done.status == "published" and done.platform_id == fake.posts[0]["id"] and len(fake.posts) == 1
    assert only_event(ledger).found_by == "DUPLICATE_POST refusal"
    assert not any(r.method == "GET" and r.path == "/rest/posts" and r.query.get("start", "0") != "0"
                   for r in fake.requests)  # the refused read was not retried page after page


@pytest.mark.parametrize("platform", ["linkedin"], indirect=True)
def test_linkedin_with_read_scope_pages_its_posts(platform):
    fake, make = platform
    fake.scopes.add("r_member_social")
    fake.page_cap = 3
    li = make()
    first = ticket(li, "p0:linkedin:s:0")
    target = li.publish(li.render(Draft(channel="linkedin", parts=(f"first {LINK}",), link=LINK)), first)
    for i in range(10):
        li.publish(li.render(Draft(channel="linkedin", parts=(f"later {i} {LINK}",), link=LINK)), ticket(li))
    found = li.lookup(li.render(Draft(channel="linkedin", parts=(f"first {LINK}",), link=LINK)), first)
    assert found.id == target.id and found.found_by == "lookup"
    pages = [r for r in fake.requests if r.method == "GET"]
    assert len(pages) >= 4  # 11 posts, 3 a page


@pytest.mark.parametrize("platform", ["linkedin"], indirect=True)
def test_linkedin_lookup_without_scope_is_not_permitted(platform):
    fake, make = platform
    li = make()
    with pytest.raises(LookupNotPermitted, match="r_member_social"):
        li.lookup(li.render(Draft(channel="linkedin", parts=(f"x {LINK}",), link=LINK)), ticket(li))
    assert "no r_member_social" in li.describe_reconcile()
    fake.scopes.add("r_member_social")
    assert "may read them" in li.describe_reconcile()


@pytest.mark.parametrize("platform", ["linkedin"], indirect=True)
def test_a_retired_linkedin_version_is_one_configuration_error_per_run(platform, ledger):
    fake, make = platform
    li = make(version=months_ago(14))
    outs = publish(ledger, li, f"a {LINK}", f"b {LINK}", f"c {LINK}")
    assert outs[0].status == "failed" and outs[0].detail.startswith("config:") and "not active" in outs[0].detail
    assert [o.detail for o in outs[1:]] == ["not sent: config error above"] * 2
    assert len([r for r in fake.requests if r.method == "POST"]) == 1 and fake.posts == []


def test_linkedin_default_version_is_released_and_not_retired():
    from datetime import date

    assert default_version(date(2026, 12, 1)) == "202610"
    assert default_version(date(2026, 2, 15)) == "202512"
    today = default_version()
    assert months_ago(12) < today <= months_ago(0)  # the window the fake (and LinkedIn) accept


@pytest.mark.parametrize("platform", ["reddit"], indirect=True)
@pytest.mark.parametrize("fault", ["rate_limit", "server_error", "stall"])
def test_a_reddit_token_call_that_fails_is_retried_later_never_rejected(platform, fault):
    fake, make = platform
    fake.token_fault_rate, fake.read_fault_mix = 1.0, (fault,)
    reddit = make()
    post = reddit.render(Draft(channel="reddit", parts=(f"body {LINK}",), link=LINK, title="T"))
    with pytest.raises(Exception) as err:
        reddit.publish(post, ticket(reddit))
    assert type(err.value).__name__ in ({"RateLimited"} if fault == "rate_limit" else {"ChannelError"})
    assert "token" in str(err.value) and fake.posts == []
    assert not [r for r in fake.requests if r.path.startswith("/api/submit")]


@pytest.mark.parametrize("platform", ["bluesky"], indirect=True)
def test_bluesky_record_key_is_stored_before_the_first_attempt_and_reused(platform, ledger):
    fake, make = platform
    bsky = make()
    fake.fail_next("lands_late")  # the create lands after the client gave up
    (out,) = publish(ledger, bsky, f"a post {LINK}")
    ev = only_event(ledger)
    assert ev.platform_key and len(ev.platform_key) == 13
    creates = [r for r in fake.requests if r.path.endswith("createRecord")]
    assert {r.json()["rkey"] for r in creates} == {ev.platform_key}  # every attempt under the same key
    time.sleep(0.8)
    settle(ledger, bsky)
    ev = only_event(ledger)
    assert ev.status == "published" and len(fake.posts) == 1
    assert ev.platform_id == fake.posts[0]["uri"] and ev.platform_id.endswith("/" + ev.platform_key)


@pytest.mark.parametrize("platform", ["bluesky"], indirect=True)
def test_bluesky_create_on_an_existing_key_fails_as_the_pds_does_and_the_record_decides(platform):
    fake, make = platform
    bsky = make()
    post = bsky.render(Draft(channel="bluesky", parts=(f"a post {LINK}",), link=LINK))
    t = ticket(bsky)
    first = bsky.publish(post, t)
    again = bsky.publish(post, t)
    creates = [r for r in fake.requests if r.path.endswith("createRecord")]
    assert len(creates) == 2 and len(fake.posts) == 1
    assert again.id == first.id and again.found_by == "record key"


@pytest.mark.parametrize("platform", ["mastodon"], indirect=True)
def test_mastodon_resends_with_the_same_idempotency_key(platform, ledger):
    fake, make = platform
    masto = make(grace_seconds=0.3)
    fake.lag_seconds = 30  # reads do not show it: only the key can settle it
    fake.fail_next("stored_then_500")
    (out,) = publish(ledger, masto, f"a status {LINK}")
    assert out.status == "unconfirmed"
    key = only_event(ledger).platform_key
    time.sleep(0.4)
    (done,) = settle(ledger, masto)
    assert done.status == "published" and len(fake.posts) == 1
    keys = [r.header("idempotency-key") for r in fake.requests if r.method == "POST"]
    assert keys == [key, key]


@pytest.mark.parametrize("platform", ["x", "reddit", "mastodon"], indirect=True)
def test_lookups_page_back_to_the_attempt_and_say_when_they_cannot(platform):
    fake, make = platform
    fake.page_cap = 5
    ch = make()
    first = ticket(ch, "p0:c:s:0")
    target = ch.publish(ch.render(Draft(channel=ch.name, parts=(f"first {LINK}",), link=LINK, title="T0")), first)
    for i in range(12):
        ch.publish(ch.render(Draft(channel=ch.name, parts=(f"later {i} {LINK}",), link=LINK, title=f"T{i + 1}")),
                   ticket(ch))
    post = ch.render(Draft(channel=ch.name, parts=(f"first {LINK}",), link=LINK, title="T0"))
    unknown = Ticket(key=first.key, since=first.since)  # as the ledger hands it over: no id known
    assert ch.lookup(post, unknown).id == target.id
    bounded = make(lookup_max_pages=1)
    with pytest.raises(LookupIncomplete, match="lookup_max_pages"):
        bounded.lookup(post, Ticket(key=first.key, since=first.since))


@pytest.mark.parametrize("platform", ["x", "reddit", "mastodon", "bluesky", "linkedin"], indirect=True)
def test_read_faults_are_retried_inside_a_lookup_and_never_read_as_absent(platform):
    fake, make = platform
    fake.scopes = {"r_member_social"} if hasattr(fake, "scopes") else None
    ch = make()
    t = ticket(ch)
    ch.publish(ch.render(Draft(channel=ch.name, parts=(f"first {LINK}",), link=LINK, title="T0")), t)
    post = ch.render(Draft(channel=ch.name, parts=(f"first {LINK}",), link=LINK, title="T0"))
    t = Ticket(key=t.key, since=t.since, platform_key=t.platform_key)  # as the ledger hands it over
    fake.read_fault_rate, fake.read_fault_mix = 1.0, ("server_error", "rate_limit")
    with pytest.raises((LookupIncomplete, RateLimited)):
        ch.lookup(post, t)
    fake.read_fault_rate = 0.5
    fake.rng.seed(3)
    assert ch.lookup(post, t) is not None  # one failed read is tried again, not the whole lookup lost


def test_misconfigured_is_an_auth_error_that_stops_the_channel():
    assert issubclass(Misconfigured, channels.base.AuthError)
    assert Ticket(key="k").steps == []


def test_ledger_pending_says_when_each_post_is_eligible_and_why(project, monkeypatch):
    import json

    from typer.testing import CliRunner

    from citecast.cli import app

    monkeypatch.setenv("COLUMNS", "250")
    for var, value in ENV["reddit"].items():
        monkeypatch.setenv(var, value)
    with FAKES["reddit"]() as fake:
        fake.stall_seconds = 0.5
        reddit = channels.adapter_class("reddit").from_options(channel_options("reddit", fake, timeout=0.3)
                                                               | {"grace_seconds": 600})
        ledger = Ledger(project.settings().ledger_url)
        fake.lag_seconds = 60
        fake.fail_next("timeout_after_store")
        publish(ledger, reddit, f"body {LINK}")
        ledger.close()
    result = CliRunner().invoke(app, ["ledger", "pending"])
    assert result.exit_code == 0, result.output
    assert "UTC" in result.output and "indexing lag" in result.output
    (row,) = json.loads(CliRunner().invoke(app, ["ledger", "pending", "--json"]).output)
    assert row["eligible_at"] and row["waiting_for"].startswith("the platform to show it")
    assert row["status"] == "unconfirmed" and row["last_sent_at"]


def test_channels_says_how_each_settles_an_unknown_outcome(project, monkeypatch):
    from typer.testing import CliRunner

    from citecast.cli import app
    from tests.fakes.platforms import citecast_env

    monkeypatch.setenv("COLUMNS", "400")
    with FAKES["linkedin"]() as fake:
        for var, value in citecast_env({"linkedin": fake}).items():
            monkeypatch.setenv(var, value)
        result = CliRunner().invoke(app, ["channels"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "no r_member_social" in out and "DUPLICATE_POST" in out  # LinkedIn, live: asked the API
    assert "once live: reads the record by the key" in out  # Bluesky, a dry run here


@pytest.mark.parametrize("platform", ["reddit"], indirect=True)
def test_the_settle_pass_looks_up_once_per_eligibility_not_in_a_loop(platform, ledger):
    from citecast.distribution.publishing import settle as settle_pass

    fake, make = platform
    reddit = make(grace_seconds=0.5)
    fake.fail_next("timeout_after_store")
    fake.read_fault_rate = 1.0  # the platform's reads are down
    publish(ledger, reddit, f"body {LINK}")
    reads = lambda: len([r for r in fake.requests if r.method == "GET"])  # noqa: E731
    before = reads()
    started = time.monotonic()
    settle_pass(ledger, reddit, owner_id("run-1"), "run-1", max_wait=10)
    assert time.monotonic() - started < 5  # it did not spin until the deadline
    assert reads() - before <= 3 * 2  # one lookup (a read tried 3 times) after the grace period, maybe two
    assert only_event(ledger).status == "unconfirmed" and len(fake.posts) == 1


@pytest.mark.parametrize("platform", ["reddit"], indirect=True)
def test_an_unconfirmed_event_from_before_send_times_were_recorded_still_settles(platform, ledger):
    """A row left unconfirmed by an older citecast (no last_sent_at, no eligible_at) is looked up from its claim."""
    fake, make = platform
    reddit = make(grace_seconds=0)
    published = reddit.publish(reddit.render(Draft(channel="reddit", parts=(f"old {LINK}",), link=LINK,
                                                   title="Title 0")), ticket(reddit))
    claim = ledger.claim(page="p0", channel="reddit", slot=SLOT, seq=0, owner="gone:1:x", run_id="old",
                         canonical_url=LINK, text=[f"old {LINK}"], title="Title 0", link=LINK)
    ledger.finish(claim.id, "unconfirmed", error="timeout after send")
    (done,) = settle(ledger, reddit)
    assert done.status == "published" and done.platform_id == published.id and len(fake.posts) == 1


@pytest.mark.parametrize("platform", ["x"], indirect=True)
def test_a_copy_the_platform_says_exists_is_never_rejected_for_a_missed_lookup(platform, ledger):
    fake, make = platform
    fake.lag_seconds = 60  # X's reads will not show it during the test
    x = make(grace_seconds=0.3)
    fake.fail_next("timeout_after_store")
    publish(ledger, x, f"one post {LINK}")
    for run in ("run-2", "run-3", "run-4"):
        time.sleep(0.4)
        (out,) = settle(ledger, x, run)
        assert out.status == "unconfirmed", out.detail
    assert only_event(ledger).wait_reason == "exists"
    assert len([r for r in fake.requests if r.method == "POST"]) == 2 and len(fake.posts) == 1  # one re-send, refused


@pytest.mark.parametrize("platform", ["x"], indirect=True)
def test_a_duplicate_of_another_pages_post_is_rejected_even_after_an_unknown_outcome(platform, ledger):
    fake, make = platform
    x = make(grace_seconds=0)
    publish(ledger, x, f"shared words {LINK}", run="w1")  # p0's post
    fake.fail_next("drop_before_store")  # the next page's first attempt never lands
    (out,) = publish_channel(ledger, x, [Item(SimpleNamespace(slug="p9", canonical_url=LINK, content_hash="h"),
                                              Draft(channel="x", parts=(f"shared words {LINK}",), link=LINK))],
                             SLOT, owner=owner_id("w2"), run_id="w2")
    assert out.status == "unconfirmed"
    (done,) = settle(ledger, x, "w3")
    assert done.status == "rejected" and "p0" in done.detail
