"""plan.chase_from: the day chasing a plan's lead officers starts

An imported file is not the lead officers' answer: a plan loaded from a file is chased from
this day (by default the next working day after the import), and from then every overdue
action is asked about at once. NULL: chased from the start (plans made by hand, and plans
that were in the register before this column).

Revision ID: 0007
Revises: 0006

"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('plan', sa.Column('chase_from', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        batch.drop_column('chase_from')
