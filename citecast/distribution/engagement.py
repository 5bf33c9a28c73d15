"""Engagement read-back: snapshots of each live post's counts at +1, +7 and +28 days, and on demand.

A snapshot is due when its age has passed and it was never taken. A read-back
that comes late takes the latest due snapshot and marks the earlier ones
`missed` (counts at day 30 are not the day-1 counts). A channel that rate-limits
or fails is left for the next run: nothing is written for it, so nothing is
lost; the others go on. Dry-run channels posted nothing and are skipped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Sequence
from citecast.words import count

if TYPE_CHECKING:
    from citecast.ledger.store import Ledger

DUE_DAYS = {"1d": 1, "7d": 7, "28d": 28}


@dataclass(frozen=True)
class Due:
    event_id: int
    page: str
    channel: str
    platform_id: str
    due: str
    missed: tuple[str, ...] = ()


@dataclass
class ReadBack:
    taken: Counter = field(default_factory=Counter)  # channel -> snapshots with counts
    statuses: Counter = field(default_factory=Counter)  # (channel, status) -> snapshots
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # channels left for the next run
    on_demand: bool = False  # --now: every live post, not only the due snapshots

    def summary(self) -> str:
        if not self.statuses and not self.notes:
            if self.on_demand:
                return "engagement: no live post to read (posts to the outbox, dry runs, are never read back)"
            return "engagement: no snapshot due"
        lines = [f"engagement: {count(sum(self.taken.values()), 'snapshot')} with counts"]
        for (channel, status), n in sorted(self.statuses.items()):
            lines.append(f"  {channel}: {n} {status}")
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def due_snapshots(ledger: "Ledger", now: datetime, on_demand: bool = False,
                  channels: Sequence[str] | None = None) -> list[Due]:
    from sqlalchemy import select

    from citecast.ledger.engagement_tables import EngagementRow
    from citecast.ledger.tables import EventRow

    with ledger.session() as s:
        taken = set(s.execute(select(EngagementRow.event_id, EngagementRow.due)).all())
        events = s.execute(select(EventRow.id, EventRow.page, EventRow.channel, EventRow.platform_id,
                                  EventRow.published_at)
                           .where(EventRow.status == "published", EventRow.platform_id.is_not(None),
                                  EventRow.published_at.is_not(None))).all()
    out = []
    for e in events:
        if channels and e.channel not in channels:
            continue
        if on_demand:
            out.append(Due(e.id, e.page, e.channel, e.platform_id, f"now:{now:%Y-%m-%dT%H:%M:%S}"))
            continue
        age = now - _utc(e.published_at)
        missing = [label for label, days in DUE_DAYS.items() if age >= timedelta(days=days) and (e.id, label) not in taken]
        if missing:
            out.append(Due(e.id, e.page, e.channel, e.platform_id, missing[-1], tuple(missing[:-1])))
    return out


def read_back(settings: Any, ledger: "Ledger", now: datetime | None = None, on_demand: bool = False,
              channels: Sequence[str] | None = None) -> ReadBack:
    """Take the due snapshots, channel by channel, and store them."""
    from citecast.channels import resolve
    from citecast.channels.base import ChannelError, RateLimited
    from citecast.channels.engagement import read_counts

    now = now or datetime.now(timezone.utc)
    result = ReadBack(on_demand=on_demand)
    by_channel: dict[str, list[Due]] = defaultdict(list)
    for d in due_snapshots(ledger, now, on_demand, channels):
        by_channel[d.channel].append(d)
    for name, dues in sorted(by_channel.items()):
        resolved = resolve(name, settings.channel_options(name), settings.path("outbox"))
        if not resolved.live:
            result.notes.append(f"{name}: {count(len(dues), 'post')} not read ({resolved.reason})")
            continue
        try:
            counts = read_counts(resolved.channel, [d.platform_id for d in dues])
        except RateLimited as exc:
            wait = f"; retry after {exc.retry_after:.0f} s" if exc.retry_after else ""
            result.failed.append(name)
            result.notes.append(f"{name}: rate limited, {count(len(dues), 'snapshot')} left for the next run{wait}")
            continue
        except ChannelError as exc:
            result.failed.append(name)
            result.notes.append(f"{name}: {exc}; {count(len(dues), 'snapshot')} left for the next run")
            continue
        _store(ledger, dues, counts, now, result, name)
        notes = {c.note for c in counts.values() if c.status == "not_permitted" and c.note}
        result.notes += [f"{name}: {n}" for n in sorted(notes)]
    return result


def _store(ledger: "Ledger", dues: list[Due], counts: dict, now: datetime, result: ReadBack, channel: str) -> None:
    from citecast.ledger.engagement_tables import EngagementRow

    rows = []
    for d in dues:
        c = counts[d.platform_id]
        rows.append(dict(event_id=d.event_id, channel=d.channel, platform_id=d.platform_id, due=d.due, taken_at=now,
                         status=c.status, interactions=c.interactions(channel) if c.status == "ok" else 0,
                         metrics=c.metrics, note=c.note))
        rows += [dict(event_id=d.event_id, channel=d.channel, platform_id=d.platform_id, due=label, taken_at=now,
                      status="missed", interactions=0, metrics={}, note="no read-back ran in time")
                 for label in d.missed]
        result.statuses[(channel, c.status)] += 1
        if c.status == "ok":
            result.taken[channel] += 1
    with ledger.session() as s:
        dialect = s.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        # A read-back running at the same time took the same snapshot: keep theirs.
        s.execute(insert(EngagementRow.__table__).on_conflict_do_nothing(index_elements=["event_id", "due"]), rows)
