"""One renderer per desk event class: what a card's thread says about a change, and
what the supervisors' ping says.

``NOTICES`` maps each event the card's thread reports (the ``UPDATE`` and ``REMINDER``
deliveries) to a function of the renderer and the event; ``PINGS`` does the same for
the supervisors' pings, which also get the card's link and the ticket's category.
The sender (sender.py) gives each class with a notice or a ping its step in ``STEPS``;
a unit test checks that every event class of :data:`flows.events.ALL_EVENTS` has one there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flows import events as ev
from flows.outbox import DeliveryError
from handlers.slack.blocks import CardRenderer
from handlers.slack.markup import escape, slack_date

E = TypeVar("E", bound=ev.DeskEvent)
Notice = Callable[[CardRenderer, Any], str]
Ping = Callable[[CardRenderer, Any, str, str], str]  # (renderer, event, link, category)

NOTICES: dict[type[ev.DeskEvent], Notice] = {}
PINGS: dict[type[ev.DeskEvent], Ping] = {}


def notice(cls: type[E]) -> Callable[[Callable[[CardRenderer, E], str]], Callable[[CardRenderer, E], str]]:
    """Register the thread notice of ``cls``."""

    def add(render: Callable[[CardRenderer, E], str]) -> Callable[[CardRenderer, E], str]:
        NOTICES[cls] = render
        return render

    return add


def ping(cls: type[E]) -> Callable[[Callable[[CardRenderer, E, str, str], str]], Callable[[CardRenderer, E, str, str], str]]:
    """Register the supervisors' ping of ``cls``."""

    def add(render: Callable[[CardRenderer, E, str, str], str]) -> Callable[[CardRenderer, E, str, str], str]:
        PINGS[cls] = render
        return render

    return add


def notice_text(renderer: CardRenderer, event: ev.DeskEvent) -> str | None:
    """What the card's thread says about ``event`` (None: nothing to say)."""
    render = NOTICES.get(type(event))
    return render(renderer, event) if render is not None else None


def ping_text(renderer: CardRenderer, event: ev.DeskEvent, link: str, category: str) -> str:
    """The supervisors' ping for ``event``; an event without one cannot be delivered."""
    render = PINGS.get(type(event))
    if render is None:
        raise DeliveryError(f"no Slack rendering for {type(event).__name__}", permanent=True)
    return render(renderer, event, link, category)


# ---------------------------------------------------------------------- the card's thread
@notice(ev.SeverityRaised)
def _severity_raised(r: CardRenderer, e: ev.SeverityRaised) -> str:
    return r.t("thread.upgraded", to=r.severity(e.severity), why=r.why(e.reason, e.days))


@notice(ev.JoinedHotIssue)
def _joined_hot_issue(r: CardRenderer, e: ev.JoinedHotIssue) -> str:
    return r.t("thread.joined_hot_issue", term=escape(e.term))


@notice(ev.TicketReopened)
def _reopened(r: CardRenderer, e: ev.TicketReopened) -> str:
    text = r.t("thread.reopened", reason=r.t(f"thread.reason_{e.reason.value}"))
    if e.owner:  # the owner hears of it (first-contact ownership)
        text += "\n" + r.t("thread.reopened_owner", owner=e.owner)
    return text


@notice(ev.TicketClaimed)
def _claimed(r: CardRenderer, e: ev.TicketClaimed) -> str:
    return r.t("thread.claimed", by=escape(e.by))


@notice(ev.TicketTransferred)
def _transferred(r: CardRenderer, e: ev.TicketTransferred) -> str:
    return r.t("thread.transferred", from_=escape(str(e.previous_owner)), to=escape(e.new_owner))


@notice(ev.TicketEscalated)
def _escalated(r: CardRenderer, e: ev.TicketEscalated) -> str:
    return r.t("thread.escalated", by=escape(e.by))


@notice(ev.CategoryChanged)
def _category_changed(r: CardRenderer, e: ev.CategoryChanged) -> str:
    return r.t("thread.category", to=escape(r.category_name(e.category)))


@notice(ev.SeverityChanged)
def _severity_changed(r: CardRenderer, e: ev.SeverityChanged) -> str:
    return r.t("thread.severity", from_=r.severity(e.previous), to=r.severity(e.severity))


@notice(ev.CrisisDeclared)
def _crisis_declared(r: CardRenderer, e: ev.CrisisDeclared) -> str:
    return r.t("thread.crisis", by=escape(e.by))


@notice(ev.TicketResolved)
def _resolved(r: CardRenderer, e: ev.TicketResolved) -> str:
    return r.t("thread.resolved", by=escape(e.by))


@notice(ev.TicketClosed)
def _closed(r: CardRenderer, e: ev.TicketClosed) -> str:
    rating = r.t("card.rating", rating=e.rating, comment=escape(e.comment or "")) if e.rating else ""
    return r.t("thread.closed", rating=rating)


@notice(ev.DeadlineReminder)
def _deadline(r: CardRenderer, e: ev.DeadlineReminder) -> str:
    owner = f"<@{e.owner}> " if e.owner else ""
    key = "thread.breached" if e.breached else "thread.reminder"
    return r.t(key, owner=owner, timer=r.timer(e.timer.value), due=slack_date(e.due, "-"))


# ---------------------------------------------------------------------- the supervisors' pings
@ping(ev.UrgentTicketPing)
def _urgent(r: CardRenderer, e: ev.UrgentTicketPing, link: str, category: str) -> str:
    return r.t(f"ping.severity_{e.severity.value}", link=link)


@ping(ev.HotIssuePing)
def _hot_issue(r: CardRenderer, e: ev.HotIssuePing, link: str, category: str) -> str:
    tickets = ", ".join(escape(n) for n in e.tickets)
    return r.t("ping.hot_issue", term=escape(e.term), count=len(e.tickets), tickets=tickets, category=category)


@ping(ev.UpgradedPing)
def _upgraded(r: CardRenderer, e: ev.UpgradedPing, link: str, category: str) -> str:
    return r.t(f"ping.upgraded_{e.severity.value}", link=link, why=r.why(e.reason, e.days))


@ping(ev.ReopenedPing)
def _reopened_ping(r: CardRenderer, e: ev.ReopenedPing, link: str, category: str) -> str:
    return r.t(f"ping.reopened_{e.reason.value}", link=link)


@ping(ev.DeadlineMissedPing)
def _deadline_missed(r: CardRenderer, e: ev.DeadlineMissedPing, link: str, category: str) -> str:
    return r.t("ping.sla_breach", link=link, timer=r.timer(e.timer.value), due=slack_date(e.due, "-"))


@ping(ev.EscalatedPing)
def _escalated_ping(r: CardRenderer, e: ev.EscalatedPing, link: str, category: str) -> str:
    return r.t("ping.agent_escalated", link=link, by=escape(e.by), note=escape(e.note))


@ping(ev.CrisisPing)
def _crisis_ping(r: CardRenderer, e: ev.CrisisPing, link: str, category: str) -> str:
    return r.t("ping.crisis", link=link, by=escape(e.by))
