"""Carrier gateway: carrier credentials, the inbox queue and the gateway's rejections.

Revision ID: 0004_gateway
Revises: 0003_screening
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_gateway"
down_revision = "0003_screening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carrier_credential",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("carrier", sa.String(length=8), nullable=False),
        sa.Column("senders", sa.String(length=200), nullable=False),
        sa.Column("token_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_credential")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_carrier_credential_token_sha256")),
    )
    op.create_index("ix_carrier_credential_carrier", "carrier_credential", ["carrier"])
    op.create_table(
        "gateway_inbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("carrier", sa.String(length=8), nullable=False),
        sa.Column("control_ref", sa.String(length=35), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("kek_version", sa.Integer(), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'processing', 'done', 'failed')", name=op.f("ck_gateway_inbox_status")
        ),
        sa.CheckConstraint(
            "(status IN ('queued', 'processing', 'failed') AND payload IS NOT NULL)"
            " OR (status = 'done' AND payload IS NULL AND wrapped_key IS NULL)",
            name=op.f("ck_gateway_inbox_payload"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_gateway_inbox_message_id_message")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_inbox")),
        sa.UniqueConstraint("carrier", "control_ref", name="uq_gateway_inbox_carrier_control_ref"),
    )
    op.create_index("ix_gateway_inbox_status_available_at", "gateway_inbox", ["status", "available_at"])
    op.create_index("ix_gateway_inbox_received_at", "gateway_inbox", ["received_at"])
    op.create_index("ix_gateway_inbox_message_id", "gateway_inbox", ["message_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Ciphertext does not compress: store it out of line without trying (saves CPU on
        # every enqueue). Not part of the SQLAlchemy metadata; no schema-drift impact.
        op.execute("ALTER TABLE gateway_inbox ALTER COLUMN payload SET STORAGE EXTERNAL")
    op.create_table(
        "gateway_quarantine",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("carrier", sa.String(length=8), nullable=False),
        sa.Column("credential_id", sa.String(length=32), nullable=True),
        sa.Column("control_ref", sa.String(length=35), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(length=32), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("reason_text", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_quarantine")),
    )
    op.create_index("ix_gateway_quarantine_at", "gateway_quarantine", ["at"])
    op.create_index("ix_gateway_quarantine_carrier_at", "gateway_quarantine", ["carrier", "at"])


def downgrade() -> None:
    op.drop_table("gateway_quarantine")
    op.drop_table("gateway_inbox")
    op.drop_table("carrier_credential")
