"""The Slack desk renders every desk event it must show, one renderer per event class;
a card's buttons come from the actions the core offers, and command words from the
catalogues."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from flows import events as ev
from flows.domain import Customer, Severity, Ticket, TicketState
from flows.ownership import DeskAction, card_actions
from flows.service import DeskView
from flows.texts import default_catalogue
from handlers.slack import CardRenderer, DeskSettings, SlackDesk
from handlers.slack.render import NOTICES, PINGS, notice_text, ping_text
from handlers.slack.sender import STEPS
from tests.unit.flows.test_events import SAMPLES as EVENT_SAMPLES

# every event class's sample (tests/unit/flows/test_events.py), with customer and agent
# text that Slack must escape where the renderers show it
SAMPLES: dict[type[ev.DeskEvent], ev.DeskEvent] = {
    **EVENT_SAMPLES,
    ev.JoinedHotIssue: dataclasses.replace(EVENT_SAMPLES[ev.JoinedHotIssue], term="<!channel> 漏水"),
    ev.TicketReopened: dataclasses.replace(EVENT_SAMPLES[ev.TicketReopened], owner="U0ALICE"),
    ev.EscalatedPing: dataclasses.replace(EVENT_SAMPLES[ev.EscalatedPing], note="<@U1>"),
}


class Categories:
    """What the renderer asks the application service: category names."""

    categories = ()

    def category_name(self, category_id: str, language: str) -> str:
        return f"<{category_id}>"


def filled(text: str | None) -> bool:
    """Rendered, every placeholder filled (Slack's own date tokens aside)."""
    return bool(text) and "{" not in re.sub(r"<!date\^[^>]*>", "", text or "")


@pytest.fixture
def renderer() -> CardRenderer:
    return CardRenderer(default_catalogue(), Categories(), "en")  # type: ignore[arg-type]


def test_every_event_the_desk_receives_has_a_step() -> None:
    for cls in ev.ALL_EVENTS:
        where = "a notice in handlers/slack/render.py" if cls.delivery in (ev.Delivery.UPDATE, ev.Delivery.REMINDER) else (
            "a ping in handlers/slack/render.py" if cls.delivery is ev.Delivery.PING else "a step in handlers/slack/sender.py STEPS"
        )
        assert cls in STEPS, f"{cls.__name__} ({cls.delivery.value}): Slack cannot deliver it, it needs {where}"
    assert set(STEPS) <= set(ev.ALL_EVENTS)
    assert set(NOTICES) | set(PINGS) <= set(STEPS), "a notice or ping of an event whose delivery is not a notice or a ping"


@pytest.mark.parametrize("cls", sorted(NOTICES, key=lambda c: c.__name__))
def test_each_notice_renders_with_customer_text_escaped(renderer: CardRenderer, cls: type[ev.DeskEvent]) -> None:
    text = notice_text(renderer, SAMPLES[cls])
    assert filled(text) and "<!channel>" not in (text or "")


@pytest.mark.parametrize("cls", sorted(PINGS, key=lambda c: c.__name__))
def test_each_ping_renders(renderer: CardRenderer, cls: type[ev.DeskEvent]) -> None:
    text = ping_text(renderer, SAMPLES[cls], "<https://x|T000001>", "Delivery")
    assert filled(text) and "<@U1>" not in text


def test_notices_say_what_changed(renderer: CardRenderer) -> None:
    t = default_catalogue()
    assert notice_text(renderer, SAMPLES[ev.TicketClaimed]) == t.text("en", "thread.claimed", by="Alice")
    assert notice_text(renderer, SAMPLES[ev.CategoryChanged]) == t.text("en", "thread.category", to="&lt;delivery&gt;")
    assert "U0ALICE" in (notice_text(renderer, SAMPLES[ev.TicketReopened]) or "")


def _view(state: TicketState, actions: tuple[DeskAction, ...]) -> DeskView:
    ticket = Ticket(
        id=7, number="T000007", customer_id=1, conversation_id=1, channel="telegram", chat_id="1",
        category="delivery", severity=Severity.GENERAL, state=state, owner_id="U0ALICE", owner_name="Alice",
    )
    return DeskView(ticket, Customer(1, "telegram", "1", "Mia"), (), (), actions)


def _buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_the_card_shows_the_actions_it_is_given_not_the_state(renderer: CardRenderer) -> None:
    assert _buttons(renderer.blocks(_view(TicketState.CLAIMED, (DeskAction.CLAIM,)))) == ["ticket_claim"]
    assert _buttons(renderer.blocks(_view(TicketState.NEW, ()))) == []
    claimed = _view(TicketState.CLAIMED, ())
    offered = dataclasses.replace(claimed, actions=card_actions(claimed.ticket))
    assert _buttons(renderer.blocks(offered)) == ["ticket_transfer", "ticket_escalate", "ticket_regrade", "ticket_resolve"]
    escalate = next(e for b in renderer.blocks(offered) if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "ticket_escalate")
    assert escalate["style"] == "danger" and "T000007" in escalate["confirm"]["text"]["text"]


class Tickets:
    async def owned_by(self, user: str) -> list[Ticket]:
        return []

    async def queue(self) -> list[Ticket]:
        return []


@pytest.mark.parametrize(("word", "header"), [("mine", "slash.mine"), ("我的", "slash.mine"), ("QUEUE", "slash.queue"), ("队列", "slash.queue")])
async def test_command_words_come_from_the_catalogues(renderer: CardRenderer, word: str, header: str) -> None:
    desk = SlackDesk(Tickets(), None, DeskSettings("C1", "C2"), None, renderer, None)  # type: ignore[arg-type]
    assert (await desk.command("U1", word)).startswith(default_catalogue().text("en", header))
    assert renderer.words("slash.mine_words") == {"mine", "我的"}


def test_the_card_shows_the_amount_paid_when_the_customer_stated_it(renderer: CardRenderer) -> None:
    view = _view(TicketState.NEW, ())
    paid = dataclasses.replace(view, ticket=dataclasses.replace(view.ticket, amount="¥299"))
    context = [e["text"] for b in renderer.blocks(paid) if b["type"] == "context" for e in b["elements"]]
    assert any("Amount paid: ¥299" in text for text in context)
    fields = [f for b in renderer.blocks(paid) if b["type"] == "section" for f in b.get("fields", ())]
    assert len(fields) <= 10, "Slack refuses a section with more than 10 fields"
    assert not any("Amount paid" in e["text"] for b in renderer.blocks(view) if b["type"] == "context" for e in b["elements"])
