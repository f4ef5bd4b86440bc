"""Search at a national PIU's volume (issue 12 §3): the flight day inside the blind index,
and two booking indexes the searches need.

- `search_token.day` (days since 1970-01-01 of the booking's flight date; `NO_DAY` when it
  has none) joins the primary key between the field and the booking: a name's tokens are
  then stored in flight-date order, so a page of a search is a range of one index (keyset
  order, no sort of every namesake) and a date window narrows that range. The value is the
  booking's clear `flight_date` column again: nothing new is disclosed.
- `ix_booking_restricted` (partial: restricted bookings only, a handful): the searches
  leave them out without reading every booking.
- `ix_booking_flight_number`: a flight typed without its carrier (`103`) finds its bookings
  without a scan.

Existing tokens keep their values (same key); their day is filled from `booking`.

Revision ID: 0018_search_scale
Revises: 0021_triage
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_search_scale"
down_revision = "0021_triage"
branch_labels = None
depends_on = None

_COPY_PG = (
    "INSERT INTO search_token_v2 (token, field, day, booking_id, traveller_ref) "
    "SELECT t.token, t.field, COALESCE(b.flight_date - DATE '1970-01-01', 2932896), t.booking_id, "
    "t.traveller_ref FROM search_token t JOIN booking b ON b.id = t.booking_id"
)
_COPY_SQLITE = (
    "INSERT INTO search_token_v2 (token, field, day, booking_id, traveller_ref) "
    "SELECT t.token, t.field, COALESCE(CAST(julianday(b.flight_date) - 2440587.5 AS INTEGER), 2932896), "
    "t.booking_id, t.traveller_ref FROM search_token t JOIN booking b ON b.id = t.booking_id"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "search_token_v2",
        sa.Column("token", sa.LargeBinary(16), nullable=False),
        sa.Column("field", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.Column("traveller_ref", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name="fk_search_token_v2_booking_id_booking"),
        sa.PrimaryKeyConstraint(
            "token", "field", "day", "booking_id", "traveller_ref", name="pk_search_token_v2"
        ),
        sqlite_with_rowid=False,
    )
    # The day from the booking's own flight date (a constant expression per dialect).
    copy = _COPY_PG if dialect == "postgresql" else _COPY_SQLITE
    op.execute(copy)
    op.drop_index("ix_search_token_booking_id", table_name="search_token")
    op.drop_table("search_token")
    op.rename_table("search_token_v2", "search_token")
    if dialect == "postgresql":  # constraint names follow the table's (SQLite keeps none)
        op.execute("ALTER TABLE search_token RENAME CONSTRAINT pk_search_token_v2 TO pk_search_token")
        op.execute(
            "ALTER TABLE search_token RENAME CONSTRAINT fk_search_token_v2_booking_id_booking "
            "TO fk_search_token_booking_id_booking"
        )
    op.create_index("ix_search_token_booking_id", "search_token", ["booking_id"])
    op.create_index(
        "ix_booking_restricted",
        "booking",
        ["restricted_at"],
        sqlite_where=sa.text("restricted_at IS NOT NULL"),
        postgresql_where=sa.text("restricted_at IS NOT NULL"),
    )
    op.create_index("ix_booking_flight_number", "booking", ["flight_number", "flight_date"])


def downgrade() -> None:
    op.drop_index("ix_booking_flight_number", table_name="booking")
    op.drop_index("ix_booking_restricted", table_name="booking")
    op.create_table(
        "search_token_v1",
        sa.Column("token", sa.LargeBinary(16), nullable=False),
        sa.Column("field", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.Column("traveller_ref", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name="fk_search_token_v1_booking_id_booking"),
        sa.PrimaryKeyConstraint("token", "field", "booking_id", "traveller_ref", name="pk_search_token_v1"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO search_token_v1 (token, field, booking_id, traveller_ref) "
        "SELECT DISTINCT token, field, booking_id, traveller_ref FROM search_token"
    )
    op.drop_index("ix_search_token_booking_id", table_name="search_token")
    op.drop_table("search_token")
    op.rename_table("search_token_v1", "search_token")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_token RENAME CONSTRAINT pk_search_token_v1 TO pk_search_token")
        op.execute(
            "ALTER TABLE search_token RENAME CONSTRAINT fk_search_token_v1_booking_id_booking "
            "TO fk_search_token_booking_id_booking"
        )
    op.create_index("ix_search_token_booking_id", "search_token", ["booking_id"])
