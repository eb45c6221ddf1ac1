"""Hot issues (热点): several different customers complaining about the same thing.

When ``Promises.hot_issue_customers`` (3) or more different customers submit complaints
of the same category sharing a key term (a product, shop, place: see
``Classifier.key_terms``) within ``Promises.hot_issue_window`` (30 days), they are one
hot issue. Its tickets become at least hot and supervisors get ONE ping for the issue;
later matching tickets join it without a new ping (lifecycle.open_ticket does the
raising and pinging; this module only finds the issue).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.domain import HotIssue, Ticket
from flows.promises import Promises
from flows.turn import Turn


@dataclass(frozen=True, slots=True)
class IssueMatch:
    """The hot issue a new ticket belongs to."""

    issue: HotIssue
    new: bool  # the issue starts with this ticket: supervisors are pinged
    ticket_ids: tuple[int, ...]  # every ticket of the issue, this one included


async def match(turn: Turn, ticket: Ticket, terms: tuple[str, ...] | list[str], promises: Promises) -> IssueMatch | None:
    """The issue ``ticket`` belongs to, creating it when this ticket completes one."""
    assert ticket.id is not None
    since = turn.now - promises.hot_issue_window
    for term in terms:  # an open issue about one of its terms: join it
        issue = await turn.uow.hot_issues.recent(ticket.category, term, since)
        if issue is not None:
            return IssueMatch(issue, False, tuple(sorted({*issue.ticket_ids, ticket.id})))
    best: tuple[str, int, tuple[int, ...]] | None = None
    for term in terms:
        rows = await turn.uow.terms.customers_with(ticket.category, term, since)
        customers = {customer for _, customer in rows}
        if len(customers) >= promises.hot_issue_customers and (best is None or len(customers) > best[1]):
            best = (term, len(customers), tuple(sorted({t for t, _ in rows})))
    if best is None:
        return None
    term, _, ticket_ids = best
    issue = await turn.uow.hot_issues.add(HotIssue(None, ticket.category, term, turn.now, ticket_ids))
    return IssueMatch(issue, True, ticket_ids)
