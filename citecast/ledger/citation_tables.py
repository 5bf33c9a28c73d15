"""The ledger's citation tables: observations, cited URLs, backlinks, imports.

They live on the same `Base` as the distribution tables (migration 0002), but in
their own module so the distribution core never has to import them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Float,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citecast.ledger.tables import Base, utcnow


class ImportRow(Base):
    """One CSV file imported (citations or backlinks), for the audit trail."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # citations | backlinks
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    preset: Mapped[str] = mapped_column(String(40))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ObservationRow(Base):
    """One sampled answer of one engine to one tracked query."""

    __tablename__ = "citation_observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    engine: Mapped[str] = mapped_column(String(80), index=True)
    engine_kind: Mapped[str] = mapped_column(String(40), default="")
    surface: Mapped[str] = mapped_column(String(20))  # api | app | import
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    query: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(200), default="", index=True)
    page: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the page the query belongs to
    sample: Mapped[int] = mapped_column(Integer, default=0)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # False for engines that cannot cite (chat without search): brand mentions only.
    can_cite: Mapped[bool] = mapped_column(Boolean, default=True)
    brand_mentioned: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    answer_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), nullable=True)
    # Imports set it so the same export imported twice adds nothing.
    dedupe_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # What the engine did (migration 0003): the answer (all or a bounded excerpt), tokens, cost.
    answer_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    input_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    search_calls: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: not priced
    # Migration 0006: where the answer was seen, and an import's identity without its URLs.
    country: Mapped[str | None] = mapped_column(String(40), nullable=True)
    import_group: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    cited: Mapped[list["CitedUrlRow"]] = relationship(
        back_populates="observation", cascade="all, delete-orphan", order_by="CitedUrlRow.position"
    )
    search_queries: Mapped[list["SearchQueryRow"]] = relationship(
        cascade="all, delete-orphan", order_by="SearchQueryRow.position"
    )


class CitedUrlRow(Base):
    """A URL an answer cited (kind=citation) or consulted (kind=source), in answer order."""

    __tablename__ = "cited_urls"
    # Also indexed, by migration 0009 only: ix_cited_urls_sources, observation_id where kind = 'source' (the
    # report reads the retrieved sources without scanning every citation). The partial index is not declared
    # here: its sqlite_where/postgresql_where arguments import both dialects (~30 ms) wherever this module
    # is imported, and the schema is made by the migrations, never by metadata.create_all.
    __table_args__ = (Index("ix_cited_urls_page", "page"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("citation_observations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10), default="citation")
    position: Mapped[int] = mapped_column(Integer)  # 1-based, per kind
    url: Mapped[str] = mapped_column(Text)
    normalized_url: Mapped[str] = mapped_column(Text)
    page: Mapped[str | None] = mapped_column(String(200), nullable=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)

    observation: Mapped[ObservationRow] = relationship(back_populates="cited")


class SearchQueryRow(Base):
    """A search query an engine ran while answering (its fan-out), in the order it ran them."""

    __tablename__ = "search_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("citation_observations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # 1-based
    query: Mapped[str] = mapped_column(Text)
    query_key: Mapped[str] = mapped_column(String(500), index=True)  # lower case, spacing and "?" folded


class ResolvedRedirectRow(Base):
    """A grounding redirect link and the page URL it led to: links expire, the join must not."""

    __tablename__ = "resolved_redirects"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of redirect_url
    redirect_url: Mapped[str] = mapped_column(Text)
    target_url: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BacklinkRow(Base):
    """One link from a third-party page to one of ours, from a backlink export."""

    __tablename__ = "backlinks"
    __table_args__ = (UniqueConstraint("source_url", "target_normalized", name="uq_backlink"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_url: Mapped[str] = mapped_column(String(2000))
    source_domain: Mapped[str] = mapped_column(String(300), index=True)
    target_url: Mapped[str] = mapped_column(Text)
    target_normalized: Mapped[str] = mapped_column(String(2000))
    page: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    anchor: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_seen: Mapped[date | None] = mapped_column(Date, nullable=True)
    follow: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # None: the export did not say
    tool: Mapped[str] = mapped_column(String(40), default="")
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), nullable=True)


class ProbeCallRow(Base):
    """One engine call of a probe, answered or failed (with the reason): coverage is knowable."""

    __tablename__ = "probe_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(100), index=True)
    engine: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(Text)
    sample: Mapped[int] = mapped_column(Integer)
    called_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    observation_id: Mapped[int | None] = mapped_column(
        ForeignKey("citation_observations.id", ondelete="SET NULL"), nullable=True)


__all__ = ["ProbeCallRow", "BacklinkRow", "CitedUrlRow", "ImportRow", "ObservationRow", "ResolvedRedirectRow", "SearchQueryRow"]
