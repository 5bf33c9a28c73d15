"""Engagement snapshots: a platform's own counts of one of our posts at +1, +7 and +28 days (and on demand).

(event_id, due) is unique for the scheduled snapshots, so a read-back that runs
twice takes each of them once; on-demand ones carry their time in `due`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citecast.ledger.tables import Base, utcnow


class EngagementRow(Base):
    __tablename__ = "engagement_snapshots"
    __table_args__ = (UniqueConstraint("event_id", "due", name="uq_engagement_due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    platform_id: Mapped[str] = mapped_column(String(500))
    due: Mapped[str] = mapped_column(String(40))  # 1d | 7d | 28d | now:<time> | missed: never read in time
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(20))  # ok | not_found | not_permitted | missed
    interactions: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")


__all__ = ["EngagementRow"]
