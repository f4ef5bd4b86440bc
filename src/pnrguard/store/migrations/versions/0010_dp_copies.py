"""Copies follow the booking: exchange-message life cycle and the bookings a copy carries.

Issue 10, item 1 (Art. 12(1)-(3) of Directive (EU) 2016/681): `exchange_message` gets
`lifecycle` (``active`` / ``masked`` / ``deleted``) and `lifecycle_at`; the new table
`exchange_message_booking` links an outgoing answer or transfer to the local bookings it
carries, so masking and deleting a booking reach its copies (store/copies.py). Existing
outgoing copies are linked by the retention run's age rule only (their records are inside
the encrypted payload; `pnrguard retention run` masks and erases them by age).

Revision ID: 0010_dp_copies
Revises: 0016_formats
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_dp_copies"
down_revision = "0016_formats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_message") as batch:
        batch.add_column(sa.Column("lifecycle", sa.String(8), nullable=False, server_default="active"))
        batch.add_column(sa.Column("lifecycle_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(
            op.f("ck_exchange_message_lifecycle"), "lifecycle IN ('active', 'masked', 'deleted')"
        )
    op.create_table(
        "exchange_message_booking",
        sa.Column("exchange_id", sa.String(32), nullable=False),
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("exchange_id", "booking_id", name="pk_exchange_message_booking"),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchange_message.id"],
            name="fk_exchange_message_booking_exchange_id_exchange_message",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name="fk_exchange_message_booking_booking_id_booking"
        ),
    )
    op.create_index("ix_exchange_message_booking_booking_id", "exchange_message_booking", ["booking_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_message_booking_booking_id", "exchange_message_booking")
    op.drop_table("exchange_message_booking")
    with op.batch_alter_table("exchange_message") as batch:
        batch.drop_constraint(op.f("ck_exchange_message_lifecycle"), type_="check")
        batch.drop_column("lifecycle_at")
        batch.drop_column("lifecycle")
