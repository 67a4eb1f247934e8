"""The conversation layer alone, with no platform: identity and tenancy, every command, every
button verb and form, exactly-once event ids, files, and that bad input changes nothing."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from bot.conversation.core import Conversation
from bot.conversation.events import FileIn, Incoming, Press, Said, Submit, Who
from bot.domain.model import Role
from bot.services import engine as eng
from cards.ids import Field, Verb
from cards.view import render_text
from storage.tables import Action, AuditLog, Organisation, Outbox, PendingReply, Person, Plan, Update
from tests.test_engine import Reg, rows

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 10:00 in London
ORG = "default"


@pytest.fixture
def world(session: Session):
    """Ann (Slack UANN) owns 2.4 (target passed) and 2.5; Ben (Slack UBEN) approves stage
    'Panel' of plan cs; Olive (Teams 'olive-aad') owns the plan; Ada is an admin on Slack;
    Eve has an e-mail but no chat account yet."""
    r = Reg(session, org=ORG)
    ann = r.person("Ann Lead", slack_user_id="UANN", email="ann@council.example")
    ben = r.person("Ben Approver", slack_user_id="UBEN")
    olive = r.person("Olive Owner", teams_user_id="olive-aad")
    ada = r.person("Ada Admin", slack_user_id="UADA")
    eve = r.person("Eve Newcomer", email="Eve@Council.example")
    lead = r.person("HoS First Response")
    cs = r.plan("Children's services improvement plan", slug="cs", owner_id=olive.id, signoff_stages=["Panel"])
    r.grant(ben, Role.APPROVER, cs, "Panel")
    r.grant(ada, Role.ADMIN)
    r.action(cs, "2.4", owner=ann, target=date(2026, 11, 3), text="Deliver reflective practice sessions")
    r.action(cs, "2.5", owner=ann, target=date(2027, 3, 31), text="Audit supervision records")
    r.action(cs, "3.1", owner=lead, target=date(2027, 1, 31), text="Publish the practice standards")
    r.commit()
    return r, cs, ann, ben, olive, ada, eve


@pytest.fixture
def conv(engine, tmp_path):
    return Conversation(engine, org=ORG, cfg=eng.EngineConfig(chart_dir=tmp_path / "charts"), clock=lambda: NOW)


def slack(user: str, body, *, event_id: str | None = None, team: str | None = "T1", email: str | None = None, where: str | None = None):  # type: ignore[no-untyped-def]
    return Incoming(Who("slack", user, workspace=team, email=email), body, event_id=event_id, where=where)


def text_of(reply) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(render_text(c) for c in reply.cards)


def action(engine, ref: str) -> Action:  # type: ignore[no-untyped-def]
    (a,) = rows(engine, Action, Action.ref == ref)
    return a


def snapshot(engine) -> tuple:  # type: ignore[no-untyped-def,type-arg]
    """Everything a person could change: actions, history, audit, pending replies, outbox."""
    with Session(engine) as s:
        return (
            [(a.ref, a.status, a.rag, a.version, a.revised_target) for a in s.exec(select(Action).order_by(Action.id))],
            s.exec(select(func.count()).select_from(Update)).one(),
            s.exec(select(func.count()).select_from(AuditLog)).one(),
            s.exec(select(func.count()).select_from(Outbox)).one(),
            [(p.display_name, p.slack_user_id, p.teams_user_id, p.away_until) for p in s.exec(select(Person).order_by(Person.id))],
        )


# --- identity and tenancy ---------------------------------------------------------------------
def test_a_stranger_is_told_who_to_ask_and_nothing_else(engine, world, conv):
    before = snapshot(engine)
    reply = conv.handle(slack("UNOBODY", Said("mine")))
    out = text_of(reply)
    assert "not set up yet" in out and "Ada Admin" in out and "improvement-plan actions" in out
    assert reply.form is None and not reply.files and snapshot(engine) == before


def test_a_user_whose_platform_email_matches_is_linked_on_first_contact(engine, world, conv):
    reply = conv.handle(slack("UEVE", Said("help"), email="eve@council.example"))
    assert "What you can do, Eve Newcomer" in text_of(reply)
    (eve,) = rows(engine, Person, Person.display_name == "Eve Newcomer")
    assert eve.slack_user_id == "UEVE"
    audit = rows(engine, AuditLog, AuditLog.op == "link_first_contact")
    assert len(audit) == 1 and audit[0].entity_id == eve.id


def test_once_workspaces_are_linked_an_unlinked_one_is_refused(engine, world, conv, caplog):
    with Session(engine) as s:
        org = s.exec(select(Organisation).where(Organisation.slug == ORG)).one()
        org.slack_team_id = "TGOOD"
        s.add(org)
        s.commit()
    assert "Your actions" in text_of(conv.handle(slack("UANN", Said("mine"), team="TGOOD")))
    before = snapshot(engine)
    refused = text_of(conv.handle(slack("UANN", Said("2.4 done"), team="TEVIL")))
    assert "not linked" in refused and snapshot(engine) == before
    assert "unlinked workspace 'TEVIL'" in caplog.text


def test_teams_tenant_link_and_timezone_from_the_platform(engine, world, conv):
    with Session(engine) as s:
        org = s.exec(select(Organisation).where(Organisation.slug == ORG)).one()
        org.teams_tenant_id = "tenant-1"
        s.add(org)
        s.commit()
    who = Who("teams", "olive-aad", workspace="tenant-1", timezone="America/New_York")
    assert "Plans" in text_of(conv.handle(Incoming(who, Said("plans"))))
    (olive,) = rows(engine, Person, Person.display_name == "Olive Owner")
    assert olive.timezone == "America/New_York"
    assert "not linked" in text_of(conv.handle(Incoming(Who("teams", "olive-aad", workspace="tenant-2"), Said("plans"))))


# --- commands -------------------------------------------------------------------------------
def test_help_lists_only_what_the_person_may_do(engine, world, conv):
    ann = text_of(conv.handle(slack("UANN", Said("help"))))
    ada = text_of(conv.handle(slack("UADA", Said("help"))))
    ben = text_of(conv.handle(slack("UBEN", Said("help"))))
    assert "/actions mine" in ann and "signoff" not in ann and "import" not in ann and "export" not in ann
    assert "signoff" in ben and "export" not in ben
    assert "import" in ada and "export PLAN" in ada and "map" in ada


def test_mine_and_due_list_my_actions_with_reasons_and_update_buttons(engine, world, conv):
    reply = conv.handle(slack("UANN", Said("mine")))
    out = text_of(reply)
    assert "Your actions: 2" in out and "2.4 Deliver reflective practice sessions" in out and "the target date 3 nov 2026" in out.lower()
    (card,) = reply.cards
    assert [b.verb for b in card.buttons] == [Verb.OPEN_UPDATE, Verb.OPEN_UPDATE]
    assert card.buttons[0].value == {"action_id": action(engine, "2.4").id, "version": action(engine, "2.4").version}
    due = text_of(conv.handle(slack("UANN", Said("due"))))
    assert "2.4" in due and "3.1" not in due


def test_unknown_command_suggests_the_closest(engine, world, conv):
    out = text_of(conv.handle(slack("UANN", Said("mnie", command=True))))
    assert "I didn't understand 'mnie'" in out and "Did you mean mine?" in out


def test_commands_beyond_ones_role_are_refused_and_change_nothing(engine, world, conv):
    before = snapshot(engine)
    for line in ("export cs xlsx", "set cs cadence weekly:thu", 'assign cs 2.4 "Ben Approver"', "digest cs send", "import"):
        out = text_of(conv.handle(slack("UANN", Said(line, command=True))))
        assert out.count("Only ") == 1 and "can use" in out, line
    assert snapshot(engine) == before


def test_free_text_that_starts_like_a_command_word_is_still_an_update(engine, world, conv):
    out = text_of(conv.handle(slack("UANN", Said("back on track for 2.5, audit half done"))))
    assert "Is this right?" in out and "2.5" in out


def test_update_command_opens_the_form_with_the_suggestion_preselected(engine, world, conv):
    reply = conv.handle(slack("UANN", Said("update 2.4 sessions booked")))
    form = reply.form
    assert form is not None and form.id == Verb.SUBMIT_UPDATE and form.value["action_id"] == action(engine, "2.4").id
    inputs = {i.id: i for i in form.inputs}
    assert inputs[Field.RAG].initial == "R"  # target passed: the rules suggest Red
    assert any("(suggested)" in o.label for o in inputs[Field.RAG].options)
    assert inputs[Field.TEXT].initial == "sessions booked" and inputs[Field.REVISED_TARGET].kind == "date"
    assert "not one of your actions" in text_of(conv.handle(slack("UANN", Said("update 3.1"))))


def test_snooze_away_and_back(engine, world, conv):
    assert "won't remind you before Tue 24 Nov 09:00" in text_of(conv.handle(slack("UANN", Said("snooze until tomorrow"))))
    assert "up to and including Fri 4 Dec 2026" in text_of(conv.handle(slack("UANN", Said("away until 4 Dec"))))
    (ann,) = rows(engine, Person, Person.display_name == "Ann Lead")
    assert ann.away_until == date(2026, 12, 4)
    assert "Welcome back" in text_of(conv.handle(slack("UANN", Said("back"))))
    (ann,) = rows(engine, Person, Person.display_name == "Ann Lead")
    assert ann.away_until is None
    assert "couldn't tell when" in text_of(conv.handle(slack("UANN", Said("snooze until the cows come home"))))


def test_plans_show_digest_and_export_for_the_owner(engine, world, conv, tmp_path):
    olive = lambda body: Incoming(Who("teams", "olive-aad"), body)  # noqa: E731
    assert "cs Children's services improvement plan — 3 open, owner Olive Owner" in text_of(conv.handle(olive(Said("plans"))))
    shown = text_of(conv.handle(olive(Said("show cs 2.4"))))
    assert "2.4 Deliver reflective practice sessions" in shown and "Status: Not started" in shown
    assert "RAG: Red (suggested)" in shown  # the rating a person sees: nobody reported one, its target passed
    assert "cs has no action '9.9'" in text_of(conv.handle(olive(Said("show cs 9.9"))))
    assert "There is no plan 'nope'" in text_of(conv.handle(olive(Said("show nope"))))
    preview = conv.handle(olive(Said("digest cs preview")))
    assert preview.cards[0].screen == "digest"
    assert "has no digest channel" in text_of(conv.handle(olive(Said("digest cs send"))))
    assert "channel set to teams:19:abc" in text_of(conv.handle(Incoming(Who("teams", "olive-aad"), Said("set cs channel here"), where="19:abc")))
    assert "on its way to 1 channel" in text_of(conv.handle(olive(Said("digest cs send"))))
    (msg,) = rows(engine, Outbox, Outbox.screen == "digest")
    assert (msg.platform, msg.target) == ("teams", "19:abc")
    export = conv.handle(olive(Said("export cs xlsx")))
    (f,) = export.files
    assert f.name == "cs.xlsx" and f.mime.endswith("spreadsheetml.sheet")
    wb = openpyxl.load_workbook(io.BytesIO(f.data))
    assert any("2.4" in str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    assert "not 'pdf'" in text_of(conv.handle(olive(Said("export cs pdf"))))


def test_assign_map_and_set(engine, world, conv):
    ada = lambda line: slack("UADA", Said(line, command=True))  # noqa: E731
    assert "Ben Approver now owns 2.5 in cs" in text_of(conv.handle(ada('assign cs 2.5 "Ben Approver"')))
    out = text_of(conv.handle(ada('map "HoS First Response" <@UHOS|hos>')))
    assert "HoS First Response is now HoS First Response, linked to their chat account" in out
    (hos,) = rows(engine, Person, Person.display_name == "HoS First Response")
    assert hos.slack_user_id == "UHOS"
    assert "already linked to HoS First Response" in text_of(conv.handle(ada('map "Ben Approver" <@UHOS>')))
    assert "No lead officer 'Nobody'" in text_of(conv.handle(ada('map "Nobody" <@UX>')))
    assert "cadence set to weekly:thu" in text_of(conv.handle(ada("set cs cadence weekly:thu")))
    assert "stages set to" in text_of(conv.handle(ada('set cs stages "Panel" "DLT"')))
    with Session(engine) as s:
        plan = s.exec(select(Plan).where(Plan.slug == "cs")).one()
        assert (plan.cadence, plan.signoff_stages) == ("weekly:thu", ["Panel", "DLT"])
    assert "C0123" in text_of(conv.handle(ada("set cs channel <#C0123|leadership>")))
    with Session(engine) as s:
        assert s.exec(select(Plan).where(Plan.slug == "cs")).one().digest_channels == ["slack:C0123"]


def test_map_by_email_uses_the_platform_directory(engine, world, tmp_path):
    class Dir:
        def lookup_email(self, email: str) -> str | None:
            return {"hos@council.example": "UHOS2"}.get(email)

    conv = Conversation(engine, org=ORG, directories={"slack": Dir()}, clock=lambda: NOW)
    conv.handle(slack("UADA", Said('map "HoS First Response" hos@council.example', command=True)))
    (hos,) = rows(engine, Person, Person.display_name == "HoS First Response")
    assert (hos.slack_user_id, hos.email) == ("UHOS2", "hos@council.example")


# --- buttons, forms, staleness -------------------------------------------------------------
def test_update_form_submit_records_and_returns_the_replacement_card(engine, world, conv):
    a = action(engine, "2.4")
    fields = {Field.STATUS: "in_progress", Field.RAG: "A", Field.TEXT: "Two sessions run", Field.REVISED_TARGET: "2027-01-31",
              Field.REASON: "staffing", Field.EVIDENCE: "https://intranet.example/ev/1"}
    reply = conv.handle(slack("UANN", Submit(Verb.SUBMIT_UPDATE, {"action_id": a.id, "version": a.version}, fields)))
    assert reply.replace is not None and "Recorded on 2.4" in render_text(reply.replace) and "By: Ann Lead" in render_text(reply.replace)
    a2 = action(engine, "2.4")
    assert (a2.status, a2.rag, a2.revised_target, a2.version) == ("in_progress", "A", date(2027, 1, 31), a.version + 1)
    (u,) = rows(engine, Update, Update.action_id == a.id)
    assert (u.channel, u.evidence, u.revised_reason) == ("slack", ["https://intranet.example/ev/1"], "staffing")


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({Field.REVISED_TARGET: "2026-11-01", Field.REASON: "late"}, Field.REVISED_TARGET, "in the past"),
    ({Field.REVISED_TARGET: "2027-02-01"}, Field.REASON, "Say why"),
    ({Field.EVIDENCE: "intranet/ev/1", Field.TEXT: "x"}, Field.EVIDENCE, "web address"),
    ({Field.REVISED_TARGET: "31/02/2027", Field.REASON: "x"}, Field.REVISED_TARGET, "yyyy-mm-dd"),
    ({}, Field.TEXT, "Say what has happened"),
    ({Field.TEXT: "x" * 4001}, Field.TEXT, "under 4000"),
])
def test_a_bad_form_gets_errors_against_its_inputs_and_changes_nothing(engine, world, conv, fields, field, message):
    a = action(engine, "2.4")
    before = snapshot(engine)
    reply = conv.handle(slack("UANN", Submit(Verb.SUBMIT_UPDATE, {"action_id": a.id, "version": a.version}, fields)))
    assert message in reply.errors[field] and reply.replace is None
    assert snapshot(engine) == before


def test_a_stale_button_or_form_shows_the_current_card_and_changes_nothing(engine, world, conv):
    a = action(engine, "2.4")
    conv.handle(slack("UANN", Press(Verb.ON_TRACK, {"action_id": a.id, "version": a.version})))
    before = snapshot(engine)
    for body in (Press(Verb.MARK_DONE, {"action_id": a.id, "version": a.version}),
                 Submit(Verb.SUBMIT_UPDATE, {"action_id": a.id, "version": a.version}, {Field.TEXT: "late news"})):
        reply = conv.handle(slack("UANN", body))
        assert "2.4 changed since this card was sent — here is the current one" in text_of(reply)
        assert reply.replace is not None and reply.replace.screen == "action"
    assert snapshot(engine) == before


def test_on_track_done_and_undo(engine, world, conv):
    a = action(engine, "2.5")
    reply = conv.handle(slack("UANN", Press(Verb.MARK_DONE, {"action_id": a.id, "version": a.version})))
    assert action(engine, "2.5").status == "complete"
    undo = next(b for b in reply.replace.buttons if b.verb == Verb.UNDO)
    out = conv.handle(slack("UANN", Press(undo.verb, undo.value)))
    assert "Undone" in text_of(out)
    back = action(engine, "2.5")
    assert back.status == "not_started" and back.version == a.version + 2
    history = rows(engine, Update, Update.action_id == a.id)
    assert len(history) == 2 and history[1].supersedes_id == history[0].id  # nothing deleted
    assert "no update to undo" in text_of(conv.handle(slack("UANN", Said("undo"))))


def test_undo_is_refused_after_ten_minutes(engine, world, conv):
    a = action(engine, "2.5")
    conv.handle(slack("UANN", Press(Verb.ON_TRACK, {"action_id": a.id, "version": a.version})))
    before = snapshot(engine)
    out = text_of(conv.handle(slack("UANN", Said("undo")), now=NOW + timedelta(minutes=11)))
    assert "within 10 minutes" in out and snapshot(engine) == before


def test_signoff_approve_and_return_with_a_note(engine, world, conv):
    for ref in ("2.4", "2.5"):
        a = action(engine, ref)
        conv.handle(slack("UANN", Press(Verb.MARK_DONE, {"action_id": a.id, "version": a.version})))
    card = conv.handle(slack("UBEN", Said("signoff"))).cards[0]
    assert "2 actions waiting for your sign-off" in render_text(card)
    approve = next(b for b in card.buttons if b.verb == Verb.APPROVE and "2.4" in b.label)
    ret = next(b for b in card.buttons if b.verb == Verb.RETURN and "2.5" in b.label)
    done = conv.handle(slack("UBEN", Press(approve.verb, approve.value)))
    assert "Approved at Panel" in render_text(done.replace) and action(engine, "2.4").status == "signed_off"
    form = conv.handle(slack("UBEN", Press(ret.verb, ret.value))).form
    assert form is not None and form.id == Verb.SUBMIT_RETURN
    before = snapshot(engine)
    assert Field.NOTE in conv.handle(slack("UBEN", Submit(form.id, form.value, {Field.NOTE: "  "}))).errors
    assert snapshot(engine) == before
    conv.handle(slack("UBEN", Submit(form.id, form.value, {Field.NOTE: "No evidence attached"})))
    assert action(engine, "2.5").status == "in_progress"
    assert "Nothing waits for your sign-off" in text_of(conv.handle(slack("UBEN", Said("signoff"))))


def test_an_owner_never_signs_off_their_own_action(engine, world, conv, session):
    _r, cs, ann, *_ = world
    _r.grant(session.merge(ann), Role.APPROVER, cs, "Panel")
    _r.commit()
    a = action(engine, "2.4")
    conv.handle(slack("UANN", Press(Verb.MARK_DONE, {"action_id": a.id, "version": a.version})))
    assert "2.4" not in text_of(conv.handle(slack("UANN", Said("signoff"))))
    a = action(engine, "2.4")
    before = snapshot(engine)
    out = text_of(conv.handle(slack("UANN", Press(Verb.APPROVE, {"action_id": a.id, "version": a.version, "stage": "Panel"}))))
    assert "it is your own action" in out and snapshot(engine) == before


def test_unknown_verbs_and_forms_and_foreign_actions_change_nothing(engine, world, conv):
    before = snapshot(engine)
    assert "don't know the button" in text_of(conv.handle(slack("UANN", Press("explode", {}))))
    assert "don't know the form" in text_of(conv.handle(slack("UANN", Submit("explode", {}, {}))))
    assert "no longer in the register" in text_of(conv.handle(slack("UANN", Press(Verb.ON_TRACK, {"action_id": 99999, "version": 1}))))
    assert "no longer in the register" in text_of(conv.handle(slack("UANN", Press(Verb.ON_TRACK, {"action_id": "x"}))))
    a = action(engine, "3.1")  # not Ann's
    assert "not allowed" in text_of(conv.handle(slack("UANN", Press(Verb.ON_TRACK, {"action_id": a.id, "version": a.version}))))
    assert snapshot(engine) == before


# --- free text, confirmations, formatting ----------------------------------------------------
def test_free_text_is_read_confirmed_and_a_newer_proposal_supersedes_the_older(engine, world, conv):
    assert "Is this right?" in text_of(conv.handle(slack("UANN", Said("2.4 done"))))
    assert "Is this right?" in text_of(conv.handle(slack("UANN", Said("2.5 on track"))))
    assert "Recorded on 2.5" in text_of(conv.handle(slack("UANN", Said("yes"))))
    assert "nothing waiting for a yes" in text_of(conv.handle(slack("UANN", Said("yes"))))
    assert action(engine, "2.4").status == "not_started"  # the older, no longer shown proposal was not applied
    assert [p.outcome for p in rows(engine, PendingReply)] == ["superseded", "confirmed"]


def test_platform_formatting_is_decoded_so_evidence_arrives_as_a_url(engine, world, conv):
    reply = conv.handle(slack("UANN", Said("2.4 done, evidence at <https://intranet.example/ev/1>")))
    assert "https://intranet.example/ev/1" in text_of(reply)
    conv.handle(slack("UANN", Said("yes")))
    (u,) = rows(engine, Update, Update.action_id == action(engine, "2.4").id)
    assert u.evidence == ["https://intranet.example/ev/1"]
    teams = Incoming(Who("teams", "olive-aad"), Said('<p>2.5 on track, see <a href="https://intranet.example/ev/2">the log</a></p>'))
    out = text_of(conv.handle(teams))
    assert "https://intranet.example/ev/2" in out


def test_nul_bytes_and_surrogates_in_text_get_an_answer_not_a_crash(engine, world, conv):
    before = snapshot(engine)
    out = text_of(conv.handle(slack("UANN", Said("2.4 \x00 on \ud800 track"))))
    assert "Is this right?" in out
    assert snapshot(engine)[:2] == before[:2]


# --- exactly once ---------------------------------------------------------------------------
def test_a_replayed_event_id_returns_the_earlier_answer_and_acts_once(engine, world, conv):
    a = action(engine, "2.5")
    press = slack("UANN", Press(Verb.ON_TRACK, {"action_id": a.id, "version": a.version}), event_id="Ev123")
    first = conv.handle(press)
    second = conv.handle(press)
    assert not first.replayed and second.replayed
    assert render_text(second.replace) == render_text(first.replace)
    assert len(rows(engine, Update, Update.action_id == a.id)) == 1
    assert action(engine, "2.5").version == a.version + 1
    # the same id from another platform is another event
    other = conv.handle(Incoming(Who("teams", "olive-aad"), Said("plans"), event_id="Ev123"))
    assert not other.replayed


def test_seen_event_ids_survive_a_new_conversation_object(engine, world, tmp_path):
    a = action(engine, "2.5")
    press = slack("UANN", Press(Verb.MARK_DONE, {"action_id": a.id, "version": a.version}), event_id="Ev9")
    Conversation(engine, org=ORG, clock=lambda: NOW).handle(press)
    again = Conversation(engine, org=ORG, clock=lambda: NOW).handle(press)
    assert again.replayed and len(rows(engine, Update, Update.action_id == a.id)) == 1


def test_old_event_ids_are_pruned_now_and_then_not_on_every_event(engine, world, tmp_path):
    from bot.conversation.core import PRUNE_EVERY, SEEN_FOR
    from storage.tables import SeenEvent

    clock = [NOW]
    c = Conversation(engine, org=ORG, clock=lambda: clock[0])
    c.handle(slack("UANN", Said("mine"), event_id="old"))
    clock[0] = NOW + SEEN_FOR - timedelta(minutes=1)  # "old" is not yet past keeping: this prune leaves it
    c.handle(slack("UANN", Said("mine"), event_id="e2"))
    clock[0] += timedelta(minutes=5)  # now it is, but the last prune was 5 minutes ago
    c.handle(slack("UANN", Said("mine"), event_id="e3"))
    assert {e.event_id for e in rows(engine, SeenEvent)} == {"old", "e2", "e3"}
    clock[0] += PRUNE_EVERY
    c.handle(slack("UANN", Said("mine"), event_id="e4"))
    assert {e.event_id for e in rows(engine, SeenEvent)} == {"e2", "e3", "e4"}


# --- files: import --------------------------------------------------------------------------
PLAN_CSV = (
    b"Ref,Action,Lead Officer,Target date,Progress,RAG\n"
    b"1.1,Refresh the supervision policy,Head of Service,31/01/2027,Draft written,G\n"
    b"1.2,Audit case files monthly,Practice Lead,28/02/2027,,A\n"
)


def test_only_admins_can_import(engine, world, conv):
    before = snapshot(engine)
    out = text_of(conv.handle(slack("UANN", FileIn("plan.csv", PLAN_CSV))))
    assert "Only administrators can import" in out and snapshot(engine) == before


def test_import_preview_then_confirm_commits_exactly_that(engine, world, conv):
    reply = conv.handle(slack("UADA", FileIn("Recovery plan.csv", PLAN_CSV)))
    card = reply.cards[0]
    out = render_text(card)
    assert card.screen == "import_preview" and "2 new" in out and "Head of Service" in out
    assert not rows(engine, Plan, Plan.slug == "recovery-plan")  # nothing stored yet
    confirm = next(b for b in card.buttons if b.verb == Verb.CONFIRM_IMPORT)
    done = conv.handle(slack("UADA", Press(confirm.verb, confirm.value)))
    assert "Imported Recovery plan.csv into recovery-plan: 2 added" in text_of(done)
    (plan,) = rows(engine, Plan, Plan.slug == "recovery-plan")
    assert {a.ref for a in rows(engine, Action, Action.plan_id == plan.id)} == {"1.1", "1.2"}
    again = conv.handle(slack("UADA", Press(confirm.verb, confirm.value)))
    assert "already committed" in render_text(again.replace)


def test_import_of_a_plan_that_changed_between_preview_and_confirm(engine, world, conv, session):
    card = conv.handle(slack("UADA", FileIn("Recovery plan.csv", PLAN_CSV))).cards[0]
    confirm = next(b for b in card.buttons if b.verb == Verb.CONFIRM_IMPORT)
    # the plan is created by someone else in between (e.g. from the CLI)
    from bot.importer import read_plan_text
    from bot.services.imports import import_plan
    from storage import repo

    with Session(engine) as s:
        org = repo.get_org(s, ORG)
        parsed = read_plan_text(PLAN_CSV.decode().replace(",", "\t"), source="Recovery plan.csv")
        import_plan(s, org=org, parsed=parsed, actor=repo.actor_for(s, None, operator=True), now=NOW, plan_name="Recovery plan")
        s.commit()
    before = snapshot(engine)
    reply = conv.handle(slack("UADA", Press(confirm.verb, confirm.value)))
    out = text_of(reply)
    assert "The plan changed since you saw the preview; nothing was stored" in out
    assert snapshot(engine) == before
    new_confirm = next(b for b in reply.cards[0].buttons if b.verb == Verb.CONFIRM_IMPORT)
    assert new_confirm.value != confirm.value


def test_a_broken_file_gets_a_clear_message_and_changes_nothing(engine, world, conv):
    before = snapshot(engine)
    out = text_of(conv.handle(slack("UADA", FileIn("plan.xlsx", b"this is not a spreadsheet"))))
    assert "I could not read plan.xlsx" in out and snapshot(engine) == before


def test_an_unexpected_failure_is_logged_and_the_person_told_nothing_changed(engine, world, conv, monkeypatch, caplog):
    from bot.conversation import core

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(core.Conversation, "_cmd_mine", boom)
    out = text_of(conv.handle(slack("UANN", Said("mine"))))
    assert "something went wrong on my side; nothing was changed" in out and "disk on fire" not in out
    assert "disk on fire" in caplog.text


def test_org_link_on_the_command_line_then_an_unlinked_workspace_is_refused(db_url, engine, world, conv):
    from click.testing import CliRunner

    from bot.cli import main

    ok = CliRunner().invoke(main, ["--db", db_url, "--org", ORG, "org", "link", "--slack-team", "T1"])
    assert ok.exit_code == 0 and "slack team T1" in ok.output
    assert "Your actions" in text_of(conv.handle(slack("UANN", Said("mine"), team="T1")))
    assert "not linked" in text_of(conv.handle(slack("UANN", Said("mine"), team="T2")))
    listed = CliRunner().invoke(main, ["--db", db_url, "--org", ORG, "org", "list"])
    assert "default  slack team: T1" in listed.output
    assert CliRunner().invoke(main, ["--db", db_url, "--org", ORG, "org", "unlink", "--slack"]).exit_code == 0
    assert "Your actions" in text_of(conv.handle(slack("UANN", Said("mine"), team="T2")))  # no links: the default org again


def test_the_readme_lists_every_chat_command():
    from pathlib import Path

    from bot.conversation.commands import markdown_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme


def test_greetings_get_a_friendly_pointer_not_a_reading(engine, world, conv):
    out = text_of(conv.handle(slack("UANN", Said("Hello!"))))
    assert "Hello Ann Lead. Type mine to see your actions" in out
    assert not rows(engine, PendingReply)
