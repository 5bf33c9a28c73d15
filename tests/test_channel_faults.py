"""Every live adapter against its fake platform: each fault maps to the right error class.

The real clients (tweepy, praw, httpx, atproto, Mastodon.py) talk HTTP to local
fakes; nothing in the SDKs is patched.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from citecast import channels
from citecast.channels.base import AuthError, ChannelError, NotConfigured, RateLimited, Rejected, Unconfirmed
from citecast.posts import Draft
from tests.fakes.platforms import ENV, FAKES, RETRY_AFTER, SECRETS, channel_options, ticket

NAMES = sorted(FAKES)
LINK = "https://citecast.dev/backlinks-vs-distribution"


@pytest.fixture(params=NAMES)
def live(request, monkeypatch):
    """(name, fake, adapter, post) with credentials in the environment."""
    name = request.param
    for var in [v for env in ENV.values() for v in env]:
        monkeypatch.delenv(var, raising=False)
    for var, value in ENV[name].items():
        monkeypatch.setenv(var, value)
    fake = FAKES[name]().start()
    if name == "linkedin":
        fake.scopes.add("r_member_social")  # lookups here read posts back; tests/test_unknown_outcomes.py goes without
    adapter = channels.adapter_class(name).from_options(channel_options(name, fake))
    draft = Draft(channel=name, parts=(f"Backlinks are not the lever you think (café ✓). Read: {LINK}",),
                  link=LINK, title="Backlinks vs distribution")
    post = adapter.render(draft)
    yield name, fake, adapter, post
    fake.stop()


def test_publish_stores_exactly_one_post(live):
    name, fake, adapter, post = live
    t = ticket(adapter, "page:%s:2026-W48:0" % name)
    published = adapter.publish(post, t)
    assert len(fake.posts) == 1
    assert published.id and published.url and published.found_by == "publish response"
    assert adapter.lookup(post, t).id == published.id


def test_rate_limit_carries_the_platforms_wait(live):
    name, fake, adapter, post = live
    fake.fail_next("rate_limit")
    with pytest.raises(RateLimited) as err:
        adapter.publish(post, ticket(adapter))
    assert err.value.retry_after == pytest.approx(RETRY_AFTER[name], abs=2)
    assert fake.posts == []


def test_server_error_is_unconfirmed_and_lookup_finds_nothing(live):
    name, fake, adapter, post = live
    fake.fail_next("server_error")
    t = ticket(adapter)
    with pytest.raises(Unconfirmed):
        adapter.publish(post, t)
    assert fake.posts == []
    assert adapter.lookup(post, t) is None


@pytest.mark.parametrize("fault", ["timeout_after_store", "drop_after_store", "stored_then_500"])
def test_lost_answer_is_unconfirmed_and_lookup_finds_the_stored_post(live, fault):
    name, fake, adapter, post = live
    fake.fail_next(fault)
    t = ticket(adapter)
    if name == "bluesky":  # the record key settles it inside publish: the record is read back by its key
        assert adapter.publish(post, t).found_by == "record key"
    else:
        with pytest.raises(Unconfirmed):
            adapter.publish(post, t)
    assert len(fake.posts) == 1, "the fake stored it and the client must not have retried"
    found = adapter.lookup(post, t)
    assert found is not None
    assert found.id in {str(v) for v in fake.posts[0].values()}


def test_dropped_before_store_is_unconfirmed_and_not_found(live):
    name, fake, adapter, post = live
    fake.fail_next("drop_before_store")
    t = ticket(adapter)
    with pytest.raises(Unconfirmed):
        adapter.publish(post, t)
    assert adapter.lookup(post, t) is None


def test_platform_refusal_is_rejected(live):
    name, fake, adapter, post = live
    fake.fail_next("duplicate")
    with pytest.raises(Rejected):
        adapter.publish(post, ticket(adapter))
    assert fake.posts == []


def test_lookup_ignores_posts_older_than_since(live):
    name, fake, adapter, post = live
    adapter.publish(post, ticket(adapter))
    # Bluesky reads by record key; without one it scans by time like the others.
    later = ticket(adapter, since=datetime.now(timezone.utc) + timedelta(hours=1), platform_key=None)
    assert adapter.lookup(post, later) is None


def test_unreachable_platform_is_a_plain_retryable_error(live):
    name, fake, adapter, post = live
    fake.stop()
    with pytest.raises(ChannelError) as err:
        adapter.publish(post, ticket(adapter))
    assert type(err.value) is ChannelError, "nothing was sent, so it is neither unconfirmed nor rejected"
    assert "nothing was sent" in str(err.value)


def test_wrong_credentials_are_auth_errors_without_the_secret(name_and_fake, monkeypatch):
    name, fake = name_and_fake
    secret_var = next(v for v, val in ENV[name].items() if val == SECRETS[name])
    wrong = "wrong-" + SECRETS[name]
    monkeypatch.setenv(secret_var, wrong)
    adapter = channels.adapter_class(name).from_options(channel_options(name, fake))
    post = adapter.render(Draft(channel=name, parts=(f"hello {LINK}",), link=LINK, title="Title"))
    with pytest.raises(AuthError) as err:
        adapter.publish(post, ticket(adapter))
    assert wrong not in str(err.value) and SECRETS[name] not in str(err.value)
    assert err.value.__cause__ is None and (err.value.__context__ is None or err.value.__suppress_context__)
    assert fake.posts == []


@pytest.fixture(params=NAMES)
def name_and_fake(request, monkeypatch):
    name = request.param
    for var, value in ENV[name].items():
        monkeypatch.setenv(var, value)
    with FAKES[name]() as fake:
        yield name, fake


@pytest.mark.parametrize("name", NAMES)
def test_missing_credentials_name_the_variable(name, monkeypatch):
    for var in [v for env in ENV.values() for v in env]:
        monkeypatch.delenv(var, raising=False)
    options = {"api_base_url": "http://127.0.0.1:9", "author": "urn:li:person:abc"}
    first = next(iter(ENV[name]))
    with pytest.raises(NotConfigured, match=first):
        channels.adapter_class(name).from_options(options)
    # and the run falls back to the outbox with that reason
    resolved = channels.resolve(name, options, outbox_dir="/tmp/unused")
    assert not resolved.live and first in resolved.reason


def test_adapters_build_without_credentials_or_sdk():
    """The outbox borrows limits, render and problems: that must not need keys or import an SDK."""
    import subprocess
    import sys

    code = (
        "import sys, channels\n"
        "from citecast.posts import Draft\n"
        "for n in channels.ADAPTERS:\n"
        "    ch = channels.adapter_class(n)({})\n"
        "    assert ch.can_lookup and ch.limits.max_length > 0\n"
        "    ch.render(Draft(channel=n, parts=('hi',), link='https://e.com', title='t'))\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'tweepy', 'praw', 'prawcore', 'atproto', 'mastodon', 'httpx'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).parent.parent)).stdout
    assert out.strip() == "[]"
