"""Which pages are due this week, on which channels, and why.

The slot is the ISO week in the site's timezone. A page is due on a channel
when it was never distributed there, when its content changed since, or when
its cadence interval (in weeks) has passed. Pages are taken by priority, then
the oldest distribution first, up to the weekly budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from citecast.settings import CADENCE_WEEKS
from citecast.pages.loading import Page
from citecast.words import count

SLOT_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def iso_slot(moment: datetime, tz: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def slot_monday(slot: str) -> date:
    m = SLOT_RE.match(slot)
    if not m:
        raise ValueError(f"week {slot!r} is not an ISO week like 2026-W48")
    return date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)


def weeks_between(earlier: str, later: str) -> int:
    return (slot_monday(later) - slot_monday(earlier)).days // 7


@dataclass(frozen=True)
class LastDistribution:
    slot: str
    content_hash: str
    at: datetime | None


@dataclass
class Due:
    page: Page
    channels: list[str]
    reasons: dict[str, str]
    oldest: datetime | None = None


@dataclass
class Selection:
    slot: str
    due: list[Due] = field(default_factory=list)
    over_budget: list[Due] = field(default_factory=list)
    not_due: dict[str, str] = field(default_factory=dict)  # slug -> why not


def due_reason(page: Page, last: LastDistribution | None, slot: str) -> str | None:
    """Why the page is due on a channel, or None when it is not."""
    if last is None:
        return "never distributed"
    if last.slot == slot:
        return None
    if weeks_between(last.slot, slot) < 0:
        return None  # a run for a past week never repeats newer posts
    if last.content_hash != page.content_hash:
        return f"changed since {last.slot}"
    interval = CADENCE_WEEKS[page.cadence]
    if interval is not None and weeks_between(last.slot, slot) >= interval:
        return f"{page.cadence} cadence, last {last.slot}"
    return None


def select_due(
    pages: Iterable[Page],
    last: Mapping[tuple[str, str], LastDistribution],
    slot: str,
    max_pages: int,
    *,
    today: date,
    channels: list[str] | None = None,
    only_pages: list[str] | None = None,
    force: bool = False,
    pages_done_this_slot: set[str] | None = None,
) -> Selection:
    sel = Selection(slot)
    wanted = set(only_pages or [])
    candidates: list[Due] = []
    for page in pages:
        if wanted and page.slug not in wanted:
            continue
        if not page.distributable:
            sel.not_due[page.slug] = "draft" if page.draft else f"cohort {page.cohort} is not distributed"
            continue
        if page.published and page.published > today:
            sel.not_due[page.slug] = f"scheduled for {page.published}"
            continue
        chans = [c for c in page.channels if channels is None or c in channels]
        reasons: dict[str, str] = {}
        for ch in chans:
            why = "forced" if force else due_reason(page, last.get((page.slug, ch)), slot)
            if why:
                reasons[ch] = why
        if not reasons:
            sel.not_due[page.slug] = "up to date" if chans else "none of its channels is in this run"
            continue
        times = [d.at for c in chans if (d := last.get((page.slug, c))) and d.at]
        candidates.append(Due(page, list(reasons), reasons, min(times) if times else None))

    candidates.sort(key=lambda d: (d.page.priority, d.oldest is not None, d.oldest or datetime.min, d.page.slug))
    if wanted or force:
        sel.due = candidates  # a person named the pages: no weekly budget
        return sel
    # Pages already in this week's batch finish their remaining channels (a retry
    # after a failure) without taking a new place in the budget.
    done = pages_done_this_slot or set()
    continuing = [d for d in candidates if d.page.slug in done]
    new = [d for d in candidates if d.page.slug not in done]
    budget = max(0, max_pages - len(done))
    sel.due, sel.over_budget = continuing + new[:budget], new[budget:]
    for d in sel.over_budget:
        sel.not_due[d.page.slug] = f"over the weekly budget of {count(max_pages, 'page')}"
    return sel
