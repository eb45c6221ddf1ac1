"""Side questions: something the customer sent waits, kept, until they say what it is.

Two things are held in the conversation's draft (``Draft.held``) with a question and two
buttons, whatever step the conversation is at (the step and its buttons stay as they were):

* **someone else's contact card** (a shared contact that is not the sender's own):
  "这是您本人的联系方式吗？" — use it, or enter another;
* **a message that looks like a new complaint** after a ticket was submitted: the
  classifier names another category with real evidence (the words behind it), or the
  customer started a newer complaint since (and cancelled it, or it is over): "add to
  T000001 or start a new complaint?" — it goes to the ticket, or becomes the new
  complaint's description. While the ticket is open the customer mostly talks about it,
  so only such evidence asks; a closed ticket's conversation is over, and the next
  message starts a new complaint by itself.

The held message is stored when it comes, but not as said about the ticket
(``Turn.unfiled``); once the customer adds it, it is stored for the ticket too.
"""

from __future__ import annotations

from typing import Any

from flows import buttons
from flows.conversation import INTAKE_STATES, TICKET_OPEN_STATES
from flows.domain import Button, Inbound, InboundKind, MessageRecord
from flows.explain import STRENGTH_SHARE, explaining_words
from flows.formatting import mask_contact
from flows.intake.answers import Answers
from flows.steps import AddsToTicket, Detail, ForTheDesk, phone_or_email
from flows.turn import Turn
from flows.words import Words, blank, choice, has_words, norm, number, trim
from nlp import FALLBACK

CONTACT = "contact"  # Draft.held["kind"]: a contact card that is not the sender's own
MESSAGE = "message"  # a message that may be a new complaint

NEW_COMPLAINT_MIN_SCORE = 2.0
"""Real evidence of another category: a strong keyword of it ("charged twice" 3.0, "被扣了
两次" 3.0) or several, not one weak word ("打不通" 1.8); and the ticket's own category
scores less than half as much in the message ("快递员电话打不通" is still about the delivery)."""

USE, OTHER = "use", "other"  # the contact card's answers
ADD, NEW = "add", "new"  # the message's answers


