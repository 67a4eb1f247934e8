"""The README's tour runs as written on a fresh clone: every command in it, in order, against a
new database, from a directory holding only what the repository ships (examples/)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]


def tour_commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## A short tour\n.*?```sh\n(.*?)```", readme, re.S)
    assert block, "README has no tour"
    text = block[1].replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in text.splitlines() if line.strip()]


def test_the_tour_names_only_what_exists() -> None:
    commands = tour_commands()
    assert all(c[0] == "actionbot" for c in commands)
    files = [a for c in commands if c[1] == "import" for a in c[2:3]]
    assert files and all((ROOT / f).is_file() for f in files), files


def test_the_tour_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'actionbot.db'}", "ACTIONBOT_ORG": None}
    outputs: dict[str, str] = {}
    for command in tour_commands():
        args = command[1:]
        if args[0] == "demo":
            continue  # tests/test_demo.py runs it
        result = runner.invoke(main, args, env=env, input="quit\n" if args[0] == "chat" else None)
        assert result.exit_code == 0, f"{shlex.join(command)}\n{result.output}\n{result.stderr}"
        outputs[" ".join(args[:2])] = result.stdout
    assert "ilacs 2.4" in outputs["due --as-of"] or "ilacs 2." in outputs["due --as-of"]  # refs with their plan
    assert "approved 2.4" in outputs["signoff approve"] or "2.4" in outputs["signoff approve"]
    assert " → " in outputs["audit"]
    assert (tmp_path / "ILACS position.xlsx").stat().st_size > 0 and (tmp_path / "digest.png").stat().st_size > 0
