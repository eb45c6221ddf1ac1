"""The inbox's group commit (issue 12): updates that arrive together share one
transaction, and an idle chat's update is handled in the transaction that stores it.
Whatever fails on the way is stored as it came and handled by the chat's worker: it is
never lost, never confirmed before it is committed, and each chat's order holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from flows.domain import OutboxItem
from flows.inbox import DatabaseUnavailable, Handled, Inbox
from flows.outbox import OutboxRelay
from flows.ports import UnitOfWork
from flows.service import Outcome
from storage.database import Database
from storage.models import InboxRow, OutboxRow
from tests.service.test_inbox import entry, make_inbox, settle, stored_texts, waiting

pytestmark = pytest.mark.usefixtures("backend")


class Transactions:
    """The inbox's unit-of-work factory, counting the transactions it opens."""

    def __init__(self, inbox: Inbox) -> None:
        self.count = 0
        real = inbox.uow_factory

        def counted() -> Any:
            self.count += 1
            return real()

        inbox.uow_factory = counted


async def inbox_rows(database: Database) -> list[tuple[str, bool, Any]]:
    """(update id, handled, payload) of every inbox row."""
    async with database.engine.connect() as conn:
        rows = await conn.execute(select(InboxRow.update_id, InboxRow.processed_at, InboxRow.payload).order_by(InboxRow.id))
        return [(u, p is not None, payload) for u, p, payload in rows]


async def test_an_idle_chats_update_is_stored_and_handled_in_one_transaction(database: Database) -> None:
    inbox, channel = make_inbox(database)
    transactions = Transactions(inbox)
    await inbox.receive("telegram", [entry(1, "500")])
    assert transactions.count == 1, "stored, handled and its replies written in one commit"
    assert await stored_texts(database) == {"500": ["1"]}
    # the row is kept only to recognise a re-delivery: handled, without the payload
    assert await inbox_rows(database) == [("1", True, {})]
    await asyncio.sleep(0.01)  # the channel hears of it after the commit
    assert channel.seen == [("500", "1")]
    await inbox.close()


async def test_updates_arriving_together_share_one_commit(database: Database) -> None:
    inbox, channel = make_inbox(database)
    transactions = Transactions(inbox)
    await asyncio.gather(*(inbox.receive("telegram", [entry(i, f"51{i}")]) for i in range(8)))
    assert transactions.count == 1
    assert sorted(await stored_texts(database)) == [f"51{i}" for i in range(8)]
    assert await waiting(database) == 0
    await asyncio.sleep(0.01)
    assert sorted(channel.seen) == sorted((f"51{i}", str(i)) for i in range(8))
    await inbox.close()


async def test_a_redelivered_update_is_not_handled_again(database: Database) -> None:
    inbox, channel = make_inbox(database)
    await inbox.receive("telegram", [entry(1, "520")])
    await inbox.receive("telegram", [entry(1, "520")])  # Telegram did not see the 200
    await asyncio.gather(inbox.receive("telegram", [entry(2, "520")]), inbox.receive("telegram", [entry(2, "520")]))
    await settle(inbox)
    assert await stored_texts(database) == {"520": ["1", "2"]}
    assert channel.seen == [("520", "1"), ("520", "2")]
    await inbox.close()


async def test_several_updates_of_one_chat_in_one_group_keep_their_order(database: Database) -> None:
    inbox, channel = make_inbox(database)
    await asyncio.gather(*(inbox.receive("telegram", [entry(i, "530")]) for i in (3, 1, 2)))
    await settle(inbox)
    assert await stored_texts(database) == {"530": ["1", "2", "3"]}
    assert channel.seen == [("530", "1"), ("530", "2"), ("530", "3")]
    await inbox.close()


