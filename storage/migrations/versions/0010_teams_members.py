"""teams members: who is in the teams the bot was added to, so a 1:1 chat can be started with them

Revision ID: 0010
Revises: 0009

"""

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("aad_object_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("service_url", sa.String(length=400), nullable=False),
        sa.Column("bot_id", sa.String(length=128), nullable=False),
        sa.Column("team_id", sa.String(length=400), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_teams_member"),
    )
    op.create_index("ix_teams_member_user", "teams_member", ["user_id"])
    op.create_index("ix_teams_member_aad", "teams_member", ["aad_object_id"])


def downgrade() -> None:
    op.drop_index("ix_teams_member_aad", "teams_member")
    op.drop_index("ix_teams_member_user", "teams_member")
    op.drop_table("teams_member")
