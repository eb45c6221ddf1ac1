"""What the core tells the desk: one frozen dataclass per kind of news.

The flows emit these (``turn.to_desk(TicketClaimed(ticket_id, by="Alice"))``); the
service writes each to the outbox in the same transaction as its cause; a desk
channel (Slack, the terminal desk) reads it back with :func:`decode` and renders it
with one renderer per event class. Nothing is a string kind or a dict to be parsed:
a reason is an enum, a number of days is an ``int``, a deadline a ``datetime``.

On the wire (the outbox row) an event is ``kind`` = its :class:`Delivery` (how the
desk delivers it: a card, a thread notice, a ping...) and ``payload`` =
``{"audience": ..., "event": <EventKind>, <its fields>}``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, ClassVar, TypeAlias, Union

from flows.domain import Attachment, InboundKind, TimerKind
from nlp import Severity


class Audience(StrEnum):
    AGENTS = "agents"
    SUPERVISORS = "supervisors"


class Delivery(StrEnum):
    """How a desk delivers an event (the outbox ``kind``)."""

    CARD = "ticket_card"  # post (or refresh) the ticket's card
    RELAY = "relay"  # what the customer sent, into the card's thread
    UPDATE = "ticket_update"  # refresh the card and say what changed in its thread
    REMINDER = "reminder"  # a deadline near or passed, in the card's thread
    PING = "ping"  # a message to the supervisors
    THREAD = "thread"  # a piece of the card that goes into its thread after posting
    PIN = "pin"  # pin a supervisors' message
    DIGEST = "digest"  # the supervisors' periodic report


class EventKind(StrEnum):
    HANDED_OFF = "handed_off"
    CUSTOMER_ADDED = "customer_added"
    CLAIMED = "claimed"
    TRANSFERRED = "transferred"
    ESCALATED = "escalated"
    CATEGORY_CHANGED = "category_changed"
    SEVERITY_CHANGED = "severity_changed"
    SEVERITY_RAISED = "severity_raised"
    JOINED_HOT_ISSUE = "joined_hot_issue"
    REOPENED = "reopened"
    CRISIS_DECLARED = "crisis_declared"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DEADLINE = "deadline"
    CARD_TEXT = "card_text"
    CARD_PHOTO = "card_photo"
    CARD_HISTORY = "card_history"
    URGENT_TICKET_PING = "urgent_ticket_ping"
    HOT_ISSUE_PING = "hot_issue_ping"
    UPGRADED_PING = "upgraded_ping"
    REOPENED_PING = "reopened_ping"
    DEADLINE_MISSED_PING = "deadline_missed_ping"
    ESCALATED_PING = "escalated_ping"
    CRISIS_PING = "crisis_ping"
    PIN_PING = "pin_ping"
    DIGEST_DUE = "digest_due"


class HandoffReason(StrEnum):
    """Why a ticket went to the agents' desk (stored as ``Ticket.handoff_reason``)."""

    CUSTOMER_REQUEST = "customer_request"
    SEVERITY = "severity"
    EVERY_TICKET = "every_ticket"
    DUE_SOON = "due_soon"  # nobody has seen it and a promise is close


class UpgradeReason(StrEnum):
    """Why the severity was raised automatically."""

    HOT_ISSUE = "hot_issue"
    UNRESOLVED = "unresolved"  # with the number of days since submission

    def audit(self, days: int | None) -> str:
        """The reason as the audit trail keeps it ("hot_issue", "unresolved_7d")."""
        return f"{self.value}_{days}d" if self is UpgradeReason.UNRESOLVED else self.value


class ReopenReason(StrEnum):
    NOT_SOLVED = "not_solved"
    LOW_RATING = "low_rating"


class CloseReason(StrEnum):
    CUSTOMER = "customer"  # the customer answered the follow-up (rated, commented or skipped)
    NO_ANSWER = "no_answer"  # nobody answered "is it solved?" in time


@dataclasses.dataclass(frozen=True, slots=True)
class DeskEvent:
    """Something the desk must hear about ``ticket_id`` (None only for the digest)."""

    kind: ClassVar[EventKind]
    delivery: ClassVar[Delivery]
    audience: ClassVar[Audience]
    ticket_id: int | None


