"""After submission: the customer's words go to the ticket, and the follow-up (回访) —
solved or not, a rating (a low one reopens), a comment, closing."""

from __future__ import annotations

from flows import lifecycle, sla
from flows.conversation import WAITING_STATES
from flows.domain import Attachment, ConversationState, Inbound, InboundKind, Ticket, TicketState
from flows.events import (
    CloseReason,
    CustomerAdded,
    HandoffReason,
    ReopenReason,
    TicketClosed,
)
from flows.intake.questions import Questions
from flows.steps import MAX_COMMENT
from flows.turn import Turn
from flows.words import Words, choice, norm, trim


class FollowUp(Questions):
    """What happens once a ticket exists."""

    def _submitted_reply(self, turn: Turn, ticket: Ticket) -> None:
        params = {
            "number": ticket.number,
            "category": self.category_name(turn, ticket.category),
            "first_due": self.due(turn, ticket.first_response_due),
            "reply_due": self.due(turn, ticket.reply_due),
        }
        if ticket.handoff_reason == HandoffReason.CUSTOMER_REQUEST:
            turn.reply(self.t(turn, "submitted.human", **params))
        elif ticket.handoff_reason:
            turn.reply(self.t(turn, self._promise(ticket, "submitted.urgent"), **params))
        else:
            turn.reply(self.t(turn, "submitted.queued", **params))
        if ticket.handoff_reason:
            self._desk_not_connected(turn, ticket)

    @staticmethod
    def _promise(ticket: Ticket, key: str) -> str:
        """The text key of a promise that staff will contact the customer: without a
        contact to reach them at, its ``_here`` variant says the answer comes in this chat."""
        return key if ticket.contact else f"{key}_here"

    def _desk_not_connected(self, turn: Turn, ticket: Ticket) -> None:
        """No agent is connected: said once per ticket (its conversation remembers it).
        The ticket stays queued and saved whatever the customer adds, so saying it again
        after every line would only bury the acknowledgement of what was added."""
        if self.desk_connected:
            return
        conv = turn.conversation
        if conv is not None and conv.ticket_id == ticket.id:
            if conv.draft.desk_notice:
                return
            conv.draft.desk_notice = True
        turn.reply(self.t(turn, self._promise(ticket, "desk.not_connected"), number=ticket.number))

    # ------------------------------------------------------------------ to the ticket's thread
    async def _add_info(self, turn: Turn, inbound: Inbound) -> None:
        conv = turn.conversation
        if (
            inbound.kind is InboundKind.TEXT  # a photo captioned "1" is still a photo for the ticket
            and conv is not None
            and conv.state in WAITING_STATES
            and self._says_nothing_new(norm(inbound.text))
        ):
            # "1", "ok", "好的" while the ticket waits: no content for the ticket (kept off it,
            # like a blank line), answered briefly
            turn.unfiled = True
            ticket = await self._ticket(turn)
            turn.reply(self.t(turn, "waiting.noted", number=ticket.number if ticket is not None else "-"))
            return
        self._fire(turn, "add_info")
        await self._relay(turn, inbound, acknowledge=True)

    async def _relay(self, turn: Turn, inbound: Inbound, *, acknowledge: bool) -> None:
        """Pass what the customer sent after submission to the ticket's thread."""
        await self._relay_said(
            turn,
            inbound.kind,
            inbound.text,
            acknowledge=acknowledge,
            attachment=inbound.attachment,
            unsupported_type=inbound.unsupported_type or None,
            message_id=inbound.message_id or None,
        )

    async def _relay_said(
        self,
        turn: Turn,
        kind: InboundKind,
        text: str,
        *,
        acknowledge: bool,
        attachment: Attachment | None = None,
        unsupported_type: str | None = None,
        message_id: str | None = None,
    ) -> None:
        """Pass something the customer said (now, or earlier and held) to the ticket's thread."""
        ticket = await self._ticket(turn)
        if ticket is None:
            return
        turn.to_desk(
            CustomerAdded(
                ticket.id,
                message=kind,
                text=text,
                attachment=attachment,
                unsupported_type=unsupported_type,
                message_id=message_id,
            )
        )
        conv = turn.conversation
        if acknowledge and conv is not None and conv.state in WAITING_STATES:
            turn.reply(self.t(turn, "info.added", number=ticket.number))
            if ticket.handoff_reason:
                self._desk_not_connected(turn, ticket)

    def _says_nothing_new(self, word: str) -> bool:
        """A typed ``word`` with nothing in it for a waiting ticket: a choice number where no
        button is shown ("1"), an "ok" or "好的"."""
        return choice(word) is not None or self.vocabulary.means(word, (Words.YES, Words.DONE))

    # ------------------------------------------------------------------ the follow-up
    async def _solved(self, turn: Turn, solved: bool) -> None:
        ticket = await self._ticket(turn)
        assert ticket is not None and turn.conversation is not None
        if solved:
            self._fire(turn, "confirm_solved")
            await lifecycle.record(turn, ticket, "customer_confirmed_solved", lifecycle.CUSTOMER, ticket.state)
            self.prompt(turn)
            return
        self._fire(turn, "not_solved")
        await lifecycle.reopen(turn, ticket, ReopenReason.NOT_SOLVED, self.promises)
        await turn.uow.tickets.save(ticket)
        turn.reply(self.t(turn, "feedback.reopened", number=ticket.number, due=self.due(turn, ticket.first_response_due)))

    async def _rate(self, turn: Turn, rating: int) -> None:
        if not 1 <= rating <= 5:
            turn.reply(self.t(turn, "feedback.rate_with_buttons"))
            self.prompt(turn)
            return
        ticket = await self._ticket(turn)
        assert ticket is not None
        ticket.rating = rating
        self._fire(turn, "rate", rating=rating)
        if turn.conversation is not None and turn.conversation.state is ConversationState.REOPENED:
            await lifecycle.reopen(turn, ticket, ReopenReason.LOW_RATING, self.promises)
            await turn.uow.tickets.save(ticket)
            turn.reply(self.t(turn, "feedback.low_rating", number=ticket.number, due=self.due(turn, ticket.first_response_due)))
            return
        await lifecycle.record(turn, ticket, "rated", lifecycle.CUSTOMER, ticket.state, {"rating": rating})
        await turn.uow.tickets.save(ticket)
        self.prompt(turn)

    async def _comment(self, turn: Turn, text: str, limit: int = MAX_COMMENT) -> None:
        """The closing comment (a blank line never gets here: it is no comment)."""
        ticket = await self._ticket(turn)
        assert ticket is not None
        ticket.feedback = trim(text)[:limit]
        self._fire(turn, "comment")
        await self._close_ticket(turn, ticket)

    async def _after_feedback_step(self, turn: Turn) -> None:
        conv = turn.conversation
        if conv is not None and conv.state is ConversationState.CLOSED:
            ticket = await self._ticket(turn)
            if ticket is not None:
                await self._close_ticket(turn, ticket)
            return
        self.prompt(turn)

    async def _close_ticket(self, turn: Turn, ticket: Ticket) -> None:
        data = {"rating": ticket.rating, "comment": ticket.feedback}
        if ticket.state is TicketState.RESOLVED:
            await lifecycle.apply(turn, ticket, "close", lifecycle.CUSTOMER, data)
        await lifecycle.met(turn, ticket, sla.KEPT_BY_ANSWERING_THE_FOLLOW_UP)
        await turn.uow.tickets.save(ticket)
        turn.to_desk(TicketClosed(ticket.id, reason=CloseReason.CUSTOMER, rating=ticket.rating, comment=ticket.feedback))
        turn.reply(self.t(turn, "feedback.thanks", number=ticket.number))
