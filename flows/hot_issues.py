"""Hot issues (热点): several different customers complaining about the same thing.

When ``Promises.hot_issue_customers`` (3) or more different customers submit complaints
of the same category sharing a key term (a product, shop, place: see
``Classifier.key_terms``) within ``Promises.hot_issue_window`` (30 days), they are one
hot issue. Its tickets become at least hot (:mod:`flows.grading`) and supervisors get
ONE ping for the issue; later matching tickets join it without a new ping
(lifecycle.open_ticket does the raising and pinging).

This module is the pure rule: :func:`new_issue` decides whether a complaint completes an
issue from what it is given, with no lock, no reading and no writing. The I/O around it
is :func:`flows.lifecycle.match_hot_issue`, which decides under a lock per category
(``HotIssueRepository.lock``), never by check-then-insert alone: one issue and one ping
however many complaints arrive at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
    description on a tie. Pure: no lock, no reading (see
    :func:`flows.lifecycle.match_hot_issue`)."""
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

