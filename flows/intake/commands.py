"""The customer's commands: /start /help /lang /status /complain /cancel /human."""

from __future__ import annotations

from flows import buttons, lifecycle
from flows.conversation import FEEDBACK_STATES, INTAKE_STATES, TICKET_OPEN_STATES
from flows.domain import ConversationState, Inbound, Ticket, TicketState
from flows.events import HandoffReason
from flows.formatting import shorten
from flows.intake.follow_up import FollowUp
from flows.machine import IllegalEvent
from flows.turn import Turn


class Commands(FollowUp):
    """Commands, and what they share with buttons (language, a new complaint, a person)."""

    async def on_command(self, turn: Turn, inbound: Inbound) -> None:
        """A /command; /start in a conversation that has a question pending (a restart,
        the terminal chat started again) welcomes back and asks only that question, so the
        buttons on screen are the question's own."""
        command = (inbound.command or "").lower()
        if command == "start":
            if self._step(turn) is not None:
                turn.reply(self.t(turn, "welcome_back"))
                self.prompt(turn)
            else:
                turn.reply(self.t(turn, "welcome"), ((self._button(turn, "button.complain", "complain"),),))
        elif command == "help":
            turn.reply(self.t(turn, "help"))
        elif command == "lang":
            await self._language(turn, inbound.text.strip())
        elif command == "status":
            await self.show_status(turn)
        elif command == "complain":
            await self.start_complaint(turn)
        elif command == "cancel":
            self._cancel(turn)
        elif command == "human":
            await self.request_human(turn)
        else:
            turn.reply(self.t(turn, "command.unknown", command=shorten(command, 40)))

    async def _language(self, turn: Turn, code: str) -> None:
        wanted = code.lower()
        if wanted in self.texts.languages:
            turn.customer.language = wanted
            await turn.uow.customers.save(turn.customer)
            turn.reply(self.t(turn, "lang.changed"))
            if turn.conversation is not None and turn.conversation.active:
                self.prompt(turn)
            return
        row = tuple(
            buttons.make(self.texts.text(lang, "lang.name"), None, "lang", lang)
            for lang in self.texts.languages
        )
        turn.reply(self.t(turn, "lang.choose"), (row,))

    async def start_complaint(self, turn: Turn) -> None:
        conv = turn.conversation
        if conv is not None and conv.state in INTAKE_STATES:
            turn.reply(self.t(turn, "complain.already_started"))
            self.prompt(turn)
            return
        if conv is not None and conv.ticket_id is not None:
            ticket = await self._ticket(turn)
            if ticket is not None:
                turn.reply(self.t(turn, "complain.new_while_open", number=ticket.number))
            # back at this ticket later (the new one cancelled or over), a message may be
            # about something else: the first one asks where it belongs (flows/intake/held.py)
            conv.draft.newer_complaint = True
            await turn.uow.conversations.save(conv)
        await self._new_conversation(turn)
        self._fire(turn, "start")
        self.prompt(turn)

    def _cancel(self, turn: Turn) -> None:
        conv = turn.conversation
        if conv is None:
            turn.reply(self.t(turn, "cancel.nothing"))
            return
        if conv.state not in INTAKE_STATES:
            raise IllegalEvent("conversation", "cancel", conv.state.value)
        self._fire(turn, "cancel")
        turn.reply(self.t(turn, "cancel.done"))

    async def request_human(self, turn: Turn) -> None:
        conv = turn.conversation
        if conv is None:
            conv = await self._new_conversation(turn)
        if conv.state in TICKET_OPEN_STATES or conv.state in FEEDBACK_STATES:
            ticket = await self._ticket(turn)
            if ticket is not None and ticket.handoff_reason is None:
                await self._hand_off_existing(turn, ticket)
                return
            key = "human.with_agent" if conv.state is ConversationState.WITH_AGENT else "human.already_queued"
            turn.reply(self.t(turn, key, number=ticket.number if ticket else "-"))
            return
        if not conv.draft.description:  # what they sent without words is all they said, if anything
            conv.draft.description = conv.draft.wordless or self.t(turn, "human.no_description")
        self._fire(turn, "request_human")
        ticket = await lifecycle.open_ticket(turn, conv, self.promises, self.handoff, self._terms(conv), human_requested=True)
        self._submitted_reply(turn, ticket)

    async def _hand_off_existing(self, turn: Turn, ticket: Ticket) -> None:
        """A customer with a queued (not handed-off) ticket asks for a person."""
        await lifecycle.hand_off(turn, ticket, HandoffReason.CUSTOMER_REQUEST, lifecycle.CUSTOMER)
        await turn.uow.tickets.save(ticket)
        due = self.due(turn, ticket.first_response_due)
        turn.reply(self.t(turn, self._promise(ticket, "human.handed_off"), number=ticket.number, due=due))
        self._desk_not_connected(turn, ticket)

    async def show_status(self, turn: Turn) -> None:
        assert turn.customer.id is not None
        tickets = await turn.uow.tickets.for_customer(turn.customer.id)
        if not tickets:
            turn.reply(self.t(turn, "status.none"))
            return
        lines = [self.t(turn, "status.header")]
        for ticket in tickets:
            promise = self._promise_line(turn, ticket)
            lines.append(
                self.t(
                    turn,
                    "status.line",
                    number=ticket.number,
                    category=self.category_name(turn, ticket.category),
                    state=self.t(turn, f"ticket_state.{ticket.state.value}"),
                    promise=promise,
                )
            )
        turn.reply("\n".join(lines))

    def _promise_line(self, turn: Turn, ticket: Ticket) -> str:
        if ticket.state in (TicketState.RESOLVED, TicketState.CLOSED):
            return self.t(turn, "status.done")
        if ticket.first_response_at is None:
            return self.t(turn, "status.first_response_by", due=self.due(turn, ticket.first_response_due))
        return self.t(turn, "status.resolution_by", due=self.due(turn, ticket.resolution_due))
