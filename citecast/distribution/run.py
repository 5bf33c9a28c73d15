"""The weekly distribution as plain Python: plan, draft, publish, report.

Prefect flows call these same steps as tasks (flows/distribute.py); the CLI
and tests may call `run_week` directly.
"""

from __future__ import annotations

import queue
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from citecast import channels as channel_registry
from citecast.channels.base import Channel
from citecast.settings import Settings
from citecast.distribution.drafting import OfflineDrafter, PageDrafts, page_options
from citecast.distribution.llm_budget import release_budget
from citecast.ledger.store import Ledger, owner_id
from citecast.pages.arms import apply_arms
from citecast.pages.loading import Library, Page, load_library
from citecast.pages.problems import Problem, ProblemsBySeverity
from citecast.distribution.publishing import Item, Outcome, Pacing, publish_channel, reconcile, settle
from citecast.distribution.selection import LastDistribution, Selection, iso_slot, select_due, slot_monday
from citecast.distribution.templates import Templates
from citecast.words import count, plural


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

    def work(self) -> list[tuple[Page, dict[str, Channel]]]:
        return [(d.page, {c: self.channels[c].channel for c in d.channels}) for d in self.selection.due]


@dataclass
class RunReport(ProblemsBySeverity):
    slot: str
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    not_due: dict[str, str] = field(default_factory=dict)
    channels: dict[str, tuple[bool, str]] = field(default_factory=dict)  # name -> (live, why)
    ledger_url: str = ""
    outbox: str = ""
    limits: dict = field(default_factory=dict)  # channel -> its Limits, to show lengths against them
    canonical: dict[str, str] = field(default_factory=dict)  # page slug -> canonical URL
    note: str = ""  # one sentence that matters more than the counts (a review that timed out)

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
    # A misspelt [channels.<name>] key would otherwise be ignored by the adapter (ConfigError names it).
    settings.check_channel_options({name: channel_registry.settings_keys(name) for name in settings.channels})
    slot = options.week or iso_slot(now, settings.site.tz)
    slot_monday(slot)  # rejects a malformed week early, with a clear message
    library = load_library(settings, ledger.distributed_urls())
    if library.base_url_unknown:
        library.pages = []  # its problem says why: every link would go to a host the site is not on
    library.pages = apply_arms(library.pages, ledger.cohort_arms())  # holdout pages are not distributed
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


def check_drafter(settings: Settings) -> None:
    """With an LLM configured: its key is there and its server answers a connection, else
    LLMConfigError with one line naming the variable or URL and the fix (exit 2 in the CLI)."""
    if settings.llm.model:
        from citecast.distribution.llm_client import preflight

        preflight(settings)


def make_drafter(settings: Settings, ledger: Ledger | None = None, run_id: str | None = None):
    """The drafter for these settings: the offline generator unless an LLM is configured.

    With `llm.model` set it is the LLM drafter (openai imported only then); the
    ledger, when given, holds its draft cache.
    """
    templates = Templates(settings.path("templates"), settings.templates)
    # A re-share of an unchanged page leads with the angle after its last one (see angles.py).
    angles = ledger.last_angles() if ledger is not None else {}
    if settings.llm.model:
        from citecast.distribution.llm import LLMDrafter
        from citecast.distribution.llm_budget import run_budget

        check_drafter(settings)
        return LLMDrafter(settings, templates, ledger, budget=run_budget(run_id, settings.llm), previous_angles=angles)
    defaults = {name: settings.channel_options(name) for name in settings.channels}
    return OfflineDrafter(templates, settings.distribution.utm, defaults, angles, settings.llm.allowed_handles,
                          settings.llm.allowed_hashtags)


def draft_all(plan: Plan, drafter=None, ledger: Ledger | None = None) -> list[PageDrafts]:
    drafter = drafter or make_drafter(plan.settings, ledger, plan.run_id)
    try:
        return drafter.draft_pages(plan.work())
    finally:
        release_budget(plan.run_id)  # the whole plan is drafted: the run's budget is done with


