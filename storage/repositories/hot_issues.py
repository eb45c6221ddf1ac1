"""Key terms of tickets and the hot issues (热点) they add up to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update

from flows.domain import HotIssue, Ticket
from storage.models import HotIssueRow
from storage.repositories.base import _Repository, copied_fields, from_row, hot_issues, ticket_terms, values_of

# the one list of hot issue fields is the HotIssue dataclass, checked against the table;
# the id is set by the database, the tickets are not stored with the issue (a ticket
# names its hot issue)
_HOT_ISSUE_FIELDS = copied_fields(HotIssue, HotIssueRow, converted=("id",), domain_only=("ticket_ids",))


class SqlTermRepository(_Repository):
    async def add(self, ticket: Ticket, terms: Sequence[str]) -> None:
        if terms:
            await self.connection.execute(
                insert(ticket_terms),
                [
                    dict(
                        ticket_id=ticket.id,
                        customer_id=ticket.customer_id,
                        category=ticket.category,
                        term=term[:64],
                        created_at=ticket.created_at,
                    )
                    for term in terms
                ],
            )

    async def customers_with(
        self, category: str, terms: Sequence[str], since: datetime
    ) -> Sequence[tuple[str, int, int]]:
        rows = await self.connection.execute(
            select(ticket_terms.c.term, ticket_terms.c.ticket_id, ticket_terms.c.customer_id)
            .where(
                ticket_terms.c.category == category,
                ticket_terms.c.term.in_(list(terms)),
                ticket_terms.c.created_at >= since,
            )
            .order_by(ticket_terms.c.ticket_id)
        )
        return [(term, ticket_id, customer_id) for term, ticket_id, customer_id in rows]


class SqlHotIssueRepository(_Repository):
    """Hot issues; :meth:`lock` serialises the decisions of one category."""

    _LOCK = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("b_key"))))

    async def lock(self, category: str) -> None:
        # PostgreSQL: a transaction-scoped advisory lock, released by COMMIT or ROLLBACK
        # (a dead process's connection ends, so does its lock). It works across
        # processes and needs no row to exist yet, which a row lock would. Under READ
        # COMMITTED (our isolation level) every later statement of this transaction
        # sees what the previous holder committed: its ticket terms and its issue.
        # SQLite: nothing to do, BEGIN IMMEDIATE already lets one writer in at a time.
        if self._postgres:
            await self.connection.execute(self._LOCK, {"b_key": f"hot_issue:{category}"})

    async def recent(self, category: str, terms: Sequence[str], since: datetime) -> HotIssue | None:
        row = (
            await self.connection.execute(
                select(hot_issues)
                .where(
                    hot_issues.c.category == category,
                    hot_issues.c.term.in_(list(terms)),
                    hot_issues.c.created_at >= since,
                )
                .order_by(hot_issues.c.id.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        return from_row(HotIssue, row, _HOT_ISSUE_FIELDS, id=row.id, ticket_ids=())

    async def add(self, issue: HotIssue) -> HotIssue:
        values = values_of(issue, _HOT_ISSUE_FIELDS)
        values["term"] = issue.term[:64]
        issue.id = (
            await self.connection.execute(insert(hot_issues).returning(hot_issues.c.id), values)
        ).scalar_one()
        return issue

    async def mark_pinged(self, issue_id: int, at: datetime) -> None:
        await self.connection.execute(update(hot_issues).where(hot_issues.c.id == issue_id).values(pinged_at=at))
