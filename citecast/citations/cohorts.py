"""Randomised holdouts: which pages get distributed is drawn at random within each topic.

Editors distribute their best pages, so comparing the pages they chose with the rest measures
their choice as much as distribution. `citecast cohorts assign --randomize --seed S --strata topic`
draws, within each topic, half of the eligible pages (not drafts, not assigned before) into the
`distribution` arm and the rest into `holdout` (an odd page goes where a coin of the same
generator says), and records page, arm, seed, stratum and date in the ledger. An assignment is
never redrawn: pages added later are drawn among themselves in a later batch.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

from citecast.pages.arms import ARMS, deviation

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

Strata = Literal["topic", "none"]


@dataclass(frozen=True)
class Assignment:
    page: str
    arm: str
    stratum: str
    seed: str
    strata: str
    assigned_on: date
    batch: str = ""


def draw(pages: Iterable[Any], already: Iterable[str], *, seed: str, strata: Strata = "topic",
         today: date, batch: str = "") -> list[Assignment]:
    """Arms for the eligible pages, balanced within each stratum; the same inputs give the same draw.

    Each stratum has its own generator seeded with "<seed>:<stratum>" (a string seed is hashed
    with SHA-512: the same on every Python), so a new topic never changes another topic's draw.
    """
    done = set(already)
    groups: dict[str, list[str]] = defaultdict(list)
    for page in pages:
        if page.slug in done or getattr(page, "draft", False):
            continue
        groups[page.topic if strata == "topic" else "all"].append(page.slug)
    out: list[Assignment] = []
    for stratum in sorted(groups):
        rng = random.Random(f"{seed}:{stratum}")
        slugs = sorted(groups[stratum])
        rng.shuffle(slugs)
        treated = len(slugs) // 2 + (rng.randrange(2) if len(slugs) % 2 else 0)
        out += [Assignment(slug, ARMS[0] if k < treated else ARMS[1], stratum, str(seed), strata, today, batch)
                for k, slug in enumerate(slugs)]
    return sorted(out, key=lambda a: (a.stratum, a.page))


def load(ledger: "Ledger") -> dict[str, Assignment]:
    from sqlalchemy import select

    from citecast.ledger.tables import CohortAssignmentRow

    with ledger.session() as s:
        return {r.page: Assignment(r.page, r.arm, r.stratum, r.seed, r.strata, r.assigned_on, r.batch)
                for r in s.scalars(select(CohortAssignmentRow))}


def record(ledger: "Ledger", assignments: Sequence[Assignment]) -> int:
    """Write new assignments in one transaction; a page assigned meanwhile keeps its first arm."""
    from sqlalchemy import select

    from citecast.ledger.tables import CohortAssignmentRow

    with ledger.session() as s:
        taken = set(s.scalars(select(CohortAssignmentRow.page).where(
            CohortAssignmentRow.page.in_([a.page for a in assignments]))))
        rows = [CohortAssignmentRow(page=a.page, arm=a.arm, stratum=a.stratum, seed=a.seed, strata=a.strata,
                                    assigned_on=a.assigned_on, batch=a.batch, method="randomized")
                for a in assignments if a.page not in taken]
        s.add_all(rows)
        return len(rows)


def assign(ledger: "Ledger", pages: Sequence[Any], *, seed: str, strata: Strata = "topic",
           today: date | None = None, dry_run: bool = False) -> list[Assignment]:
    """Draw and record arms for the pages not assigned yet; returns the new assignments."""
    today = today or datetime.now(timezone.utc).date()
    drawn = draw(pages, load(ledger), seed=seed, strata=strata, today=today, batch=uuid.uuid4().hex[:12])
    if not dry_run and drawn:
        record(ledger, drawn)
    return drawn


@dataclass(frozen=True)
class Deviation:
    page: str
    arm: str
    cohort: str | None  # the editor's, when set
    reason: str


def deviations(ledger: "Ledger", pages: Sequence[Any]) -> list[Deviation]:
    """Assigned pages that do not run as their arm says: an editor's cohort, or a post while held out."""
    from sqlalchemy import func, select

    from citecast.ledger.tables import EventRow

    assigned = load(ledger)
    by_slug = {p.slug: p for p in pages}
    with ledger.session() as s:
        first_post = dict(s.execute(
            select(EventRow.page, func.min(EventRow.published_at))
            .where(EventRow.status.in_(("published", "dry_run")), EventRow.published_at.is_not(None))
            .group_by(EventRow.page)).all())
    out: list[Deviation] = []
    for slug, a in sorted(assigned.items()):
        page = by_slug.get(slug)
        editor = page.cohort if page is not None and getattr(page, "cohort_set", False) else None
        posted = first_post.get(slug)
        held_out_posted = posted is not None and posted.date() >= a.assigned_on
        why = deviation(a.arm, editor, held_out_posted)
        if why:
            out.append(Deviation(slug, a.arm, editor, why))
    return out
