"""The weekly distribution as plain Python: plan, draft, publish, report.

Prefect flows call these same steps as tasks (flows/distribute.py); the CLI
and tests may call `run_week` directly.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import channels as channel_registry
from channels.base import Channel
from citecast.config import Settings
from citecast.drafting import OfflineDrafter, PageDrafts, page_options
from citecast.ledger.store import Ledger, owner_id
from citecast.pages import Library, Page, load_library
from citecast.problems import Problem
from citecast.publishing import Item, Outcome, Pacing, publish_channel, reconcile
from citecast.selection import LastDistribution, Selection, iso_slot, select_due, slot_monday
from citecast.templates import Templates


@dataclass
class RunOptions:
    pages: list[str] | None = None  # slugs; None = every due page
    channels: list[str] | None = None  # None = every channel the pages name
    dry_run: bool = False
    week: str | None = None  # ISO week like 2026-W48; None = this week
    force: bool = False


@dataclass
class Plan:
    settings: Settings
    options: RunOptions
    slot: str
    run_id: str
    library: Library
    selection: Selection
    channels: dict[str, channel_registry.Resolved]

    @property
    def due_pages(self) -> list[Page]:
        return [d.page for d in self.selection.due]

    def work(self) -> list[tuple[Page, dict[str, Channel]]]:
        return [(d.page, {c: self.channels[c].channel for c in d.channels}) for d in self.selection.due]


@dataclass
class RunReport:
    slot: str
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    not_due: dict[str, str] = field(default_factory=dict)
    channels: dict[str, tuple[bool, str]] = field(default_factory=dict)  # name -> (live, why)
    ledger_url: str = ""
    outbox: str = ""

    def count(self, *statuses: str) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def ok(self) -> bool:
        return not any(o.status in ("failed", "unconfirmed") for o in self.outcomes)


def open_ledger(settings: Settings) -> Ledger:
    return Ledger(settings.ledger_url)


def plan_week(settings: Settings, ledger: Ledger, options: RunOptions, now: datetime | None = None) -> Plan:
    """Load and check the pages, resolve channels, and pick what is due in this slot."""
    now = now or datetime.now(timezone.utc)
    slot = options.week or iso_slot(now, settings.site.tz)
    slot_monday(slot)  # rejects a malformed week early, with a clear message
    library = load_library(settings, ledger.distributed_urls())
    ledger.record_pages(p.snapshot() for p in library.pages)

    wanted = options.channels
    names = sorted({c for p in library.pages for c in p.channels if wanted is None or c in wanted})
    outbox = settings.path("outbox")
    resolved = {n: channel_registry.resolve(n, settings.channel_options(n), outbox, options.dry_run) for n in names}
    live = {n for n, r in resolved.items() if r.live}

    last = {
        key: LastDistribution(row.slot, row.content_hash, row.published_at)
        for key, row in ledger.last_done(names, live_only=live).items()
    }
    done_this_slot = {row.page for row in ledger.slot_events(slot) if row.status in ("published", "dry_run")}
    selection = select_due(
        library.pages, last, slot, settings.distribution.max_pages_per_week,
        today=now.astimezone(settings.site.tz).date(), channels=wanted, only_pages=options.pages,
        force=options.force, pages_done_this_slot=done_this_slot,
    )
    if options.pages:
        known = {p.slug for p in library.pages}
        for slug in options.pages:
            if slug not in known:
                library.problems.append(Problem(slug, "no such page (or it has errors)", "run `citecast check` to see the slugs"))
    return Plan(settings, options, slot, uuid.uuid4().hex[:12], library, selection, resolved)


def make_drafter(settings: Settings):
    """The drafter for these settings: the offline generator unless an LLM is configured."""
    templates = Templates(settings.path("templates"), settings.templates)
    defaults = {name: settings.channel_options(name) for name in settings.channels}
    return OfflineDrafter(templates, settings.distribution.utm, defaults)


def draft_all(plan: Plan, drafter=None) -> list[PageDrafts]:
    drafter = drafter or make_drafter(plan.settings)
    return drafter.draft_pages(plan.work())


def publish_all(plan: Plan, ledger: Ledger, drafted: list[PageDrafts], channel: str,
                on_outcome: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    """Reconcile, then publish every due page on one channel."""
    resolved = plan.channels[channel]
    owner = owner_id(plan.run_id)
    outcomes = reconcile(ledger, resolved.channel, owner, plan.run_id)
    items = [
        Item(pd.page, pd.drafts.get(channel), pd.errors.get(channel))
        for pd in drafted
        if channel in pd.drafts or channel in pd.errors
    ]
    dist = plan.settings.distribution
    defaults = plan.settings.channel_options(channel)
    outcomes += publish_channel(
        ledger, resolved.channel, items, plan.slot, owner=owner, run_id=plan.run_id, force=plan.options.force,
        pacing=Pacing(dist.min_gap_seconds, dist.daily_cap),
        page_options=lambda page: page_options(page, channel, defaults),
        on_outcome=on_outcome,
    )
    return outcomes


def report_of(plan: Plan, outcomes: list[Outcome]) -> RunReport:
    return RunReport(
        slot=plan.slot,
        run_id=plan.run_id,
        outcomes=outcomes,
        problems=plan.library.problems,
        not_due=plan.selection.not_due,
        channels={n: (r.live, r.reason) for n, r in plan.channels.items()},
        ledger_url=plan.settings.ledger_url,
        outbox=str(plan.settings.path("outbox")),
    )


def run_week(settings: Settings, options: RunOptions | None = None, now: datetime | None = None,
             on_outcome: Callable[[Outcome], None] | None = None) -> RunReport:
    """The whole weekly loop in this process, without Prefect."""
    options = options or RunOptions()
    ledger = open_ledger(settings)
    try:
        plan = plan_week(settings, ledger, options, now)
        drafted = draft_all(plan)
        used = sorted({c for pd in drafted for c in (*pd.drafts, *pd.errors)})
        # Channels publish side by side; within a channel posts go one by one for pacing.
        with ThreadPoolExecutor(max_workers=max(1, min(len(used), 8))) as pool:
            futures = [pool.submit(publish_all, plan, ledger, drafted, ch, on_outcome or notify) for ch in used]
            outcomes = [o for f in futures for o in f.result()]
        return report_of(plan, outcomes)
    finally:
        ledger.close()


# Listeners hear every outcome as it happens (the CLI's progress bar), also when
# the steps run as Prefect tasks in this process.
_listeners: list[Callable[[Outcome], None]] = []


def listen(callback: Callable[[Outcome], None]) -> Callable[[], None]:
    _listeners.append(callback)
    return lambda: _listeners.remove(callback)


def notify(outcome: Outcome) -> None:
    for callback in list(_listeners):
        callback(outcome)
