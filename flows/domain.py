"""Domain types shared by the flows, the storage layer and the channel adapters.

Plain dataclasses: no ORM, no platform types. ``storage`` maps them to tables and
``handlers`` translate platform updates into :class:`Inbound` and render
:class:`OutboxItem` payloads back into platform calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from nlp import Severity

__all__ = [
    "Actor",
    "Attachment",
    "Button",
    "Conversation",
    "ConversationState",
    "Correction",
    "Customer",
    "DESK_CHANNEL",
    "Draft",
    "Inbound",
    "InboundKind",
    "MessageRecord",
    "OutboxItem",
    "Reply",
    "Severity",
    "Ticket",
    "TicketEvent",
    "TicketState",
    "Timer",
    "TimerKind",
    "HotIssue",
    "InboxEntry",
    "UserRef",
    "desk_target",
]


class ConversationState(StrEnum):
    """States of the customer conversation machine (see flows/conversation.py)."""

    IDLE = "idle"
    DESCRIBING = "describing"
    CONFIRMING_CATEGORY = "confirming_category"
    CHOOSING_CATEGORY = "choosing_category"
    ASKING_ORDER = "asking_order"
    ASKING_TIME = "asking_time"
    ASKING_CONTACT = "asking_contact"
    ASKING_PHOTOS = "asking_photos"
    REVIEWING = "reviewing"
    SUBMITTED = "submitted"
    WITH_AGENT = "with_agent"
    RESOLVED = "resolved"
    AWAITING_FEEDBACK = "awaiting_feedback"
    COMMENTING = "commenting"
    REOPENED = "reopened"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class TicketState(StrEnum):
    """States of the ticket lifecycle machine (see flows/ticket.py)."""

    NEW = "new"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class InboundKind(StrEnum):
    """What a customer sent, independent of the platform."""

    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    PHOTO = "photo"
    DOCUMENT = "document"
    CONTACT = "contact"
    EDIT = "edit"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo or document the customer sent as evidence (the file stays on the platform)."""

    kind: str  # "photo" | "document"
    file_id: str  # platform file id, or a local path for the terminal channel
    file_unique_id: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in _asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attachment:
        return cls(**{k: data[k] for k in _ATTACHMENT_FIELDS if k in data})


_ATTACHMENT_FIELDS = (
    "kind",
    "file_id",
    "file_unique_id",
    "mime_type",
    "file_size",
    "file_name",
    "width",
    "height",
)


