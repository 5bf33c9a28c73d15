"""pages, events, draft cache

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pages",
        sa.Column("slug", sa.String(200), primary_key=True),
        sa.Column("canonical_url", sa.String(2000), nullable=False),
        sa.Column("previous_urls", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("cohort", sa.String(20), nullable=False),
        sa.Column("updated", sa.Date, nullable=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("page", sa.String(200), nullable=False, index=True),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("slot", sa.String(10), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("canonical_url", sa.String(2000), nullable=False),
        sa.Column("link", sa.String(2000), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("text", sa.JSON, nullable=False),
        sa.Column("generator", sa.String(20), nullable=False),
        sa.Column("generator_note", sa.Text, nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("tokens_in", sa.Integer, nullable=False),
        sa.Column("tokens_out", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("platform_id", sa.String(500), nullable=True),
        sa.Column("platform_url", sa.String(2000), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(300), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("page", "channel", "slot", "seq", name="uq_event_key"),
    )
    op.create_table(
        "draft_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("template_hash", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("draft", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("draft_cache")
    op.drop_table("events")
    op.drop_table("pages")