class Held(Answers):
    """Holding a contact card or a message until the customer says what it is."""

    # ------------------------------------------------------------------ what comes in
    async def on_text(self, turn: Turn, inbound: Inbound) -> None:
        """Typed text: the answer to a held question, a message held as maybe a new
        complaint, or (as usual) what it means at the conversation's step."""
        conv = turn.conversation
        if conv is not None and conv.draft.held is not None:
            if conv.draft.held.get("kind") == CONTACT:
                await self._text_with_contact_held(turn, inbound)
            else:
                await self._text_with_message_held(turn, inbound)
            return
        if conv is not None and await self._looks_like_a_new_complaint(turn, inbound.text):
            turn.unfiled = True
            conv.draft.held = {"kind": MESSAGE, "text": trim(inbound.text), "message_id": inbound.message_id}
            await self._ask_held(turn)
            return
        await super().on_text(turn, inbound)

    async def on_contact(self, turn: Turn, inbound: Inbound) -> None:
        """A shared contact: the sender's own is taken; someone else's card is asked about."""
        contact = trim(inbound.contact or "")
        conv = turn.conversation
        if not contact:
            turn.unfiled = True
            turn.reply(self.t(turn, "empty.again"))
            if conv is not None and conv.active:
                self.prompt(turn)
            return
        if not inbound.own_contact and conv is not None and conv.active:
            turn.unfiled = True  # not theirs until they say so
            conv.draft.held = {"kind": CONTACT, "contact": contact, "message_id": inbound.message_id}
            await self._ask_held(turn)
            return
        await self._take_contact(turn, contact, inbound.message_id)

    async def _take_contact(self, turn: Turn, contact: str, message_id: str | None) -> None:
        """The customer's contact: the answer at the step that asks for it, else kept with
        the complaint or its ticket."""
        conv = turn.conversation
        step = self._step(turn)
        if step is not None and step.question.share_contact and isinstance(step.reader, Detail):
            await self._answer_detail(turn, step, step.reader, contact)
            return
        if conv is not None and conv.state in INTAKE_STATES:
            conv.draft.contact = contact
            self._answered(conv.draft, "contact")  # theirs, not taken from a description
            turn.reply(self.t(turn, "contact.saved"))
            self.prompt(turn)
            return
        ticket = await self._ticket(turn)
        if ticket is None or not ticket.open:
            turn.reply(self.t(turn, "contact.no_complaint"))  # nowhere to keep it: say so
            return
        ticket.contact = contact
        await turn.uow.tickets.save(ticket)
        await self._relay_said(turn, InboundKind.CONTACT, contact, acknowledge=False, message_id=message_id)
        turn.reply(self.t(turn, "contact.saved"))

    # ------------------------------------------------------------------ a new complaint?
    async def _looks_like_a_new_complaint(self, turn: Turn, text: str) -> bool:
        """After submission, whether ``text`` may be about something else than the ticket:
        another category with the words behind it, or a newer complaint started since.
        A word that answers the step ("是的", a rating) never is."""
        conv = turn.conversation
        step = self._step(turn)
        if conv is None or step is None or not isinstance(step.reader, (AddsToTicket, ForTheDesk)):
            return False
        word = norm(text)
        if blank(text) or self._typed_press(turn, step, word) is not None or number(word) is not None:
            return False
        ticket = await self._ticket(turn)
        if ticket is None:
            return False
        if conv.draft.newer_complaint:
            return has_words(text)
        suggestion = self.classifier.classify(text)
        other = suggestion.category
        if other in (ticket.category, FALLBACK):
            return False
        strength = suggestion.scores.get(other, 0.0)
        return (
            strength >= NEW_COMPLAINT_MIN_SCORE
            and suggestion.scores.get(ticket.category, 0.0) < strength * STRENGTH_SHARE
            and bool(explaining_words(suggestion.to_dict()["cues"], other))
        )

    async def _text_with_message_held(self, turn: Turn, inbound: Inbound) -> None:
        """More text while a message waits: a number picks an answer; other words join it."""
        conv = turn.conversation
        assert conv is not None and conv.draft.held is not None
        turn.unfiled = True
        text = inbound.text
        picked = number(norm(text))
        if picked is not None:
            if not await self._press_number(turn, await self._held_buttons(turn), picked):
                await self._ask_held(turn)
            return
        if blank(text):
            turn.reply(self.t(turn, "empty.again"))
        else:
            held = conv.draft.held
            held["text"] = "\n".join(part for part in (held.get("text", ""), trim(text)) if part)
        await self._ask_held(turn)

    async def _held_message_to_ticket(self, turn: Turn, held: dict[str, Any]) -> None:
        """"Add to the ticket": stored for the ticket and passed to its thread."""
        conv = turn.conversation
        ticket = await self._ticket(turn)
        assert conv is not None and ticket is not None
        conv.draft.newer_complaint = False  # they said where they are
        text = str(held.get("text", ""))
        await turn.uow.messages.add(
            MessageRecord(
                direction="in",
                channel=turn.channel,
                chat_id=turn.chat_id,
                kind=InboundKind.TEXT.value,
                text=text,
                conversation_id=conv.id,
                ticket_id=ticket.id,
                data={"held_message_id": held.get("message_id")},
                created_at=turn.now,
            )
        )
        message_id = held.get("message_id")
        if conv.state in TICKET_OPEN_STATES:
            self._fire(turn, "add_info")
            await self._relay_said(turn, InboundKind.TEXT, text, acknowledge=True, message_id=message_id)
            return
        await self._relay_said(turn, InboundKind.TEXT, text, acknowledge=False, message_id=message_id)
        turn.reply(self.t(turn, "held.added", number=ticket.number))
        self.prompt(turn)

    async def _held_message_is_new(self, turn: Turn, held: dict[str, Any]) -> None:
        """"A new complaint": it starts with the held message as its description."""
        old = turn.conversation
        ticket = await self._ticket(turn)
        assert old is not None
        old.draft.newer_complaint = True
        await turn.uow.conversations.save(old)  # the turn goes on with the new conversation
        if ticket is not None:
            turn.reply(self.t(turn, "held.new", number=ticket.number))
        await self._new_conversation(turn)
        self._fire(turn, "start")
        await self._describe(turn, str(held.get("text", "")), held.get("message_id"))

    # ------------------------------------------------------------------ someone else's contact
    async def _text_with_contact_held(self, turn: Turn, inbound: Inbound) -> None:
        """Text while a contact card waits: yes/no or a number answer it; their own phone
        or e-mail replaces it; anything else is read as usual and the card is let go."""
        conv = turn.conversation
        assert conv is not None and conv.draft.held is not None
        word = norm(inbound.text)
        if blank(inbound.text):
            turn.unfiled = True
            turn.reply(self.t(turn, "empty.again"))
            await self._ask_held(turn)
            return
        if (picked := choice(word)) is not None:
            if not await self._press_number(turn, await self._held_buttons(turn), picked):
                await self._ask_held(turn)
            return
        if self.vocabulary.means(word, (Words.YES,)):
            await self._answer_held(turn, USE)
            return
        if self.vocabulary.means(word, (Words.NO,)):
            await self._answer_held(turn, OTHER)
            return
        conv.draft.held = None
        if phone_or_email(trim(inbound.text)):
            await self._take_contact(turn, trim(inbound.text), inbound.message_id)
            return
        await super().on_text(turn, inbound)

    # ------------------------------------------------------------------ the question
    async def _held_buttons(self, turn: Turn) -> tuple[tuple[Button, ...], ...]:
        conv = turn.conversation
        assert conv is not None and conv.draft.held is not None
        if conv.draft.held.get("kind") == CONTACT:
            labels = ((self.t(turn, "button.contact_use"), USE), (self.t(turn, "button.contact_other"), OTHER))
        else:
            ticket = await self._ticket(turn)
            number_ = ticket.number if ticket is not None else "-"
            labels = ((self.t(turn, "button.add_to_ticket", number=number_), ADD), (self.t(turn, "button.new_complaint"), NEW))
        return (tuple(buttons.make(label, conv, "held", arg) for label, arg in labels),)

    async def _ask_held(self, turn: Turn) -> None:
        conv = turn.conversation
        assert conv is not None and conv.draft.held is not None
        held = conv.draft.held
        if held.get("kind") == CONTACT:
            text = self.t(turn, "contact.whose", contact=mask_contact(str(held.get("contact", ""))))
        else:
            ticket = await self._ticket(turn)
            text = self.t(turn, "held.which", number=ticket.number if ticket is not None else "-")
        turn.reply(text, await self._held_buttons(turn))

    async def _ask_again(self, turn: Turn) -> None:
        """The step's question, and a held question that still waits (its buttons of an
        earlier step went stale when an agent joined, say)."""
        self.prompt(turn)
        conv = turn.conversation
        if conv is not None and conv.draft.held is not None:
            await self._ask_held(turn)

    async def _answer_held(self, turn: Turn, answer: str) -> None:
        conv = turn.conversation
        assert conv is not None
        held = conv.draft.held
        kinds = {CONTACT: (USE, OTHER), MESSAGE: (ADD, NEW)}
        if held is None or answer not in kinds.get(str(held.get("kind")), ()):
            turn.reply(self.t(turn, "button.stale"))
            if conv.active:
                self.prompt(turn)
            return
        conv.draft.held = None
        if answer == USE:
            await self._take_contact(turn, str(held.get("contact", "")), held.get("message_id"))
        elif answer == OTHER:
            turn.reply(self.t(turn, "contact.not_used"))
            self.prompt(turn)
        elif answer == ADD:
            await self._held_message_to_ticket(turn, held)
        else:
            await self._held_message_is_new(turn, held)
