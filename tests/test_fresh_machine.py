"""The suite runs anywhere: tests needing the real plans skip without them (and fail instead when
ACTIONBOT_REQUIRE_PLANS=1, as .ci/run sets where ../shared/plans exists); nothing times itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import BASIC
from tests.fixtures.basic import make_plans as basic

ROOT = Path(__file__).resolve().parents[1]
REAL_PLAN_TEST = "tests/test_importers.py::test_json_shape_is_what_the_cli_prints"


def _pytest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ACTIONBOT_")}
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=300)


def test_without_the_real_plans_their_tests_skip_and_say_why(tmp_path: Path) -> None:
    run = _pytest(tmp_path, REAL_PLAN_TEST, ACTIONBOT_PLANS_DIR=str(tmp_path / "nowhere"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout and "../shared/plans" in run.stdout and "ACTIONBOT_PLANS_DIR" in run.stdout


def test_when_the_real_plans_are_required_their_absence_fails(tmp_path: Path) -> None:
    run = _pytest(tmp_path, REAL_PLAN_TEST, ACTIONBOT_PLANS_DIR=str(tmp_path / "nowhere"), ACTIONBOT_REQUIRE_PLANS="1")
    # pytest counts a failure in set-up as an error: either way the run fails and says why
    assert run.returncode == 1 and ("1 failed" in run.stdout or "1 error" in run.stdout), run.stdout
    assert "ACTIONBOT_REQUIRE_PLANS=1 but the real sample plans are not at" in run.stdout


def test_ci_requires_the_real_plans_where_they_exist() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "ACTIONBOT_REQUIRE_PLANS=1" in ci and "../shared/plans" in ci
    assert ".venv/bin/ruff check ." in ci and ".venv/bin/mypy" in ci


def test_no_test_measures_its_own_speed() -> None:
    """Timing belongs in bench/ (ratios against a floor measured in the same run)."""
    timing = re.compile(r"\b(perf_counter|process_time|thread_time)\s*\(")
    offenders = [p.name for p in (ROOT / "tests").rglob("*.py") if timing.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_invented_plans_are_what_the_generator_writes(tmp_path: Path) -> None:
    basic.write_txt(tmp_path / "plan.txt")
    assert (tmp_path / "plan.txt").read_text(encoding="utf-8") == (BASIC / f"{basic.STEM}.txt").read_text(encoding="utf-8")
    assert basic.EXAMPLE.read_bytes() == (BASIC / f"{basic.STEM}.docx").read_bytes()  # the tour's file