# ---------------------------------------------------------------------- for agents
@dataclasses.dataclass(frozen=True, slots=True)
class TicketHandedOff(DeskEvent):
    kind = EventKind.HANDED_OFF
    delivery = Delivery.CARD
    audience = Audience.AGENTS
    reason: HandoffReason


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerAdded(DeskEvent):
    """What the customer sent about a submitted ticket."""

    kind = EventKind.CUSTOMER_ADDED
    delivery = Delivery.RELAY
    audience = Audience.AGENTS
    message: InboundKind
    text: str
    attachment: Attachment | None = None
    unsupported_type: str | None = None
    message_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TicketClaimed(DeskEvent):
    kind = EventKind.CLAIMED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    by: str


@dataclasses.dataclass(frozen=True, slots=True)
class TicketTransferred(DeskEvent):
    kind = EventKind.TRANSFERRED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    previous_owner: str | None
    new_owner: str


@dataclasses.dataclass(frozen=True, slots=True)
class TicketEscalated(DeskEvent):
    kind = EventKind.ESCALATED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    by: str


@dataclasses.dataclass(frozen=True, slots=True)
class CategoryChanged(DeskEvent):
    kind = EventKind.CATEGORY_CHANGED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    previous: str
    category: str


@dataclasses.dataclass(frozen=True, slots=True)
class SeverityChanged(DeskEvent):
    """A person changed the severity."""

    kind = EventKind.SEVERITY_CHANGED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    previous: Severity
    severity: Severity


@dataclasses.dataclass(frozen=True, slots=True)
class SeverityRaised(DeskEvent):
    """The rules raised the severity (hot issue, unresolved for ``days``)."""

    kind = EventKind.SEVERITY_RAISED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    previous: Severity
    severity: Severity
    reason: UpgradeReason
    days: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class JoinedHotIssue(DeskEvent):
    kind = EventKind.JOINED_HOT_ISSUE
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    term: str


@dataclasses.dataclass(frozen=True, slots=True)
class TicketReopened(DeskEvent):
    kind = EventKind.REOPENED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    reason: ReopenReason
    owner: str | None  # the owner's desk id: they hear of it (first-contact ownership)


@dataclasses.dataclass(frozen=True, slots=True)
class CrisisDeclared(DeskEvent):
    kind = EventKind.CRISIS_DECLARED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    by: str


@dataclasses.dataclass(frozen=True, slots=True)
class TicketResolved(DeskEvent):
    kind = EventKind.RESOLVED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    by: str


@dataclasses.dataclass(frozen=True, slots=True)
class TicketClosed(DeskEvent):
    kind = EventKind.CLOSED
    delivery = Delivery.UPDATE
    audience = Audience.AGENTS
    reason: CloseReason
    rating: int | None = None
    comment: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class DeadlineReminder(DeskEvent):
    """A promise is due soon (``breached`` False) or was missed, told in the card's thread."""

    kind = EventKind.DEADLINE
    delivery = Delivery.REMINDER
    audience = Audience.AGENTS
    timer: TimerKind
    due: datetime
    breached: bool
    owner: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class CardText(DeskEvent):
    """A piece of a description too long for the card."""

    kind = EventKind.CARD_TEXT
    delivery = Delivery.THREAD
    audience = Audience.AGENTS
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class CardPhoto(DeskEvent):
    kind = EventKind.CARD_PHOTO
    delivery = Delivery.THREAD
    audience = Audience.AGENTS
    attachment: Attachment


@dataclasses.dataclass(frozen=True, slots=True)
class CardHistory(DeskEvent):
    """What the customer wrote before the card was posted (up to ``until``)."""

    kind = EventKind.CARD_HISTORY
    delivery = Delivery.THREAD
    audience = Audience.AGENTS
    until: datetime | None


# ---------------------------------------------------------------------- for supervisors
@dataclasses.dataclass(frozen=True, slots=True)
class UrgentTicketPing(DeskEvent):
    """A hot or major ticket: submitted as such, or raised by a person (``by``)."""

    kind = EventKind.URGENT_TICKET_PING
    delivery = Delivery.PING
    audience = Audience.SUPERVISORS
    severity: Severity
    by: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class HotIssuePing(DeskEvent):
    kind = EventKind.HOT_ISSUE_PING
    delivery = Delivery.PING
    audience = Audience.SUPERVISORS
    term: str
    tickets: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class UpgradedPing(DeskEvent):
    kind = EventKind.UPGRADED_PING
    delivery = Delivery.PING
    audience = Audience.SUPERVISORS
    severity: Severity
    reason: UpgradeReason
    days: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ReopenedPing(DeskEvent):
    kind = EventKind.REOPENED_PING
    delivery = Delivery.PING
    audience = Audience.SUPERVISORS
    reason: ReopenReason


