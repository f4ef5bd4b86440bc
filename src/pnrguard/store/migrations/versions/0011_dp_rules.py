"""Data-protection rules of issue 10 (items 6, 7, 9): quarantined raw bytes may expire
before their entry (``quarantine.raw_blob``/``wrapped_key``/``kek_version`` nullable, with
a check that they go together); ``booking.restricted_at`` (LED Art. 16(3) restriction of
processing); ``node_marker`` (the demo's marker); ``subject_request`` (the register of
travellers' requests; no content).

Written out in full (a migration is history); `tests/storage/test_schema.py` checks it
against the metadata. On SQLite the quarantine change is a batch table copy (nothing
references ``quarantine``); on PostgreSQL plain ``ALTER TABLE`` statements.

Revision ID: 0011_dp_rules
Revises: 0015_traveller
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_dp_rules"
down_revision = "0015_traveller"
branch_labels = None
depends_on = None

_ID = 32
_RAW = (
    "(raw_blob IS NULL AND wrapped_key IS NULL AND kek_version IS NULL)"
    " OR (raw_blob IS NOT NULL AND wrapped_key IS NOT NULL AND kek_version IS NOT NULL)"
)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("booking", sa.Column("restricted_at", _utc(), nullable=True))
    with op.batch_alter_table("quarantine") as batch:
        batch.alter_column("kek_version", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("wrapped_key", existing_type=sa.LargeBinary(), nullable=True)
        batch.alter_column("raw_blob", existing_type=sa.LargeBinary(), nullable=True)
        batch.create_check_constraint(op.f("ck_quarantine_raw"), _RAW)
    op.create_table(
        "node_marker",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_node_marker"),
    )
    op.create_table(
        "subject_request",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("answered_at", _utc(), nullable=False),
        sa.Column("bookings", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subject_request"),
        sa.CheckConstraint(
            "kind IN ('access', 'rectification', 'erasure', 'restriction')", name="ck_subject_request_kind"
        ),
        sa.CheckConstraint("status IN ('answered', 'refused')", name="ck_subject_request_status"),
    )
    op.create_index("ix_subject_request_received_at", "subject_request", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_subject_request_received_at", table_name="subject_request")
    op.drop_table("subject_request")
    op.drop_table("node_marker")
    op.execute("DELETE FROM quarantine WHERE raw_blob IS NULL")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_constraint(op.f("ck_quarantine_raw"), type_="check")
        batch.alter_column("raw_blob", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("wrapped_key", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("kek_version", existing_type=sa.Integer(), nullable=False)
    op.drop_column("booking", "restricted_at")
