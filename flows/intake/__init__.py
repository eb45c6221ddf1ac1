"""The customer side: turn each inbound event into a machine event and the replies.

What a message *means* depends on the step the conversation is at; the step table
(flows/steps.py) says what each step asks, which buttons it shows, how typed text is read
there and where the answers lead. The parts, each with one job:

* :mod:`flows.intake.context` — texts, categories, the machine, the ticket;
* :mod:`flows.intake.questions` — the question of each step (``prompt``);
* :mod:`flows.intake.taken` — details taken from the customer's words, shown, not asked;
* :mod:`flows.intake.follow_up` — after submission: relaying, solved?, rating, comment;
* :mod:`flows.intake.commands` — /start /help /lang /status /complain /cancel /human;
* :mod:`flows.intake.answers` — typed answers and button presses;
* :mod:`flows.intake.held` — side questions about something held: someone else's
  contact card, a message after submission that may be a new complaint; contacts;
* this module — the entry point, and photos, edits and other media.

Illegal events get a helpful reply, never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import ClassVar

from flows.conversation import FEEDBACK_STATES, INTAKE_STATES, TICKET_OPEN_STATES
from flows.domain import Attachment, Inbound, InboundKind, Reply
from flows.formatting import mask_contact
from flows.intake.answers import Answers
from flows.intake.held import Held
from flows.intake.commands import Commands
from flows.intake.questions import severity_reason
from flows.machine import IllegalEvent
from flows.steps import STEPS, Description, Fill
from flows.turn import Turn
from flows.words import has_words, trim

__all__ = ["Intake", "severity_reason"]

logger = logging.getLogger(__name__)

InboundHandler = Callable[["Intake", Turn, Inbound], Awaitable[None]]


class Intake(Held):
    """Interprets customer events for the conversation machine and writes the answers."""

    async def handle(self, turn: Turn, inbound: Inbound) -> None:
        """Answer one inbound event; ``turn.conversation`` is the chat's active one or None."""
        if not inbound.private_chat:
            turn.reply(self.t(turn, "group.private_only"))
            return
        handler = self._dispatch[inbound.kind]
        offered_contact = self._offers_contact(turn)
        try:
            await handler(self, turn, inbound)
        except IllegalEvent as exc:
            logger.info("illegal event %s in state %s", exc.event, exc.state)
            self._explain_illegal(turn, exc.event)
        if offered_contact and not self._offers_contact(turn):
            self._close_contact_keyboard(turn)

    def _offers_contact(self, turn: Turn) -> bool:
        """Whether the conversation's step shows the share-contact keyboard."""
        step = self._step(turn)
        return step is not None and step.question.share_contact

    def _close_contact_keyboard(self, turn: Turn) -> None:
        """The contact step is over: the first reply without buttons takes its keyboard away.

        (A message carries either its own buttons or the keyboard removal, so when every
        reply has buttons a short acknowledgement goes first.)
        """
        for index, reply in enumerate(turn.replies):
            if not reply.buttons and not reply.request_contact:
                turn.replies[index] = replace(reply, remove_keyboard=True)
                return
        conv = turn.conversation
        if conv is not None and conv.draft.contact:
            text = self.t(turn, "contact.noted", contact=mask_contact(conv.draft.contact))
        else:
            text = self.t(turn, "contact.step_done")
        turn.replies.insert(0, Reply(text, remove_keyboard=True))

    # ------------------------------------------------------------------ media and others
    async def on_attachment(self, turn: Turn, inbound: Inbound) -> None:
        """A photo or file: part of the complaint at any intake step, else for the ticket."""
        attachment = inbound.attachment
        assert attachment is not None
        conv = turn.conversation
        if conv is None:
            conv = await self._new_conversation(turn)
            self._fire(turn, "start")
        if conv.state in INTAKE_STATES:
            conv.draft.photos.append(attachment)
            self._fire(turn, "add_photo")
            step = STEPS[conv.state]
            describing = isinstance(step.reader, Description)
            caption = trim(inbound.text)
            if describing and caption:
                await self._describe(turn, caption, inbound.message_id)
                return
            if step.photos is not None:
                self.prompt(turn)  # "n photos received, send more or press Done"
                return
            key = "photos.received_describe" if describing else "photos.received"
            what = self.attachment_word(turn, attachment)
            turn.reply(self.t(turn, key, what=what, received=self.attachments_received(turn, conv.draft.photos)))
            return
        if conv.state in TICKET_OPEN_STATES:
            await self._add_photo_to_ticket(turn, attachment)
            await self._add_info(turn, inbound)
            return
        await self._add_photo_to_ticket(turn, attachment)
        await self._relay(turn, inbound, acknowledge=False)
        turn.reply(self.t(turn, "photos.stored", what=self.attachment_word(turn, attachment)))
        self.prompt(turn)

    async def _add_photo_to_ticket(self, turn: Turn, attachment: Attachment) -> None:
        ticket = await self._ticket(turn)
        if ticket is not None:
            ticket.photos.append(attachment)
            ticket.updated_at = turn.now
            await turn.uow.tickets.save(ticket)

    async def on_unsupported(self, turn: Turn, inbound: Inbound) -> None:
        conv = turn.conversation
        turn.reply(self.t(turn, "unsupported.message", kind=self.t(turn, f"media.{inbound.unsupported_type}") if self.texts.has(turn.language, f"media.{inbound.unsupported_type}") else inbound.unsupported_type or "?"))
        if conv is not None and conv.state in (*TICKET_OPEN_STATES, *FEEDBACK_STATES):
            await self._relay(turn, inbound, acknowledge=False)
        elif conv is not None and conv.active:
            self.prompt(turn)

    async def on_edit(self, turn: Turn, inbound: Inbound) -> None:
        """An edited message: the description's edit replaces it (and its suggestion)."""
        conv = turn.conversation
        if inbound.message_id:  # the stored message takes the new text and keeps the old one
            await turn.uow.messages.edit(turn.channel, turn.chat_id, inbound.message_id, inbound.text, turn.now)
        if conv is not None and conv.state in INTAKE_STATES and inbound.message_id and conv.draft.description_message_id == inbound.message_id and has_words(inbound.text):
            conv.draft.description = trim(inbound.text)
            self._classify(turn, conv.draft)
            self._forget_taken(conv.draft)
            self._take_details(turn, conv.draft.description)
            turn.reply(self.t(turn, "edit.description_updated"))
            if STEPS[conv.state].question.fill is Fill.SUGGESTION:  # the suggestion on screen changed
                self.prompt(turn)
            return
        if conv is not None and conv.state in (*TICKET_OPEN_STATES, *FEEDBACK_STATES):
            await self._relay(turn, inbound, acknowledge=False)
        turn.reply(self.t(turn, "edit.noted"))

    _dispatch: ClassVar[dict[InboundKind, InboundHandler]] = {
        InboundKind.TEXT: Held.on_text,
        InboundKind.COMMAND: Commands.on_command,
        InboundKind.BUTTON: Answers.on_button,
        InboundKind.PHOTO: on_attachment,
        InboundKind.DOCUMENT: on_attachment,
        InboundKind.CONTACT: Held.on_contact,
        InboundKind.UNSUPPORTED: on_unsupported,
        InboundKind.EDIT: on_edit,
    }
