"""The ledger's access-log tables: one row per imported file, one per AI hit on one of our pages.

`log_hits` is keyed by (line_hash, occurrence): a hash of the raw log line and
its count among identical lines, so the same line imported twice (the same
file again, a rotated or gzipped copy) is stored once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column

from citecast.ledger.tables import Base, utcnow


class LogImportRow(Base):
    """One access-log file imported, with what it held."""

    __tablename__ = "log_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(Text)
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    fmt: Mapped[str] = mapped_column(String(40))  # combined | json/caddy | json/cloudflare | w3c ...
    agents_source: Mapped[str] = mapped_column(String(300), default="")  # which agent list classified it
    lines: Mapped[int] = mapped_column(BigInteger, default=0)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    bad_lines: Mapped[int] = mapped_column(BigInteger, default=0)
    fetches: Mapped[int] = mapped_column(BigInteger, default=0)
    referrals: Mapped[int] = mapped_column(BigInteger, default=0)
    page_hits: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    # Requests by agent/class/verified and referrals by engine, any URL (only page hits are rows).
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def finish(self, result: Any) -> None:
        self.lines, self.requests, self.bad_lines = result.lines, result.requests, result.bad
        self.fetches, self.referrals, self.page_hits, self.added = (result.fetches, result.referrals,
                                                                    result.page_hits, result.added)
        self.counts = {
            "agents": [[a, k, v, n] for (a, k, v), n in sorted(result.by_agent.items())],
            "referrals": dict(sorted(result.by_source.items())),
            "bad_examples": list(result.bad_examples),
        }
        self.finished_at = utcnow()


class LogHitRow(Base):
    """An AI agent's request for one of our pages (kind=fetch), or a visit from an AI answer (kind=referral)."""

    __tablename__ = "log_hits"
    __table_args__ = (
        UniqueConstraint("line_hash", "occurrence", name="uq_log_hit_line"),
        Index("ix_log_hits_page_at", "page", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    line_hash: Mapped[int] = mapped_column(BigInteger)
    occurrence: Mapped[int] = mapped_column(Integer, default=0)
    import_id: Mapped[int] = mapped_column(ForeignKey("log_imports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # fetch | referral
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    agent: Mapped[str] = mapped_column(String(100))  # the AI agent, or the engine a person came from
    agent_class: Mapped[str] = mapped_column(String(10), default="")  # training | search | user | other
    operator: Mapped[str] = mapped_column(String(200), default="")
    verified: Mapped[str] = mapped_column(String(10), default="unknown")  # verified | unverified | unknown
    via: Mapped[str] = mapped_column(String(10), default="")  # referer | utm (referrals)
    ip: Mapped[str] = mapped_column(String(45), default="")
    method: Mapped[str] = mapped_column(String(10), default="GET")
    status: Mapped[int] = mapped_column(Integer, default=0)
    normalized_url: Mapped[str] = mapped_column(Text)
    page: Mapped[str | None] = mapped_column(String(200), nullable=True)


def insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, in one executemany (SQLite and PostgreSQL).

    On the Core table, not the ORM class: the ORM's bulk path costs twice as much per row."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(LogHitRow.__table__).on_conflict_do_nothing(index_elements=["line_hash", "occurrence"]), rows)


__all__ = ["LogHitRow", "LogImportRow", "insert_ignoring_duplicates"]
