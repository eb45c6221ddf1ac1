"""Tickets and the desk's corrections of their labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.domain import Attachment, Correction, Severity, Ticket, TicketState
from flows.formatting import ticket_number
from storage.models import CorrectionRow, TicketRow
from storage.repositories.base import _Repository, copied_fields, corrections, from_row, tickets, values_of

# the one list of ticket fields is the Ticket dataclass, checked against TicketRow's
# columns; these three are converted here: the id and number are set by add(), photos
# are stored as JSON
_TICKET_FIELDS = copied_fields(Ticket, TicketRow, converted=("id", "number", "photos"))


def _ticket(row: Row[Any]) -> Ticket:
    return from_row(
        Ticket, row, _TICKET_FIELDS, id=row.id, number=row.number, photos=[Attachment.from_dict(p) for p in row.photos or ()]
    )


def _ticket_values(ticket: Ticket) -> dict[str, Any]:
    values = values_of(ticket, _TICKET_FIELDS)
    values["photos"] = [p.to_dict() for p in ticket.photos]
    return values


# most severe first: the order is Severity.rank's, not restated here
_MOST_SEVERE_FIRST = case({s: s.rank for s in Severity}, value=tickets.c.severity, else_=-1).desc()


class SqlTicketRepository(_Repository):
    async def add(self, ticket: Ticket) -> Ticket:
        ticket_id = (
            await self.connection.execute(insert(tickets).returning(tickets.c.id), _ticket_values(ticket))
        ).scalar_one()
        number = ticket_number(ticket_id)
        await self.connection.execute(update(tickets).where(tickets.c.id == ticket_id).values(number=number))
        ticket.id, ticket.number = ticket_id, number
        return ticket

    async def get(self, ticket_id: int, *, lock: bool = False) -> Ticket | None:
        query = select(tickets).where(tickets.c.id == ticket_id)
        row = (await self.connection.execute(query.with_for_update() if lock else query)).first()
        return _ticket(row) if row else None

    async def by_number(self, number: str) -> Ticket | None:
        row = (await self.connection.execute(select(tickets).where(tickets.c.number == number))).first()
        return _ticket(row) if row else None

    async def save(self, ticket: Ticket) -> None:
        result = await self.connection.execute(
            update(tickets).where(tickets.c.id == ticket.id).values(_ticket_values(ticket))
        )
        assert result.rowcount == 1, f"ticket {ticket.id} vanished"

    async def for_customer(self, customer_id: int, limit: int = 10) -> Sequence[Ticket]:
        rows = await self.connection.execute(
            select(tickets).where(tickets.c.customer_id == customer_id).order_by(tickets.c.id.desc()).limit(limit)
        )
        return [_ticket(r) for r in rows]

    async def unclaimed(self, limit: int = 50) -> Sequence[Ticket]:
        rows = await self.connection.execute(
            select(tickets)
            .where(tickets.c.state.in_((TicketState.NEW, TicketState.REOPENED)), tickets.c.owner_id.is_(None))
            .order_by(_MOST_SEVERE_FIRST, tickets.c.id)
            .limit(limit)
        )
        return [_ticket(r) for r in rows]

    async def owned_by(self, owner_id: str, limit: int = 50) -> Sequence[Ticket]:
        rows = await self.connection.execute(
            select(tickets)
            .where(tickets.c.owner_id == owner_id, tickets.c.state.in_((TicketState.CLAIMED, TicketState.REOPENED)))
            .order_by(_MOST_SEVERE_FIRST, tickets.c.id)
            .limit(limit)
        )
        return [_ticket(r) for r in rows]

    async def set_desk_ref(self, ticket_id: int, ref: str) -> None:
        await self.connection.execute(update(tickets).where(tickets.c.id == ticket_id).values(desk_ref=ref))

    async def by_desk_ref(self, ref: str) -> Ticket | None:
        row = (await self.connection.execute(select(tickets).where(tickets.c.desk_ref == ref).limit(1))).first()
        return _ticket(row) if row else None

    async def count_by_state(self) -> dict[TicketState, int]:
        rows = await self.connection.execute(select(tickets.c.state, func.count()).group_by(tickets.c.state))
        return {state: count for state, count in rows}

    async def add_correction(self, correction: Correction) -> Correction:
        values = _correction_values(correction)
        correction_id = (await self.connection.execute(insert(corrections).returning(corrections.c.id), values)).scalar_one()
        return replace(correction, id=correction_id)

    async def corrections(self, ticket_id: int) -> Sequence[Correction]:
        rows = await self.connection.execute(
            select(corrections).where(corrections.c.ticket_id == ticket_id).order_by(corrections.c.id)
        )
        return [_correction(r) for r in rows]


# ---------------------------------------------------------------------- corrections
_CORRECTION_FIELDS = copied_fields(Correction, CorrectionRow, converted=("id",))


def _correction(row: Row[Any]) -> Correction:
    return from_row(Correction, row, _CORRECTION_FIELDS, id=row.id)


def _correction_values(correction: Correction) -> dict[str, Any]:
    return values_of(correction, _CORRECTION_FIELDS)


async def desk_labels(connection: AsyncConnection) -> list[Correction]:
    """The labels people on the desk gave each corrected ticket, one per ticket, oldest first.

    Each is the ticket's newest correction (its text, suggestion, who and when) with
    ``category`` the category a person set most recently on the ticket and ``severity``
    the severity a person set most recently, each falling back to the classifier's
    suggestion where no person changed that label. A row keeps the ticket's current value
    of the label its person did not change, which may come from automatic upgrades (hot
    issue, repeat complaint, overdue): that value is never a label here. The latest
    category change and the latest severity change may be different rows; which label a
    row changed is told by its ``previous_*`` columns (:attr:`Correction.changes_category`,
    :attr:`Correction.changes_severity`). Every correction stays in the table."""
    c = corrections.c
    per_ticket = (
        select(
            c.ticket_id,
            func.max(c.id).label("newest"),
            func.max(case((c.previous_category != c.category, c.id))).label("category_from"),
            func.max(case((c.previous_severity != c.severity, c.id))).label("severity_from"),
        )
        .group_by(c.ticket_id)
        .subquery("per_ticket")
    )
    newest = corrections.alias("newest")
    category_set = corrections.alias("category_set")
    severity_set = corrections.alias("severity_set")
    query = (
        select(
            newest,
            category_set.c.category.label("set_category"),
            severity_set.c.severity.label("set_severity"),
        )
        .select_from(
            per_ticket.join(newest, newest.c.id == per_ticket.c.newest)
            .outerjoin(category_set, category_set.c.id == per_ticket.c.category_from)
            .outerjoin(severity_set, severity_set.c.id == per_ticket.c.severity_from)
        )
        .order_by(newest.c.id)
    )
    return [
        replace(
            _correction(row),
            category=row.set_category if row.set_category is not None else row.suggested_category,
            severity=row.set_severity if row.set_severity is not None else row.suggested_severity,
        )
        for row in await connection.execute(query)
    ]
