"""`actionbot demo` runs the whole loop on a fresh database and shows it."""

from click.testing import CliRunner

from bot.cli import main


def test_demo_runs_the_whole_loop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "my-register.db"
    result = CliRunner().invoke(main, ["demo"], env={"DATABASE_URL": f"sqlite:///{mine}"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    # it says that it does not use DATABASE_URL, and does not touch it
    assert out.startswith(f"(The demo runs in its own file actionbot-demo.db; your database sqlite:///{mine} is not used or changed.)")
    assert not mine.exists()
    assert "\nactionbot\n" not in out  # no stray title line before a notice
    assert "imported 6 actions" in out
    assert "--- message to Grace Lee ---" in out and "Hello Grace Lee: 2 actions due an update" in out
    assert "Status: In progress  RAG: Amber  Revised target: 31 Jan 2027  Reason: staffing" in out
    assert "Grace Lee has not answered 2 reminders" in out  # the escalation, to her manager privately
    assert "--- message to Dana Reed (private) ---\nGrace Lee has not answered" in out
    assert "Dana Reed approved 1.1 at Leadership Team; 1.1 is now signed off (RAG B)" in out
    last_digest = out.rsplit("--- message to channel leadership-channel ---", 1)[1]
    assert "Signed off: 1.1" in last_digest and "Re-baselined: 2.1" in last_digest
    assert "Grace" not in last_digest.split("--- message to Dana Reed")[0]  # nobody named in the channel
    charts = sorted((tmp_path / "actionbot-demo-charts").glob("*.png"))
    assert [c.name for c in charts][-1] == "digest-anytown-improvement-plan-2026-11-15.png"
    assert charts[-1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
