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
    assert ThreadMessage.from_event({**event, "subtype": "file_share", "files": [{}]}, "Ev1").has_files  # type: ignore[union-attr]


def test_a_button_press_names_its_ticket() -> None:
    body = {"actions": [{"action_id": "ticket_claim", "value": "42"}], "user": {"id": "U1"}, "channel": {"id": "C1"}, "trigger_id": "t"}
    assert ButtonPress.from_body(body) == ButtonPress("ticket_claim", 42, "U1", "C1", "t")
    assert ButtonPress.from_body({**body, "actions": [{"action_id": "ticket_claim", "value": "x"}]}).ticket_id is None


def test_a_modal_submission_names_its_ticket_or_is_ignored() -> None:
    values = {"note": {"text": {"type": "plain_text_input", "value": "done"}}}
    body = {"user": {"id": "U1"}, "view": {"callback_id": "ticket_resolve_view", "private_metadata": "42", "state": {"values": values}}}
    assert ModalSubmission.from_body(body) == ModalSubmission("ticket_resolve_view", 42, "U1", values)
    assert ModalSubmission.from_body({**body, "view": {"private_metadata": ""}}) is None
