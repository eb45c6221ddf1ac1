"""Repositories on a real SQLite file and on PostgreSQL (schema from the migrations)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.domain import (
    Attachment,
    Conversation,
    ConversationState,
    Draft,
    MessageRecord,
    OutboxItem,
    Severity,
    Ticket,
    TicketEvent,
    TicketState,
)
from storage.database import Database

pytestmark = pytest.mark.usefixtures("backend")

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def _customer(db: Database, external_id: str = "42") -> int:
    async with db() as uow:
        customer = await uow.customers.get_or_create("telegram", external_id, "Li Lei", "zh")
        await uow.commit()
    assert customer.id is not None
    return customer.id


def _ticket(customer_id: int, conversation_id: int, severity: Severity = Severity.GENERAL) -> Ticket:
    return Ticket(
        id=None, number=None, customer_id=customer_id, conversation_id=conversation_id,
        channel="telegram", chat_id="42", category="delivery", severity=severity,
        description="快递一周没到", photos=[Attachment("photo", "file-1", width=800, height=600)],
        classification={"category": "delivery"}, created_at=NOW, updated_at=NOW,
        first_response_due=NOW + timedelta(hours=2),
    )


async def test_customer_is_created_once_and_updated(database: Database) -> None:
    first = await _customer(database)
    async with database() as uow:
        again = await uow.customers.get_or_create("telegram", "42", "Li Lei (new name)", "en")
        again.language = "en"
        await uow.customers.save(again)
        await uow.commit()
    assert again.id == first
    async with database() as uow:
        stored = await uow.customers.get(first)
    assert stored is not None and stored.display_name == "Li Lei (new name)" and stored.language == "en"


async def test_conversation_roundtrip_and_active_lookup(database: Database) -> None:
    customer_id = await _customer(database)
    draft = Draft(description="送错了", photos=[Attachment("photo", "f1", mime_type="image/jpeg")], order_number="A1")
    async with database() as uow:
        conv = await uow.conversations.add(Conversation(
            id=None, customer_id=customer_id, channel="telegram", chat_id="42",
            state=ConversationState.REVIEWING, step=5, draft=draft, created_at=NOW, updated_at=NOW))
        await uow.commit()
    async with database() as uow:
        loaded = await uow.conversations.active_for_chat("telegram", "42")
        assert loaded is not None and loaded.id == conv.id
        assert loaded.draft == draft and loaded.step == 5 and loaded.state is ConversationState.REVIEWING
        assert loaded.created_at == NOW
        loaded.state = ConversationState.CANCELLED
        await uow.conversations.save(loaded)
        await uow.commit()
    async with database() as uow:
        assert await uow.conversations.active_for_chat("telegram", "42") is None
        assert (await uow.conversations.get(conv.id or 0)).state is ConversationState.CANCELLED  # type: ignore[union-attr]


async def test_newest_active_conversation_wins(database: Database) -> None:
    customer_id = await _customer(database)
    async with database() as uow:
        for state in (ConversationState.WITH_AGENT, ConversationState.DESCRIBING):
            await uow.conversations.add(Conversation(None, customer_id, "telegram", "42", state, created_at=NOW, updated_at=NOW))
        await uow.commit()
    async with database() as uow:
        conv = await uow.conversations.active_for_chat("telegram", "42")
    assert conv is not None and conv.state is ConversationState.DESCRIBING


async def test_ticket_numbering_roundtrip_and_queue_order(database: Database) -> None:
    customer_id = await _customer(database)
    async with database() as uow:
        conv = await uow.conversations.add(Conversation(None, customer_id, "telegram", "42", created_at=NOW, updated_at=NOW))
        general = await uow.tickets.add(_ticket(customer_id, conv.id or 0))
        hot = await uow.tickets.add(_ticket(customer_id, conv.id or 0, Severity.HOT))
        claimed = await uow.tickets.add(_ticket(customer_id, conv.id or 0, Severity.MAJOR))
        claimed.state, claimed.owner_id = TicketState.CLAIMED, "U1"
        await uow.tickets.save(claimed)
        await uow.commit()
    assert general.number == f"T{general.id:06d}"
    async with database() as uow:
        loaded = await uow.tickets.by_number(general.number or "")
        queue = await uow.tickets.unclaimed()
        mine = await uow.tickets.for_customer(customer_id)
        counts = await uow.tickets.count_by_state()
    assert loaded is not None
    assert loaded.photos == [Attachment("photo", "file-1", width=800, height=600)]
    assert loaded.first_response_due == NOW + timedelta(hours=2)
    assert loaded.severity is Severity.GENERAL and loaded.state is TicketState.NEW
    assert [t.id for t in queue] == [hot.id, general.id]
    assert [t.id for t in mine] == [claimed.id, hot.id, general.id]
    assert counts == {TicketState.NEW: 2, TicketState.CLAIMED: 1}


async def test_messages_keep_edit_history(database: Database) -> None:
    async with database() as uow:
        await uow.messages.add(MessageRecord("in", "telegram", "42", "text", "原文", platform_message_id="m1", created_at=NOW))
        await uow.commit()
    async with database() as uow:
        edited = await uow.messages.edit("telegram", "42", "m1", "改过的", NOW + timedelta(minutes=1))
        missing = await uow.messages.edit("telegram", "42", "nope", "x", NOW)
        await uow.commit()
    assert edited is not None and edited.text == "改过的"
    assert edited.data == {"previous_texts": [{"text": "原文", "until": (NOW + timedelta(minutes=1)).isoformat()}]}
    assert missing is None


async def test_events_are_kept_in_order(database: Database) -> None:
    customer_id = await _customer(database)
    async with database() as uow:
        conv = await uow.conversations.add(Conversation(None, customer_id, "telegram", "42", created_at=NOW, updated_at=NOW))
        t = await uow.tickets.add(_ticket(customer_id, conv.id or 0))
        for kind in ("created", "claim", "resolve"):
            await uow.events.add(TicketEvent(t.id or 0, kind, "U1", "new", "claimed", {"k": kind}, NOW))
        await uow.commit()
    async with database() as uow:
        events = await uow.events.for_ticket(t.id or 0)
    assert [e.kind for e in events] == ["created", "claim", "resolve"]
    assert events[0].data == {"k": "created"}


async def test_outbox_pending_order_retry_and_sent(database: Database) -> None:
    async with database() as uow:
        ids = []
        for n, target in enumerate(["a", "b", "a"]):
            item = await uow.outbox.add(OutboxItem(None, "telegram", target, "reply", {"text": f"m{n}"}, created_at=NOW, next_attempt_at=NOW))
            ids.append(item.id)
        await uow.commit()
    async with database() as uow:
        assert [i.payload["text"] for i in await uow.outbox.pending("telegram", "a")] == ["m0", "m2"]
        await uow.outbox.mark_retry(ids[0] or 0, "503", NOW + timedelta(seconds=30))
        await uow.outbox.mark_sent([ids[1] or 0], NOW)
        await uow.outbox.mark_failed(ids[2] or 0, "chat not found")
        await uow.commit()
    async with database() as uow:
        pending = await uow.outbox.pending("telegram")
    assert [(i.id, i.attempts, i.last_error) for i in pending] == [(ids[0], 1, "503")]
    assert pending[0].next_attempt_at == NOW + timedelta(seconds=30)


async def test_processed_updates_are_recorded_once(database: Database) -> None:
    async with database() as uow:
        assert await uow.updates.record("telegram", "1001")
        assert not await uow.updates.record("telegram", "1001")
        assert await uow.updates.record("slack", "1001")
        await uow.commit()
    async with database() as uow:
        assert not await uow.updates.record("telegram", "1001")


async def test_rollback_unless_committed(database: Database) -> None:
    async with database() as uow:
        uncommitted = await uow.customers.get_or_create("telegram", "77", "x", "zh")
        await uow.updates.record("telegram", "u-77")
    async with database() as uow:
        assert await uow.customers.get(uncommitted.id or 0) is None
        assert await uow.updates.record("telegram", "u-77"), "the rolled-back update id is not remembered"
