"""the updates' index on (action, time) also orders by id: one action's updates at the same
moment come in the order they were stored, straight from the index, with no sort

Revision ID: 0011
Revises: 0010

The digest reads a plan's updates ordered by action, time and id (storage.snapshots._trails).
With the index on (action_id, at) alone, ties on the time made the database sort every row
(spilling to disk at 200,000 updates); with id as its third column it reads them in order.

"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_update_action_at", table_name="action_update")
    op.create_index("ix_update_action_at", "action_update", ["action_id", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_update_action_at", table_name="action_update")
    op.create_index("ix_update_action_at", "action_update", ["action_id", "at"])
