"""service promises: ticket timers, key terms, hot issues, first substantive reply

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")
TIMER_KINDS = ("first_response", "substantive_reply", "resolution", "upgrade_hot", "upgrade_major", "follow_up")


def upgrade() -> None:
    op.create_table(
        "hot_issues",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pinged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hot_issues")),
    )
    with op.batch_alter_table("hot_issues", schema=None) as batch_op:
        batch_op.create_index("ix_hot_issues_category_term", ["category", "term", "created_at"], unique=False)

    op.create_table(
        "timers",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("kind", sa.Enum(*TIMER_KINDS, name="timerkind", native_enum=False, length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_timers_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
    )
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index("ix_timers_open_due", ["done_at", "due_at"], unique=False)
        batch_op.create_index("ix_timers_open_remind", ["done_at", "remind_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_timers_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_terms",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_ticket_terms_customer_id_customers")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_terms_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_terms")),
    )
    with op.batch_alter_table("ticket_terms", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_terms_lookup", ["category", "term", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_terms_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hot_issue_id", ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_hot_issue_id"), ["hot_issue_id"], unique=False)
        batch_op.create_index("ix_tickets_created_at", ["created_at"], unique=False)  # reports by period
        batch_op.create_foreign_key(batch_op.f("fk_tickets_hot_issue_id_hot_issues"), "hot_issues", ["hot_issue_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tickets_hot_issue_id_hot_issues"), type_="foreignkey")
        batch_op.drop_index("ix_tickets_created_at")
        batch_op.drop_index(batch_op.f("ix_tickets_hot_issue_id"))
        batch_op.drop_column("hot_issue_id")
        batch_op.drop_column("first_reply_at")
    op.drop_table("ticket_terms")
    op.drop_table("timers")
    op.drop_table("hot_issues")
