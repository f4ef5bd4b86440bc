"""Free text encrypted at write; the traveller count leaves the booking row (issue 10).

- ``text_key``: one data key per month, wrapped under that month's period KEK, for texts
  that concern several bookings or none (authority requests, unmasking requests and the
  judges' reasons; `store/texts.py`). Texts about one booking use its identity key and need
  no table.
- ``traveller_tally``: travellers and bookings per day of first receipt and source, for the
  Art. 20 statistics. ``booking.travellers`` (a per-booking count, an element Art. 12(2)(a)
  masks) is moved into it and dropped, so no row says how many people one booking holds.

Texts written in clear before this revision are encrypted by ``pnrguard keys seal-texts``
(it needs the key file, which a migration does not have); until then they open as they
are and masking still seals them as before. Plain ``ALTER TABLE ... DROP COLUMN`` on both
databases (SQLite >= 3.35; the column has no index or constraint).

Revision ID: 0017_dp_text
Revises: 0014_acct_power
Create Date: 2026-12-06
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0017_dp_text"
down_revision = "0014_acct_power"
branch_labels = None
depends_on = None


def _day(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo is None else value.astimezone(dt.UTC)).date()
    return dt.datetime.fromisoformat(str(value)[:19]).date()


def upgrade() -> None:
    op.create_table(
        "text_key",
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
    )
    tally = op.create_table(
        "traveller_tally",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("source", sa.String(8), primary_key=True),
        sa.Column("bookings", sa.Integer(), nullable=False),
        sa.Column("travellers", sa.Integer(), nullable=False),
    )
    conn = op.get_bind()
    sums: dict[tuple[dt.date, str], list[int]] = defaultdict(lambda: [0, 0])
    rows = conn.execute(
        sa.text("SELECT first_seen, source, travellers FROM booking WHERE travellers IS NOT NULL")
    )
    for first_seen, source, travellers in rows:
        s = sums[(_day(first_seen), str(source))]
        s[0] += 1
        s[1] += int(travellers)
    if sums:
        op.bulk_insert(
            tally,
            [
                {"day": d, "source": src, "bookings": b, "travellers": t}
                for (d, src), (b, t) in sorted(sums.items())
            ],
        )
    op.execute("ALTER TABLE booking DROP COLUMN travellers")


def downgrade() -> None:
    op.add_column("booking", sa.Column("travellers", sa.Integer(), nullable=True))
    op.drop_table("traveller_tally")
    op.drop_table("text_key")
