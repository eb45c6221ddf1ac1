"""Hot issues under concurrency (issue 8, part 5): many customers reporting the same
thing at the same moment, in one or two bot processes, still make ONE hot issue and ONE
supervisor ping, and every member's card hears of it once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from flows import events as ev
from flows.domain import Severity
from flows.service import ComplaintService
from nlp import default_classifier
from storage.database import Database
from storage.models import HotIssueRow, OutboxRow, TicketRow
from tests.service.conftest import Clock, Customer
from tests.service.test_promises import desk_items

CUSTOMERS = 24
TEXTS = ("蒙牛酸奶过期了", "买的蒙牛酸奶过期好几天了", "蒙牛酸奶收到就是过期的")


async def _to_review(customer: Customer, text: str) -> None:
    """Describe, confirm and skip the details: the next press submits."""
    await customer.say(text)
    await customer.press("是的")
    await customer.skip_details()
    await customer.press("没有照片")
    customer.button("提交")  # the review's submit button is there


async def _submit(customer: Customer) -> int:
    await customer.press("提交")
    assert customer.last and customer.last.ticket and customer.last.ticket.id is not None
    return customer.last.ticket.id


async def _intake(customer: Customer, text: str) -> int:
    await _to_review(customer, text)
    return await _submit(customer)


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("arrival", ["together", "interleaved"])
async def test_many_customers_at_once_make_one_hot_issue_and_one_ping(
    database: Database, clock: Clock, arrival: str
) -> None:
    first = ComplaintService(database.unit_of_work, default_classifier(), clock=clock)
    other_process = Database.from_url(database.url, **database.options)  # as a second bot process would
    try:
        second = ComplaintService(other_process.unit_of_work, default_classifier(), clock=clock)
        customers = [
            Customer(first if n % 2 else second, chat_id=f"50{n:02d}") for n in range(CUSTOMERS)
        ]
        if arrival == "together":  # everybody presses "submit" at the same moment
            await asyncio.gather(*(_to_review(c, TEXTS[n % len(TEXTS)]) for n, c in enumerate(customers)))
            ids = await asyncio.gather(*(_submit(c) for c in customers))
        else:  # whole conversations side by side: submissions land while others are mid-way
            ids = await asyncio.gather(*(_intake(c, TEXTS[n % len(TEXTS)]) for n, c in enumerate(customers)))
    finally:
        await other_process.dispose()

    async with database.sessions() as session:
        issues = (await session.scalars(select(HotIssueRow.id))).all()
        members = Counter((await session.scalars(select(TicketRow.hot_issue_id))).all())
        hot = await session.scalar(
            select(func.count()).select_from(TicketRow).where(TicketRow.severity == Severity.HOT.value)
        )
        pinged = (await session.scalars(select(HotIssueRow.pinged_at))).all()
    assert len(issues) == 1, f"one hot issue, not {len(issues)}"
    assert members == {issues[0]: CUSTOMERS}, "every ticket joined the one issue"
    assert hot == CUSTOMERS
    assert pinged[0] is not None

    pings = await desk_items(database, "ping")
    assert [type(ev.decode(p.ticket_id, p.payload)) for p in pings] == [ev.HotIssuePing], "one supervisor ping in all"
    assert len(pings[0].payload["tickets"]) == 3, "the three complaints that made it an issue"

    # each earlier member's card is told once that it was raised; later joiners change
    # nobody else's card (their own card says it all)
    updates = Counter(i.ticket_id for i in await desk_items(database, "ticket_update"))
    assert all(count == 1 for count in updates.values()), updates
    assert len(updates) == 2 and set(updates) <= set(ids)
    async with database.sessions() as session:
        desk = await session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.channel == "desk"))
    cards = len(await desk_items(database, "ticket_card"))
    assert cards == CUSTOMERS and desk == cards + len(updates) + len(pings)