@dataclasses.dataclass(frozen=True, slots=True)
class DeadlineMissedPing(DeskEvent):
    kind = EventKind.DEADLINE_MISSED_PING
    delivery = Delivery.PING
    audience = Audience.SUPERVISORS
    timer: TimerKind
    due: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class EscalatedPing(DeskEvent):
    kind = EventKind.ESCALATED_PING
    delivery = Delivery.PING
    audience = Audience.SUPERVISORS
    by: str
    note: str


@dataclasses.dataclass(frozen=True, slots=True)
class CrisisPing(DeskEvent):
    """A crisis: every supervisor hears, and the message stays pinned until closing."""

    kind = EventKind.CRISIS_PING
    delivery = Delivery.PING
    audience = Audience.SUPERVISORS
    by: str


@dataclasses.dataclass(frozen=True, slots=True)
class PinPing(DeskEvent):
    """Pin the crisis ping posted at ``ref`` (a step of its own: a failure never repeats the ping)."""

    kind = EventKind.PIN_PING
    delivery = Delivery.PIN
    audience = Audience.SUPERVISORS
    ref: str


@dataclasses.dataclass(frozen=True, slots=True)
class DigestDue(DeskEvent):
    """The supervisors' report of a period (``key`` e.g. "2026-W48"); ``ticket_id`` is None."""

    kind = EventKind.DIGEST_DUE
    delivery = Delivery.DIGEST
    audience = Audience.SUPERVISORS
    since: datetime
    until: datetime
    key: str


ALL_EVENTS: tuple[type[DeskEvent], ...] = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, DeskEvent) and cls is not DeskEvent
)
"""Every event class of this module, in the order they are defined (a new one needs nothing else here)."""
BY_KIND: Mapping[EventKind, type[DeskEvent]] = {cls.kind: cls for cls in ALL_EVENTS}


class UnknownEvent(ValueError):
    """An outbox payload that is not one of :data:`ALL_EVENTS` (or not well formed)."""


# ---------------------------------------------------------------------- the wire
JsonValue: TypeAlias = Union[str, int, float, bool, None, list["JsonValue"], dict[str, "JsonValue"]]


def _own_fields(cls: type[DeskEvent]) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.name != "ticket_id")


_FIELDS: Mapping[type[DeskEvent], tuple[tuple[str, Any], ...]] = {cls: _own_fields(cls) for cls in ALL_EVENTS}


def _fields(cls: type[DeskEvent]) -> tuple[tuple[str, Any], ...]:
    try:
        return _FIELDS[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a desk event of flows/events.py (declare it there)") from None


def _optional_inner(tp: Any) -> Any:
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _encode(value: object) -> JsonValue:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Attachment):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    raise TypeError(f"cannot encode {type(value).__name__} in a desk event")


def _decode(tp: Any, value: Any) -> object:
    if value is None:
        return None
    tp = _optional_inner(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    if tp is datetime:
        return datetime.fromisoformat(str(value))
    if tp is Attachment:
        return Attachment.from_dict(dict(value))
    if typing.get_origin(tp) is tuple:
        (inner, *_rest) = typing.get_args(tp)
        return tuple(_decode(inner, v) for v in value)
    if tp in (str, int, bool, float):
        if not isinstance(value, tp):
            raise TypeError(f"expected {tp.__name__}, got {type(value).__name__}")
        return value
    raise TypeError(f"cannot decode {tp!r}")


def encode(event: DeskEvent) -> dict[str, JsonValue]:
    """The outbox payload of ``event`` (its ``kind`` column is ``event.delivery``)."""
    payload: dict[str, JsonValue] = {"audience": event.audience.value, "event": event.kind.value}
    for name, _ in _fields(type(event)):
        payload[name] = _encode(getattr(event, name))
    return payload


def decode(ticket_id: int | None, payload: Mapping[str, Any]) -> DeskEvent:
    """The event an outbox payload holds; :class:`UnknownEvent` when it holds none."""
    try:
        cls = BY_KIND[EventKind(str(payload.get("event")))]
    except ValueError:
        raise UnknownEvent(f"not a desk event: {payload.get('event')!r}") from None
    try:
        values = {name: _decode(tp, payload[name]) for name, tp in _fields(cls) if name in payload}
        return cls(ticket_id, **values)
    except (TypeError, ValueError, KeyError) as exc:
        raise UnknownEvent(f"malformed {cls.__name__}: {exc}") from exc
