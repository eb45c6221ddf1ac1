"""indexes nothing reads are dropped; the outbox's pending index holds only pending rows

Issue 12: every index is written with each row (and with each UPDATE that names its
columns), and the audit in docs/index-audit.md found these read by no statement of the
bot: they cost WAL pages on every message for nothing. ``ix_timers_open_remind`` only
ever served its ``done_at`` prefix, which ``ix_timers_open_due`` has too; the inbox's
``processed_at`` index served only the hourly prune, which now walks the table by id.
``ix_outbox_pending`` keeps only the rows that wait to be sent (a sent row leaves it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# (index, table, columns) dropped
UNREAD = [
    ("ix_conversations_customer_id", "conversations", ["customer_id"]),
    ("ix_conversations_ticket_id", "conversations", ["ticket_id"]),
    ("ix_tickets_category", "tickets", ["category"]),
    ("ix_messages_conversation_id", "messages", ["conversation_id"]),
    ("ix_outbox_ticket_id", "outbox", ["ticket_id"]),
    ("ix_ticket_events_created_at", "ticket_events", ["created_at"]),
    ("ix_ticket_terms_ticket_id", "ticket_terms", ["ticket_id"]),
    ("ix_corrections_created_at", "corrections", ["created_at"]),
    ("ix_timers_open_remind", "timers", ["done_at", "remind_at"]),
    ("ix_inbox_processed_at", "inbox", ["processed_at"]),
]
PENDING = "status = 'pending'"


def upgrade() -> None:
    for name, table, _columns in UNREAD:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_pending", "outbox", ["channel", "target", "id"],
        postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["channel", "status", "target", "id"])
    for name, table, columns in UNREAD:
        op.create_index(name, table, columns)
