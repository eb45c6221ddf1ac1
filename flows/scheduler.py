"""What happens when a ticket timer is due (the scheduler loop calls
:meth:`flows.service.ComplaintService.run_due_timers`, one timer per transaction).

- SLA timers: a reminder in the ticket's thread when ``remind_at`` passes (a ticket the
  desk has not seen yet is handed off then, so someone can still keep the promise); a
  supervisor ping when the deadline passes. Each at most once: the timer row records it
  in the same transaction as the outbox rows.
- Upgrade timers: unresolved 7 days after submission → at least hot, 30 days → major.
- Follow-up timer: no answer to "is it solved?" in time → the ticket is closed and the
  customer is told they can reopen it.
"""

from __future__ import annotations

from flows import conversation as conversation_machine, lifecycle
from flows.conversation import FEEDBACK_STATES
from flows.domain import Severity, Ticket, TicketState, Timer, TimerKind
from flows.events import (
    CloseReason,
    DeadlineMissedPing,
    DeadlineReminder,
    HandoffReason,
    TicketClosed,
    UpgradeReason,
)
from flows.machine import IllegalEvent
from flows.policy import HandoffPolicy
from flows.promises import SLA_KINDS, Promises, sla_start
from flows.ticket import OPEN_STATES
from flows.texts import Catalogue
from flows.turn import Turn

UPGRADE_TARGETS = {TimerKind.UPGRADE_HOT: Severity.HOT, TimerKind.UPGRADE_MAJOR: Severity.MAJOR}


class TimerActions:
    """Acts on one due timer inside the caller's transaction (``turn``)."""

    def __init__(self, promises: Promises, handoff: HandoffPolicy, texts: Catalogue) -> None:
        self.promises = promises
        self.handoff = handoff
        self.texts = texts

    async def act(self, turn: Turn, timer: Timer, ticket: Ticket) -> None:
        if timer.kind in SLA_KINDS:
            await self._sla(turn, timer, ticket)
        elif timer.kind in UPGRADE_TARGETS:
            await self._upgrade(turn, timer, ticket)
        elif timer.kind is TimerKind.FOLLOW_UP:
            await self._follow_up(turn, timer, ticket)
        await turn.uow.timers.save(timer)

    async def _hand_off_if_unseen(self, turn: Turn, ticket: Ticket) -> None:
        if ticket.handoff_reason is None and ticket.state in OPEN_STATES:
            await lifecycle.hand_off(turn, ticket, HandoffReason.DUE_SOON)
            await turn.uow.tickets.save(ticket)

    async def _sla(self, turn: Turn, timer: Timer, ticket: Ticket) -> None:
        now = turn.now
        due = timer.due_at.isoformat()
        if timer.fired_at is None and timer.due_at <= now:
            timer.fired_at = now
            timer.reminded_at = timer.reminded_at or now  # a reminder after the deadline says nothing new
            await self._hand_off_if_unseen(turn, ticket)
            await lifecycle.record(turn, ticket, "sla_breached", lifecycle.SYSTEM, ticket.state, {"timer": timer.kind.value, "due": due})
            turn.to_desk(DeadlineReminder(ticket.id, timer=timer.kind, due=timer.due_at, breached=True, owner=ticket.owner_id))
            turn.to_desk(DeadlineMissedPing(ticket.id, timer=timer.kind, due=timer.due_at))
        elif timer.reminded_at is None and timer.remind_at is not None and timer.remind_at <= now:
            timer.reminded_at = now
            await self._hand_off_if_unseen(turn, ticket)
            await lifecycle.record(turn, ticket, "sla_reminder", lifecycle.SYSTEM, ticket.state, {"timer": timer.kind.value, "due": due})
            turn.to_desk(DeadlineReminder(ticket.id, timer=timer.kind, due=timer.due_at, breached=False, owner=ticket.owner_id))

    async def _upgrade(self, turn: Turn, timer: Timer, ticket: Ticket) -> None:
        timer.fired_at = timer.done_at = turn.now
        if ticket.state not in OPEN_STATES:
            return  # resolved in time; a reopening schedules the upgrades again
        days = (turn.now - sla_start(ticket)).days
        await lifecycle.raise_severity(
            turn, ticket, UPGRADE_TARGETS[timer.kind], UpgradeReason.UNRESOLVED, self.promises, self.handoff, days=days
        )

    async def _follow_up(self, turn: Turn, timer: Timer, ticket: Ticket) -> None:
        timer.fired_at = timer.done_at = turn.now
        if ticket.state is not TicketState.RESOLVED:
            return  # the customer answered, or it was reopened
        await lifecycle.apply(turn, ticket, "close", lifecycle.SYSTEM, {"reason": CloseReason.NO_ANSWER.value})
        await turn.uow.tickets.save(ticket)
        conv = turn.conversation
        if conv is not None and conv.state in FEEDBACK_STATES:
            try:
                conversation_machine.fire(conv, "close")
            except IllegalEvent:  # pragma: no cover - FEEDBACK_STATES all allow close
                pass
        language = turn.language
        turn.reply(self.texts.text(language, "feedback.closed_no_answer", number=ticket.number))
        turn.to_desk(TicketClosed(ticket.id, reason=CloseReason.NO_ANSWER))
