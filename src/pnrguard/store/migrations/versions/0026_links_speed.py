"""Link analysis reads a booking's tokens of a few fields: ``search_token (booking_id, field)``.

Who a record is (its identity tokens: document, date of birth, name parts) and which
digests a person's bookings carry are read by booking and field. With an index on
``booking_id`` alone each booking's ~30 rows were walked (and on PostgreSQL fetched from the
heap) to keep the 4-5 wanted; with ``(booking_id, field)`` each wanted field is one seek.
It replaces ``ix_search_token_booking_id``, of which it is a prefix (masking and deletion,
which delete by booking, use it as well), so ingest still writes two B-trees per token row.

Revision ID: 0026_links_speed
Revises: 0022_locale
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0026_links_speed"
down_revision = "0022_locale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_search_token_booking_field", "search_token", ["booking_id", "field"])
    op.drop_index("ix_search_token_booking_id", table_name="search_token")


def downgrade() -> None:
    op.create_index("ix_search_token_booking_id", "search_token", ["booking_id"])
    op.drop_index("ix_search_token_booking_field", table_name="search_token")