def publish_all(plan: Plan, ledger: Ledger, drafted: Iterable[PageDrafts], channel: str,
                on_outcome: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    """Reconcile, then publish every due page on one channel."""
    resolved = plan.channels[channel]
    owner = owner_id(plan.run_id)
    defaults = plan.settings.channel_options(channel)
    pages = {p.slug: p for p in plan.library.pages}
    outcomes = reconcile(ledger, resolved.channel, owner, plan.run_id,
                         lambda slug: page_options(pages[slug], channel, defaults) if slug in pages else {})
    items = (  # lazily: `drafted` may still be filling while this channel posts
        Item(pd.page, pd.drafts.get(channel), pd.errors.get(channel))
        for pd in drafted
        if channel in pd.drafts or channel in pd.errors
    )
    dist = plan.settings.distribution
    outcomes += publish_channel(
        ledger, resolved.channel, items, plan.slot, owner=owner, run_id=plan.run_id, force=plan.options.force,
        pacing=Pacing(dist.min_gap_seconds, dist.daily_cap),
        page_options=lambda page: page_options(page, channel, defaults),
        on_outcome=on_outcome,
    )
    outcomes += settle(ledger, resolved.channel, owner, plan.run_id, dist.settle_wait_seconds,
                       lambda slug: page_options(pages[slug], channel, defaults) if slug in pages else {})
    # An event settled later in the run is reported once, as it ended.
    last: dict[tuple[str, str, str], Outcome] = {}
    for o in outcomes:
        key = (o.page, o.channel, o.slot)
        if o.status == "skipped" and key in last:
            continue  # settled by this run's reconcile a moment before
        last.pop(key, None)
        last[key] = o
    return list(last.values())


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
        limits={n: r.channel.limits for n, r in plan.channels.items()},
        canonical={p.slug: p.canonical_url for p in plan.library.pages},
    )


def run_week(settings: Settings, options: RunOptions | None = None, now: datetime | None = None,
             on_outcome: Callable[[Outcome], None] | None = None) -> RunReport:
    """The whole weekly loop in this process, without Prefect.

    Drafting feeds the channels as it goes: each channel posts a page as soon as
    its drafts exist, so a big week's LLM time and posting time overlap.
    """
    options = options or RunOptions()
    ledger = open_ledger(settings)
    plan: Plan | None = None
    try:
        plan = plan_week(settings, ledger, options, now)
        drafter = make_drafter(settings, ledger, plan.run_id)
        work = plan.work()
        used = sorted({c for _, chans in work for c in chans})
        queues: dict[str, queue.Queue] = {ch: queue.Queue() for ch in used}

        def fed(channel: str) -> Iterator[PageDrafts]:
            while (pd := queues[channel].get()) is not None:
                yield pd

        # Channels publish side by side; within a channel posts go one by one for pacing.
        with ThreadPoolExecutor(max_workers=max(1, len(used))) as pool:
            futures = [pool.submit(publish_all, plan, ledger, fed(ch), ch, on_outcome or notify) for ch in used]
            try:
                for pd in drafter.draft_iter(work):  # in completion order
                    for ch in (*pd.drafts, *pd.errors):
                        queues[ch].put(pd)
            finally:
                for q in queues.values():
                    q.put(None)
            outcomes = [o for f in futures for o in f.result()]
        return report_of(plan, outcomes)
    finally:
        ledger.close()
        if plan is not None:
            release_budget(plan.run_id)


# Listeners hear every outcome as it happens (the CLI's progress bar), also when
# the steps run as Prefect tasks in this process.
_listeners: list[Callable[[Outcome], None]] = []


def listen(callback: Callable[[Outcome], None]) -> Callable[[], None]:
    _listeners.append(callback)
    return lambda: _listeners.remove(callback)


def notify(outcome: Outcome) -> None:
    for callback in list(_listeners):
        callback(outcome)


# Review: with review on, an editor sees every draft before anything is posted.
# The Prefect flow pauses between these steps and asks for approval in the UI.

def review_key(page: str, channel: str) -> str:
    return f"{page}:{channel}"


def review_keys(drafted: list[PageDrafts]) -> list[str]:
    """The posts under review, as page:channel, in a stable order."""
    return [review_key(pd.page.slug, ch) for pd in drafted for ch in sorted(pd.drafts)]


def _rendered(plan: Plan, pd: PageDrafts, channel: str):
    defaults = plan.settings.channel_options(channel)
    return plan.channels[channel].channel.render(pd.drafts[channel], page_options(pd.page, channel, defaults))


def _fenced(text: str) -> str:
    fence = "~~~"
    while fence in text:
        fence += "~"
    return f"{fence}\n{text}\n{fence}"


