"""events: what settles an unknown outcome (platform key, send times, grace, thread steps, how found)

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

def columns() -> list[sa.Column]:
    return [
        sa.Column("platform_key", sa.String(200), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("doubt_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("eligible_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_reason", sa.String(20), nullable=True),
        sa.Column("found_by", sa.String(60), nullable=True),
        sa.Column("steps", sa.JSON, nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        for column in columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        for column in reversed(columns()):
            batch.drop_column(column.name)
