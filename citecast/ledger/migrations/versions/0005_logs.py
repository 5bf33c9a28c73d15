"""access-log imports and AI hits on our pages

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("file_size", sa.BigInteger, nullable=False),
        sa.Column("fmt", sa.String(40), nullable=False),
        sa.Column("agents_source", sa.String(300), nullable=False),
        sa.Column("lines", sa.BigInteger, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("bad_lines", sa.BigInteger, nullable=False),
        sa.Column("fetches", sa.BigInteger, nullable=False),
        sa.Column("referrals", sa.BigInteger, nullable=False),
        sa.Column("page_hits", sa.Integer, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "log_hits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("line_hash", sa.BigInteger, nullable=False),
        sa.Column("occurrence", sa.Integer, nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("log_imports.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent", sa.String(100), nullable=False),
        sa.Column("agent_class", sa.String(10), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("verified", sa.String(10), nullable=False),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("normalized_url", sa.Text, nullable=False),
        sa.Column("page", sa.String(200), nullable=True),
        sa.UniqueConstraint("line_hash", "occurrence", name="uq_log_hit_line"),
    )
    op.create_index("ix_log_hits_page_at", "log_hits", ["page", "at"])


def downgrade() -> None:
    op.drop_index("ix_log_hits_page_at", table_name="log_hits")
    op.drop_table("log_hits")
    op.drop_table("log_imports")
