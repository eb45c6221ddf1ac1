"""What happens when a ticket timer is due (the scheduler loop calls
:meth:`flows.service.ComplaintService.run_due_timers`, one timer per transaction).

The decisions are the pure rules' (:func:`flows.sla.deadline_due`,
:func:`flows.grading.overdue`, :func:`flows.sla.follow_up_due`); this module writes them:

- SLA timers: a reminder in the ticket's thread when ``remind_at`` passes (a ticket the
  desk has not seen yet is handed off then, so someone can still keep the promise); a
  supervisor ping when the deadline passes. Each at most once: the timer row records it
  in the same transaction as the outbox rows.
- Upgrade timers: unresolved 7 days after submission → at least hot, 30 days → major.
- Follow-up timer: no answer to "is it solved?" in time → the ticket is closed and the
  customer is told they can reopen it.
"""

from __future__ import annotations

from flows import conversation as conversation_machine, grading, lifecycle, sla
from flows.conversation import FEEDBACK_STATES
from flows.domain import Ticket, Timer, TimerKind
from flows.grading import HandoffPolicy
from flows.machine import IllegalEvent
from flows.sla import SLA_KINDS, Promises
from flows.texts import Catalogue
from flows.turn import Turn


class TimerActions:
    """Acts on one due timer inside the caller's transaction (``turn``)."""

    def __init__(self, promises: Promises, handoff: HandoffPolicy, texts: Catalogue) -> None:
        self.promises = promises
        self.handoff = handoff
        self.texts = texts

    async def act(self, turn: Turn, timer: Timer, ticket: Ticket) -> None:
        if timer.kind in SLA_KINDS:
            await self._sla(turn, timer, ticket)
        elif timer.kind in grading.UPGRADE_TARGETS:
            await self._upgrade(turn, timer, ticket)
        elif timer.kind is TimerKind.FOLLOW_UP:
            await self._follow_up(turn, timer, ticket)
        await turn.uow.timers.save(timer)

    async def _sla(self, turn: Turn, timer: Timer, ticket: Ticket) -> None:
        notice = sla.deadline_due(timer, ticket, turn.now)
        if notice is None:
            return
        if notice.hand_off is not None:
            await lifecycle.hand_off(turn, ticket, notice.hand_off)
            await turn.uow.tickets.save(ticket)
        await lifecycle.record(turn, ticket, notice.audit_kind, lifecycle.SYSTEM, ticket.state, notice.audit)
        for event in notice.desk:
            turn.to_desk(event)

    async def _upgrade(self, turn: Turn, timer: Timer, ticket: Ticket) -> None:
        change = grading.overdue(timer, ticket, turn.now, self.handoff)
        if change is not None:
            await lifecycle.apply_upgrade(turn, ticket, change, self.promises)

    async def _follow_up(self, turn: Turn, timer: Timer, ticket: Ticket) -> None:
        closing = sla.follow_up_due(timer, ticket, turn.now)
        if closing is None:
            return  # the customer answered, or it was reopened
        await lifecycle.apply(turn, ticket, "close", lifecycle.SYSTEM, closing.audit)
        await turn.uow.tickets.save(ticket)
        conv = turn.conversation
        if conv is not None and conv.state in FEEDBACK_STATES:
            try:
                conversation_machine.fire(conv, "close")
            except IllegalEvent:  # pragma: no cover - FEEDBACK_STATES all allow close
                pass
        turn.reply(self.texts.text(turn.language, closing.reply_key, number=ticket.number))
        for event in closing.desk:
            turn.to_desk(event)
