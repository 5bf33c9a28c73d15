"""what engines did (answer text, tokens, cost, search queries), resolved redirect links, cohort assignments

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OBSERVATION_COLUMNS = (
    ("answer_text", sa.Text),
    ("input_tokens", sa.Integer),
    ("output_tokens", sa.Integer),
    ("search_calls", sa.Integer),
    ("cost_usd", sa.Float),
)


def upgrade() -> None:
    with op.batch_alter_table("citation_observations") as batch:
        for name, kind in OBSERVATION_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "search_queries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("observation_id", sa.Integer,
                  sa.ForeignKey("citation_observations.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("query_key", sa.String(500), nullable=False, index=True),
    )
    op.create_table(
        "resolved_redirects",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("redirect_url", sa.Text, nullable=False),
        sa.Column("target_url", sa.Text, nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cohort_assignments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("page", sa.String(200), nullable=False, unique=True),
        sa.Column("arm", sa.String(20), nullable=False),
        sa.Column("stratum", sa.String(200), nullable=False),
        sa.Column("strata", sa.String(20), nullable=False),
        sa.Column("seed", sa.String(100), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("batch", sa.String(40), nullable=False),
        sa.Column("assigned_on", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cohort_assignments")
    op.drop_table("resolved_redirects")
    op.drop_table("search_queries")
    with op.batch_alter_table("citation_observations") as batch:
        for name, _ in reversed(OBSERVATION_COLUMNS):
            batch.drop_column(name)
