"""Exactly once against fake platforms: faults on ~20% of publish calls, re-runs until settled.

The live adapters reach the fakes through CITECAST_CHANNELS__<NAME>__<OPTION>
settings and credentials in the environment, as a deployment would. The fakes
accept duplicates here (X and LinkedIn normally refuse them), so a post sent
twice would show up as two posts rather than be hidden by the platform.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.fakes.platforms import FAKES, citecast_env

CHANNELS = ["bluesky", "linkedin", "mastodon", "reddit", "x"]
MIX = ("rate_limit", "server_error", "timeout_after_store", "drop_after_store", "drop_before_store")
SHORT_TEMPLATE = """{% block guidance -%}
One short post with the link.
{%- endblock %}
{% block post -%}
{{ title }}: the short answer, with sources.
{{ link }}
{%- endblock %}
"""


@pytest.fixture(params=[1, 2, 3])
def fakes(request, project, monkeypatch):
    servers = {}
    for name in CHANNELS:
        fake = FAKES[name]()
        fake.reject_duplicates = False
        fake.wait = 1  # rate-limit windows of a second keep the test quick
        fake.stall_seconds = 1.3
        fake.fault_rate = 0.2
        fake.fault_mix = MIX
        fake.rng.seed(f"exactly-once-{name}-{request.param}")
        servers[name] = fake.start()
    for var, value in citecast_env(servers, extra={"grace_seconds": 1}).items():
        monkeypatch.setenv(var, value)
    # Every page goes to all five channels; Bluesky and Mastodon get a short template.
    for name in ("bluesky", "mastodon"):
        (project.templates / f"{name}.md.j2").write_text(SHORT_TEMPLATE, encoding="utf-8")
    for page in project.content.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        text = re.sub(r'^channels(\s*[:=]\s*)\[.*\]$', lambda m: 'channels' + m.group(1) + (
            '["x", "linkedin", "reddit", "bluesky", "mastodon"]'), text, count=1, flags=re.M)
        page.write_text(text, encoding="utf-8")
    yield servers
    for fake in servers.values():
        fake.stop()


def _is_publish(name: str, path: str) -> bool:
    return {"x": "/2/tweets", "reddit": "/api/submit", "linkedin": "/rest/posts",
            "bluesky": "/xrpc/com.atproto.repo.createRecord", "mastodon": "/api/v1/statuses"}[name] in path


def heads(name: str, fake) -> list[dict]:
    """One entry per published post (for X, the first post of each thread)."""
    if name == "x":
        return [p for p in fake.posts if p["reply_to"] is None]
    return list(fake.posts)


def test_every_due_post_exists_exactly_once(project, fakes):
    from citecast.ledger.store import Ledger
    from citecast.distribution.run import run_week

    runs = []
    for _ in range(8):
        settings = project.settings()
        report = run_week(settings)
        runs.append(Counter(o.status for o in report.outcomes))
        if report.ok and not report.count("deferred"):
            break
    settings = project.settings()
    ledger = Ledger(settings.ledger_url)
    try:
        events = ledger.slot_events(report.slot)
    finally:
        ledger.close()

    calls = {n: sum(1 for r in f.requests if r.method == "POST" and _is_publish(n, r.path)) for n, f in fakes.items()}
    print("runs", runs, "publish calls", calls, "faults", {n: dict(Counter(f.faults_injected)) for n, f in fakes.items()})
    assert report.ok, f"not settled after {len(runs)} runs: {runs}"
    injected = {n: Counter(f.faults_injected) for n, f in fakes.items()}
    assert sum(sum(c.values()) for c in injected.values()) >= 4, injected  # the faults really happened

    pages = sorted({e.page for e in events})
    assert len(pages) == 5
    for name, fake in fakes.items():
        mine = {e.page: e for e in events if e.channel == name}
        assert sorted(mine) == pages, (name, sorted(mine))
        assert {e.status for e in mine.values()} == {"published"}, (name, [(e.page, e.status, e.error) for e in mine.values()])
        posted = heads(name, fake)
        ids = Counter(str(p.get("id") or p.get("uri")) for p in posted)
        # exactly once: as many posts as pages, and the ledger holds each one's id
        assert len(posted) == len(pages), (name, len(posted), injected[name])
        assert sorted(ids) == sorted(e.platform_id for e in mine.values()), name
    # X threads are whole: every part of every thread, each once, in a chain
    x_events = [e for e in events if e.channel == "x"]
    assert len(fakes["x"].posts) == sum(len(e.text) for e in x_events)
    by_id = {p["id"]: p for p in fakes["x"].posts}
    for e in x_events:
        chain = [by_id[e.platform_id]]
        while len(chain) < len(e.text):
            chain.append(next(p for p in fakes["x"].posts if p["reply_to"] == chain[-1]["id"]))
        assert [p["sent_text"] for p in chain] == list(e.text)
