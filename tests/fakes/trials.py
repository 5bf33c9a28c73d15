"""Exactly-once trials: weekly runs against misbehaving platform fakes, SIGKILLed at random points.

Shared by tests/test_exactly_once_platforms.py (a size that fits the test run)
and benchmarks/platform_trials.py (bigger runs, more seeds). Each week every
page goes to all five channels; runs of `citecast run --local` are killed
with SIGKILL at random moments while they post, then run normally until the
week is settled. The audit then compares, for every (page, channel, week),
what the platform holds with what the ledger says.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .platforms import FAKES, citecast_env

CHANNELS = ("x", "linkedin", "reddit", "bluesky", "mastodon")
PUBLISH_PATH = {"x": "/2/tweets", "reddit": "/api/submit", "linkedin": "/rest/posts",
                "bluesky": "/xrpc/com.atproto.repo.createRecord", "mastodon": "/api/v1/statuses"}
WRITE_FAULTS = ("rate_limit", "server_error", "drop_before_store", "drop_after_store", "timeout_after_store",
                "stored_then_500", "lands_late")
SHORT_TEMPLATE = """{% block guidance -%}
One short post with the link.
{%- endblock %}
{% block post -%}
{{ title }}: the short answer, with sources.
{{ link }}
{%- endblock %}
"""
PAGE = """---
title: {title}
slug: {slug}
topic: trials
updated: 2026-11-{day:02d}
channels: [x, linkedin, reddit, bluesky, mastodon]
queries: [what is {slug}]
---

{slug} in week {week} is a page whose first paragraph answers the question directly, in plain sentences.

## Key points

- For {slug} in week {week}, the first point is short and concrete.
- For {slug} in week {week}, the second point carries a number, 42%.

## Evidence

