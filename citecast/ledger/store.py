"""The ledger over SQLAlchemy: SQLite file by default, PostgreSQL by URL.

Exactly once rests on one rule: an event row is written as `pending` (a claim)
before a platform is called, and only the process holding the claim may call.
The claim is an INSERT guarded by the unique key, or a compare-and-set UPDATE
of a row whose earlier attempt definitely failed; both are atomic on SQLite and
PostgreSQL alike, so two runs of the same week can never both post.
"""

from __future__ import annotations

import os
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from citecast.ledger.tables import EventRow, PageRow, utcnow
from citecast.settings import ConfigError

DONE = ("published", "dry_run")
# Statuses a new attempt may take over: the earlier one definitely did not post.
RETRYABLE = ("failed",)
LEASE = timedelta(minutes=15)
# The newest migration; a test keeps it equal to Alembic's head.
HEAD = "0009"
# Alembic's command API keeps module state: two threads must not migrate at once.
_MIGRATE_LOCK = threading.Lock()


def event_key(page: str, channel: str, slot: str, seq: int = 0) -> str:
    return f"{page}:{channel}:{slot}:{seq}"


def owner_id(run_id: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"


def owner_is_gone(owner: str | None, lease_until: datetime | None, now: datetime) -> bool:
    """True when the process that claimed a pending event can no longer finish it."""
    if lease_until is not None and _aware(lease_until) < now:
        return True
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's claim: wait for its lease to run out
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _aware(ts: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Claim:
    """A pending event this process owns and may publish."""

    id: int
    key: str
    attempts: int


class LedgerUnavailable(ConfigError):
    """The ledger URL cannot be used: no driver, not a URL, or no database answers there."""


def _shown_url(url: str) -> str:
    """The URL for a message: never its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


# One store object holds every write the exactly-once rule depends on (claim, mark sent, wait, take, finish).
# long because: split apart, those atomic steps would no longer read as one protocol
class Ledger:
    def __init__(self, url: str, migrate: bool = True):
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = _engine(url)
        except ModuleNotFoundError as exc:  # postgresql+psycopg without the driver installed
            fix = "pip install 'citecast[postgres]'" if exc.name == "psycopg" else \
                f"pip install {exc.name}, or postgresql+psycopg:// with pip install 'citecast[postgres]'"
            raise LedgerUnavailable(f"ledger.url: {_shown_url(url)} needs the Python package {exc.name!r}, which "
                                    f"is not installed (fix: {fix})") from None
        except ArgumentError as exc:  # not a URL, or a database SQLAlchemy has no dialect for
            raise LedgerUnavailable(f"ledger.url: {_shown_url(url)}: {exc} (fix: sqlite:///path/ledger.db or "
                                    "postgresql+psycopg://user@host/db, or empty for SQLite in paths.state)") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            try:
                self.migrate()
            except OperationalError as exc:
                if self.engine.dialect.name == "sqlite":
                    raise  # a busy SQLite file is the exactly-once code's business, not a settings error
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
                raise LedgerUnavailable(f"ledger.url: cannot reach {_shown_url(url)}: {reason} (fix: start the "
                                        "database, or correct ledger.url / CITECAST_LEDGER__URL)") from None

    def migrate(self) -> None:
        """Bring the schema to HEAD; a database already there costs one query, not Alembic."""
        if self._revision() == HEAD:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with _MIGRATE_LOCK, self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Workers starting at once on a new database: one migrates, the others wait, then find it done.
                conn.execute(text("SELECT pg_advisory_xact_lock(7305612011)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def _revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # no table yet: a new database
            return None

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    def close(self) -> None:
        self.engine.dispose()

    # pages ---------------------------------------------------------------

    def record_pages(self, snapshots: Iterable[dict[str, Any]]) -> None:
        """Upsert page snapshots; an upsert, so runs starting together never collide on a new page."""
        now = utcnow()
        rows = [{**snap, "first_seen": now, "last_seen": now} for snap in snapshots]
        if not rows:
            return
        with self.session() as s:
            for start in range(0, len(rows), 500):  # bounded statements for large libraries
                stmt = _insert(self.engine)(PageRow).values(rows[start : start + 500])
                kept = {"slug", "first_seen"}
                stmt = stmt.on_conflict_do_update(
                    index_elements=["slug"],
                    set_={c.name: stmt.excluded[c.name] for c in PageRow.__table__.columns if c.name not in kept},
                )
                s.execute(stmt)

    def cohort_arms(self) -> dict[str, str]:
        """Randomised arms by page slug (`citecast cohorts assign`); empty when none were drawn."""
        from citecast.ledger.tables import CohortAssignmentRow

        with self.session() as s:
            return dict(s.execute(select(CohortAssignmentRow.page, CohortAssignmentRow.arm)).all())

    def distributed_urls(self) -> dict[str, set[str]]:
        """The canonical URLs each page was distributed under."""
        with self.session() as s:
            rows = s.execute(
                select(EventRow.page, EventRow.canonical_url).where(EventRow.status.in_(DONE)).distinct()
            )
            found: dict[str, set[str]] = {}
            for page, url in rows:
                found.setdefault(page, set()).add(url)
            return found

    # events --------------------------------------------------------------

    def last_done(self, channels: Iterable[str] | None = None, live_only: set[str] | None = None) -> dict[tuple[str, str], EventRow]:
        """The latest finished distribution per (page, channel).

        For channels in `live_only`, dry runs do not count: a channel that just
        got credentials is due even where a dry run already happened.
        """
        live_only = live_only or set()
        with self.session() as s:
            q = select(EventRow).where(EventRow.status.in_(DONE))
            if channels is not None:
                q = q.where(EventRow.channel.in_(list(channels)))
            latest: dict[tuple[str, str], EventRow] = {}
            for row in s.scalars(q.order_by(EventRow.slot, EventRow.seq, EventRow.id)):
                if row.channel in live_only and row.status == "dry_run":
                    continue
                latest[(row.page, row.channel)] = row
            return latest

    def cost_totals(self, by: str) -> list[dict]:
        """LLM tokens and cost summed per `by` ("slot", "page" or "channel"), over every drafted event."""
        col = {"slot": EventRow.slot, "page": EventRow.page, "channel": EventRow.channel}[by]
        with self.session() as s:
            rows = s.execute(select(col, func.count(), func.sum(EventRow.tokens_in), func.sum(EventRow.tokens_out),
                                    func.sum(EventRow.cost_usd)).group_by(col).order_by(col))
            return [{"key": key, "posts": n, "tokens_in": int(tin or 0), "tokens_out": int(tout or 0),
                     "cost_usd": round(float(cost or 0.0), 8)} for key, n, tin, tout, cost in rows]

    def last_angles(self) -> dict[str, str]:
        """The angle of each page's latest finished share (any channel): the next share takes the one after."""
        with self.session() as s:
            rows = s.execute(select(EventRow.page, EventRow.angle)
                             .where(EventRow.status.in_(DONE), EventRow.angle.is_not(None))
                             .order_by(EventRow.slot, EventRow.seq, EventRow.id))
            return {page: angle for page, angle in rows}

    def slot_events(self, slot: str) -> list[EventRow]:
        with self.session() as s:
            return list(s.scalars(select(EventRow).where(EventRow.slot == slot)))

    def next_seq(self, page: str, channel: str, slot: str) -> int:
        with self.session() as s:
            top = s.scalar(
                select(func.max(EventRow.seq)).where(
                    EventRow.page == page, EventRow.channel == channel, EventRow.slot == slot
                )
            )
            return 0 if top is None else top + 1

    def claim(
        self,
        *,
        page: str,
        channel: str,
        slot: str,
        seq: int,
        owner: str,
        run_id: str,
        retake: tuple[str, ...] = RETRYABLE,
        platform_key: str | None = None,
        **fields: Any,
    ) -> Claim | None:
        """Take the right to publish (page, channel, slot, seq), or None if it is not ours.

        `platform_key` (a record key, an Idempotency-Key) is stored with the claim, before
        any attempt, and a retake keeps the one stored first. A retake also keeps the text
        once a send of it may have landed (or a thread has live parts): a re-send must be
        the identical post, or lookups and duplicate refusals could not recognise it.
        """
        now = utcnow()
        values = dict(
            page=page, channel=channel, slot=slot, seq=seq, status="pending", attempts=1,
            owner=owner, run_id=run_id, lease_until=now + LEASE, created_at=now, updated_at=now,
            platform_key=platform_key, **fields,
        )
        values.setdefault("text", [])
        for name, default in (("link", ""), ("content_hash", ""), ("generator", "offline"),
                              ("tokens_in", 0), ("tokens_out", 0), ("cost_usd", 0.0)):
            values.setdefault(name, default)
        key = event_key(page, channel, slot, seq)
        with self.session() as s:
            # RETURNING, not rowcount: psycopg reports rowcount -1 for this statement on PostgreSQL.
            ins = _insert(self.engine)(EventRow).values(**values).on_conflict_do_nothing(
                index_elements=["page", "channel", "slot", "seq"]
            ).returning(EventRow.id)
            inserted = s.execute(ins).first()
            if inserted is not None:
                return Claim(inserted[0], key, 1)
            if not retake:
                return None
            row = s.execute(select(EventRow.doubt_since, EventRow.steps, EventRow.platform_key)
                            .where(*_key_filter(page, channel, slot, seq))).first()
            if row is None:
                return None
            if row.doubt_since is not None or any((st or {}).get("id") for st in row.steps or []):
                fields = {k: v for k, v in fields.items() if k not in ("text", "title", "link")}
            upd = (
                update(EventRow)
                .where(*_key_filter(page, channel, slot, seq), EventRow.status.in_(retake))
                .values(
                    status="pending", owner=owner, run_id=run_id, lease_until=now + LEASE,
                    attempts=EventRow.attempts + 1, error=None, updated_at=now,
                    platform_key=row.platform_key or platform_key, **fields,
                )
                .returning(EventRow.id, EventRow.attempts)
            )
            got = s.execute(upd).first()
            return Claim(got[0], key, got[1]) if got else None

    def retake_stale(self, event_id: int, owner: str, run_id: str, now: datetime | None = None) -> bool:
        """Take over a pending event whose owner is gone (crashed); True if we got it."""
        now = now or utcnow()
        with self.session() as s:
            row = s.get(EventRow, event_id)
            if row is None or row.status not in ("pending",):
                return False
            if not owner_is_gone(row.owner, row.lease_until, now):
                return False
            same_owner = EventRow.owner.is_(None) if row.owner is None else EventRow.owner == row.owner
            res = s.execute(
                update(EventRow)
                .where(EventRow.id == event_id, EventRow.status == "pending", same_owner)
                .values(owner=owner, run_id=run_id, lease_until=now + LEASE, updated_at=now)
                .returning(EventRow.id)
            )
            return res.first() is not None

    def finish(self, event_id: int, status: str, **fields: Any) -> None:
        now = utcnow()
        extra = {"published_at": now, "eligible_at": None, "wait_reason": None} if status in DONE else {}
        with self.session() as s:
            s.execute(
                update(EventRow)
                .where(EventRow.id == event_id)
                .values(status=status, lease_until=None, updated_at=now, **extra, **fields)
            )

    def mark_sent(self, event_id: int, at: datetime | None = None) -> datetime:
        """Record that a platform call is about to be made (before it is made)."""
        at = at or utcnow()
        self._update(event_id, last_sent_at=at)
        return at

    def set_steps(self, event_id: int, steps: list[dict[str, Any]]) -> None:
        """Store a thread's parts as they go out; the newest part's send time starts the grace window."""
        times = [datetime.fromisoformat(st["sent_at"]) for st in steps if st and st.get("sent_at")]
        self._update(event_id, steps=[dict(st) for st in steps], **({"last_sent_at": max(times)} if times else {}))

    def wait(self, event_id: int, reason: str, error: str, eligible_at: datetime | None) -> None:
        """Leave the event unconfirmed: its outcome is unknown, for `reason`, until `eligible_at`."""
        now = utcnow()
        with self.session() as s:
            s.execute(
                update(EventRow)
                .where(EventRow.id == event_id)
                .values(status="unconfirmed", lease_until=None, updated_at=now, wait_reason=reason, error=error,
                        eligible_at=eligible_at,
                        doubt_since=func.coalesce(EventRow.doubt_since, EventRow.last_sent_at, now))
            )

    def doubt(self, event_id: int) -> None:
        """Note that a send of this event may have landed (its outcome is unknown)."""
        self._update(event_id, doubt_since=func.coalesce(EventRow.doubt_since, EventRow.last_sent_at, utcnow()))

    def take_unconfirmed(self, event_id: int, owner: str, run_id: str) -> bool:
        """Hold an unconfirmed event while this run settles it (so two runs never re-send it both)."""
        now = utcnow()
        with self.session() as s:
            res = s.execute(
                update(EventRow)
                .where(EventRow.id == event_id, EventRow.status == "unconfirmed")
                .values(status="pending", owner=owner, run_id=run_id, lease_until=now + LEASE, updated_at=now)
                .returning(EventRow.id)
            )
            return res.first() is not None

    def holder_of(self, channel: str, platform_id: str, besides: int) -> EventRow | None:
        """Another event already recorded with this platform id, if any."""
        with self.session() as s:
            return s.scalars(select(EventRow).where(
                EventRow.channel == channel, EventRow.platform_id == platform_id, EventRow.id != besides)).first()

    def _update(self, event_id: int, **values: Any) -> None:
        with self.session() as s:
            s.execute(update(EventRow).where(EventRow.id == event_id).values(updated_at=utcnow(), **values))

    def open_events(self, channel: str | None = None) -> list[EventRow]:
        """Events whose outcome is not settled: pending (maybe crashed) or unconfirmed."""
        with self.session() as s:
            q = select(EventRow).where(EventRow.status.in_(("pending", "unconfirmed")))
            if channel:
                q = q.where(EventRow.channel == channel)
            return list(s.scalars(q.order_by(EventRow.id)))

    def get(self, event_id: int) -> EventRow | None:
        with self.session() as s:
            return s.get(EventRow, event_id)

    def events(self, *, slot: str | None = None, page: str | None = None, channel: str | None = None,
               status: Iterable[str] | None = None, limit: int | None = None) -> list[EventRow]:
        with self.session() as s:
            q = select(EventRow)
            if slot:
                q = q.where(EventRow.slot == slot)
            if page:
                q = q.where(EventRow.page == page)
            if channel:
                q = q.where(EventRow.channel == channel)
            if status:
                q = q.where(EventRow.status.in_(list(status)))
            q = q.order_by(EventRow.id.desc())
            if limit:
                q = q.limit(limit)
            return list(s.scalars(q))

    def count_published_since(self, channel: str, since: datetime) -> int:
        with self.session() as s:
            return s.scalar(
                select(func.count()).select_from(EventRow).where(
                    EventRow.channel == channel, EventRow.status == "published", EventRow.published_at >= since
                )
            ) or 0


def _key_filter(page: str, channel: str, slot: str, seq: int):
    return (EventRow.page == page, EventRow.channel == channel, EventRow.slot == slot, EventRow.seq == seq)


def _insert(engine: Engine):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # WAL: readers never block the one writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
