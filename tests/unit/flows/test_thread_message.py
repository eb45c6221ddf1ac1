"""A message in a ticket's desk thread: a reply to the customer when first-contact
ownership allows it, else an internal message, decided and kept in one transaction."""

from __future__ import annotations

from flows.domain import Actor
from flows.service import ComplaintService
from nlp import default_classifier
from tests.fakes.memory import MemoryDatabase
from tests.service.conftest import Clock, Customer

ALICE = Actor("U1", "Alice", is_agent=True)
BOB = Actor("U2", "Bob", is_agent=True)


async def _ticket(service: ComplaintService) -> str:
    customer = Customer(service)
    await customer.say("收到的电饭煲不能加热")
    await customer.command("human")
    assert customer.last and customer.last.ticket
    return customer.last.ticket.number


async def _kinds(store: MemoryDatabase, number: str) -> list[str]:
    async with store() as uow:
        ticket = await uow.tickets.by_number(number)
        assert ticket and ticket.id
        return [e.kind for e in await uow.events.for_ticket(ticket.id)]


async def test_a_thread_message_is_a_reply_or_an_internal_message() -> None:
    store = MemoryDatabase()
    service = ComplaintService(store, default_classifier(), clock=Clock())
    number = await _ticket(service)

    early = await service.thread_message(number, BOB, "我看看", internal_text="<@U1> 我看看", event_id="Ev1")
    assert not early.ok and early.kept_internal and early.refusal and early.refusal.code == "claim_first"
    assert not early.replies
    assert (await service.thread_message(number, BOB, "我看看", event_id="Ev1")).duplicate

    assert (await service.claim(number, ALICE)).ok
    other = await service.thread_message(number, BOB, "我来", event_id="Ev2")
    assert other.kept_internal and other.refusal and other.refusal.code == "not_owner"
    assert other.ticket and other.ticket.owner_id == "U1"

    replied = await service.thread_message(number, ALICE, "您好", event_id="Ev3")
    assert replied.ok and not replied.kept_internal and len(replied.replies) == 1
    assert (await service.thread_message(number, ALICE, "您好", event_id="Ev3")).duplicate

    assert await _kinds(store, number) == ["created", "handed_off", "internal_message", "claim", "internal_message", "agent_reply"]
    async with store() as uow:
        ticket = await uow.tickets.by_number(number)
        assert ticket and ticket.id
        kept = [e.data for e in await uow.events.for_ticket(ticket.id) if e.kind == "internal_message"]
    assert kept[0] == {"text": "<@U1> 我看看", "by": "Bob"}


async def test_an_empty_message_that_may_not_go_out_is_not_kept() -> None:
    store = MemoryDatabase()
    service = ComplaintService(store, default_classifier(), clock=Clock())
    number = await _ticket(service)
    refused = await service.thread_message(number, BOB, "  ", event_id="Ev9")
    assert not refused.ok and not refused.kept_internal and refused.refusal and refused.refusal.code == "claim_first"
    assert "internal_message" not in await _kinds(store, number)
    again = await service.thread_message(number, BOB, "现在有字了", event_id="Ev9")
    assert again.kept_internal, "nothing was committed, so Slack's retry is handled"
