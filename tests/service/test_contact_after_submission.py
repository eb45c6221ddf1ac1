"""A contact shared after submission reaches the ticket and the desk (as a typed event)."""

from __future__ import annotations

from flows import events as ev
from flows.domain import InboundKind
from tests.service.conftest import Customer


async def test_a_contact_shared_for_an_open_ticket_is_kept_and_relayed(customer: Customer) -> None:
    ticket = await customer.submit("快递员态度很差，还把我的包裹扔在门口")
    await customer.send(InboundKind.CONTACT, contact="+8613800138000", text="+8613800138000")
    assert customer.last is not None and customer.last.ticket is not None
    assert customer.last.ticket.contact == "+8613800138000"
    told = [ev.decode(item.ticket_id, item.payload) for item in customer.last.desk]
    assert told == [ev.CustomerAdded(ticket.id, message=InboundKind.CONTACT, text="+8613800138000")]
