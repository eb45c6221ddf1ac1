"""corrections (a person's change of a ticket's category or severity, for the classifier)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def _severity() -> sa.Enum:
    return sa.Enum("general", "important", "hot", "major", name="severity", native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", _ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("suggested_category", sa.String(64), nullable=False),
        sa.Column("suggested_severity", _severity(), nullable=False),
        sa.Column("previous_category", sa.String(64), nullable=False),
        sa.Column("previous_severity", _severity(), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("severity", _severity(), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("actor_name", sa.String(256), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_corrections_ticket_id_tickets"),
        sa.PrimaryKeyConstraint("id", name="pk_corrections"),
    )
    op.create_index("ix_corrections_ticket_id", "corrections", ["ticket_id"])
    op.create_index("ix_corrections_created_at", "corrections", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_corrections_created_at", table_name="corrections")
    op.drop_index("ix_corrections_ticket_id", table_name="corrections")
    op.drop_table("corrections")