In 2025, 3 of 4 teams reading {slug} in week {week} saw the effect, per [a study](https://example.org/study).
"""


@dataclass
class Mix:
    """How the fakes misbehave, and how fast clients give up."""

    write_rate: float = 0.15  # publish calls that fault (WRITE_FAULTS)
    read_rate: float = 0.10  # timeline/lookup reads that fault (429, 503, dropped, stalled)
    token_rate: float = 0.25  # token calls (Reddit access_token, Bluesky createSession) that fault
    lag: float = 0.6  # seconds before a stored post shows in reads
    page_cap: int = 20  # items per page of every read: lookups must page
    clock_skew: float = 3.0  # fakes share our clock: lookups need not search minutes back
    stall: float = 0.6  # a stalled answer; clients time out before it
    late: float = 0.3  # a late write lands this long after the client gave up
    timeout: float = 0.4
    grace: float = 2.0  # grace_seconds of every channel: above late + stall + lag, the longest a post takes to show
    settle_wait: float = 4.0
    linkedin_read_scope: bool = False  # standard tokens cannot read posts back

    def describe(self) -> str:
        return (f"writes {self.write_rate:.0%} faulted ({', '.join(WRITE_FAULTS)}), reads {self.read_rate:.0%} and token "
                f"calls {self.token_rate:.0%} faulted (429, 503, dropped, stalled), indexing lag {self.lag} s, "
                f"{self.page_cap} items a page, repeats refused (X, LinkedIn DUPLICATE_POST, Bluesky rkey), LinkedIn "
                f"{'with' if self.linkedin_read_scope else 'without'} r_member_social, client timeout {self.timeout} s, "
                f"late writes land {self.late} s after it, grace {self.grace} s")


@dataclass
class Figures:
    weeks: int = 0
    pages: int = 0
    expected: int = 0  # (page, channel, week) keys
    posts: int = 0  # posts (thread heads) on the platforms
    duplicates: int = 0
    lost: int = 0
    mismatches: int = 0
    kills: int = 0
    runs: int = 0
    unsettled_weeks: int = 0
    write_faults: int = 0
    read_faults: int = 0
    token_faults: int = 0
    found_by: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def start_fakes(mix: Mix, seed: Any) -> dict[str, Any]:
    fakes = {}
    for name in CHANNELS:
        fake = FAKES[name]()
        fake.wait = 1  # rate-limit windows of a second
        fake.fault_rate, fake.fault_mix = mix.write_rate, WRITE_FAULTS
        fake.read_fault_rate = mix.read_rate
        fake.token_fault_rate = mix.token_rate
        fake.lag_seconds, fake.page_cap = mix.lag, mix.page_cap
        fake.stall_seconds, fake.late_seconds = mix.stall, mix.late
        fake.rng.seed(f"trials-{name}-{seed}")
        if name == "linkedin" and mix.linkedin_read_scope:
            fake.scopes.add("r_member_social")
        fakes[name] = fake.start()
    return fakes


def write_site(root: Path, pages: int, week: int) -> None:
    """The site's pages as of `week`: every sentence names the page and the week, so no post repeats another
    (X and LinkedIn refuse repeated text, and a re-share leads with another sentence of the page)."""
    repo = Path(__file__).resolve().parents[2]
    if not (root / "citecast.toml").exists():
        import shutil

        (root / "content").mkdir(parents=True)
        shutil.copytree(repo / "templates", root / "templates")
        shutil.copy(repo / "citecast.toml", root / "citecast.toml")
        for name in ("bluesky", "mastodon"):
            (root / "templates" / f"{name}.md.j2").write_text(SHORT_TEMPLATE, encoding="utf-8")
    for i in range(pages):
        slug = f"p{i:03}"
        text = PAGE.format(slug=slug, title=f"Page {slug} week {week}", week=week, day=min(week, 28))
        (root / "content" / f"{slug}.md").write_text(text, encoding="utf-8")


def environment(root: Path, fakes: dict[str, Any], mix: Mix, pages: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITECAST_", "OPENAI_"))}
    env.update(citecast_env(fakes, timeout=mix.timeout, extra={"grace_seconds": mix.grace, "lookup_max_pages": 60,
                                                                    "clock_skew_seconds": mix.clock_skew}))
    env.update(CITECAST_CONFIG=str(root / "citecast.toml"),
               CITECAST_DISTRIBUTION__MAX_PAGES_PER_WEEK=str(pages),
               CITECAST_DISTRIBUTION__SETTLE_WAIT_SECONDS=str(mix.settle_wait))
    return env


def publish_calls(fakes: dict[str, Any]) -> int:
    return sum(1 for name, f in fakes.items() for r in list(f.requests)
               if r.method == "POST" and PUBLISH_PATH[name] in r.path)


def run_week(zygote, root: Path, env: dict[str, str], week: str, kills: int, rng: random.Random, fakes,
             max_runs: int = 8, max_kill_delay: float = 1.5) -> tuple[int, int, bool]:
    """`kills` runs SIGKILLed while they post, then normal runs until one exits 0. (kills, runs, settled)."""
    argv = ["run", "--local", "--week", week, "--json"]
    done_kills = runs = 0
    for _ in range(kills):
        before = publish_calls(fakes)
        pid = zygote.start(argv, root, env)
        deadline = time.monotonic() + 30
        while publish_calls(fakes) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, max_kill_delay))
        runs += 1
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        done_kills += zygote.wait() == -signal.SIGKILL
    for _ in range(max_runs):
        zygote.start(argv, root, env)
        runs += 1
        if zygote.wait() == 0:
            return done_kills, runs, True
    return done_kills, runs, False


def platform_text(name: str, post: dict) -> str:
    return {"x": lambda p: p["sent_text"], "reddit": lambda p: p["selftext"], "linkedin": lambda p: p["commentary"],
            "bluesky": lambda p: p["record"]["text"], "mastodon": lambda p: p["text"]}[name](post)


def platform_id(name: str, post: dict) -> str:
    return str(post["uri"] if name == "bluesky" else post["id"])


def audit(fakes: dict[str, Any], events: list, figures: Figures) -> None:
    """Compare every (page, channel, week) in the ledger with what each platform holds."""
    by_text = {name: collections.defaultdict(list) for name in fakes}
    for name, fake in fakes.items():
        with fake.lock:
            for p in fake.posts:
                by_text[name][platform_text(name, p)].append(p)
    claimed: dict[str, set[str]] = {name: set() for name in fakes}
    for ev in events:
        parts = list(ev.text or [])
        claimed[ev.channel].update(parts)
        copies = [by_text[ev.channel].get(part, []) for part in parts]
        key = f"{ev.page}/{ev.channel}/{ev.slot}"
        if not parts or any(len(c) == 0 for c in copies):
            figures.lost += 1
            figures.problems.append(f"lost: {key} ({ev.status}: {ev.error}; attempts {ev.attempts}, doubt since "
                                    f"{ev.doubt_since}, last sent {ev.last_sent_at}, steps {ev.steps}, on the platform "
                                    f"{[len(c) for c in copies]})")
            continue
        extra = sum(len(c) - 1 for c in copies)
        if extra:
            figures.duplicates += extra
            figures.problems.append(f"duplicate: {key} x{1 + extra}")
        head = copies[0][0]
        if ev.status != "published" or ev.platform_id != platform_id(ev.channel, head):
            figures.mismatches += 1
            figures.problems.append(f"ledger {ev.status} {ev.platform_id} but platform has {platform_id(ev.channel, head)}: "
                                    f"{key} ({ev.error})")
        elif ev.channel == "x":  # a whole thread, each part replying to the one before
            chain = [c[0] for c in copies]
            if any(chain[i]["reply_to"] != chain[i - 1]["id"] for i in range(1, len(chain))):
                figures.mismatches += 1
                figures.problems.append(f"broken thread: {key}")
        figures.found_by[ev.found_by or "-"] = figures.found_by.get(ev.found_by or "-", 0) + 1
    for name in fakes:
        orphans = [t for t in by_text[name] if t not in claimed[name]]
        figures.duplicates += len(orphans)
        figures.problems += [f"on {name} but in no ledger row: {t[:60]!r}" for t in orphans]
    figures.posts = sum(1 for name, f in fakes.items() for p in f.posts if name != "x" or p["reply_to"] is None)


def trial(root: Path, *, pages: int, weeks: int, kills_per_week: int, mix: Mix, seed: Any) -> Figures:
    """One project, `weeks` weeks of `pages` pages on five channels, with kills; the audit's figures."""
    from citecast.ledger.store import Ledger

    figures = Figures(weeks=weeks, pages=pages, expected=pages * weeks * len(CHANNELS))
    rng = random.Random(f"kills-{seed}")
    from .zygote import Zygote

    fakes = start_fakes(mix, seed)
    zygote = Zygote(str(Path(__file__).resolve().parents[2]))
    t0 = time.perf_counter()
    try:
        env = environment(root, fakes, mix, pages)
        slots = []
        for week in range(1, weeks + 1):
            write_site(root, pages, week)
            slot = f"2026-W{week + 1:02}"
            slots.append(slot)
            kills, runs, settled = run_week(zygote, root, env, slot, kills_per_week, rng, fakes)
            figures.kills += kills
            figures.runs += runs
            figures.unsettled_weeks += not settled
        time.sleep(mix.stall + mix.late + 0.3)  # writes still landing after the clients gave up
        db = root / ".citecast" / "ledger.db"
        ledger = Ledger(f"sqlite:///{db}")
        try:
            events = [e for slot in slots for e in ledger.events(slot=slot, limit=None)]
        finally:
            ledger.close()
        got = {(e.page, e.channel, e.slot) for e in events}
        missing = {(f"p{i:03}", c, s) for i in range(pages) for c in CHANNELS for s in slots} - got
        figures.lost += len(missing)
        figures.problems += [f"no ledger row: {'/'.join(k)}" for k in sorted(missing)]
        audit(fakes, events, figures)
        figures.write_faults = sum(len(f.faults_injected) for f in fakes.values())
        figures.read_faults = sum(1 for f in fakes.values() for k in f.reads_faulted if not k.startswith("token"))
        figures.token_faults = sum(1 for f in fakes.values() for k in f.reads_faulted if k.startswith("token"))
    finally:
        zygote.close()
        for fake in fakes.values():
            fake.stop()
    figures.seconds = time.perf_counter() - t0
    return figures
