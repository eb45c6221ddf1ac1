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
from flows.words import trim


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
            turn.reply(self.t(turn, "submitted.urgent", **params))
        else:
            turn.reply(self.t(turn, "submitted.queued", **params))
        if ticket.handoff_reason and not self.desk_connected:
            turn.reply(self.t(turn, "desk.not_connected", number=ticket.number))

    # ------------------------------------------------------------------ to the ticket's thread
    async def _add_info(self, turn: Turn, inbound: Inbound) -> None:
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
            if not self.desk_connected and ticket.handoff_reason:
                turn.reply(self.t(turn, "desk.not_connected", number=ticket.number))

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
