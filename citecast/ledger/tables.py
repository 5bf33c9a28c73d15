"""The ledger's tables. Schema changes go through a numbered Alembic migration."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import JSON, Date, DateTime, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class PageRow(Base):
    """The latest snapshot of a page as the ledger last saw it."""

    __tablename__ = "pages"

    slug: Mapped[str] = mapped_column(String(200), primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(2000))
    previous_urls: Mapped[list] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    topic: Mapped[str] = mapped_column(String(200), default="")
    cohort: Mapped[str] = mapped_column(String(20), default="distribution")
    updated: Mapped[date | None] = mapped_column(Date, nullable=True)
    path: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EventRow(Base):
    """One distribution of one page on one channel in one slot (ISO week).

    (page, channel, slot, seq) is unique: that is what makes a second run in the
    same week post nothing. `seq` is 0 for scheduled posts and grows only when a
    person forces a re-post.
    """

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("page", "channel", "slot", "seq", name="uq_event_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    slot: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    # pending -> published | dry_run | failed | rejected | unconfirmed (-> pending while reconciled)
    status: Mapped[str] = mapped_column(String(20), index=True)
    canonical_url: Mapped[str] = mapped_column(String(2000))
    link: Mapped[str] = mapped_column(String(2000), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    text: Mapped[list] = mapped_column(JSON, default=list)  # the parts as sent
    generator: Mapped[str] = mapped_column(String(20), default="offline")
    generator_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    angle: Mapped[str | None] = mapped_column(String(40), nullable=True)  # "answer", "point:2", "faq:0", "stat:1"
    platform_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    platform_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(300), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # What settles an unknown outcome (migration 0004):
    # the record key / Idempotency-Key chosen before the first attempt and reused on every retry
    platform_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # written before every platform call: the start of the grace window
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # the first send whose outcome is unknown: lookups search back to it
    doubt_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # when a post still not found may be sent again; NULL: not automatically
    eligible_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # why an unconfirmed event waits: lag | lookup | scope | exists | person
    wait_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # how the platform id was learnt: publish response | lookup | record key | duplicate refusal | by hand
    found_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    # X threads: one entry per part, {"id", "sent_at" (latest send), "first_sent_at" (lookups search from it)}
    steps: Mapped[list | None] = mapped_column(JSON, nullable=True)


class DraftCacheRow(Base):
    """Drafts keyed by what produced them, so an unchanged page costs no LLM call."""

    __tablename__ = "draft_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the parts below
    content_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(40))
    template_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    draft: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CohortAssignmentRow(Base):
    """A page's randomised arm (distribution | holdout), drawn once and never redrawn.

    The weekly run reads it (a holdout page is not distributed unless an editor's
    `cohort:` says otherwise); the report analyses pages by it (intention to treat).
    """

    __tablename__ = "cohort_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page: Mapped[str] = mapped_column(String(200), unique=True)
    arm: Mapped[str] = mapped_column(String(20))
    stratum: Mapped[str] = mapped_column(String(200))  # the topic the draw was made within ("all": none)
    strata: Mapped[str] = mapped_column(String(20))  # what the strata were: topic | none
    seed: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(20), default="randomized")
    batch: Mapped[str] = mapped_column(String(40), default="")  # one `cohorts assign` run
    assigned_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
