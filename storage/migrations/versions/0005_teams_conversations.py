"""teams conversations: the references proactive Teams messages are sent with

Revision ID: 0005
Revises: 0004

"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'teams_conversation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=400), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('service_url', sa.String(length=400), nullable=False),
        sa.Column('tenant_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=128), nullable=True),
        sa.Column('aad_object_id', sa.String(length=64), nullable=True),
        sa.Column('user_name', sa.String(length=200), nullable=False),
        sa.Column('team_id', sa.String(length=400), nullable=True),
        sa.Column('channel_name', sa.String(length=200), nullable=False),
        sa.Column('bot_id', sa.String(length=128), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=True),
        sa.Column('installed', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('conversation_id'),
    )
    with op.batch_alter_table('teams_conversation', schema=None) as batch_op:
        batch_op.create_index('ix_teams_conversation_user', ['user_id'], unique=False)
        batch_op.create_index('ix_teams_conversation_aad', ['aad_object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_teams_conversation_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_table('teams_conversation')
