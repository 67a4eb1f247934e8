"""Every command asks whether the schema is current before it starts; the cheap check (one
SELECT, the head read from the migration files without Alembic) must agree with Alembic."""

from __future__ import annotations

from storage.db import head_revision, make_engine, schema_is_current, upgrade
from storage.rawdb import head_in_files


def test_the_head_read_from_the_files_is_alembics():
    assert head_in_files() == head_revision()


def test_schema_is_current_only_at_the_newest_revision(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    assert not schema_is_current(engine)  # empty: no alembic_version table
    upgrade(engine, "0001")
    assert not schema_is_current(engine)  # behind
    upgrade(engine)
    assert schema_is_current(engine)
    engine.dispose()


def test_a_command_on_an_empty_database_still_migrates_it(tmp_path):
    from click.testing import CliRunner

    from bot.cli import main
    from storage.db import current_revision

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(main, ["--db", url, "plan", "list", "--json"])
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
