"""The blind index without its foreign key to `booking` (issue 12 §3, index upkeep).

On PostgreSQL a foreign key is a trigger per inserted row (a key-share look-up of the
booking): ~4.5 µs of the server's ~10 µs a `search_token` row, i.e. ~45% of writing the
index, for ~17 rows a booking at every ingest (docs/performance.md, "Index upkeep, fifth
pass"). It guarded nothing the lifecycle relies on: booking rows are never deleted (a
deleted booking is a tombstone whose tokens `search_index.forget` removes, tested in
tests/lifecycle and tests/storage), and the only writer inserts a booking's tokens in the
transaction that inserted the booking. What the key would have caught (a token row naming
no booking) is held by a test instead (tests/storage/test_traveller.py,
`test_every_token_row_names_a_stored_booking`: through ingest, new versions, masking and
deletion, on both databases).

PostgreSQL drops the constraint in place. SQLite cannot drop a constraint, so the table is
copied (in key order, the same `WITHOUT ROWID` tree) and its index built again: seconds for
a demo store, minutes for a SQLite store of millions of bookings (docs/operations.md).

Revision ID: 0029_token_no_fk
Revises: 0028_link_additions
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029_token_no_fk"
down_revision = "0028_link_additions"
branch_labels = None
depends_on = None

#: The copy, in key order (constant text: no value is formatted into it).
_COPY = (
    "INSERT INTO search_token_new (token, field, day, booking_id, traveller_ref) "
    "SELECT token, field, day, booking_id, traveller_ref FROM search_token "
    "ORDER BY token, field, day, booking_id, traveller_ref"
)


def _rebuild_sqlite(*, foreign_key: bool) -> None:
    """SQLite: the table again under a new name, its rows copied, then renamed back."""
    key = ("token", "field", "day", "booking_id", "traveller_ref")
    constraints: list[sa.schema.Constraint] = [sa.PrimaryKeyConstraint(*key, name="pk_search_token")]
    if foreign_key:
        constraints.append(
            sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name="fk_search_token_booking_id_booking")
        )
    op.create_table(
        "search_token_new",
        sa.Column("token", sa.LargeBinary(16), nullable=False),
        sa.Column("field", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.Column("traveller_ref", sa.String(32), nullable=False),
        *constraints,
        sqlite_with_rowid=False,
    )
    op.execute(_COPY)
    op.drop_index("ix_search_token_booking_field", table_name="search_token")
    op.drop_table("search_token")
    op.rename_table("search_token_new", "search_token")
    op.create_index("ix_search_token_booking_field", "search_token", ["booking_id", "field"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(foreign_key=False)
    else:
        op.drop_constraint("fk_search_token_booking_id_booking", "search_token", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(foreign_key=True)
    else:
        op.create_foreign_key(
            "fk_search_token_booking_id_booking", "search_token", "booking", ["booking_id"], ["id"]
        )
