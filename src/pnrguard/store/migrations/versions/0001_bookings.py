"""Bookings, their versions and keys, the message inbox and the quarantine.

Written out in full rather than generated from `store/tables.py`: a migration is history and
must not change when the code's table definitions move on. `tests/storage/test_schema.py`
checks that the migrated schema and `store.tables` agree. Constraint and index names follow
`store.db.NAMING_CONVENTION` so that later migrations can refer to them by name.

Revision ID: 0001_bookings
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_bookings"
down_revision = None
branch_labels = None
depends_on = None

_ID = 32


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "message",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(32), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("message_type", sa.String(16), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("duplicate_of", sa.String(_ID), nullable=True),
        sa.Column("bookings_new", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("bookings_new_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("bookings_duplicate", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("deviations", sa.JSON(), nullable=False),
        sa.Column("minimisation", sa.JSON(), nullable=False),
        sa.Column("sensitive", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_message"),
        sa.UniqueConstraint("sha256", name="uq_message_sha256"),
        sa.ForeignKeyConstraint(["duplicate_of"], ["message.id"], name="fk_message_duplicate_of_message"),
        sa.CheckConstraint(
            "status IN ('accepted', 'duplicate', 'quarantined', 'discarded')",
            name="ck_message_status",
        ),
        sa.CheckConstraint(
            "(status = 'duplicate' AND duplicate_of IS NOT NULL AND sha256 IS NULL)"
            " OR (status = 'discarded' AND duplicate_of IS NULL AND sha256 IS NULL)"
            " OR (status IN ('accepted', 'quarantined') AND duplicate_of IS NULL"
            " AND sha256 IS NOT NULL)",
            name="ck_message_digest",
        ),
    )
    op.create_index("ix_message_received_at", "message", ["received_at"])
    op.create_index("ix_message_duplicate_of", "message", ["duplicate_of"])

    op.create_table(
        "quarantine",
        sa.Column("message_id", sa.String(_ID), nullable=False),
        sa.Column("quarantined_at", _utc(), nullable=False),
        sa.Column("reason_code", sa.String(32), nullable=False),
        sa.Column("reason_text", sa.String(200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("raw_blob", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_quarantine"),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], name="fk_quarantine_message_id_message"),
    )
    op.create_index("ix_quarantine_quarantined_at", "quarantine", ["quarantined_at"])

    op.create_table(
        "booking",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("source", sa.String(3), nullable=False),
        sa.Column("carrier", sa.String(8), nullable=False),
        sa.Column("locator", sa.String(16), nullable=False),
        sa.Column("created", sa.DateTime(timezone=False), nullable=True),
        sa.Column("identity_digest", sa.LargeBinary(32), nullable=True),
        sa.Column("flight_carrier", sa.String(8), nullable=False),
        sa.Column("flight_number", sa.String(8), nullable=False),
        sa.Column("flight_date", sa.Date(), nullable=True),
        sa.Column("origin", sa.String(5), nullable=False),
        sa.Column("destination", sa.String(5), nullable=False),
        sa.Column("first_seen", _utc(), nullable=False),
        sa.Column("last_seen", _utc(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False, server_default="active"),
        sa.Column("masked_at", _utc(), nullable=True),
        sa.Column("deleted_at", _utc(), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_booking"),
        sa.UniqueConstraint("identity_digest", name="uq_booking_identity_digest"),
        sa.CheckConstraint("source IN ('PNR', 'API')", name="ck_booking_source"),
        sa.CheckConstraint("state IN ('active', 'masked', 'deleted')", name="ck_booking_state"),
    )
    op.create_index("ix_booking_carrier_locator", "booking", ["carrier", "locator"])
    op.create_index("ix_booking_flight", "booking", ["flight_carrier", "flight_number", "flight_date"])
    op.create_index("ix_booking_state_first_seen", "booking", ["state", "first_seen"])

    op.create_table(
        "booking_key",
        sa.Column("booking_id", sa.String(_ID), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", "kind", name="pk_booking_key"),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name="fk_booking_key_booking_id_booking"),
        sa.CheckConstraint("kind IN ('identity', 'content')", name="ck_booking_key_kind"),
    )

    op.create_table(
        "booking_version",
        sa.Column("booking_id", sa.String(_ID), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.String(_ID), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("content_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("identity_blob", sa.LargeBinary(), nullable=False),
        sa.Column("content_blob", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", "version", name="pk_booking_version"),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name="fk_booking_version_booking_id_booking"),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], name="fk_booking_version_message_id_message"),
    )
    op.create_index("ix_booking_version_message_id", "booking_version", ["message_id"])

    op.create_table(
        "node_secret",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_node_secret"),
    )


def downgrade() -> None:
    op.drop_table("node_secret")
    op.drop_index("ix_booking_version_message_id", table_name="booking_version")
    op.drop_table("booking_version")
    op.drop_table("booking_key")
    op.drop_index("ix_booking_state_first_seen", table_name="booking")
    op.drop_index("ix_booking_flight", table_name="booking")
    op.drop_index("ix_booking_carrier_locator", table_name="booking")
    op.drop_table("booking")
    op.drop_index("ix_quarantine_quarantined_at", table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_index("ix_message_duplicate_of", table_name="message")
    op.drop_index("ix_message_received_at", table_name="message")
    op.drop_table("message")
