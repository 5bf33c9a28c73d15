"""answers identified by content (country, import group), backlinks' follow may be unknown, every probe call

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("citation_observations") as batch:
        batch.add_column(sa.Column("country", sa.String(40), nullable=True))
        # sha256 of an imported answer's identity without its URLs: a fuller export of it extends it
        batch.add_column(sa.Column("import_group", sa.String(64), nullable=True))
        batch.create_index("ix_citation_observations_import_group", ["import_group"])
    with op.batch_alter_table("backlinks") as batch:
        batch.alter_column("follow", existing_type=sa.Boolean(), nullable=True)  # None: the export did not say
    op.create_table(
        "probe_calls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(100), nullable=False, index=True),
        sa.Column("engine", sa.String(80), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("sample", sa.Integer, nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("observation_id", sa.Integer,
                  sa.ForeignKey("citation_observations.id", ondelete="SET NULL"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("probe_calls")
    with op.batch_alter_table("backlinks") as batch:
        batch.alter_column("follow", existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("citation_observations") as batch:
        batch.drop_index("ix_citation_observations_import_group")
        batch.drop_column("import_group")
        batch.drop_column("country")
