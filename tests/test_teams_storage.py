"""Teams conversation references: saved, refreshed without losing what is known, found by
conversation id, Teams user id or Entra object id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from storage import teams as refs

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_a_reference_is_saved_then_refreshed_keeping_what_is_known(session: Session):
    refs.save_reference(session, conversation_id="a:1", kind="personal", service_url="https://smba.example/uk/", tenant_id="t1",
                        user_id="29:ann", aad_object_id="aad-ann", user_name="Ann Lead", timezone="Europe/London", now=NOW)
    session.commit()
    row = refs.save_reference(session, conversation_id="a:1", service_url="https://smba.example/emea/", user_name="", timezone=None,
                              now=NOW + timedelta(days=1))
    session.commit()
    assert (row.service_url, row.user_name, row.timezone, row.tenant_id) == ("https://smba.example/emea/", "Ann Lead", "Europe/London", "t1")
    assert row.updated_at == NOW + timedelta(days=1) and row.created_at == NOW
    assert refs.find_reference(session, "29:ann") == row
    assert refs.find_reference(session, "aad-ann") == row
    assert refs.find_reference(session, "a:1") == row
    assert refs.find_reference(session, "29:nobody") is None


def test_a_channel_is_found_by_its_conversation_id_and_an_uninstalled_chat_comes_last(session: Session):
    refs.save_reference(session, conversation_id="19:chan@thread.tacv2", kind="channel", service_url="https://smba.example/", tenant_id="t1",
                        team_id="19:team@thread.tacv2", channel_name="Leadership", now=NOW)
    old = refs.save_reference(session, conversation_id="a:old", kind="personal", service_url="https://s/", tenant_id="t1", user_id="29:bo", now=NOW)
    refs.save_reference(session, conversation_id="a:new", kind="personal", service_url="https://s/", tenant_id="t1", user_id="29:bo",
                        now=NOW - timedelta(days=3))
    refs.mark_uninstalled(session, conversation_id="a:old", now=NOW)
    session.commit()
    assert refs.find_reference(session, "19:chan@thread.tacv2").channel_name == "Leadership"  # type: ignore[union-attr]
    assert refs.find_reference(session, "29:bo").conversation_id == "a:new"  # type: ignore[union-attr]
    assert old.installed is False
    assert refs.any_reference_for_tenant(session, "t1") is not None and refs.any_reference_for_tenant(session, "t2") is None


def test_an_unknown_field_is_refused(session: Session):
    with pytest.raises(TypeError, match="unknown reference fields"):
        refs.save_reference(session, conversation_id="x", service_url="s", colour="blue", now=NOW)