def _asdict(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


@dataclass(frozen=True, slots=True)
class UserRef:
    """The platform user behind an inbound event."""

    external_id: str
    display_name: str = ""
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a customer did, translated by a channel adapter."""

    channel: str  # "telegram", "console", ...
    chat_id: str
    user: UserRef
    kind: InboundKind
    text: str = ""  # message text, caption, or command arguments
    command: str | None = None  # "start", "complain", ... without the slash
    button: str | None = None  # callback data of a pressed button
    attachment: Attachment | None = None
    contact: str | None = None  # phone number shared through the platform's contact button
    own_contact: bool = True  # the shared contact is the sender's own (a forwarded card of someone else is not)
    unsupported_type: str | None = None  # "sticker", "voice", "location", ...
    update_id: str | None = None  # platform update id, for de-duplication
    message_id: str | None = None
    sent_at: datetime | None = None
    private_chat: bool = True


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the customer; ``data`` comes back in a BUTTON inbound."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A message to a customer, rendered by the channel (inline keyboard, numbered list...)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    request_contact: str | None = None  # label of the platform's "share my phone number" button
    remove_keyboard: bool = False  # take away a keyboard offered earlier (the contact button)

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": self.text}
        if self.buttons:
            payload["buttons"] = [[[b.label, b.data] for b in row] for row in self.buttons]
        if self.request_contact:
            payload["request_contact"] = self.request_contact
        if self.remove_keyboard:
            payload["remove_keyboard"] = True
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Reply:
        rows = tuple(
            tuple(Button(label, data) for label, data in row) for row in payload.get("buttons", ())
        )
        return cls(
            text=payload["text"],
            buttons=rows,
            request_contact=payload.get("request_contact") or None,
            remove_keyboard=bool(payload.get("remove_keyboard")),
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """An agent or supervisor acting on a ticket (from Slack, or a CLI)."""

    id: str
    name: str = ""
    is_agent: bool = False
    is_supervisor: bool = False

    @property
    def display(self) -> str:
        return self.name or self.id


@dataclass(slots=True)
class Customer:
    id: int | None
    channel: str
    external_id: str
    display_name: str = ""
    language: str = "zh"
    created_at: datetime | None = None


@dataclass(slots=True)
class Draft:
    """What the customer has told us during intake, before a ticket exists."""

    description: str = ""
    description_message_id: str | None = None
    suggestion: dict[str, Any] | None = None  # Suggestion.to_dict() of the description
    suggested_category: str | None = None
    category: str | None = None
    severity: str = Severity.GENERAL.value
    order_number: str | None = None
    occurred: str | None = None  # "when did it happen", in the customer's words
    contact: str | None = None
    amount: str | None = None  # the amount paid ("¥299"), only ever taken from the customer's words
    photos: list[Attachment] = field(default_factory=list)
    return_to_review: bool = False
    from_words: list[str] = field(default_factory=list)  # fields taken from what the customer wrote
    unshown: list[str] = field(default_factory=list)  # ...of those, not yet shown to them for confirmation
    wordless: str = ""  # what they sent without a word ("😡😡😡"), kept for the description once words come
    urged: list[str] = field(default_factory=list)  # detail fields whose skip was answered with why they matter
    held: dict[str, Any] | None = None  # what waits for the customer's answer to a side question (flows/intake/held.py)
    newer_complaint: bool = False  # a newer complaint was started in the chat since this one's ticket
    desk_notice: bool = False  # the customer was told no agent is connected (once per ticket)

    def to_dict(self) -> dict[str, Any]:
        """Every field (a new one needs nothing here), the photos as dicts."""
        data = {name: getattr(self, name) for name in _DRAFT_FIELDS_ORDERED}
        data["photos"] = [p.to_dict() for p in self.photos]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Draft:
        if not data:
            return cls()
        photos = [Attachment.from_dict(p) for p in data.get("photos", ())]
        known = {k: v for k, v in data.items() if k in _DRAFT_FIELDS and k != "photos"}
        return cls(**known, photos=photos)


_DRAFT_FIELDS_ORDERED = tuple(Draft.__dataclass_fields__)
_DRAFT_FIELDS = frozenset(_DRAFT_FIELDS_ORDERED)


@dataclass(slots=True)
class Conversation:
    """One complaint conversation with one customer in one chat.

    ``step`` grows on every transition; buttons carry it so that a press on a button
    from an earlier step is recognised as stale instead of being misapplied.
    """

    id: int | None
    customer_id: int
    channel: str
    chat_id: str
    state: ConversationState = ConversationState.IDLE
    step: int = 0
    draft: Draft = field(default_factory=Draft)
    ticket_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.state not in (ConversationState.CLOSED, ConversationState.CANCELLED)


@dataclass(slots=True)
class Ticket:
    id: int | None
    number: str | None
    customer_id: int
    conversation_id: int | None
    channel: str
    chat_id: str
    category: str
    severity: Severity
    state: TicketState = TicketState.NEW
    description: str = ""
    order_number: str | None = None
    occurred: str | None = None
    contact: str | None = None
    amount: str | None = None  # the amount paid, as the customer stated it ("¥299")
    photos: list[Attachment] = field(default_factory=list)
    classification: dict[str, Any] | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    handoff_reason: str | None = None
    desk_ref: str | None = None  # where the desk shows the ticket (Slack: "channel:ts" of its card)
    hot_issue_id: int | None = None  # the hot issue (热点) it belongs to
    escalated: bool = False
    crisis: bool = False
    rating: int | None = None
    feedback: str | None = None
    reopen_count: int = 0
    language: str = "zh"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    sla_started_at: datetime | None = None  # when the current promises began: submission, or the last reopening
    first_response_due: datetime | None = None
    reply_due: datetime | None = None
    resolution_due: datetime | None = None
    first_response_at: datetime | None = None
    first_reply_at: datetime | None = None  # the first substantive reply (an agent's message)
    resolved_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.state is not TicketState.CLOSED


class TimerKind(StrEnum):
    """What a ticket timer watches (see flows/sla.py)."""

    FIRST_RESPONSE = "first_response"  # a person responds (the ticket is claimed)
    SUBSTANTIVE_REPLY = "substantive_reply"  # an agent writes to the customer
    RESOLUTION = "resolution"  # resolved
    UPGRADE_HOT = "upgrade_hot"  # unresolved 7 days after submission
    UPGRADE_MAJOR = "upgrade_major"  # unresolved 30 days after submission
    FOLLOW_UP = "follow_up"  # the customer has not answered the follow-up (回访)


@dataclass(slots=True)
class Timer:
    """A deadline of a ticket, kept in the database so it survives restarts.

    ``remind_at`` (optional) is when the desk is reminded; ``due_at`` is when the promise
    is broken (or the automatic action happens). ``done_at`` ends the timer: met,
    cancelled, or acted on.
    """

    id: int | None
    ticket_id: int
    kind: TimerKind
    due_at: datetime
    remind_at: datetime | None = None
    reminded_at: datetime | None = None
    fired_at: datetime | None = None
    done_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(slots=True)
class HotIssue:
    """Several customers complaining about the same thing (热点)."""

    id: int | None
    category: str
    term: str
    created_at: datetime
    ticket_ids: tuple[int, ...] = ()
    pinged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """An audit record: a state change or an agent action on a ticket."""

    ticket_id: int
    kind: str
    actor: str  # "customer", "system", or an agent id
    from_state: str | None = None
    to_state: str | None = None
    data: dict[str, Any] | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    """A person on the desk changed a ticket's category or severity.

    Kept so the classifier can learn from it: ``text`` is the description it judged,
    ``suggested_*`` what it suggested at intake, ``category``/``severity`` the labels
    after the change and ``previous_*`` the labels just before it. The label the person
    did not change is the ticket's current value, which automatic upgrades (hot issue,
    repeat complaint, overdue) may have set: :attr:`changes_category` and
    :attr:`changes_severity` tell which labels the person set.
    """

    ticket_id: int
    text: str
    suggested_category: str
    suggested_severity: Severity
    previous_category: str
    previous_severity: Severity
    category: str
    severity: Severity
    actor_id: str
    actor_name: str
    actor_role: str  # "agent" | "supervisor"
    created_at: datetime
    id: int | None = None

    @property
    def changes_category(self) -> bool:
        """The person set the category (``category`` is their label)."""
        return self.category != self.previous_category

    @property
    def changes_severity(self) -> bool:
        """The person set the severity (``severity`` is their label)."""
        return self.severity is not self.previous_severity


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """Every inbound and outbound message, as it was said."""

    direction: str  # "in" | "out"
    channel: str
    chat_id: str
    kind: str
    text: str = ""
    conversation_id: int | None = None
    ticket_id: int | None = None
    data: dict[str, Any] | None = None
    platform_message_id: str | None = None
    created_at: datetime | None = None


DESK_CHANNEL = "desk"
"""Outbox channel of everything for agents and supervisors (``payload["audience"]``)."""


def desk_target(ticket_id: int | None) -> str:
    """Desk items are queued per ticket: in order for one ticket, independent across tickets."""
    return f"ticket:{ticket_id}" if ticket_id is not None else "desk"


@dataclass(slots=True)
class OutboxItem:
    """An outbound message written in the same transaction as its cause.

    ``channel`` is the destination: a customer channel ("telegram", "console") with
    ``target`` the chat id, or :data:`DESK_CHANNEL` with ``target`` the ticket
    (:func:`desk_target`) for the agents' desk.
    """

    id: int | None
    channel: str
    target: str
    kind: str  # "reply" for customers; "ticket_card", "relay", "ping", ... for the desk
    payload: dict[str, Any]
    status: str = "pending"  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    conversation_id: int | None = None
    ticket_id: int | None = None


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """An inbound platform update as it was received, stored before it is confirmed to
    the platform and handled afterwards (see flows/inbox.py).

    ``chat`` orders the work: a chat's entries are handled one at a time, by ``seq``
    (Telegram's update id; arrival order for platforms without one).
    """

    channel: str
    update_id: str
    chat: str
    seq: int
    payload: dict[str, Any]
    id: int | None = None
    attempts: int = 0
    # what the channel read from the update when it arrived (not stored: entries read
    # back from the database have none, and the channel decodes their payload)
    inbound: Inbound | None = field(default=None, compare=False, repr=False)
