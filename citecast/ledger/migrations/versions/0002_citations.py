"""citation observations, cited URLs, backlinks, imports

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("preset", sa.String(40), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "citation_observations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("engine", sa.String(80), nullable=False, index=True),
        sa.Column("engine_kind", sa.String(40), nullable=False),
        sa.Column("surface", sa.String(20), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False, index=True),
        sa.Column("page", sa.String(200), nullable=True),
        sa.Column("sample", sa.Integer, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("can_cite", sa.Boolean, nullable=False),
        sa.Column("brand_mentioned", sa.Boolean, nullable=True),
        sa.Column("answer_sha256", sa.String(64), nullable=True),
        sa.Column("run_id", sa.String(100), nullable=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=True),
        sa.Column("dedupe_key", sa.String(64), nullable=True, unique=True),
    )
    op.create_table(
        "cited_urls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "observation_id",
            sa.Integer,
            sa.ForeignKey("citation_observations.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("normalized_url", sa.Text, nullable=False),
        sa.Column("page", sa.String(200), nullable=True),
        sa.Column("title", sa.Text, nullable=True),
    )
    op.create_index("ix_cited_urls_page", "cited_urls", ["page"])
    op.create_table(
        "backlinks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_url", sa.String(2000), nullable=False),
        sa.Column("source_domain", sa.String(300), nullable=False, index=True),
        sa.Column("target_url", sa.Text, nullable=False),
        sa.Column("target_normalized", sa.String(2000), nullable=False),
        sa.Column("page", sa.String(200), nullable=True, index=True),
        sa.Column("anchor", sa.Text, nullable=False),
        sa.Column("first_seen", sa.Date, nullable=True),
        sa.Column("last_seen", sa.Date, nullable=True),
        sa.Column("follow", sa.Boolean, nullable=False),
        sa.Column("tool", sa.String(40), nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=True),
        sa.UniqueConstraint("source_url", "target_normalized", name="uq_backlink"),
    )


def downgrade() -> None:
    op.drop_table("backlinks")
    op.drop_index("ix_cited_urls_page", table_name="cited_urls")
    op.drop_table("cited_urls")
    op.drop_table("citation_observations")
    op.drop_table("imports")
