"""Sign-off through a plan's stages: approve in order (the last signs off), only each stage's
approvers, return with a note reopens and clears earlier approvals, a later status change
clears a sign-off; and the `actionbot signoff` commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import Session, col, select

from bot.cli import main
from bot.domain.due import needs_update
from bot.domain.model import Channel, InvalidValue, Rag, RagScheme, Role, Status
from bot.errors import Conflict, PermissionDenied
from bot.services import register, signoff
from storage import repo
from storage.tables import Action, AuditLog, Plan, Signoff, Update
from tests.test_engine import Reg

ECP, DLT = "Evidence Challenge Panel", "Directorate Leadership Team"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(session: Session):
    r = Reg(session, org="wigan")
    ann, ed, di, zed = r.person("Ann Lead"), r.person("Ed Panel"), r.person("Di Director"), r.person("Zed Admin")
    plan = r.plan("Ofsted ILACS improvement plan", slug="ilacs", signoff_stages=[ECP, DLT])
    a = r.action(plan, "1.1", owner=ann, text="Refresh the supervision policy")
    r.grant(ed, Role.APPROVER, plan, ECP)
    r.grant(di, Role.APPROVER, plan, DLT)
    r.grant(zed, Role.ADMIN)
    r.commit()
    return r, plan, a, ann, ed, di, zed


def decide(r: Reg, plan: Plan, a: Action, who, approve: bool, note: str = "", at: datetime = NOW, **kw):  # type: ignore[no-untyped-def]
    return signoff.decide(r.s, org=r.org, plan=plan, action=a, approve=approve, note=note, actor=repo.actor_for(r.s, who),
                          author=who, channel=Channel.SLACK, now=at, **kw)


def complete(r: Reg, plan: Plan, a: Action, ann, at: datetime = NOW) -> None:  # type: ignore[no-untyped-def]
    r.update(plan, a, by=ann, at=at, text="Policy approved at DMT", status=Status.COMPLETE)
    r.commit()


def decisions(s: Session, a: Action) -> list[Signoff]:
    return list(s.exec(select(Signoff).where(Signoff.action_id == a.id).order_by(col(Signoff.id))))


def test_two_stages_in_order_then_signed_off_blue(world):
    r, plan, a, ann, ed, di, _ = world
    assert signoff.pending_stage(plan, a) is None and signoff.awaiting(r.s, plan) == []
    complete(r, plan, a, ann)
    assert signoff.awaiting(r.s, plan) == [(a.id, ECP)]
    row1 = decide(r, plan, a, ed, True, "Evidence seen", at=NOW + timedelta(days=1))
    r.commit()
    assert (a.status, a.signoff_stage, row1.stage_index, row1.stage_name, row1.decision, row1.by_id) == ("complete", 1, 0, ECP, "approved", ed.id)
    assert signoff.awaiting(r.s, plan) == [(a.id, DLT)]
    row2 = decide(r, plan, a, di, True, at=NOW + timedelta(days=2))
    r.commit()
    assert (a.status, a.rag, a.signoff_stage) == ("signed_off", "B", 2)
    assert (row2.stage_index, row2.stage_name, row2.by_id) == (1, DLT, di.id)
    assert signoff.awaiting(r.s, plan) == [] and signoff.pending_stage(plan, a) is None
    hist = repo.history(r.s, a.id)
    assert [h.text for h in hist[-2:]] == [f"Approved at {ECP} — Evidence seen", f"Signed off at {DLT}"]
    assert (hist[-1].status, hist[-1].rag, hist[-1].author_id, hist[-1].channel) == ("signed_off", "B", di.id, "slack")
    ops = [x.op for x in r.s.exec(select(AuditLog).where(AuditLog.entity == "action", AuditLog.entity_id == a.id))]
    assert ops.count("approve") == 2
    assert [d.cleared_at for d in decisions(r.s, a)] == [None, None]
    # Signed off: no more decisions, and it never needs an update.
    with pytest.raises(InvalidValue, match="not waiting for sign-off"):
        decide(r, plan, a, di, True)
    snap = repo.action_snapshot(a)
    assert needs_update(snap, plan=repo.plan_snapshot(plan), now=NOW + timedelta(days=90)) is None


def test_a_rag_plan_signs_off_green(session):
    r = Reg(session, org="wigan")
    lead, ap = r.person("Lee"), r.person("Ava")
    plan = r.plan("SEND plan", slug="send", scheme=RagScheme.RAG, signoff_stages=["Partnership Board"])
    a = r.action(plan, "4.2", owner=lead)
    r.grant(ap, Role.APPROVER, plan, "partnership board")  # stage names match whatever the case
    complete(r, plan, a, lead)
    decide(r, plan, a, ap, True)
    r.commit()
    assert (a.status, a.rag) == ("signed_off", Rag.GREEN.value)


def test_only_the_waiting_stages_approvers_decide(world):
    r, plan, a, ann, ed, di, zed = world
    complete(r, plan, a, ann)
    version = a.version
    for who in (di, zed):  # the next stage's approver, an administrator
        with pytest.raises(PermissionDenied, match=f"only the approvers of '{ECP}' can decide on 1.1 now; approvers of '{ECP}' who can: Ed Panel"):
            decide(r, plan, a, who, True)
    with pytest.raises(PermissionDenied, match=r"you own or update 1\.1"):  # the lead herself
        decide(r, plan, a, ann, True)
    decide(r, plan, a, ed, True)
    r.commit()
    with pytest.raises(PermissionDenied, match=DLT):
        decide(r, plan, a, ed, True)  # stage 1's approver cannot also approve stage 2
    with pytest.raises(PermissionDenied):
        decide(r, plan, a, ed, False, "missing evidence")
    r.s.rollback()
    r.s.refresh(a)
    assert a.version == version + 1 and a.signoff_stage == 1 and len(decisions(r.s, a)) == 1


@pytest.mark.parametrize("kind", ["owner", "delegate"])
def test_nobody_approves_their_own_action_and_the_refusal_says_who_can(world, kind):
    """Separation of duties: an approver of the stage who owns the action, or updates it as a
    delegate, may neither approve nor return it; the refusal names the approvers who can."""
    r, plan, a, ann, ed, _di, _ = world
    fay = r.person("Fay Both")
    r.grant(fay, Role.APPROVER, plan, ECP)
    register.assign(r.s, org=r.org, plan=plan, action=a, person=fay, actor=r.op, kind=kind, now=r.now)
    complete(r, plan, a, ann)
    version = a.version
    for approve, note in ((True, ""), (False, "more evidence please")):
        with pytest.raises(PermissionDenied) as err:
            decide(r, plan, a, fay, approve, note)
        assert str(err.value) == (f"you own or update 1.1, so you cannot approve or return it yourself (separation of duties); "
                                  f"approvers of '{ECP}' who can: Ed Panel (id {ed.id})")
        r.s.rollback()
    r.s.refresh(a)
    assert a.version == version and decisions(r.s, a) == []
    # Taken off the action, the same person may decide on it.
    register.assign(r.s, org=r.org, plan=plan, action=a, person=fay, actor=r.op, kind=kind, remove=True, now=r.now)
    decide(r, plan, a, fay, True)
    r.commit()
    assert a.signoff_stage == 1


def test_when_the_only_approver_owns_the_action_the_refusal_says_how_to_add_one(world):
    r, plan, a, ann, ed, _di, _ = world
    register.assign(r.s, org=r.org, plan=plan, action=a, person=ed, actor=r.op, now=r.now)
    complete(r, plan, a, ann)
    with pytest.raises(PermissionDenied, match=rf"nobody else approves '{ECP}' yet: .*actionbot role grant PERSON approver --plan ilacs"):
        decide(r, plan, a, ed, True)


def test_decisions_need_a_complete_action_a_staged_plan_and_the_current_version(world, session):
    r, plan, a, ann, ed, _di, _ = world
    with pytest.raises(InvalidValue, match=r"not waiting for sign-off .status not_started"):
        decide(r, plan, a, ed, True)
    bare = r.plan("No stages", slug="bare")
    b = r.action(bare, "1", owner=ann)
    complete(r, bare, b, ann)
    with pytest.raises(InvalidValue, match="has no sign-off stages"):
        decide(r, bare, b, ed, True)
    complete(r, plan, a, ann)
    seen = a.version
    r.update(plan, a, by=ann, at=NOW + timedelta(hours=1), text="Evidence uploaded to SharePoint")  # no status change
    r.commit()
    with pytest.raises(Conflict, match="changed by someone else"):
        decide(r, plan, a, ed, True, expected_version=seen)
    r.s.refresh(a)
    assert a.signoff_stage == 0 and decisions(r.s, a) == []


def test_return_needs_a_note_reopens_and_clears_earlier_approvals(world):
    r, plan, a, ann, ed, di, _ = world
    complete(r, plan, a, ann)
    decide(r, plan, a, ed, True, at=NOW + timedelta(days=1))
    r.commit()
    with pytest.raises(InvalidValue, match="needs a note"):
        decide(r, plan, a, di, False, "   ")
    r.s.rollback()
    returned_at = NOW + timedelta(days=2)
    row = decide(r, plan, a, di, False, "No evidence of audits", at=returned_at)
    r.commit()
    assert (a.status, a.signoff_stage, a.returned_at) == ("in_progress", 0, returned_at)
    assert (row.decision, row.stage_name, row.note, row.cleared_at) == ("returned", DLT, "No evidence of audits", None)
    first, second = decisions(r.s, a)
    assert first.decision == "approved" and first.cleared_at == returned_at  # kept, marked cleared
    assert second.id == row.id
    assert signoff.awaiting(r.s, plan) == []
    last = repo.history(r.s, a.id)[-1]
    assert (last.text, last.status, last.author_id) == (f"Returned by {DLT}: No evidence of audits", "in_progress", di.id)
    # It needs an update, as "returned", even before any cadence or target says so.
    reason = needs_update(repo.action_snapshot(a), plan=repo.plan_snapshot(plan), now=returned_at + timedelta(hours=1))
    assert reason is not None and reason.code == "returned" and "Returned by the sign-off panel" in reason.text
    # The lead answers and marks it complete again: it goes back to the first stage.
    complete(r, plan, a, ann, at=returned_at + timedelta(days=1))
    assert a.returned_at is None and signoff.awaiting(r.s, plan) == [(a.id, ECP)]
    assert needs_update(repo.action_snapshot(a), plan=repo.plan_snapshot(plan), now=returned_at + timedelta(days=2)) is None


def test_a_later_status_change_clears_a_sign_off(world):
    r, plan, a, ann, ed, di, zed = world
    complete(r, plan, a, ann)
    decide(r, plan, a, ed, True, at=NOW + timedelta(days=1))
    decide(r, plan, a, di, True, at=NOW + timedelta(days=2))
    r.commit()
    assert a.status == "signed_off"
    r.update(plan, a, by=zed, at=NOW + timedelta(days=3), text="Reopened: the policy was withdrawn", status=Status.IN_PROGRESS)
    r.commit()
    assert (a.status, a.signoff_stage) == ("in_progress", 0)
    assert [d.cleared_at for d in decisions(r.s, a)] == [NOW + timedelta(days=3)] * 2
    # A progress note without a status change clears nothing.
    complete(r, plan, a, ann, at=NOW + timedelta(days=4))
    decide(r, plan, a, ed, True, at=NOW + timedelta(days=5))
    r.update(plan, a, by=ann, at=NOW + timedelta(days=6), text="Evidence pack attached")
    r.commit()
    assert a.signoff_stage == 1 and decisions(r.s, a)[-1].cleared_at is None


# --- the command line -------------------------------------------------------------------------
@pytest.fixture
def cli(db_url, world):
    runner = CliRunner()

    def run(*args: str, code: int = 0):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, ["--db", db_url, "--org", "wigan", *args], catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result

    return run


def _action(db_url_engine, ref: str = "1.1") -> Action:  # type: ignore[no-untyped-def]
    with Session(db_url_engine, expire_on_commit=False) as s:
        a = s.exec(select(Action).where(Action.ref == ref)).one()
        s.commit()
        return a


def test_cli_signoff_list_approve_return(cli, world, engine):
    r, plan, a, ann, *_ = world
    assert "Nothing awaits sign-off." in cli("signoff", "list", "ilacs").stdout
    complete(r, plan, a, ann)
    r.s.close()
    assert json.loads(cli("signoff", "list", "ilacs", "--json").stdout) == [{"ref": "1.1", "stage": ECP}]
    assert cli("signoff", "list", "ilacs").stdout.strip() == f"1.1: waiting for {ECP}"
    out = cli("signoff", "approve", "ilacs", "1.1", "--as", "Ed Panel", "--note", "Evidence seen").stdout
    assert out.strip() == f"1.1: approved at {ECP}; status now complete"
    assert json.loads(cli("signoff", "list", "ilacs", "--json").stdout) == [{"ref": "1.1", "stage": DLT}]
    out = cli("signoff", "return", "ilacs", "1.1", "--as", "di director", "--note", "No audit evidence").stdout
    assert out.strip() == f"1.1: returned at {DLT}; status now in_progress"
    got = _action(engine)
    assert got.status == "in_progress" and got.returned_at is not None and got.signoff_stage == 0
    with Session(engine) as s:
        rows = list(s.exec(select(Signoff).order_by(col(Signoff.id))))
        hist = list(s.exec(select(Update).where(Update.action_id == got.id).order_by(col(Update.id))))
    assert [(x.decision, x.cleared_at is not None) for x in rows] == [("approved", True), ("returned", False)]
    assert hist[-1].channel == "cli" and hist[-1].author_text == "Di Director"


@pytest.mark.parametrize(
    "args, message",
    [
        (("signoff", "approve", "ilacs", "1.1", "--as", "Di Director"), f"only the approvers of '{ECP}'"),
        (("signoff", "approve", "ilacs", "1.1", "--as", "Zed Admin"), "only the approvers"),
        (("signoff", "approve", "ilacs", "1.1", "--as", "Ann Lead"), "you own or update 1.1, so you cannot approve or return it yourself"),
        (("signoff", "return", "ilacs", "1.1", "--as", "Ed Panel", "--note", " "), "needs a note"),
        (("signoff", "approve", "ilacs", "9.9", "--as", "Ed Panel"), "no action '9.9' in plan 'ilacs'"),
        (("signoff", "approve", "nope", "1.1"), "no plan 'nope'"),
        (("signoff", "approve", "ilacs", "1.1", "--as", "Nobody Here"), "no person 'Nobody Here'"),
        (("signoff", "list", "nope"), "no plan 'nope'"),
    ],
)
def test_cli_signoff_refuses_bad_input_and_changes_nothing(cli, world, engine, args, message):
    r, plan, a, ann, *_ = world
    complete(r, plan, a, ann)
    r.s.close()
    before = _action(engine)
    result = cli(*args, code=1)
    assert message in result.stderr and result.stderr.startswith("error: ")
    after = _action(engine)
    assert (after.version, after.status, after.signoff_stage) == (before.version, before.status, before.signoff_stage)
    with Session(engine) as s:
        assert list(s.exec(select(Signoff))) == []


def test_cli_signoff_of_an_action_not_waiting_is_refused(cli, world):
    result = cli("signoff", "approve", "ilacs", "1.1", "--as", "Ed Panel", code=1)
    assert "1.1 is not waiting for sign-off (status not_started)" in result.stderr
    assert cli("signoff", "return", "ilacs", "1.1", "--as", "Ed Panel", code=2).exit_code == 2  # --note is required
