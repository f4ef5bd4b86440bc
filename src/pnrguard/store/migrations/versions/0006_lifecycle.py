"""Life cycle: sealed identity keys, retention holds and runs, unmasking requests and
approvals, DPO notifications, rectification requests; `booking.dormant_at` and
`booking.travellers`.

Written out in full (a migration is history); `tests/storage/test_schema.py` checks it
against `store.lifecycle` and `store.tables`. Names follow `store.db.NAMING_CONVENTION`.

Revision ID: 0006_lifecycle
Revises: 0002_audit
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_lifecycle"
down_revision = "0002_audit"
branch_labels = None
depends_on = None

_ID = 32


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _fk_booking(table: str, column: str = "booking_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["booking.id"], name=f"fk_{table}_{column}_booking")


def upgrade() -> None:
    # Plain added nullable columns: no table rebuild on SQLite, no rewrite on PostgreSQL.
    op.add_column("booking", sa.Column("dormant_at", _utc(), nullable=True))
    op.add_column("booking", sa.Column("travellers", sa.Integer(), nullable=True))
    op.create_index("ix_booking_dormant", "booking", ["state", "dormant_at", "first_seen"])

    op.create_table(
        "sealed_key",
        sa.Column("booking_id", sa.String(_ID), nullable=False),
        sa.Column("tier", sa.String(8), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id", name="pk_sealed_key"),
        _fk_booking("sealed_key"),
        sa.CheckConstraint("tier IN ('masked', 'dormant')", name="ck_sealed_key_tier"),
    )

    op.create_table(
        "retention_hold",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("booking_id", sa.String(_ID), nullable=False),
        sa.Column("case_reference", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.Column("released_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_retention_hold"),
        _fk_booking("retention_hold"),
    )
    op.create_index("ix_retention_hold_booking_id", "retention_hold", ["booking_id"])

    op.create_table(
        "unmasking_request",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("requested_at", _utc(), nullable=False),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("case_reference", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("valid_from", _utc(), nullable=False),
        sa.Column("valid_until", _utc(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_unmasking_request"),
        sa.CheckConstraint("level IN ('masked', 'dormant')", name="ck_unmasking_request_level"),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name="ck_unmasking_request_status"
        ),
        sa.CheckConstraint("valid_until > valid_from", name="ck_unmasking_request_window"),
    )
    op.create_index("ix_unmasking_request_status", "unmasking_request", ["status"])

    op.create_table(
        "unmasking_request_booking",
        sa.Column("request_id", sa.String(_ID), nullable=False),
        sa.Column("booking_id", sa.String(_ID), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "booking_id", name="pk_unmasking_request_booking"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["unmasking_request.id"],
            name="fk_unmasking_request_booking_request_id_unmasking_request",
        ),
        _fk_booking("unmasking_request_booking"),
    )
    op.create_index("ix_unmasking_request_booking_booking_id", "unmasking_request_booking", ["booking_id"])

    op.create_table(
        "unmasking_approval",
        sa.Column("request_id", sa.String(_ID), nullable=False),
        sa.Column("judge", sa.String(64), nullable=False),
        sa.Column("judge_role", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_unmasking_approval"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["unmasking_request.id"],
            name="fk_unmasking_approval_request_id_unmasking_request",
        ),
        sa.CheckConstraint("decision IN ('approved', 'rejected')", name="ck_unmasking_approval_decision"),
    )

    op.create_table(
        "dpo_notification",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
        sa.Column("acknowledged_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dpo_notification"),
    )
    op.create_index("ix_dpo_notification_created_at", "dpo_notification", ["created_at"])

    op.create_table(
        "rectification_request",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("booking_id", sa.String(_ID), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", _utc(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("new_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rectification_request"),
        _fk_booking("rectification_request"),
        sa.CheckConstraint(
            "status IN ('open', 'applied', 'rejected')", name="ck_rectification_request_status"
        ),
    )
    op.create_index("ix_rectification_request_booking_id", "rectification_request", ["booking_id"])

    op.create_table(
        "retention_run",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_retention_run"),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name="ck_retention_run_status"),
    )
    op.create_index("ix_retention_run_started_at", "retention_run", ["started_at"])


def downgrade() -> None:
    for index, table in (
        ("ix_retention_run_started_at", "retention_run"),
        ("ix_rectification_request_booking_id", "rectification_request"),
        ("ix_dpo_notification_created_at", "dpo_notification"),
        ("ix_unmasking_request_booking_booking_id", "unmasking_request_booking"),
        ("ix_unmasking_request_status", "unmasking_request"),
        ("ix_retention_hold_booking_id", "retention_hold"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "retention_run",
        "rectification_request",
        "dpo_notification",
        "unmasking_approval",
        "unmasking_request_booking",
        "unmasking_request",
        "retention_hold",
        "sealed_key",
    ):
        op.drop_table(table)
    op.drop_index("ix_booking_dormant", table_name="booking")
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("travellers")
        batch.drop_column("dormant_at")
