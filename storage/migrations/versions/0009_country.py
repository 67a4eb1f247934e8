"""organisation.country and plan.country: which way round numeric dates are written

"04/05/2025" is 4 May in the UK and 5 April in the US. When an imported file's own dates do
not settle the order, the plan's country decides, else its organisation's (default GB: the
product's users are UK councils). plan.country NULL: the organisation's.

Revision ID: 0009
Revises: 0008

"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('organisation', sa.Column('country', sa.String(length=2), nullable=False, server_default='GB'))
    op.add_column('plan', sa.Column('country', sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plan') as batch:
        batch.drop_column('country')
    with op.batch_alter_table('organisation') as batch:
        batch.drop_column('country')
