"""Blind index and linked travellers: `search_token`, `traveller_member`, `hit_source`,
`hit.traveller_id` (docs/data-protection.md, "Blind index and linked travellers").

Bookings stored before this revision have no tokens and no links: the index is filled at
ingest, under keys a migration does not hold. `pnrguard` keeps working for them (a hit
without a traveller id is its own traveller; search finds them by locator and flight).

Revision ID: 0015_traveller
Revises: 0010_dp_copies
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_traveller"
down_revision = "0010_dp_copies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_token",
        sa.Column("token", sa.LargeBinary(16), nullable=False),
        sa.Column("field", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.Column("traveller_ref", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name=op.f("fk_search_token_booking_id_booking")
        ),
        sa.PrimaryKeyConstraint(
            "token", "field", "booking_id", "traveller_ref", name=op.f("pk_search_token")
        ),
    )
    op.create_index("ix_search_token_booking_id", "search_token", ["booking_id"])
    op.create_table(
        "traveller_member",
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.Column("traveller_ref", sa.String(32), nullable=False),
        sa.Column("traveller_id", sa.String(32), nullable=False),
        sa.Column("source", sa.String(3), nullable=False),
        sa.Column("linked_by", sa.String(8), nullable=False),
        sa.Column("conflicts", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name=op.f("fk_traveller_member_booking_id_booking")
        ),
        sa.PrimaryKeyConstraint("booking_id", "traveller_ref", name=op.f("pk_traveller_member")),
    )
    op.create_index("ix_traveller_member_traveller_id", "traveller_member", ["traveller_id"])
    op.create_table(
        "hit_source",
        sa.Column("hit_id", sa.String(32), nullable=False),
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.Column("traveller_ref", sa.String(32), nullable=False),
        sa.Column("booking_version", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["hit_id"], ["hit.id"], name=op.f("fk_hit_source_hit_id_hit")),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name=op.f("fk_hit_source_booking_id_booking")
        ),
        sa.PrimaryKeyConstraint("hit_id", "booking_id", "traveller_ref", name=op.f("pk_hit_source")),
    )
    with op.batch_alter_table("hit") as batch:
        batch.add_column(sa.Column("traveller_id", sa.String(32), nullable=True))
    op.create_index("ix_hit_traveller_id", "hit", ["traveller_id", "match_key"])


def downgrade() -> None:
    op.drop_index("ix_hit_traveller_id", table_name="hit")
    with op.batch_alter_table("hit") as batch:
        batch.drop_column("traveller_id")
    op.drop_table("hit_source")
    op.drop_index("ix_traveller_member_traveller_id", table_name="traveller_member")
    op.drop_table("traveller_member")
    op.drop_index("ix_search_token_booking_id", table_name="search_token")
    op.drop_table("search_token")
