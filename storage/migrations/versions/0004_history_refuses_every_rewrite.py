"""History refuses every rewrite, not only UPDATE and DELETE.

0002 made the database refuse UPDATE and DELETE on ``action_update`` and ``audit_log``. Two
other statements still rewrote them:

- SQLite: ``INSERT OR REPLACE`` / ``REPLACE`` (and ``INSERT OR IGNORE`` reusing an id) resolves
  the primary-key conflict by deleting the old row, and with ``recursive_triggers`` off (the
  default) that delete fires no DELETE trigger. A BEFORE INSERT trigger now refuses any insert
  that names an id already present, whatever its conflict clause. (The primary key is the only
  unique constraint on these tables.) Upserts (``ON CONFLICT DO UPDATE``) were already refused by
  the UPDATE trigger and are now refused before it.
- PostgreSQL: ``TRUNCATE`` fires no row trigger. A BEFORE TRUNCATE statement trigger refuses it,
  also when the truncation cascades from another table. Upserts and ``MERGE`` fire the row
  triggers of 0002 and were already refused.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("action_update", "audit_log")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for t in TABLES:
            op.execute(
                f"CREATE TRIGGER {t}_no_replace BEFORE INSERT ON {t} "
                f"WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM {t} WHERE id = NEW.id) "
                f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END"
            )
    else:
        for t in TABLES:
            op.execute(
                f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION actionbot_append_only()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for t in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_no_replace")
    else:
        for t in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}")