async def test_an_update_behind_older_waiting_ones_waits_for_them(database: Database) -> None:
    """A dead process left entries of the chat unhandled (its lease still running): the
    new update is not handled before them, whatever this process knows."""
    dead, _ = make_inbox(database, owner="dead", lease=0.3, inline=False)
    dead.service.handle = _never  # type: ignore[method-assign]
    await dead.receive("telegram", [entry(1, "540"), entry(2, "540")])
    await asyncio.sleep(0.05)
    for worker in list(dead._workers.values()):  # kill -9
        worker.cancel()
    inbox, channel = make_inbox(database, owner="alive")
    transactions = Transactions(inbox)
    await inbox.receive("telegram", [entry(3, "540")])
    assert await inbox_rows(database) == [("1", False, {"text": "快递一直没到"}), ("2", False, {"text": "快递一直没到"}),
                                          ("3", False, {"text": "快递一直没到"})]  # fmt: skip
    assert transactions.count == 1
    await asyncio.sleep(0.35)  # the dead process's lease runs out: the sweep takes the chat
    await settle(inbox)
    assert await stored_texts(database) == {"540": ["1", "2", "3"]}
    await inbox.close()


async def _never(*args: Any, **kwargs: Any) -> Outcome:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def test_handling_that_fails_on_arrival_leaves_the_update_to_the_worker(database: Database) -> None:
    inbox, channel = make_inbox(database)
    real = inbox.service.handle_in
    calls = 0

    async def fails_once(*args: Any, **kwargs: Any) -> Outcome:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("a bug in handling")
        return await real(*args, **kwargs)

    inbox.service.handle_in = fails_once  # type: ignore[method-assign]
    await inbox.receive("telegram", [entry(1, "550"), entry(2, "551")])  # stored all the same (the 200 may go)
    await settle(inbox)
    assert await stored_texts(database) == {"550": ["1"], "551": ["2"]}
    assert await waiting(database) == 0
    assert sorted(channel.seen) == [("550", "1"), ("551", "2")]
    await inbox.close()


async def test_an_outage_while_handling_on_arrival_still_stores_the_update(database: Database) -> None:
    inbox, channel = make_inbox(database)
    real = inbox.service.handle_in
    failed = False

    async def outage_once(*args: Any, **kwargs: Any) -> Outcome:
        nonlocal failed
        if not failed:
            failed = True
            raise ConnectionResetError("connection to the database lost")
        return await real(*args, **kwargs)

    inbox.service.handle_in = outage_once  # type: ignore[method-assign]
    await inbox.receive("telegram", [entry(1, "560")])
    await settle(inbox)
    assert await stored_texts(database) == {"560": ["1"]}
    await inbox.close()


async def test_without_delivery_the_caller_gets_what_was_handled(database: Database) -> None:
    inbox, channel = make_inbox(database)
    inbox.reply_claim = timedelta(seconds=15)  # as in production: the replies are claimed for sending at once
    handled = await inbox.receive("telegram", [entry(1, "570"), entry(2, "571", ignore=True)], deliver=False)
    assert [h.entry.update_id for h in handled] == ["1"], "an update that needs nothing has nothing to deliver"
    assert isinstance(handled[0], Handled) and handled[0].outcome.replies and handled[0].outcome.claimed
    await asyncio.sleep(0.01)
    assert channel.seen == [], "the caller delivers"
    await inbox.deliver(handled[0])
    assert channel.seen == [("570", "1")]
    await inbox.close()


async def test_while_a_chat_is_worked_on_its_new_update_queues_behind(database: Database) -> None:
    inbox, channel = make_inbox(database)
    gate = asyncio.Event()
    real = inbox.service.handle

    async def held(*args: Any, **kwargs: Any) -> Outcome:
        await gate.wait()
        return await real(*args, **kwargs)

    inbox.service.handle = held  # type: ignore[method-assign]
    inbox.inline = False
    await inbox.receive("telegram", [entry(1, "580")])  # its worker waits at the gate
    inbox.inline = True
    await inbox.receive("telegram", [entry(2, "580")])  # not handled on arrival: the chat is busy here
    assert await stored_texts(database) == {}
    gate.set()
    await settle(inbox)
    assert await stored_texts(database) == {"580": ["1", "2"]}
    await inbox.close()


