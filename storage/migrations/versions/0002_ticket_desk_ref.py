"""tickets.desk_ref: where the agents' desk shows the ticket (the Slack card)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("desk_ref", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_desk_ref"), ["desk_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_desk_ref"))
        batch_op.drop_column("desk_ref")
