"""`actionbot teams package`: a zip Teams accepts — manifest.json with the bot, its command
menus from the conversation's own command table, file support, and icons of the sizes Teams wants."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from bot.cli import main
from bot.conversation.commands import BY_NAME
from handlers.teams_package import PackageError, manifest

APP = "6f1d2c3b-aaaa-4bbb-8ccc-0123456789ab"


def test_package_builds_a_zip_teams_accepts(tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    out = tmp_path / "app.zip"
    result = CliRunner().invoke(main, ["teams", "package", "--app-id", APP.upper(), "--out", str(out), "--version", "1.2.0"])
    assert result.exit_code == 0, result.output
    assert "15 menu commands" in result.output
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        man = json.loads(z.read("manifest.json"))
        color = Image.open(io.BytesIO(z.read("color.png")))
        outline = Image.open(io.BytesIO(z.read("outline.png")))
    assert (man["id"], man["version"], man["manifestVersion"]) == (APP, "1.2.0", "1.17")
    (bot,) = man["bots"]
    assert bot["botId"] == APP and bot["supportsFiles"] is True and set(bot["scopes"]) == {"personal", "team", "groupChat"}
    for lst in bot["commandLists"]:
        assert len(lst["commands"]) <= 10
        for c in lst["commands"]:
            assert c["title"] in BY_NAME and len(c["title"]) <= 32 and len(c["description"]) <= 128
    personal = [c["title"] for c in bot["commandLists"][0]["commands"]]
    assert {"mine", "update", "import", "help"} <= set(personal)
    assert color.size == (192, 192) and outline.size == (32, 32) and outline.mode == "RGBA"
    assert outline.getpixel((0, 0))[3] == 0  # transparent background
    assert len(man["name"]["short"]) <= 30 and len(man["description"]["short"]) <= 80


def test_the_app_id_comes_from_the_environment(tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MicrosoftAppId", APP)
    out = tmp_path / "a.zip"
    assert CliRunner().invoke(main, ["teams", "package", "--out", str(out)]).exit_code == 0
    assert json.loads(zipfile.ZipFile(out).read("manifest.json"))["bots"][0]["botId"] == APP


@pytest.mark.parametrize(("args", "message"), [
    (["--app-id", "not-a-guid"], "must be the bot's Microsoft App ID"),
    (["--app-id", APP, "--version", "1.0"], "must look like 1.0.0"),
    (["--app-id", APP, "--website", "http://insecure.example"], "must start with https://"),
    ([], "give --app-id"),
])
def test_bad_options_get_one_clear_message_and_no_file(tmp_path: Path, monkeypatch, args, message):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    out = tmp_path / "x.zip"
    result = CliRunner().invoke(main, ["teams", "package", "--out", str(out), *args])
    assert result.exit_code == 2 and message in result.output and not out.exists()


def test_manifest_refuses_a_bad_id_directly():
    with pytest.raises(PackageError):
        manifest("x")
