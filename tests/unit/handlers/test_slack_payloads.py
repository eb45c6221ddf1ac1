"""Slack's untyped payloads become small dataclasses at the edge (handlers/slack/desk.py)."""

from __future__ import annotations

from handlers.slack import ButtonPress, ModalSubmission, ThreadMessage


def test_only_a_persons_new_message_in_a_thread_is_a_thread_message() -> None:
    event = {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "2.0", "thread_ts": "1.0"}
    message = ThreadMessage.from_event(event, "Ev1")
    assert message == ThreadMessage("C1", "2.0", "1.0", "U1", "hi", False, "Ev1")
    assert ThreadMessage.from_event({**event, "thread_ts": None}, "Ev1") is None  # not in a thread
    assert ThreadMessage.from_event({**event, "bot_id": "B1"}, "Ev1") is None
    assert ThreadMessage.from_event({**event, "subtype": "message_changed"}, "Ev1") is None
    assert ThreadMessage.from_event({**event, "subtype": "channel_join"}, "Ev1") is None
    assert ThreadMessage.from_event({**event, "subtype": "file_share", "files": [{}]}, "Ev1").has_files  # type: ignore[union-attr]


def test_an_edit_of_a_thread_message_is_a_thread_message_of_its_own() -> None:
    """Kept once per edit: the message's channel and ts, and the edit's time."""
    before = {"type": "message", "user": "U1", "text": "refund 50", "ts": "2.0", "thread_ts": "1.0"}
    after = {**before, "text": "refund 500", "edited": {"user": "U1", "ts": "3.0"}}
    event = {"type": "message", "subtype": "message_changed", "channel": "C1", "message": after, "previous_message": before, "ts": "3.0"}
    edit = ThreadMessage.from_event(event, "Ev2")
    assert edit == ThreadMessage("C1", "2.0", "1.0", "U1", "refund 500", False, "Ev2", edited="3.0")
    new = ThreadMessage.from_event({**before, "channel": "C1"}, "Ev1")
    assert new is not None and edit is not None
    assert new.update_key == "message:C1:2.0" and edit.update_key == "message:C1:2.0:edited:3.0"
    unfurled = {**event, "message": {**before, "attachments": [{}]}}  # a link preview, no "edited"
    assert ThreadMessage.from_event(unfurled, "Ev3") is None
    same_text = {**event, "message": {**before, "edited": {"ts": "3.0"}}}
    assert ThreadMessage.from_event(same_text, "Ev4") is None
    by_a_bot = {**event, "message": {**after, "bot_id": "B1"}}
    assert ThreadMessage.from_event(by_a_bot, "Ev5") is None
    not_in_a_thread = {**event, "message": {**after, "thread_ts": None}}
    assert ThreadMessage.from_event(not_in_a_thread, "Ev6") is None


def test_a_button_press_names_its_ticket() -> None:
    body = {"actions": [{"action_id": "ticket_claim", "value": "42"}], "user": {"id": "U1"}, "channel": {"id": "C1"}, "trigger_id": "t"}
    assert ButtonPress.from_body(body) == ButtonPress("ticket_claim", 42, "U1", "C1", "t")
    assert ButtonPress.from_body({**body, "actions": [{"action_id": "ticket_claim", "value": "x"}]}).ticket_id is None


def test_a_modal_submission_names_its_ticket_or_is_ignored() -> None:
    values = {"note": {"text": {"type": "plain_text_input", "value": "done"}}}
    body = {"user": {"id": "U1"}, "view": {"callback_id": "ticket_resolve_view", "private_metadata": "42", "state": {"values": values}}}
    assert ModalSubmission.from_body(body) == ModalSubmission("ticket_resolve_view", 42, "U1", values)
    assert ModalSubmission.from_body({**body, "view": {"private_metadata": ""}}) is None
