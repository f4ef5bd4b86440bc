"""What link analysis added to a case (issue 16): ``link_addition``.

A person shown in a confirmed hit's (or an open request's) neighbourhood can be added to
the hit's disclosure package (or the request's results); the row names the basis, the
booking added, the graph it came from (start booking, traveller ref, depth), who and when,
so the transmission package can carry that graph. Ids only, no personal content.

Revision ID: 0028_link_additions
Revises: 0027_upkeep
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_link_additions"
down_revision = "0027_upkeep"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_addition",
        sa.Column("basis", sa.String(80), nullable=False),
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.Column("start_booking_id", sa.String(32), nullable=False),
        sa.Column("start_ref", sa.String(32), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("depth IN (1, 2)", name=op.f("ck_link_addition_depth")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name=op.f("fk_link_addition_booking_id_booking")
        ),
        sa.ForeignKeyConstraint(
            ["start_booking_id"], ["booking.id"], name=op.f("fk_link_addition_start_booking_id_booking")
        ),
        sa.PrimaryKeyConstraint("basis", "booking_id", name=op.f("pk_link_addition")),
    )


def downgrade() -> None:
    op.drop_table("link_addition")
