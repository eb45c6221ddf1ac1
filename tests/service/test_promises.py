"""Service promises with controlled time (nothing sleeps): deadlines, reminders and
breaches once each, upgrades at 7 and 30 days, hot issues, follow-up, repeats (the
pure rules alone: tests/unit/flows/test_sla.py, test_grading.py, test_hot_issues.py).

On the in-memory unit of work; ``every_store`` ones also on SQLite and PostgreSQL, and
two schedulers on one database on the real databases only."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from flows import events as ev
from flows.domain import Actor, OutboxItem, Severity, TicketState, TimerKind
from flows.service import ComplaintService
from nlp import default_classifier
from storage.database import Database
from storage.models import OutboxRow
from tests.service.conftest import Clock, Customer, Store, every_store

ALICE = Actor("U1", "Alice", is_agent=True)
SUE = Actor("U9", "Sue", is_supervisor=True)


async def desk_items(
    store: Store, kind: str | None = None, event: Callable[[ev.DeskEvent], bool] | None = None
) -> list[OutboxItem]:
    """Pending desk items (of one delivery ``kind``), optionally only those whose event matches."""
    async with store() as uow:
        items = await uow.outbox.pending("desk", limit=1000)
    return [
        i for i in items
        if (kind is None or i.kind == kind) and (event is None or event(ev.decode(i.ticket_id, i.payload)))
    ]


def is_(cls: type[ev.DeskEvent], **fields: object) -> Callable[[ev.DeskEvent], bool]:
    """A desk event of ``cls`` with those field values."""
    return lambda e: isinstance(e, cls) and all(getattr(e, k) == v for k, v in fields.items())


async def submit(customer: Customer, text: str) -> str:
    """A complaint described and submitted without details: its number."""
    return (await customer.submit(text)).number


async def ticket(store: Store, number: str):  # type: ignore[no-untyped-def]
    async with store() as uow:
        found = await uow.tickets.by_number(number)
    assert found is not None
    return found


@every_store
async def test_a_reminder_and_a_breach_each_fire_once_even_after_a_restart(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock, make_service  # type: ignore[no-untyped-def]
) -> None:
    await customer.say("快递一直没到")
    await customer.command("human")
    number = customer.last.ticket.number  # type: ignore[union-attr]
    assert await service.run_due_timers() == 0, "nothing is due yet"
    clock.advance(hours=1, minutes=31)  # 75 % of the 2 h first-response promise
    await service.run_due_timers()
    reminders = await desk_items(store, "reminder")
    assert [r.payload["timer"] for r in reminders] == ["first_response"] and not reminders[0].payload["breached"]
    assert await service.run_due_timers() == 0, "a reminder goes out once"
    clock.advance(minutes=30)
    await service.run_due_timers()
    assert len(await desk_items(store, "ping", is_(ev.DeadlineMissedPing))) == 1
    restarted = make_service()  # a new process on the same store
    assert await restarted.run_due_timers() == 0
    assert len(await desk_items(store, "ping", is_(ev.DeadlineMissedPing))) == 1
    assert len(await desk_items(store, "reminder")) == 2  # the reminder and the breach notice
    # a kept promise stops its timer: claiming stops the first-response timer
    await service.claim(number, ALICE)
    t = await ticket(store, number)
    async with store() as uow:
        open_kinds = {tm.kind for tm in await uow.timers.open_for_ticket(t.id)}
    assert TimerKind.FIRST_RESPONSE not in open_kinds and TimerKind.RESOLUTION in open_kinds


async def test_an_unseen_ticket_is_handed_off_when_its_deadline_nears(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    number = await submit(customer, "衣服洗了一次就掉色了")
    assert (await ticket(store, number)).handoff_reason is None
    clock.advance(hours=1, minutes=31)
    await service.run_due_timers()
    assert (await ticket(store, number)).handoff_reason == "due_soon"
    assert [i.kind for i in await desk_items(store)] == ["ticket_card", "reminder"]


async def test_a_change_of_severity_recomputes_the_deadlines(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    await customer.say("快递一直没到")
    await customer.command("human")
    number = customer.last.ticket.number  # type: ignore[union-attr]
    created = (await ticket(store, number)).created_at
    await service.change_severity(number, ALICE, Severity.MAJOR)
    after = await ticket(store, number)
    assert after.first_response_due == created + timedelta(minutes=30)
    async with store() as uow:
        timers = {t.kind: t for t in await uow.timers.open_for_ticket(after.id)}
    assert timers[TimerKind.FIRST_RESPONSE].due_at == created + timedelta(minutes=30)
    assert TimerKind.UPGRADE_HOT not in timers and TimerKind.UPGRADE_MAJOR not in timers, "already major"
    clock.advance(minutes=31)
    await service.run_due_timers()
    assert len(await desk_items(store, "ping", is_(ev.DeadlineMissedPing))) == 1


@every_store
async def test_unresolved_tickets_are_upgraded_at_7_and_30_days(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    number = await submit(customer, "衣服洗了一次就掉色了")
    clock.advance(days=6, hours=23)
    await service.run_due_timers()
    assert (await ticket(store, number)).severity is Severity.GENERAL
    clock.advance(hours=1)
    await service.run_due_timers()
    upgraded = await ticket(store, number)
    assert upgraded.severity is Severity.HOT and upgraded.handoff_reason is not None
    pings = await desk_items(store, "ping", is_(ev.UpgradedPing, severity=Severity.HOT))
    assert len(pings) == 1
    assert ev.decode(pings[0].ticket_id, pings[0].payload) == ev.UpgradedPing(
        upgraded.id, severity=Severity.HOT, reason=ev.UpgradeReason.UNRESOLVED, days=7
    )
    clock.advance(days=23)
    await service.run_due_timers()
    assert (await ticket(store, number)).severity is Severity.MAJOR
    assert len(await desk_items(store, "ping", is_(ev.UpgradedPing, severity=Severity.MAJOR))) == 1
    async with store() as uow:
        kinds = [e.kind for e in await uow.events.for_ticket(upgraded.id)]
    assert kinds.count("auto_upgraded") == 2


async def test_a_ticket_resolved_in_time_is_not_upgraded(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    await customer.say("衣服洗了一次就掉色了")
    await customer.command("human")
    number = customer.last.ticket.number  # type: ignore[union-attr]
    await service.claim(number, ALICE)
    await service.resolve(number, ALICE, "换了新的")
    clock.advance(days=8)
    await service.run_due_timers()
    assert (await ticket(store, number)).severity is Severity.GENERAL


async def test_no_answer_to_the_follow_up_closes_the_ticket(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    await customer.say("快递员把包裹扔在门口")
    await customer.command("human")
    number = customer.last.ticket.number  # type: ignore[union-attr]
    await service.claim(number, ALICE)
    await service.resolve(number, ALICE, "已提醒快递员")
    clock.advance(days=2, hours=23)
    await service.run_due_timers()
    assert (await ticket(store, number)).state is TicketState.RESOLVED
    clock.advance(hours=1)
    await service.run_due_timers()
    closed = await ticket(store, number)
    assert closed.state is TicketState.CLOSED and closed.closed_at == clock.now
    async with store() as uow:
        replies = await uow.outbox.pending("telegram", customer.chat_id, limit=100)
        assert await uow.conversations.active_for_chat("telegram", customer.chat_id) is None
    assert "三天内没有收到您的回复" in replies[-1].payload["text"]


@every_store
async def test_a_low_rating_reopens_as_a_repeat_complaint_and_restarts_the_clock(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    await customer.say("快递员把包裹扔在门口")
    await customer.command("human")
    number = customer.last.ticket.number  # type: ignore[union-attr]
    await service.claim(number, ALICE)
    customer.receive((await service.resolve(number, ALICE)).replies)
    clock.advance(hours=5)
    await customer.press("已解决")
    await customer.press("1")
    reopened = await ticket(store, number)
    assert reopened.state is TicketState.REOPENED and reopened.severity is Severity.IMPORTANT
    assert reopened.first_response_due == clock.now + timedelta(hours=2)
    update = (await desk_items(store, "ticket_update"))[-1]
    assert update.payload["event"] == "reopened" and update.payload["owner"] == ALICE.id, "the owner is told"
    assert len(await desk_items(store, "ping", is_(ev.ReopenedPing, reason=ev.ReopenReason.LOW_RATING))) == 1
    async with store() as uow:
        kinds = {t.kind for t in await uow.timers.open_for_ticket(reopened.id)}
    assert TimerKind.FOLLOW_UP not in kinds and TimerKind.FIRST_RESPONSE in kinds


async def test_complaining_again_soon_after_a_closed_ticket_is_a_repeat_complaint(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    first = await submit(customer, "快递员把包裹扔在门口")
    await service.claim(first, ALICE)
    await service.resolve(first, ALICE)
    clock.advance(days=3, minutes=1)
    await service.run_due_timers()  # closed: no answer
    clock.advance(days=10)
    second = await submit(customer, "快递员又把包裹扔在门口了")
    again = await ticket(store, second)
    assert again.severity is Severity.IMPORTANT and again.handoff_reason == "severity"
    async with store() as uow:
        events = await uow.events.for_ticket(again.id)
    assert [e.data for e in events if e.kind == "repeat_complaint"] == [{"of": first}]


@every_store
async def test_three_customers_about_the_same_thing_are_one_hot_issue_pinged_once(
    service: ComplaintService, store: Store, clock: Clock
) -> None:
    numbers = []
    for n, text in enumerate([
        "在万达店买的蒙牛酸奶已经过期了",
        "蒙牛酸奶收到就是过期的，太让人失望了",
        "买的蒙牛酸奶过期好几天了",
        "蒙牛酸奶又是过期的",
    ]):
        clock.advance(days=2)
        numbers.append(await submit(Customer(service, chat_id=f"20{n}"), text))
    pings = await desk_items(store, "ping", is_(ev.HotIssuePing))
    assert len(pings) == 1, "one ping for the issue, none when the fourth joins"
    assert pings[0].payload["term"] in ("蒙牛", "酸奶") and pings[0].payload["tickets"] == numbers[:3]
    tickets = [await ticket(store, n) for n in numbers]
    assert all(t.severity is Severity.HOT and t.hot_issue_id == tickets[0].hot_issue_id is not None for t in tickets)
    assert all(t.handoff_reason for t in tickets), "hot tickets go to the desk"
    async with store() as uow:
        joined = await uow.events.for_ticket(tickets[3].id)
        first = await uow.events.for_ticket(tickets[0].id)
    assert [e.data["reason"] for e in joined if e.kind == "auto_upgraded"] == ["hot_issue"], "every upgrade says why"
    assert [e.data["reason"] for e in first if e.kind == "auto_upgraded"] == ["hot_issue"]
    # a different category or an unrelated product is no part of it
    other = await submit(Customer(service, chat_id="299"), "伊利牛奶的包装漏了")
    assert (await ticket(store, other)).hot_issue_id is None


async def test_the_same_customer_three_times_is_not_a_hot_issue(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    for text in ("蒙牛酸奶过期了", "蒙牛酸奶又过期了", "蒙牛酸奶还是过期的"):
        await customer.command("complain")
        await submit(customer, text)
    assert await desk_items(store, "ping", is_(ev.HotIssuePing)) == []


@pytest.mark.usefixtures("backend")
async def test_two_schedulers_on_one_database_act_on_each_timer_once(
    database: Database, clock: Clock
) -> None:
    first = ComplaintService(database.unit_of_work, default_classifier(), clock=clock)
    for n in range(8):
        customer = Customer(first, chat_id=f"30{n}")
        await customer.say("快递一直没到")
        await customer.command("human")
    other_process = Database.from_url(database.url, **database.options)  # as a second bot process would
    try:
        second = ComplaintService(other_process.unit_of_work, default_classifier(), clock=clock)
        clock.advance(hours=3)  # every ticket: reminder and breach of the first response, reminder of nothing else
        counts = await asyncio.gather(first.run_due_timers(), second.run_due_timers(), first.run_due_timers())
    finally:
        await other_process.dispose()
    async with database.sessions() as session:
        pings = await session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "ping"))
    assert pings == 8, "one breach ping per ticket, whichever scheduler sent it"
    assert sum(counts) == 8



async def test_a_reopened_ticket_keeps_its_fresh_deadlines_and_upgrade_clock(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    await customer.say("快递员把包裹扔在门口")
    await customer.command("human")
    number = customer.last.ticket.number  # type: ignore[union-attr]
    await service.claim(number, ALICE)
    customer.receive((await service.resolve(number, ALICE)).replies)
    clock.advance(days=2, hours=20)
    await customer.press("没有解决")
    reopened_at = clock.now
    await service.change_severity(number, ALICE, Severity.IMPORTANT)  # a later re-grade
    t = await ticket(store, number)
    assert t.first_response_due == reopened_at + timedelta(hours=2), "counted from the reopening, not submission"
    clock.advance(days=5)  # day 7.8 after submission, day 5 after the reopening
    await service.run_due_timers()
    assert (await ticket(store, number)).severity is Severity.IMPORTANT, "no upgrade yet"
    clock.advance(days=2, hours=1)  # 7 days after the reopening
    await service.run_due_timers()
    assert (await ticket(store, number)).severity is Severity.HOT
    async with store() as uow:
        upgrades = [e for e in await uow.events.for_ticket(t.id) if e.kind == "auto_upgraded"]
    assert [e.data["reason"] for e in upgrades] == ["unresolved_7d"], "one upgrade, not duplicated timers"
