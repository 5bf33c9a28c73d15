"""engagement snapshots of published posts

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engagement_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id"), nullable=False, index=True),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("platform_id", sa.String(500), nullable=False),
        sa.Column("due", sa.String(40), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("interactions", sa.Integer, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.UniqueConstraint("event_id", "due", name="uq_engagement_due"),
    )


def downgrade() -> None:
    op.drop_table("engagement_snapshots")
