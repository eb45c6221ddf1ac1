"""The Slack sender delivers each desk event through its class's step (``STEPS``), on the
real application service over the in-memory store; what it needs of a ticket's audit
trail (the hot issue's term, the crisis pings to unpin) comes from ``DeskView``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from flows import events as ev
from flows.domain import InboundKind, MessageRecord, Severity, Ticket, TicketEvent, TicketState
from flows.outbox import DeliveryError
from flows.service import ComplaintService, desk_item
from handlers.slack import CardRenderer, DeskSettings, SlackDeskSender
from handlers.slack.sender import STEPS
from nlp import default_classifier
from tests.fakes.memory import MemoryDatabase
from tests.unit.flows.test_events import SAMPLES

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CARD = "C0AGENTS:1700000000.000100"


class FakeClient:
    """Slack's Web API as the sender calls it: every call is recorded and answered."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        async def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((method, kwargs))
            return {"ok": True, "ts": "1700000001.000200", "channel": kwargs.get("channel"), "permalink": "https://x.slack.com/p1"}

        return call

    def texts(self, method: str = "chat_postMessage") -> list[str]:
        return [str(kwargs.get("text")) for name, kwargs in self.calls if name == method]


@pytest.fixture
def service() -> ComplaintService:
    return ComplaintService(MemoryDatabase(), default_classifier(), clock=lambda: NOW, desk_language="en")


@pytest.fixture
async def ticket(service: ComplaintService) -> Ticket:
    """Ticket 1 (every sample's ticket), on the desk: its card is at ``CARD``; the customer said one thing."""
    async with service.uow_factory() as uow:
        customer = await uow.customers.get_or_create("telegram", "100", "Mia", "en")
        assert customer.id is not None
        ticket = await uow.tickets.add(Ticket(
            id=None, number=None, customer_id=customer.id, conversation_id=None, channel="telegram", chat_id="100",
            category="delivery", severity=Severity.HOT, state=TicketState.CLAIMED, description="the parcel never came",
            owner_id="U0ALICE", owner_name="Alice", handoff_reason="severity", desk_ref=CARD,
        ))  # fmt: skip
        await uow.messages.add(MessageRecord("in", "telegram", "100", "text", "where is it?", ticket_id=ticket.id, created_at=NOW))
        await uow.commit()
    assert ticket.id == 1
    return ticket


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def sender(service: ComplaintService, client: FakeClient) -> SlackDeskSender:
    renderer = CardRenderer(service.texts, service, "en")
    return SlackDeskSender(client, service, DeskSettings("C0AGENTS", "C0SUPS", supervisor_group="S0SUPS"), renderer)  # type: ignore[arg-type]


async def audit(service: ComplaintService, kind: str, data: dict[str, Any] | None) -> None:
    async with service.uow_factory() as uow:
        await uow.events.add(TicketEvent(1, kind, "system", "claimed", "claimed", data, NOW))
        await uow.commit()


@pytest.mark.parametrize("cls", sorted(set(SAMPLES) - {ev.DigestDue}, key=lambda c: c.__name__))
async def test_each_event_of_a_ticket_goes_out_through_its_step(
    ticket: Ticket, sender: SlackDeskSender, client: FakeClient, cls: type[ev.DeskEvent]
) -> None:
    event = SAMPLES[cls]
    if isinstance(event, ev.PinPing):
        event = dataclasses.replace(event, ref="C0SUPS:1700000001.000200")
    await sender.send(desk_item(event, NOW))
    assert client.calls, f"{cls.__name__}: nothing said on Slack"


async def test_an_event_class_without_a_step_is_never_delivered(
    ticket: Ticket, sender: SlackDeskSender, client: FakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(STEPS, ev.TicketClaimed)  # type: ignore[arg-type]
    with pytest.raises(DeliveryError, match="no Slack rendering for TicketClaimed") as raised:
        await sender.send(desk_item(SAMPLES[ev.TicketClaimed], NOW))
    assert raised.value.permanent and not client.calls


@pytest.mark.parametrize(
    ("message", "text", "said"),
    [
        (InboundKind.CONTACT, "13800138000", "Customer updated their contact: 138****8000"),
        (InboundKind.EDIT, "<!here> it was a Tuesday", "Customer edited a message: &lt;!here&gt; it was a Tuesday"),
        (InboundKind.TEXT, "still waiting", "still waiting"),
    ],
)
async def test_what_the_customer_adds_is_relayed_by_its_kind(
    ticket: Ticket, sender: SlackDeskSender, client: FakeClient, message: InboundKind, text: str, said: str
) -> None:
    await sender.send(desk_item(ev.CustomerAdded(1, message=message, text=text), NOW))
    [posted] = client.texts()
    assert said in posted


async def test_an_unsupported_message_is_named_not_shown(ticket: Ticket, sender: SlackDeskSender, client: FakeClient) -> None:
    await sender.send(desk_item(ev.CustomerAdded(1, message=InboundKind.UNSUPPORTED, text="", unsupported_type="sticker"), NOW))
    [posted] = client.texts()
    assert posted.startswith("Customer sent a ") and "can't be shown" in posted


async def test_the_desk_view_carries_the_hot_issue_term_and_the_crisis_pings(ticket: Ticket, service: ComplaintService) -> None:
    view = await service.desk_view(1)
    assert view is not None and (view.hot_issue_term, tuple(view.crisis_ping_refs)) == (None, ())
    await audit(service, "hot_issue", {"issue": 1, "term": "酸奶"})
    await audit(service, "hot_issue", {"issue": 2, "term": "漏水"})
    await service.crisis_pinged(1, "C0SUPS:1700000001.000200")
    await service.crisis_pinged(1, "C0SUPS:1700000002.000300")
    view = await service.desk_view(1)
    assert view is not None and view.hot_issue_term == "漏水", "the last hot issue the ticket joined"
    assert tuple(view.crisis_ping_refs) == ("C0SUPS:1700000001.000200", "C0SUPS:1700000002.000300")
    await audit(service, "hot_issue", {"issue": 3, "term": ""})
    view = await service.desk_view(1)
    assert view is not None and view.hot_issue_term is None


async def test_the_card_shows_the_hot_issue_the_view_names(
    ticket: Ticket, service: ComplaintService, sender: SlackDeskSender, client: FakeClient
) -> None:
    await audit(service, "hot_issue", {"issue": 1, "term": "<!channel>漏水"})
    await sender.send(desk_item(SAMPLES[ev.JoinedHotIssue], NOW))
    [(_, update)] = [call for call in client.calls if call[0] == "chat_update"]
    context = " ".join(e["text"] for b in update["blocks"] if b["type"] == "context" for e in b["elements"])
    assert "&lt;!channel&gt;漏水" in context and "<!channel>" not in context


async def test_closing_unpins_every_crisis_ping(
    ticket: Ticket, service: ComplaintService, sender: SlackDeskSender, client: FakeClient
) -> None:
    await service.crisis_pinged(1, "C0SUPS:1700000001.000200")
    await service.crisis_pinged(1, "C0SUPS:1700000002.000300")
    await sender.send(desk_item(SAMPLES[ev.TicketClosed], NOW))
    unpinned = [(kwargs["channel"], kwargs["timestamp"]) for name, kwargs in client.calls if name == "pins_remove"]
    assert unpinned == [("C0SUPS", "1700000001.000200"), ("C0SUPS", "1700000002.000300")]
