"""The terminal desk (handlers/desk_console.py) on the real application service over the
in-memory store: every desk event class prints, the card offers what
``flows.ownership.allowed_actions`` permits, commands act through the service and a
refused action prints the service's reason."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from flows import events as ev
from flows.domain import Actor, Attachment, InboundKind, MessageRecord, OutboxItem, Severity, Ticket, TicketState
from flows.outbox import DeliveryError
from flows.ownership import DeskAction, allowed_actions
from flows.service import ComplaintService, desk_item
from flows.desk_presence import DESK_LEASE, terminal_desk_running
from handlers.desk_console import (
    RENDERINGS,
    Choice,
    DeskConsole,
    Screen,
    TerminalDeskSender,
    TerminalRenderer,
    action_choices,
    meant_command,
    not_a_reply,
)
from nlp import default_classifier
from tests.fakes.memory import MemoryDatabase
from tests.unit.flows.test_events import SAMPLES

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ALICE = Actor("alice", "alice", is_agent=True)
BOB = Actor("bob", "bob", is_agent=True)
SUE = Actor("sue", "sue", is_agent=True, is_supervisor=True)


@pytest.fixture
def service() -> ComplaintService:
    return ComplaintService(MemoryDatabase(), default_classifier(), clock=lambda: NOW, desk_language="en")


@pytest.fixture
def renderer(service: ComplaintService) -> TerminalRenderer:
    return TerminalRenderer(service.texts, service, "en", ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
async def ticket(service: ComplaintService) -> Ticket:
    """Ticket 1 (every sample's ticket): hot, handed off, unclaimed; a photo; the customer said one more thing."""
    async with service.uow_factory() as uow:
        customer = await uow.customers.get_or_create("console", "lily", "Lily", "en")
        assert customer.id is not None
        ticket = await uow.tickets.add(Ticket(
            id=None, number=None, customer_id=customer.id, conversation_id=None, channel="console", chat_id="lily",
            category="delivery", severity=Severity.HOT, state=TicketState.NEW, description="the parcel never came\x1b[2J",
            handoff_reason="severity", amount="¥299", created_at=NOW, photos=[Attachment("photo", "/home/lily/box.jpg", file_name="box.jpg")],
        ))  # fmt: skip
        await uow.messages.add(MessageRecord("in", "console", "lily", "text", "where is it?", ticket_id=ticket.id, created_at=NOW))
        await uow.commit()
    assert ticket.id == 1
    return ticket


def desk(service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO, actor: Actor = ALICE) -> DeskConsole:
    return DeskConsole(service, renderer, Screen(out, None), actor, lambda name: Actor(name, name, is_agent=True))


def test_every_desk_event_class_has_a_terminal_rendering() -> None:
    assert set(ev.ALL_EVENTS) <= set(RENDERINGS), sorted(c.__name__ for c in set(ev.ALL_EVENTS) - set(RENDERINGS))


@pytest.mark.parametrize("cls", sorted(SAMPLES, key=lambda c: c.__name__))
async def test_each_event_prints_in_the_terminal(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO, cls: type[ev.DeskEvent]
) -> None:
    sender = TerminalDeskSender(service, renderer, Screen(out, None), ALICE)
    await sender.send(desk_item(SAMPLES[cls], NOW))
    printed = out.getvalue()
    assert printed.strip(), f"{cls.__name__}: nothing printed"
    assert "\x1b" not in printed
    if cls.delivery is ev.Delivery.PING:
        assert printed.startswith("📣 To the supervisors:") and "T000001" in printed


async def test_what_the_customer_adds_is_printed_as_they_sent_it(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    sender = TerminalDeskSender(service, renderer, Screen(out, None), ALICE)
    await sender.send(desk_item(ev.CustomerAdded(1, message=InboundKind.TEXT, text="still nothing \x1b]0;pwned\x07"), NOW))
    await sender.send(desk_item(SAMPLES[ev.CustomerAdded], NOW))  # a photo, by its path
    assert out.getvalue().splitlines() == ["💬 T000001 Customer: still nothing ]0;pwned", "💬 T000001 📎 photo: f1 看图"]


async def test_the_new_ticket_card_shows_who_what_the_photos_and_what_the_viewer_may_do(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    await TerminalDeskSender(service, renderer, Screen(out, None), ALICE).send(desk_item(SAMPLES[ev.TicketHandedOff], NOW))
    card = out.getvalue()
    assert "T000001" in card and "Hot" in card and "Lily (console)" in card
    assert "the parcel never came" in card and "\x1b" not in card
    assert "📎 photo: /home/lily/box.jpg" in card
    assert "First response due: —" in card
    assert "Amount paid: ¥299" in card  # what the customer said they paid, as on the Slack card
    offered = next(line for line in card.splitlines() if line.startswith("What you can do:"))
    assert offered == "What you can do: claim · note · escalate · category · severity"


async def test_an_event_class_without_a_rendering_is_never_delivered(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(RENDERINGS, ev.TicketClaimed)
    with pytest.raises(DeliveryError, match="no terminal rendering for TicketClaimed") as raised:
        await TerminalDeskSender(service, renderer, Screen(out, None), ALICE).send(desk_item(SAMPLES[ev.TicketClaimed], NOW))
    assert raised.value.permanent and not out.getvalue()


async def test_a_payload_that_is_no_event_is_refused_for_good(
    service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    item = OutboxItem(id=7, channel="desk", target="ticket:1", kind="ping", payload={"event": "nonsense"}, created_at=NOW, next_attempt_at=NOW, ticket_id=1)
    with pytest.raises(DeliveryError) as raised:
        await TerminalDeskSender(service, renderer, Screen(out, None), ALICE).send(item)
    assert raised.value.permanent


@pytest.mark.parametrize("state", list(TicketState))
@pytest.mark.parametrize("viewer", [ALICE, BOB, SUE], ids=lambda a: a.id)
def test_the_card_offers_exactly_what_allowed_actions_permits(renderer: TerminalRenderer, state: TicketState, viewer: Actor) -> None:
    ticket = Ticket(
        id=1, number="T000001", customer_id=1, conversation_id=None, channel="console", chat_id="lily",
        category="delivery", severity=Severity.HOT, state=state, description="x",
        owner_id=None if state is TicketState.NEW else "alice", owner_name=None if state is TicketState.NEW else "alice",
    )  # fmt: skip
    commands = {choice.command for choice, _ in action_choices(renderer, ticket, viewer)}
    expected = {
        DeskAction.CLAIM: {"claim"}, DeskAction.REPLY: {"reply"}, DeskAction.NOTE: {"note"},
        DeskAction.TRANSFER: {"transfer"}, DeskAction.ESCALATE: {"escalate"},
        DeskAction.REGRADE: {"category", "severity", *({"crisis"} if viewer.is_supervisor else set())},
        DeskAction.RESOLVE: {"resolve"},
    }  # fmt: skip
    assert commands == set().union(*(expected[a] for a in allowed_actions(ticket, viewer)))


async def test_claim_reply_and_resolve_through_the_service(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    console = desk(service, renderer, out)
    await console.handle("queue")
    assert "[1] • T000001 | Hot | Delivery" in out.getvalue()
    await console.handle("1")  # opens it
    assert "where is it?" in out.getvalue() and "History:" in out.getvalue()
    assert console.current == 1 and Choice("claim") in console.choices
    await console.handle("claim")
    await console.handle("We are on it")  # no command: a reply to the customer
    await console.handle("resolve refunded")
    printed = out.getvalue()
    assert "You now own ticket T000001" in printed
    assert "Reply sent to the customer of ticket T000001." in printed
    assert "Ticket T000001 marked resolved" in printed
    await console.handle("open T000001")  # the history names what happened, in words
    history = out.getvalue().split("History:")[-1]
    assert ": claimed it" in history and ": replied We are on it" in history and ": resolved it" in history
    async with service.uow_factory() as uow:
        stored = await uow.tickets.get(1)
        replies = await uow.outbox.pending("console", "lily")
    assert stored is not None and stored.state is TicketState.RESOLVED and stored.owner_id == "alice"
    texts = [str(item.payload.get("text")) for item in replies]
    assert any("We are on it" in text for text in texts), texts


async def test_a_wrong_action_prints_the_services_reason(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    console = desk(service, renderer, out)
    await console.handle("reply hello")
    assert out.getvalue().splitlines()[-1] == "Open a ticket first: open T000001, or queue and its number."
    await console.handle("open T000001")
    await console.handle("reply hello")
    await console.handle("severity general")
    await console.handle("severity lukewarm")
    await console.handle("crisis")
    lines = out.getvalue().splitlines()
    assert "Claim the ticket first, then reply to the customer or resolve it." in lines
    assert lines.count("Only supervisors can lower severity or declare a crisis.") == 2
    assert "There is no severity “lukewarm”; use general, important, hot or major." in lines
    other = desk(service, renderer, io.StringIO(), BOB)
    await other.handle("open T000001")
    await other.handle("claim")
    await console.handle("claim")
    assert out.getvalue().splitlines()[-1] == "bob owns this ticket (first-contact ownership). Ask them or a supervisor to transfer it."


async def test_numbered_choices_ask_for_the_text_and_an_empty_line_cancels(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    console = desk(service, renderer, out, SUE)
    await console.handle("open 1")
    note = console.choices.index(Choice("note")) + 1
    await console.handle(str(note))
    assert out.getvalue().splitlines()[-1] == "Type the note (an empty line cancels):"
    await console.handle("")
    assert out.getvalue().splitlines()[-1] == "Cancelled; nothing was changed."
    await console.handle(str(note))
    await console.handle("called the courier")
    await console.handle("category")
    await console.handle(str(next(i for i, c in enumerate(console.choices, 1) if c.arg == "product_quality")))
    await console.handle("severity 1")  # a supervisor may lower it
    await console.handle("42")
    assert out.getvalue().splitlines()[-1] == "There is no choice 42 on screen; type one of the numbers shown in brackets."
    async with service.uow_factory() as uow:
        stored = await uow.tickets.get(1)
        events = await uow.events.for_ticket(1)
    assert stored is not None and stored.category == "product_quality" and stored.severity is Severity.GENERAL
    assert any(e.kind == "note" and (e.data or {}).get("text") == "called the courier" for e in events)


async def test_the_terminal_desk_is_running_while_its_lease_is_held(service: ComplaintService) -> None:
    assert not await terminal_desk_running(service.uow_factory, NOW)
    async with service.uow_factory() as uow:
        await uow.leases.take([DESK_LEASE], "alice@host:1", NOW, NOW.replace(minute=1))
        await uow.commit()
    assert await terminal_desk_running(service.uow_factory, NOW)


async def test_unknown_words_without_an_open_ticket_are_not_sent_anywhere(
    service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    await desk(service, renderer, out).handle("claimm")
    assert out.getvalue().splitlines()[0] == "I don't know the command “claimm”. Type help for the list."


async def test_a_transferred_ticket_is_the_new_owners(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    await (bob := desk(service, renderer, io.StringIO(), BOB)).handle("open T000001")
    await bob.handle("note looks like mine")  # bob has worked at this desk
    alice = desk(service, renderer, out)
    await alice.handle("open T000001")
    await alice.handle("claim")
    await alice.handle("transfer bob")  # no question: bob has worked here
    assert "Ticket T000001 transferred." in out.getvalue().splitlines()
    bobs = io.StringIO()
    bob = desk(service, renderer, bobs, BOB)
    await bob.handle("mine")
    assert "[1] • T000001" in bobs.getvalue()
    await alice.handle("reply are you there?")
    assert out.getvalue().splitlines()[-1] == "bob owns this ticket; only the owner or a supervisor can do that."


async def _sent(service: ComplaintService) -> list[str]:
    """What went to the customer's chat (the outbox), in order."""
    async with service.uow_factory() as uow:
        return [str(item.payload.get("text")) for item in await uow.outbox.pending("console", "lily")]


async def _owner(service: ComplaintService) -> str | None:
    async with service.uow_factory() as uow:
        stored = await uow.tickets.get(1)
    assert stored is not None
    return stored.owner_id


async def test_a_prompt_answer_may_repeat_the_command_word(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    console = desk(service, renderer, out)
    await console.handle("open T000001")
    await console.handle("claim")
    for asked, answer in [("reply", "reply we are on it"), ("note", "note called the courier")]:
        await console.handle(asked)
        await console.handle(answer)
    await console.handle("transfer")
    assert out.getvalue().splitlines()[-1] == "Transfer to whom? Type the agent's name (an empty line cancels):"
    await console.handle("transfer nobody_xyz")
    assert out.getvalue().splitlines()[-3:] == ["nobody_xyz has not worked at this desk yet; transfer anyway?", "  [1] yes", "  [2] no"]
    await console.handle("2")
    assert out.getvalue().splitlines()[-1] == "Cancelled; nothing was changed."
    assert await _owner(service) == "alice"
    await console.handle("open T000001")
    await console.handle(str(console.choices.index(Choice("resolve")) + 1))
    assert out.getvalue().splitlines()[-1] == "Type the resolution the customer will read (an empty line: none):"
    await console.handle("/resolve refunded")
    sent = await _sent(service)
    assert any(text.endswith("we are on it") for text in sent) and not any("reply we are on it" in text for text in sent), sent
    assert not any("transfer" in text.lower() for text in sent), sent
    async with service.uow_factory() as uow:
        events = await uow.events.for_ticket(1)
    assert [(e.data or {}).get("text") for e in events if e.kind == "note"] == ["called the courier"]
    assert [(e.data or {}).get("note") for e in events if e.kind == "resolve"] == ["refunded"]


async def test_a_transfer_to_a_name_never_seen_at_the_desk_asks_first(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    supervisors = {"sue"}
    console = DeskConsole(
        service, renderer, Screen(out, None), ALICE, lambda name: Actor(name, name, is_agent=True, is_supervisor=name in supervisors)
    )
    await console.handle("open T000001")
    await console.handle("claim")
    await console.handle("transfer 张三")
    assert out.getvalue().splitlines()[-3] == "张三 has not worked at this desk yet; transfer anyway?"
    assert await _owner(service) == "alice", "nothing happens before the answer"
    await console.handle("yes")
    assert "Ticket T000001 transferred." in out.getvalue().splitlines()
    assert await _owner(service) == "张三"
    # a supervisor named in [desk] supervisors is known without having worked here
    zhang = DeskConsole(service, renderer, Screen(io.StringIO(), None), Actor("张三", "张三", is_agent=True), console.colleague)
    await zhang.handle("open T000001")
    await zhang.handle("transfer sue")
    assert await _owner(service) == "sue"
    # someone who has transferred a ticket here is known too: 张三 now has
    sue = DeskConsole(service, renderer, Screen(io.StringIO(), None), SUE, console.colleague)
    await sue.handle("open T000001")
    await sue.handle("transfer 张三")
    assert await _owner(service) == "张三"


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("reslove 已退款", "terminal_desk.did_you_mean"),
        ("/reslove 已退款", "terminal_desk.did_you_mean"),
        ("claimm", "terminal_desk.did_you_mean"),
        ("hepl", "terminal_desk.did_you_mean"),
        ("trasnfer bob", "terminal_desk.did_you_mean"),
        ("frobnicate", "terminal_desk.not_sent"),
        ("ok", "terminal_desk.not_sent"),
        ("我们已经退款", None),
        ("已退款 reslove", None),
        ("We are on it", None),
        ("Hello, the refund is on its way", None),
        ("Hello we refunded you", None),
        ("Thanks!", None),
        ("Sorry for the wait", None),
    ],
)
def test_which_lines_that_are_no_command_are_not_replies(line: str, why: str | None) -> None:
    assert not_a_reply(line) == why


@pytest.mark.parametrize(("word", "meant"), [("reslove", "resolve"), ("RESOLVE", None), ("rely", "reply"), ("hello", None), ("r", None), ("mien", "mine")])
def test_a_mistyped_command_is_recognised(word: str, meant: str | None) -> None:
    assert meant_command(word) == meant


async def test_a_mistyped_command_or_a_lone_word_is_not_sent_to_the_customer(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    console = desk(service, renderer, out, BOB)
    await console.handle("open T000001")
    await console.handle("claim")
    before = await _sent(service)
    await console.handle("reslove 已退款")
    assert out.getvalue().splitlines()[-1] == "Did you mean resolve? Nothing was sent; to send this to the customer type: reply TEXT"
    await console.handle("frobnicate")
    assert out.getvalue().splitlines()[-1] == "“frobnicate” is not a command. Nothing was sent; to send it to the customer type: reply TEXT"
    assert await _sent(service) == before
    await console.handle("已经为您退款")
    await console.handle("We are on it")
    await console.handle("reply frobnicate")
    after = await _sent(service)
    assert len(after) == len(before) + 3
    said = ["已经为您退款", "We are on it", "frobnicate"]
    assert all(text.endswith(words) for text, words in zip(after[len(before):], said, strict=True)), after
    async with service.uow_factory() as uow:
        stored = await uow.tickets.get(1)
    assert stored is not None and stored.state is TicketState.CLAIMED, "the mistyped resolve resolved nothing"


async def test_a_supervisor_replies_on_a_ticket_an_agent_owns(
    ticket: Ticket, service: ComplaintService, renderer: TerminalRenderer, out: io.StringIO
) -> None:
    bob = desk(service, renderer, io.StringIO(), BOB)
    await bob.handle("open T000001")
    await bob.handle("claim")
    sue = desk(service, renderer, out, SUE)
    await sue.handle("open T000001")
    assert Choice("reply") in sue.choices, "the card offers the supervisor a reply"
    await sue.handle("reply we are looking again")
    assert "Reply sent to the customer of ticket T000001." in out.getvalue().splitlines()
    assert any(text.endswith("we are looking again") for text in await _sent(service))
    assert await _owner(service) == "bob"
