"""Free-text replies: read (nothing changes), confirm (applied with history, channel and author,
guarded by the version read), cancel, and every way a reply is refused or questioned."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot.domain.model import Channel, Status
from bot.errors import NotFound
from bot.services import replies
from cards.ids import Verb
from cards.view import Card, render_text
from storage.tables import Action, PendingReply, Person, Update
from tests.test_engine import Reg

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(session: Session):
    r = Reg(session, org="kent")
    ann, bob = r.person("Ann Lead", slack_user_id="UANN"), r.person("Bob Deputy")
    cs = r.plan("Children's services improvement plan", slug="cs")
    send = r.plan("SEND written statement of action", slug="send")
    a24 = r.action(cs, "2.4", owner=ann, delegate=bob, target=date(2026, 12, 31), text="Deliver reflective practice sessions")
    a25 = r.action(cs, "2.5", owner=ann, target=date(2026, 12, 31))
    a31 = r.action(send, "3.1", owner=ann)
    r.commit()
    return r, cs, send, ann, bob, a24, a25, a31


def read(r: Reg, who: Person, text: str, at: datetime = NOW, channel: Channel = Channel.SLACK) -> replies.ReplyOutcome:
    out = replies.read(r.s, person=who, text=text, channel=channel, now=at)
    r.commit()
    return out


def confirm(r: Reg, who: Person, token: str, at: datetime = NOW + timedelta(minutes=1)) -> Card:
    card = replies.confirm(r.s, org=r.org, person=who, token=token, channel=Channel.SLACK, now=at)
    r.commit()
    return card


def text_of(card: Card) -> str:
    return render_text(card)


def verbs(card: Card) -> list[str]:
    return [b.verb for b in card.buttons]


def history(s: Session, a: Action) -> list[Update]:
    s.expire_all()
    return list(s.exec(select(Update).where(Update.action_id == a.id).order_by(col(Update.id))))


def pendings(s: Session) -> list[PendingReply]:
    s.expire_all()
    return list(s.exec(select(PendingReply).order_by(col(PendingReply.id))))


def test_read_changes_nothing_until_confirmed_then_applies_once(world):
    r, cs, _send, ann, _bob, a24, *_ = world
    version = a24.version
    out = read(r, ann, "2.4 slipping to end of Jan because of staffing")
    assert out.token and out.card.screen == "confirmation" and Verb.CONFIRM in verbs(out.card)
    shown = text_of(out.card)
    assert "2.4 Deliver reflective practice sessions" in shown and "Revised target: 31 Jan 2027" in shown and "Reason: staffing" in shown
    (p,) = pendings(r.s)
    assert (p.person_id, p.plan_id, p.channel, p.versions, p.resolved_at) == (ann.id, cs.id, "slack", {str(a24.id): version}, None)
    r.s.refresh(a24)
    assert (a24.version, a24.revised_target, a24.status) == (version, None, "not_started") and history(r.s, a24) == []

    card = confirm(r, ann, out.token)
    assert card.title.plain == "Update recorded" and "Recorded on 2.4" in text_of(card)
    r.s.refresh(a24)
    assert (a24.version, a24.revised_target, a24.revised_reason, a24.status, a24.rag) == (version + 1, date(2027, 1, 31), "staffing", "in_progress", "A")
    (u,) = history(r.s, a24)
    assert (u.author_id, u.author_text, u.channel, u.text) == (ann.id, "Ann Lead", "slack", "slipping to end of Jan because of staffing")
    assert (u.revised_target, u.status, u.rag) == (date(2027, 1, 31), "in_progress", "A")
    assert pendings(r.s)[0].outcome == "confirmed"
    again = confirm(r, ann, out.token, at=NOW + timedelta(minutes=2))
    assert "Already confirmed" in text_of(again) and len(history(r.s, a24)) == 1


def test_confirm_after_someone_else_changed_the_action_is_a_conflict(world):
    r, cs, _send, ann, _bob, a24, *_ = world
    out = read(r, ann, "2.4 done, session delivered 3 Nov")
    r.update(cs, a24, by=None, at=NOW + timedelta(seconds=30), text="Rated Red at the board", status=Status.IN_PROGRESS)
    r.commit()
    card = confirm(r, ann, out.token)
    assert "changed by someone else" in text_of(card) and "nothing was saved" in text_of(card)
    r.s.refresh(a24)
    assert a24.status == "in_progress" and [u.author_text for u in history(r.s, a24)] == ["operator"]
    assert pendings(r.s)[0].outcome == "conflict"
    assert "Already conflict" in text_of(confirm(r, ann, out.token)) and len(history(r.s, a24)) == 1


def test_a_reply_about_two_actions_is_applied_whole_or_not_at_all(world):
    r, cs, _send, ann, _bob, a24, a25, _ = world
    out = read(r, ann, "2.4 and 2.5 on track")
    r.update(cs, a25, by=None, at=NOW + timedelta(seconds=30), text="Meanwhile...", status=Status.IN_PROGRESS)  # 2.5 moves on
    r.commit()
    card = confirm(r, ann, out.token)
    assert "2.5 was changed by someone else" in text_of(card)
    assert history(r.s, a24) == []  # 2.4's half was not kept
    assert [u.author_text for u in history(r.s, a25)] == ["operator"]


def test_a_reply_one_action_cannot_take_is_not_half_applied(world):
    r, cs, _send, ann, _bob, a24, a25, _ = world
    r.update(cs, a25, by=ann, at=NOW - timedelta(days=1), text="slipping", revised_target=date(2027, 1, 31), revised_reason="staffing")
    r.commit()
    v24 = a24.version
    out = read(r, ann, "2.4 and 2.5 slipping to end of Jan because of staffing")
    card = confirm(r, ann, out.token)
    assert "could not record" in text_of(card) and "already re-baselined" in text_of(card)
    r.s.refresh(a24)
    assert a24.version == v24 and history(r.s, a24) == [], "2.4 was changed although the reply was refused"


def test_cancel_changes_nothing(world):
    r, _cs, _send, ann, _bob, a24, *_ = world
    out = read(r, ann, "2.4 on track")
    assert text_of(replies.cancel(r.s, person=ann, token=out.token, now=NOW)) .endswith("OK, nothing was changed.")
    r.commit()
    assert pendings(r.s)[0].outcome == "cancelled" and history(r.s, a24) == []
    assert "Nothing to cancel" in text_of(replies.cancel(r.s, person=ann, token=out.token, now=NOW))
    assert "Already cancelled" in text_of(confirm(r, ann, out.token)) and history(r.s, a24) == []


def test_only_the_person_who_wrote_it_can_confirm_or_cancel(world):
    r, _cs, _send, ann, bob, _a24, *_ = world
    out = read(r, ann, "2.4 on track")
    with pytest.raises(NotFound, match="not yours"):
        confirm(r, bob, out.token)
    r.s.rollback()
    assert "Nothing to cancel" in text_of(replies.cancel(r.s, person=bob, token=out.token, now=NOW))
    assert pendings(r.s)[0].resolved_at is None


def test_a_ref_in_two_of_my_plans_is_a_question_not_a_guess(world):
    r, _cs, send, ann, _bob, a24, *_ = world
    twin = r.action(send, "2.4", owner=ann)
    r.commit()
    out = read(r, ann, "2.4 on track")
    assert out.token is None and Verb.CONFIRM not in verbs(out.card)
    assert "2.4 exists in several of your plans (cs, send); say which." in text_of(out.card)
    assert pendings(r.s) == [] and history(r.s, a24) == [] and history(r.s, twin) == []


def test_an_unknown_ref_is_a_question_with_no_confirm_button(world):
    r, _cs, _send, ann, *_ = world
    out = read(r, ann, "9.9 done")
    assert out.token is None and Verb.CONFIRM not in verbs(out.card)
    assert "I can't find action 9.9" in text_of(out.card) and "I could not tell which action you mean" in text_of(out.card)
    assert pendings(r.s) == []


def test_a_delegate_answering_is_recorded_as_the_author(world):
    r, _cs, _send, _ann, bob, a24, a25, _ = world
    out = read(r, bob, "done, session delivered 3 Nov")  # Bob is delegate of 2.4 only: it is understood as 2.4
    assert out.token and "2.4" in text_of(out.card)
    card = confirm(r, bob, out.token)
    assert "Recorded on 2.4" in text_of(card)
    (u,) = history(r.s, a24)
    assert (u.author_id, u.author_text, u.status, u.text) == (bob.id, "Bob Deputy", "complete", "session delivered 3 Nov")
    assert history(r.s, a25) == []


def test_someone_with_no_actions_is_told_so(world):
    r = world[0]
    nobody = r.person("Nadia New")
    r.commit()
    out = read(r, nobody, "2.4 on track")
    assert out.token is None and "no actions assigned to you" in text_of(out.card)


def test_oversized_and_empty_text_are_refused_clearly(world):
    r, _cs, _send, ann, _bob, a24, *_ = world
    out = read(r, ann, "2.4 on track. " + "x" * replies.MAX_REPLY)
    assert out.token is None and out.card.screen == "notice"
    assert f"{replies.MAX_REPLY + 14} characters; please keep an update under {replies.MAX_REPLY}" in text_of(out.card)
    assert "Tell me about an action" in text_of(read(r, ann, "   ").card)
    assert pendings(r.s) == [] and history(r.s, a24) == []


def test_a_pending_reply_expires_after_a_day(world):
    r, _cs, _send, ann, _bob, a24, *_ = world
    out = read(r, ann, "2.4 on track")
    assert replies.latest_pending(r.s, ann, now=NOW + timedelta(hours=23)) is not None
    assert replies.latest_pending(r.s, ann, now=NOW + replies.PENDING_FOR) is None
    card = confirm(r, ann, out.token, at=NOW + replies.PENDING_FOR + timedelta(minutes=1))
    assert "expired" in text_of(card) and "send the update again" in text_of(card)
    assert pendings(r.s)[0].outcome == "expired" and history(r.s, a24) == []
    r.s.refresh(a24)
    assert a24.version == 1
    assert pendings(r.s)[0].expires_at == NOW + timedelta(hours=24)


def test_a_snooze_in_chat_is_the_readers_answer_and_the_same_as_parse(world, db_url):
    """`parse "remind me Monday"` and chat give one answer: a snooze until Monday 09:00, no target."""
    import json

    from click.testing import CliRunner

    from bot.cli import main
    from storage.tables import NudgeStateRow

    r, _cs, _send, ann, *_ = world
    out = read(r, ann, "remind me Monday", at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC))  # a Sunday
    assert "won't remind you before Mon 23 Nov 09:00" in text_of(out.card) and out.token is None
    r.s.expire_all()
    state = r.s.get(NudgeStateRow, ann.id)
    assert state is not None and state.snoozed_until == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    parsed = json.loads(CliRunner().invoke(main, ["parse", "remind me Monday", "--today", "2026-11-22", "--json"]).stdout)
    assert parsed["snooze"] is True and parsed["snooze_until"] == "2026-11-23T09:00:00+00:00" and parsed["target_date"] is None
    assert pendings(r.s) == []


def test_a_snooze_with_no_time_asks_when_and_changes_nothing(world):
    r, _cs, _send, ann, *_ = world
    out = read(r, ann, "remind me sometime")
    assert "When shall I remind you" in text_of(out.card) and out.token is None and pendings(r.s) == []


def test_a_bare_ref_asks_what_to_record_and_stores_no_confirmation(world):
    r, _cs, _send, ann, _bob, a24, *_ = world
    out = read(r, ann, "2.4")
    assert "What would you like to record for 2.4?" in text_of(out.card)
    assert out.token is None and pendings(r.s) == [] and Verb.CONFIRM not in verbs(out.card)
    assert history(r.s, a24) == []
