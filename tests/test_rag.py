from datetime import date, timedelta

import pytest

from bot.domain.model import ActionSnapshot, Rag, RagScheme, Status
from bot.domain.rag import RAG_KEYS, compare_rag, disagreement, rag_key, suggest_rag

TODAY = date(2026, 3, 10)


def act(status=Status.IN_PROGRESS, rag=None, target=date(2026, 6, 30), revised=None):
    return ActionSnapshot(
        id=1, plan_id=1, ref="1.1", text="Do a thing", status=status, rag=rag,
        original_target=target, revised_target=revised,
    )


def suggest(a, scheme=RagScheme.BRAG, days=14):
    return suggest_rag(a, today=TODAY, scheme=scheme, due_soon_days=days)


def test_signed_off_is_blue_under_brag_and_green_under_rag():
    assert suggest(act(Status.SIGNED_OFF)).rag is Rag.BLUE
    assert suggest(act(Status.SIGNED_OFF), RagScheme.RAG).rag is Rag.GREEN


def test_signed_off_past_target_is_still_blue():
    assert suggest(act(Status.SIGNED_OFF, target=date(2025, 1, 1))).rag is Rag.BLUE


def test_complete_awaiting_signoff_is_green_not_blue():
    s = suggest(act(Status.COMPLETE, rag=Rag.BLUE, target=date(2025, 1, 1)))
    assert s.rag is Rag.GREEN
    assert "sign-off" in s.reasons[0]
    # an officer reporting Blue before sign-off disagrees with the rules
    assert disagreement(Rag.BLUE, s.rag)


def test_cancelled_has_no_rating_and_on_hold_is_amber():
    assert suggest(act(Status.CANCELLED, rag=Rag.RED)).rag is None
    assert suggest(act(Status.ON_HOLD)).rag is Rag.AMBER
    assert suggest(act(Status.ON_HOLD, target=date(2025, 1, 1))).rag is Rag.AMBER


@pytest.mark.parametrize("status", [Status.NOT_STARTED, Status.IN_PROGRESS])
def test_open_past_target_is_red_whatever_was_reported(status):
    s = suggest(act(status, rag=Rag.GREEN, target=date(2026, 3, 9)))
    assert s.rag is Rag.RED
    assert s.reasons == ("1 day past its target date of 9 Mar 2026",)


def test_due_on_the_day_is_not_yet_late():
    assert suggest(act(target=TODAY)).rag is Rag.GREEN


def test_past_revised_target_is_red_even_if_original_is_later():
    a = act(target=date(2026, 12, 1), revised=date(2026, 3, 1))
    assert suggest(a).rag is Rag.RED


def test_rebaselined_is_at_least_amber():
    a = act(rag=Rag.GREEN, target=date(2026, 3, 31), revised=date(2026, 9, 30))
    s = suggest(a)
    assert s.rag is Rag.AMBER
    assert "31 Mar 2026" in s.reasons[0] and "30 Sep 2026" in s.reasons[0]
    # a worse reported rating is kept
    assert suggest(act(rag=Rag.RED, target=date(2026, 3, 31), revised=date(2026, 9, 30))).rag is Rag.RED


def test_revised_equal_to_original_is_not_rebaselined():
    assert suggest(act(target=date(2026, 9, 30), revised=date(2026, 9, 30))).rag is Rag.GREEN


def test_not_started_near_target_is_amber_but_in_progress_is_not():
    near = date(2026, 3, 24)  # 14 days away
    assert suggest(act(Status.NOT_STARTED, target=near)).rag is Rag.AMBER
    assert suggest(act(Status.IN_PROGRESS, target=near)).rag is Rag.GREEN
    assert suggest(act(Status.NOT_STARTED, target=date(2026, 3, 25))).rag is Rag.GREEN
    assert suggest(act(Status.NOT_STARTED, target=date(2026, 3, 25)), days=15).rag is Rag.AMBER


def test_no_target_gives_reported_or_nothing():
    assert suggest(act(target=None)).rag is None
    assert suggest(act(target=None, rag=Rag.AMBER)).rag is Rag.AMBER
    # an open action is never Blue
    assert suggest(act(target=None, rag=Rag.BLUE)).rag is Rag.GREEN


def test_open_on_time_keeps_worse_reported_rating():
    assert suggest(act(rag=Rag.AMBER)).rag is Rag.AMBER
    assert suggest(act(rag=Rag.RED)).rag is Rag.RED
    assert suggest(act(rag=Rag.BLUE)).rag is Rag.GREEN


def test_disagreement_needs_both_sides():
    assert not disagreement(None, Rag.RED)
    assert not disagreement(Rag.RED, None)
    assert not disagreement(Rag.RED, Rag.RED)
    assert disagreement(Rag.GREEN, Rag.RED)


def test_compare_shows_both_and_why():
    c = compare_rag(act(rag=Rag.GREEN, target=date(2026, 2, 26)), today=TODAY, scheme=RagScheme.BRAG)
    assert c.disagrees
    assert c.summary.startswith("reported Green, rules say Red: 12 days past its target date of 26 Feb 2026")


def test_rag_keys():
    assert [rag_key(r) for r in (Rag.BLUE, Rag.GREEN, Rag.AMBER, Rag.RED, None)] == list(RAG_KEYS)


def test_suggested_rag_and_shown_rag_agree_with_the_worded_rules_everywhere():
    """The digest's reason-less shortcuts give the same rating as rule_rag / shown_rating for
    every status, reported rating, target shape, scheme and window around the target."""
    from itertools import product

    from bot.domain.rag import rule_rag, shown_rag, shown_rating, suggested_rag

    today = date(2026, 3, 13)
    days = [None, *(today + timedelta(days=k) for k in (-30, -1, 0, 1, 6, 7, 8, 13, 14, 15, 60))]
    checked = 0
    for status, reported, original, revised, scheme, near in product(
            list(Status), [None, *Rag], days, days, list(RagScheme), [0, 7, 14]):
        full = rule_rag(status, reported, original, revised, today=today, scheme=scheme, due_soon_days=near)
        assert suggested_rag(status, reported, original, revised, today=today, scheme=scheme, due_soon_days=near) == full.rag
        shown = shown_rating(reported, full)
        assert shown_rag(reported, full.rag) == (shown.rag, shown.suggested)
        checked += 1
    assert checked == 6 * 5 * 12 * 12 * 2 * 3
