"""Hot issues (热点): several different customers complaining about the same thing.

When ``Promises.hot_issue_customers`` (3) or more different customers submit complaints
of the same category sharing a key term (a product, shop, place: see
``Classifier.key_terms``) within ``Promises.hot_issue_window`` (30 days), they are one
hot issue. Its tickets become at least hot (:mod:`flows.grading`) and supervisors get
ONE ping for the issue; later matching tickets join it without a new ping
(lifecycle.open_ticket does the raising and pinging; this module only finds the issue:
:func:`new_issue` is the pure decision, :func:`match` reads and writes around it). Whether a complaint starts an
issue is decided under a lock per category (``HotIssueRepository.lock``), never by
check-then-insert alone: one issue and one ping however many complaints arrive at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flows.domain import HotIssue
from flows.sla import Promises
from flows.turn import Turn


@dataclass(frozen=True, slots=True)
class IssueMatch:
    """The hot issue a new complaint belongs to."""

    issue: HotIssue
    new: bool  # the issue starts with this complaint: supervisors are pinged
    others: tuple[int, ...]  # earlier tickets that join with it (a new issue's), oldest first


@dataclass(frozen=True, slots=True)
class NewIssue:
    """The complaint completes a hot issue about ``term``; ``others`` are the earlier
    tickets that are in it (oldest first)."""

    term: str
    others: tuple[int, ...]


def new_issue(
    customer_id: int, terms: Sequence[str], mentions: Sequence[tuple[str, int, int]], min_customers: int
) -> NewIssue | None:
    """Does a complaint with the key ``terms`` complete a hot issue? ``mentions`` are the
    (term, ticket id, customer id) of the category's recent tickets with any of those
    terms. A term shared by ``min_customers`` different customers, this one included,
    makes the issue; of several, the one most customers share, the earlier in the
    description on a tie. Pure: no lock, no reading (see :func:`match`)."""
    tickets: dict[str, set[int]] = {}
    customers: dict[str, set[int]] = {term: {customer_id} for term in terms}
    for term, ticket_id, other in mentions:
        tickets.setdefault(term, set()).add(ticket_id)
        customers[term].add(other)
    ranked = sorted(
        (term for term in terms if len(customers[term]) >= min_customers),
        key=lambda term: -len(customers[term]),
    )
    if not ranked:
        return None
    term = ranked[0]
    return NewIssue(term, tuple(sorted(tickets.get(term, ()))))


async def match(
    turn: Turn, category: str, customer_id: int, terms: Sequence[str], promises: Promises
) -> IssueMatch | None:
    """The issue a complaint about to be filed belongs to, creating it when this
    complaint completes one (:func:`new_issue` decides).

    Holds the category's hot-issue lock from here to the end of the transaction (the
    caller records the complaint's terms under it): complaints that arrive together,
    in any process, are decided one after the other, each seeing the tickets and the
    issue of those before it. Without it each would find no issue (or too few other
    customers) and several issues and pings, or none, would follow."""
    await turn.uow.hot_issues.lock(category)
    since = turn.now - promises.hot_issue_window
    issue = await turn.uow.hot_issues.recent(category, terms, since)
    if issue is not None:  # an open issue about one of its terms: join it
        return IssueMatch(issue, False, ())
    mentions = await turn.uow.terms.customers_with(category, terms, since)
    found = new_issue(customer_id, terms, mentions, promises.hot_issue_customers)
    if found is None:
        return None
    issue = await turn.uow.hot_issues.add(HotIssue(None, category, found.term, turn.now))
    return IssueMatch(issue, True, found.others)
