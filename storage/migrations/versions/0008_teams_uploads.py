"""teams uploads: exports offered with a file consent card, kept until accepted, declined or expired

Revision ID: 0008
Revises: 0007

"""

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=400), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("mime", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_teams_upload_expires_at", "teams_upload", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_teams_upload_expires_at", "teams_upload")
    op.drop_table("teams_upload")