class Marks:
    """A relay whose sender delivers nothing, to see where its sent marks are written."""

    def __init__(self, database: Database) -> None:
        self.relay = OutboxRelay(database.unit_of_work, "telegram", self, lambda: datetime.now(UTC), mark_delay=30.0)

    async def send(self, item: OutboxItem) -> None:
        return None


async def test_the_relays_sent_marks_ride_with_the_next_arrivals(database: Database) -> None:
    inbox, channel = make_inbox(database)
    marks = Marks(database)
    inbox.ride_along(marks.relay.write_marks)
    handled = await inbox.receive("telegram", [entry(1, "590")], deliver=False)
    await marks.relay.deliver(handled[0].outcome.replies)  # sent; the mark waits (30 s batches)
    assert await _statuses(database) == {"pending"}
    transactions = Transactions(inbox)
    await inbox.receive("telegram", [entry(2, "591")], deliver=False)
    assert transactions.count == 1
    sent = [i.id for i in handled[0].outcome.replies]
    assert await _statuses(database, sent) == {"sent"}, "marked in the arrivals' transaction"
    await inbox.close()
    await marks.relay.close()


async def test_a_mark_that_could_not_ride_is_written_later(database: Database) -> None:
    inbox, _ = make_inbox(database)
    marks = Marks(database)
    marks.relay.mark_delay = 0.01
    inbox.ride_along(marks.relay.write_marks)
    handled = await inbox.receive("telegram", [entry(1, "600")], deliver=False)
    await marks.relay.deliver(handled[0].outcome.replies)

    def broken() -> UnitOfWork:
        raise ConnectionResetError("database gone")

    real = inbox.uow_factory
    inbox.uow_factory = broken  # type: ignore[assignment]
    with pytest.raises(DatabaseUnavailable):
        await inbox.receive("telegram", [entry(2, "601")])
    inbox.uow_factory = real
    for _ in range(100):
        await asyncio.sleep(0.01)
        if await _statuses(database) == {"sent"}:
            break
    assert await _statuses(database) == {"sent"}
    await inbox.close()
    await marks.relay.close()


async def _statuses(database: Database, ids: list[int | None] | None = None) -> set[str]:
    async with database.engine.connect() as conn:
        query = select(OutboxRow.status).where(OutboxRow.channel == "telegram")
        if ids is not None:
            query = query.where(OutboxRow.id.in_(ids))
        return {s for (s,) in await conn.execute(query)}



async def test_what_a_caller_that_gave_up_would_have_delivered_is_delivered(database: Database) -> None:
    """A webhook request dropped while its update was being committed: the update is
    committed and handled all the same, and the inbox delivers its replies itself."""
    inbox, channel = make_inbox(database)
    caller = asyncio.create_task(inbox.receive("telegram", [entry(1, "610")], deliver=False))
    await asyncio.sleep(0)  # it waits for the group commit
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    for _ in range(100):
        await asyncio.sleep(0.01)
        if channel.seen:
            break
    assert channel.seen == [("610", "1")]
    assert await stored_texts(database) == {"610": ["1"]}
    await inbox.close()


async def test_a_stop_refuses_what_it_could_not_commit(database: Database) -> None:
    inbox, _ = make_inbox(database)
    gate = asyncio.Event()
    real = inbox._commit_group

    async def stuck(group: Any) -> Any:
        await gate.wait()
        return await real(group)

    inbox._commit_group = stuck  # type: ignore[method-assign]
    first = asyncio.create_task(inbox.receive("telegram", [entry(1, "620")]))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(inbox.receive("telegram", [entry(2, "621")]))  # waits behind the first group
    await asyncio.sleep(0.01)
    await inbox.close(timeout=0.05)  # the commit under way cannot finish in time: it is cancelled
    for caller in (first, second):
        with pytest.raises(DatabaseUnavailable):
            await asyncio.wait_for(caller, 1)  # refused (the platform keeps it), never left waiting
