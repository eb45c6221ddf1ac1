"""Customers, conversations, tickets, timers, key terms and hot issues in memory."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flows.domain import (
    Conversation,
    Correction,
    Customer,
    HotIssue,
    Ticket,
    TicketState,
    Timer,
    TimerKind,
)
from flows.formatting import ticket_number
from tests.fakes.memory.tables import Repo, Term, conversation_copy, ticket_copy


class MemoryCustomerRepository(Repo):
    async def get_or_create(self, channel: str, external_id: str, display_name: str, language: str) -> Customer:
        name = display_name[:256]
        for customer in self.db.customers.values():
            if customer.channel == channel and customer.external_id == external_id:
                found = copy.copy(customer)
                if name and found.display_name != name:
                    found.display_name = name
                    await self.save(found)
                return found
        new = Customer(self.db.next_id("customers"), channel, external_id, name, language, datetime.now(UTC))
        self.db.customers[new.id or 0] = copy.copy(new)
        return new

    async def get(self, customer_id: int) -> Customer | None:
        found = self.db.customers.get(customer_id)
        return copy.copy(found) if found else None

    async def save(self, customer: Customer) -> None:
        assert customer.id is not None
        stored = self.db.customers.get(customer.id)
        if stored is not None:
            self.db.customers[customer.id] = replace(stored, display_name=customer.display_name[:256], language=customer.language)


class MemoryConversationRepository(Repo):
    async def active_for_chat(self, channel: str, chat_id: str) -> Conversation | None:
        for conv_id in sorted(self.db.conversations, reverse=True):
            conv = self.db.conversations[conv_id]
            if conv.channel == channel and conv.chat_id == chat_id and conv.active:
                return conversation_copy(conv)
        return None

    async def get(self, conversation_id: int) -> Conversation | None:
        found = self.db.conversations.get(conversation_id)
        return conversation_copy(found) if found else None

    async def add(self, conversation: Conversation) -> Conversation:
        conversation.id = self.db.next_id("conversations")
        self._put(conversation)
        return conversation

    async def save(self, conversation: Conversation) -> None:
        assert conversation.id in self.db.conversations, f"conversation {conversation.id} vanished"
        self._put(conversation)

    def _put(self, conv: Conversation) -> None:
        assert conv.id is not None
        stored = conversation_copy(conv)
        stored.created_at, stored.updated_at = conv.created_at or conv.updated_at, conv.updated_at or conv.created_at
        self.db.conversations[conv.id] = stored


def _most_severe_then_oldest(ticket: Ticket) -> tuple[int, int]:
    return (-ticket.severity.rank, ticket.id or 0)


class MemoryTicketRepository(Repo):
    async def add(self, ticket: Ticket) -> Ticket:
        ticket.id = self.db.next_id("tickets")
        ticket.number = ticket_number(ticket.id)
        self.db.tickets[ticket.id] = ticket_copy(ticket)
        return ticket

    async def get(self, ticket_id: int, *, lock: bool = False) -> Ticket | None:
        found = self.db.tickets.get(ticket_id)
        return ticket_copy(found) if found else None

    async def by_number(self, number: str) -> Ticket | None:
        return self._first(lambda t: t.number == number)

    async def save(self, ticket: Ticket) -> None:
        assert ticket.id is not None
        stored = self.db.tickets.get(ticket.id)
        assert stored is not None, f"ticket {ticket.id} vanished"
        self.db.tickets[ticket.id] = replace(ticket_copy(ticket), number=stored.number)

    async def for_customer(self, customer_id: int, limit: int = 10) -> Sequence[Ticket]:
        found = [t for t in self.db.tickets.values() if t.customer_id == customer_id]
        return [ticket_copy(t) for t in sorted(found, key=lambda t: -(t.id or 0))[:limit]]

    async def unclaimed(self, limit: int = 50) -> Sequence[Ticket]:
        found = [
            t for t in self.db.tickets.values() if t.state in (TicketState.NEW, TicketState.REOPENED) and t.owner_id is None
        ]
        return [ticket_copy(t) for t in sorted(found, key=_most_severe_then_oldest)[:limit]]

    async def owned_by(self, owner_id: str, limit: int = 50) -> Sequence[Ticket]:
        found = [
            t
            for t in self.db.tickets.values()
            if t.owner_id == owner_id and t.state in (TicketState.CLAIMED, TicketState.REOPENED)
        ]
        return [ticket_copy(t) for t in sorted(found, key=_most_severe_then_oldest)[:limit]]

    async def set_desk_ref(self, ticket_id: int, ref: str) -> None:
        stored = self.db.tickets.get(ticket_id)
        if stored is not None:
            self.db.tickets[ticket_id] = replace(stored, desk_ref=ref)

    async def by_desk_ref(self, ref: str) -> Ticket | None:
        return self._first(lambda t: t.desk_ref == ref)

    async def count_by_state(self) -> dict[TicketState, int]:
        counts: dict[TicketState, int] = {}
        for ticket in self.db.tickets.values():
            counts[ticket.state] = counts.get(ticket.state, 0) + 1
        return counts

    async def add_correction(self, correction: Correction) -> Correction:
        stored = replace(correction, id=self.db.next_id("corrections"))
        self.db.corrections[stored.id or 0] = stored
        return stored

    async def corrections(self, ticket_id: int) -> Sequence[Correction]:
        return [c for _, c in sorted(self.db.corrections.items()) if c.ticket_id == ticket_id]

    def _first(self, match: Any) -> Ticket | None:
        for ticket_id in sorted(self.db.tickets):
            if match(self.db.tickets[ticket_id]):
                return ticket_copy(self.db.tickets[ticket_id])
        return None


def _due(timer: Timer, now: datetime) -> bool:
    return timer.done_at is None and (
        (timer.fired_at is None and timer.due_at <= now)
        or (timer.reminded_at is None and timer.remind_at is not None and timer.remind_at <= now)
    )


class MemoryTimerRepository(Repo):
    async def add_all(self, timers: Sequence[Timer]) -> None:
        for timer in timers:
            timer.id = self.db.next_id("timers")
            self._put(timer)

    def _put(self, timer: Timer) -> None:
        assert timer.id is not None
        self.db.timers[timer.id] = replace(timer, created_at=timer.created_at or timer.due_at)

    async def open_for_ticket(self, ticket_id: int) -> Sequence[Timer]:
        return [copy.copy(t) for _, t in sorted(self.db.timers.items()) if t.ticket_id == ticket_id and t.done_at is None]

    async def save(self, timer: Timer) -> None:
        if timer.id in self.db.timers:
            self._put(timer)

    async def finish(self, ticket_id: int, kinds: Sequence[TimerKind], at: datetime) -> None:
        for timer_id, timer in list(self.db.timers.items()):
            if timer.ticket_id == ticket_id and timer.kind in kinds and timer.done_at is None:
                self.db.timers[timer_id] = replace(timer, done_at=at)

    async def next_due(self, now: datetime, exclude: Sequence[int] = ()) -> Timer | None:
        due = [t for t in self.db.timers.values() if _due(t, now) and t.id not in exclude]
        return copy.copy(min(due, key=lambda t: (t.due_at, t.id or 0))) if due else None

    async def lock_if_due(self, timer_id: int, now: datetime) -> Timer | None:
        timer = self.db.timers.get(timer_id)
        return copy.copy(timer) if timer is not None and _due(timer, now) else None


class MemoryTermRepository(Repo):
    async def add(self, ticket: Ticket, terms: Sequence[str]) -> None:
        assert ticket.id is not None
        for term in terms:
            row = Term(ticket.id, ticket.customer_id, ticket.category, term[:64], ticket.created_at)
            self.db.terms[self.db.next_id("terms")] = row

    async def customers_with(
        self, category: str, terms: Sequence[str], since: datetime
    ) -> Sequence[tuple[str, int, int]]:
        rows = [
            row
            for _, row in sorted(self.db.terms.items())
            if row.category == category and row.term in terms and row.created_at is not None and row.created_at >= since
        ]
        return [(row.term, row.ticket_id, row.customer_id) for row in sorted(rows, key=lambda r: r.ticket_id)]


class MemoryHotIssueRepository(Repo):
    async def lock(self, category: str) -> None:
        """Nothing to do: one transaction at a time already."""

    async def recent(self, category: str, terms: Sequence[str], since: datetime) -> HotIssue | None:
        for issue_id in sorted(self.db.hot_issues, reverse=True):
            issue = self.db.hot_issues[issue_id]
            if issue.category == category and issue.term in terms and issue.created_at >= since:
                return replace(issue, ticket_ids=())
        return None

    async def add(self, issue: HotIssue) -> HotIssue:
        issue.id = self.db.next_id("hot_issues")
        self.db.hot_issues[issue.id] = replace(issue, term=issue.term[:64], ticket_ids=())
        return issue

    async def mark_pinged(self, issue_id: int, at: datetime) -> None:
        stored = self.db.hot_issues.get(issue_id)
        if stored is not None:
            self.db.hot_issues[issue_id] = replace(stored, pinged_at=at)
