"""SQLAlchemy 2 typed models. Schema changes go through Alembic (storage/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flows.domain import ConversationState, Severity, TicketState, TimerKind

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONData = JSON().with_variant(JSONB(), "postgresql")


def _enum(enum_cls: type) -> Enum:
    return Enum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


IntPK = Annotated[int, mapped_column(Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True)]
Timestamp = Annotated[datetime, mapped_column(UTCDateTime())]
OptTimestamp = Annotated[datetime | None, mapped_column(UTCDateTime(), nullable=True)]
Json = Annotated[Any, mapped_column(JSONData, nullable=True)]
ShortText = Annotated[str, mapped_column(String(128))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CustomerRow(Base):
    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_channel_external", "channel", "external_id", unique=True),)

    id: Mapped[IntPK]
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[ShortText]
    display_name: Mapped[str] = mapped_column(String(256), default="")
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[Timestamp]


class ConversationRow(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_chat_active", "channel", "chat_id", "active"),)

    id: Mapped[IntPK]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))  # no index: nothing reads by it (docs/index-audit.md)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[ShortText]
    state: Mapped[ConversationState] = mapped_column(_enum(ConversationState))
    active: Mapped[bool] = mapped_column(Boolean)
    step: Mapped[int] = mapped_column(Integer, default=0)
    draft: Mapped[Json]
    # no foreign key: tickets.conversation_id already points back, and a cycle of
    # foreign keys cannot be created on SQLite without rebuilding a table
    ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_state_severity", "state", "severity"),
        Index("ix_tickets_created_at", "created_at"),
    )

    id: Mapped[IntPK]
    number: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), nullable=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[ShortText]
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[Severity] = mapped_column(_enum(Severity))
    state: Mapped[TicketState] = mapped_column(_enum(TicketState))
    description: Mapped[str] = mapped_column(Text, default="")
    order_number: Mapped[str | None] = mapped_column(String(128), nullable=True)
    occurred: Mapped[str | None] = mapped_column(String(256), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(128), nullable=True)
    amount: Mapped[str | None] = mapped_column(String(64), nullable=True)
    photos: Mapped[Json]
    classification: Mapped[Json]
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    owner_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    handoff_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    desk_ref: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    hot_issue_id: Mapped[int | None] = mapped_column(ForeignKey("hot_issues.id"), nullable=True, index=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    feedback: Mapped[str | None] = mapped_column(Text, nullable=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    sla_started_at: Mapped[OptTimestamp]
    first_response_due: Mapped[OptTimestamp]
    reply_due: Mapped[OptTimestamp]
    resolution_due: Mapped[OptTimestamp]
    first_response_at: Mapped[OptTimestamp]
    first_reply_at: Mapped[OptTimestamp]
    resolved_at: Mapped[OptTimestamp]
    closed_at: Mapped[OptTimestamp]


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_platform", "channel", "chat_id", "platform_message_id"),)

    id: Mapped[IntPK]
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[ShortText]
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True, index=True)
    data: Mapped[Json]
    platform_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[Timestamp]
    edited_at: Mapped[OptTimestamp]


class TicketEventRow(Base):
    __tablename__ = "ticket_events"

    id: Mapped[IntPK]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    data: Mapped[Json]
    created_at: Mapped[Timestamp] = mapped_column(UTCDateTime())


class CorrectionRow(Base):
    """A person's change of a ticket's category or severity on the desk, kept with the
    text the classifier judged and what it suggested, so it can learn from the desk.
    One row per change; timers, hot issues and repeat complaints write none."""

    __tablename__ = "corrections"

    id: Mapped[IntPK]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    suggested_category: Mapped[str] = mapped_column(String(64))
    suggested_severity: Mapped[Severity] = mapped_column(_enum(Severity))
    previous_category: Mapped[str] = mapped_column(String(64))
    previous_severity: Mapped[Severity] = mapped_column(_enum(Severity))
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[Severity] = mapped_column(_enum(Severity))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(256))
    actor_role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[Timestamp] = mapped_column(UTCDateTime())


class OutboxRow(Base):
    __tablename__ = "outbox"
    # only what waits to be sent is indexed (a row leaves the index once sent or failed);
    # the queries that use it say status = 'pending' as a literal (storage/repositories/outbox.py)
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "channel",
            "target",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[IntPK]
    channel: Mapped[str] = mapped_column(String(32))
    target: Mapped[ShortText]
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[Any] = mapped_column(JSONData)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[OptTimestamp]
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    created_at: Mapped[Timestamp]
    sent_at: Mapped[OptTimestamp]


class TimerRow(Base):
    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_open_due", "done_at", "due_at"),
    )

    id: Mapped[IntPK]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[TimerKind] = mapped_column(_enum(TimerKind))
    due_at: Mapped[Timestamp]
    remind_at: Mapped[OptTimestamp]
    reminded_at: Mapped[OptTimestamp]
    fired_at: Mapped[OptTimestamp]
    done_at: Mapped[OptTimestamp]
    created_at: Mapped[Timestamp]


class HotIssueRow(Base):
    __tablename__ = "hot_issues"
    __table_args__ = (Index("ix_hot_issues_category_term", "category", "term", "created_at"),)

    id: Mapped[IntPK]
    category: Mapped[str] = mapped_column(String(64))
    term: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Timestamp]
    pinged_at: Mapped[OptTimestamp]


class TicketTermRow(Base):
    """Key terms of a ticket's description (product, shop, place...), for hot issues and reports."""

    __tablename__ = "ticket_terms"
    __table_args__ = (Index("ix_ticket_terms_lookup", "category", "term", "created_at"),)

    id: Mapped[IntPK]
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    category: Mapped[str] = mapped_column(String(64))
    term: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Timestamp]


class ProcessedUpdateRow(Base):
    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[Timestamp]


class InboxRow(Base):
    """Inbound updates, stored before the platform is told they arrived (flows/inbox.py).

    Handled rows keep ``processed_at`` for a while, so a re-delivery is recognised by the
    unique key; one set aside after repeated failures keeps ``failed_at`` and
    ``last_error`` until a person deletes it."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_id", name="uq_inbox_channel_update"),
        Index(
            "ix_inbox_waiting",
            "channel",
            "chat",
            "seq",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )

    id: Mapped[IntPK]
    channel: Mapped[str] = mapped_column(String(32))
    update_id: Mapped[str] = mapped_column(String(128))
    chat: Mapped[str] = mapped_column(String(128))
    seq: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[Any] = mapped_column(JSONData)
    received_at: Mapped[Timestamp]
    processed_at: Mapped[OptTimestamp]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    failed_at: Mapped[OptTimestamp]  # set aside after repeated failures: kept for a person, never pruned


class LeaseRow(Base):
    """Who works on what, for a few seconds at a time (a chat's inbound updates, the
    Telegram poller): renewed while the holder lives, taken over once it expires."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[Timestamp]