def write_review(plan: Plan, drafted: list[PageDrafts]) -> tuple[str, Path]:
    """Write every draft for editors under outbox/review/<week>/ and return the review as markdown.

    One file per post (review/<week>/<channel>/<page>.md) and README.md, the whole
    review on one page: the same text the Prefect artifact shows.
    """
    folder = plan.settings.path("outbox") / "review" / plan.slot
    folder.mkdir(parents=True, exist_ok=True)
    keys = review_keys(drafted)
    lines = [f"# Review: distribution, week {plan.slot}", "",
             f"{count(len(keys), 'post')} {plural('waits', len(keys))} for a decision. Approve all, approve some (by their page:channel key) "
             "or reject with a reason; nothing is posted until then.", ""]
    for pd in drafted:
        for channel in sorted(pd.drafts):
            post = _rendered(plan, pd, channel)
            key = review_key(pd.page.slug, channel)
            mode = "live" if plan.channels[channel].live else "dry run (outbox)"
            block = [f"## `{key}`", "", f"**{pd.page.title}** on **{channel}** ({mode}), linking {pd.page.canonical_url}", ""]
            if post.title:
                block += [f"Title: {post.title}", ""]
            for i, part in enumerate(post.parts, 1):
                if len(post.parts) > 1:
                    block.append(f"Part {i} of {len(post.parts)}:")
                block += [_fenced(part), ""]
            lines += block
            path = folder / channel / f"{pd.page.slug.replace('/', '__')}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(block), encoding="utf-8")
        for channel, error in sorted(pd.errors.items()):
            lines += [f"## `{review_key(pd.page.slug, channel)}`: no valid draft", "", f"{error}", ""]
    if not keys:
        lines.append("Nothing to review: no page is due, or no draft passed the checks.")
    text = "\n".join(lines) + "\n"
    (folder / "README.md").write_text(text, encoding="utf-8")
    return text, folder


def split_review(drafted: list[PageDrafts], approved: set[str]) -> tuple[list[PageDrafts], list[PageDrafts]]:
    """(what may be published, what was rejected); drafting errors stay on the first side and fail there."""
    keep: list[PageDrafts] = []
    drop: list[PageDrafts] = []
    for pd in drafted:
        ok = {c: d for c, d in pd.drafts.items() if review_key(pd.page.slug, c) in approved}
        no = {c: d for c, d in pd.drafts.items() if review_key(pd.page.slug, c) not in approved}
        if ok or pd.errors:
            keep.append(PageDrafts(pd.page, ok, dict(pd.errors)))
        if no:
            drop.append(PageDrafts(pd.page, no, {}))
    return keep, drop


def waiting_outcomes(plan: Plan, drafted: list[PageDrafts], detail: str) -> list[Outcome]:
    """The posts a review held back and nobody decided on, as `not_posted` outcomes (nothing in the ledger)."""
    return [
        Outcome(pd.page.slug, channel, plan.slot, "not_posted", detail, generator=draft.generator,
                text=_rendered(plan, pd, channel).text)
        for pd in drafted for channel, draft in sorted(pd.drafts.items())
    ]


def reject_drafts(plan: Plan, ledger: Ledger, rejected: list[PageDrafts], reason: str,
                  on_outcome: Callable[[Outcome], None] = lambda o: None) -> list[Outcome]:
    """Log each rejected post as a `rejected` event with the reason, taking its key for this week."""
    owner = owner_id(plan.run_id)
    reason = reason.strip() or "no reason given"
    outcomes: list[Outcome] = []
    for pd in rejected:
        page = pd.page
        for channel, draft in sorted(pd.drafts.items()):
            resolved = plan.channels[channel]
            post = _rendered(plan, pd, channel)
            seq = ledger.next_seq(page.slug, channel, plan.slot) if plan.options.force else 0
            claim = ledger.claim(
                page=page.slug, channel=channel, slot=plan.slot, seq=seq, owner=owner, run_id=plan.run_id,
                retake=("failed", "dry_run") if resolved.live else ("failed",),
                canonical_url=page.canonical_url, content_hash=page.content_hash, link=draft.link,
                title=post.title, text=list(post.parts), generator=draft.generator,
                generator_note=draft.generator_note, model=draft.model, tokens_in=draft.tokens_in,
                tokens_out=draft.tokens_out, cost_usd=draft.cost_usd,
            )
            if claim is None:
                outcome = Outcome(page.slug, channel, plan.slot, "skipped",
                                  "already distributed in this slot or in progress elsewhere")
            else:
                ledger.finish(claim.id, "rejected", error=f"rejected in review: {reason}")
                outcome = Outcome(page.slug, channel, plan.slot, "rejected", f"rejected in review: {reason}",
                                  generator=draft.generator, text=post.text)
            outcomes.append(outcome)
            on_outcome(outcome)
    return outcomes
