"""Test fixtures. The suite runs on SQLite with no set-up; set ACTIONBOT_TEST_DATABASE_URL
(e.g. postgresql://postgres@127.0.0.1:5432/test) to run the same tests on PostgreSQL: a fresh
database is created for the run and dropped after it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, SQLModel

from storage.db import make_engine, normalise_url, upgrade

PG_URL = os.environ.get("ACTIONBOT_TEST_DATABASE_URL", "")

# The real councils' plans live outside the repository, in ../shared/plans (or wherever
# ACTIONBOT_PLANS_DIR says). Tests marked `real_plans` need them: without them they skip with
# PLANS_MISSING as the reason, unless ACTIONBOT_REQUIRE_PLANS=1 (which .ci/run sets when
# ../shared/plans exists) makes their absence a failure. The invented plans in
# tests/fixtures/basic/ cover the same features everywhere.
PLANS = Path(os.environ.get("ACTIONBOT_PLANS_DIR") or Path(__file__).resolve().parents[2] / "shared" / "plans")
REQUIRE_PLANS = os.environ.get("ACTIONBOT_REQUIRE_PLANS", "") == "1"
PLANS_MISSING = (f"the real sample plans are not at {PLANS} (they live in ../shared/plans beside the repository; "
                 "set ACTIONBOT_PLANS_DIR to point elsewhere)")
BASIC = Path(__file__).resolve().parent / "fixtures" / "basic"


def real_plans_available() -> bool:
    return PLANS.is_dir() and any(PLANS.glob("*.docx"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_plans: needs the real sample plans in ../shared/plans (skips without them)")


def pytest_report_header(config: pytest.Config) -> list[str]:
    plans = "found" if real_plans_available() else "absent: tests marked real_plans skip"
    return [f"actionbot database: {'postgresql' if PG_URL else 'sqlite'}",
            f"real sample plans at {PLANS}: {plans}{' (required)' if REQUIRE_PLANS else ''}"]


def need_real_plans() -> None:
    """Skip the calling test when the real plans are absent; fail instead when they are required."""
    if real_plans_available():
        return
    if REQUIRE_PLANS:
        pytest.fail(f"ACTIONBOT_REQUIRE_PLANS=1 but {PLANS_MISSING}", pytrace=False)
    pytest.skip(PLANS_MISSING)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("real_plans") is not None:
        need_real_plans()


def _admin_url(url: str, dbname: str) -> str:
    base, _, _ = normalise_url(url).rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for the whole run."""
    if PG_URL:
        name = f"actionbot_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = _admin_url(PG_URL, name)
        eng = make_engine(url)
        upgrade(eng)
        eng.dispose()
        yield url
        with admin.connect() as c:
            c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "template.db"
        eng = make_engine(f"sqlite:///{path}")
        upgrade(eng)
        eng.dispose()
        yield f"sqlite:///{path}"


@pytest.fixture
def db_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for one test (a copy of the template on SQLite; the run's
    database emptied afterwards on PostgreSQL)."""
    if database_url.startswith("sqlite"):
        src = Path(database_url.removeprefix("sqlite:///"))
        dst = tmp_path / "actionbot.db"
        shutil.copy(src, dst)
        yield f"sqlite:///{dst}"
    else:
        yield database_url
        eng = make_engine(database_url)
        names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with eng.begin() as c:
            # History refuses TRUNCATE (migration 0004); the test server's superuser empties it
            # anyway by not firing triggers for this one transaction.
            c.execute(text("SET LOCAL session_replication_role = replica"))
            c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        eng.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def plans_dir() -> Path:
    """The real sample plans; the test skips without them (see need_real_plans)."""
    need_real_plans()
    return PLANS
