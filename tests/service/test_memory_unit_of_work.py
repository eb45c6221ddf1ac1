"""The in-memory unit of work keeps the SQL one's promises the service tests rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.domain import OutboxItem, Severity, Ticket, TicketState, Timer, TimerKind
from flows.ports import DuplicateUpdate
from tests.fakes.memory import MemoryDatabase

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def a_ticket(customer_id: int = 1, severity: Severity = Severity.GENERAL) -> Ticket:
    return Ticket(None, None, customer_id, None, "telegram", "100", "delivery", severity, created_at=NOW)


async def test_commit_keeps_and_rollback_or_leaving_forgets() -> None:
    db = MemoryDatabase()
    async with db() as uow:
        kept = await uow.tickets.add(a_ticket())
        await uow.commit()
    async with db() as uow:
        await uow.tickets.add(a_ticket())
        await uow.updates.record("telegram", "u1")
        await uow.rollback()
    async with db() as uow:
        await uow.tickets.add(a_ticket())  # left without commit
    async with db() as uow:
        assert [t.number for t in await uow.tickets.for_customer(1)] == [kept.number] == ["T000001"]
        assert await uow.updates.record("telegram", "u1"), "the rolled-back record is gone"


async def test_a_row_read_is_a_copy_until_saved() -> None:
    db = MemoryDatabase()
    async with db() as uow:
        ticket = await uow.tickets.add(a_ticket())
        ticket.state = TicketState.CLAIMED  # not saved
        assert ticket.id is not None
        stored = await uow.tickets.get(ticket.id)
        assert stored is not None and stored.state is TicketState.NEW
        stored.severity = Severity.HOT
        await uow.tickets.save(stored)
        await uow.commit()
    async with db() as uow:
        again = await uow.tickets.get(stored.id or 0)
        assert again is not None and again.severity is Severity.HOT and again.state is TicketState.NEW


async def test_queues_are_most_severe_then_oldest_and_a_customer_s_newest_first() -> None:
    db = MemoryDatabase()
    async with db() as uow:
        for severity in (Severity.GENERAL, Severity.HOT, Severity.IMPORTANT, Severity.HOT):
            await uow.tickets.add(a_ticket(severity=severity))
        assert [t.id for t in await uow.tickets.unclaimed()] == [2, 4, 3, 1]
        assert [t.id for t in await uow.tickets.for_customer(1, limit=2)] == [4, 3]


async def test_a_second_record_of_an_update_is_refused() -> None:
    db = MemoryDatabase()
    async with db() as uow:
        assert await uow.updates.record("telegram", "u1")
        assert not await uow.updates.record("telegram", "u1")
        await uow.commit()


async def test_a_recorded_update_seen_at_commit_is_a_duplicate() -> None:
    db = MemoryDatabase()
    uow = db()
    async with uow:
        await uow.updates.record("telegram", "u1")
        db.tables.updates[("telegram", "u1")] = NOW  # as if another transaction had committed it
        with pytest.raises(DuplicateUpdate):
            await uow.commit()


async def test_outbox_claims_per_chat_in_order_and_leases() -> None:
    db = MemoryDatabase()
    lease = NOW + timedelta(seconds=30)
    async with db() as uow:
        items = [OutboxItem(None, "telegram", chat, "reply", {"text": str(n)}, created_at=NOW) for n, chat in enumerate("aab")]
        await uow.outbox.add_all(items)
        await uow.outbox.mark_retry(items[0].id or 0, "down", NOW + timedelta(minutes=1))
        taken = await uow.outbox.claim("telegram", None, NOW, lease)
        assert [i.target for i in taken] == ["b"], "chat a waits for its first item"
        assert await uow.outbox.claim("telegram", None, NOW, lease) == [], "claimed items are leased"
        await uow.outbox.release([taken[0].id or 0], NOW)
        await uow.outbox.mark_sent([taken[0].id or 0], NOW)
        await uow.outbox.renew([taken[0].id or 0], lease)  # sent: left alone
        assert [i.payload["text"] for i in await uow.outbox.pending("telegram")] == ["0", "1"]
        assert not await uow.outbox.has_pending("telegram", "b")


async def test_timers_due_by_reminder_or_deadline_most_urgent_first() -> None:
    db = MemoryDatabase()
    async with db() as uow:
        late = Timer(None, 1, TimerKind.RESOLUTION, NOW + timedelta(hours=5), remind_at=NOW - timedelta(minutes=1))
        soon = Timer(None, 1, TimerKind.FIRST_RESPONSE, NOW - timedelta(minutes=5))
        await uow.timers.add_all([late, soon])
        assert (await uow.timers.next_due(NOW)) == await uow.timers.lock_if_due(soon.id or 0, NOW)
        assert (await uow.timers.next_due(NOW, exclude=[soon.id or 0])).kind is TimerKind.RESOLUTION  # type: ignore[union-attr]
        await uow.timers.finish(1, [TimerKind.FIRST_RESPONSE], NOW)
        assert await uow.timers.lock_if_due(soon.id or 0, NOW) is None
        assert [t.kind for t in await uow.timers.open_for_ticket(1)] == [TimerKind.RESOLUTION]


async def test_leases_are_taken_when_free_expired_or_one_s_own() -> None:
    db = MemoryDatabase()
    async with db() as uow:
        assert await uow.leases.take(["x", "y"], "a", NOW, NOW + timedelta(seconds=10)) == {"x", "y"}
        assert await uow.leases.take(["x"], "b", NOW, NOW + timedelta(seconds=10)) == set()
        later = NOW + timedelta(seconds=11)
        assert await uow.leases.take(["x"], "b", later, later + timedelta(seconds=10)) == {"x"}
        assert await uow.leases.holder("x", later) == "b" and await uow.leases.holder("y", later) is None


async def test_a_transaction_inside_another_is_refused_not_a_hang() -> None:
    db = MemoryDatabase()
    async with db():
        with pytest.raises(RuntimeError, match="second transaction"):
            async with db():
                pass
