"""Federation: registered peers, exchanged messages, onward-transfer permissions, replay cache.

Written out in full (a migration is history); `tests/storage/test_schema.py` checks it
against `store.exchange`. Names follow `store.db.NAMING_CONVENTION`.

Revision ID: 0007_exchange
Revises: 0002_audit
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_exchange"
down_revision = "0002_audit"
branch_labels = None
depends_on = None

_ID = 32


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "peer",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("country", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("third_country", sa.Boolean(), nullable=False),
        sa.Column("url", sa.String(200), nullable=False),
        sa.Column("keyid", sa.String(64), nullable=False),
        sa.Column("signing_key", sa.LargeBinary(32), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("cert_fingerprint", sa.String(64), nullable=False),
        sa.Column("cert_not_after", _utc(), nullable=False),
        sa.Column("ca_pem", sa.Text(), nullable=False),
        sa.Column("onward_condition", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_peer"),
        sa.UniqueConstraint("name", name="uq_peer_name"),
        sa.UniqueConstraint("keyid", name="uq_peer_keyid"),
        sa.CheckConstraint("kind IN ('member_state', 'europol', 'third_country')", name="ck_peer_kind"),
        sa.CheckConstraint("third_country = (kind = 'third_country')", name="ck_peer_third_country"),
    )
    op.create_table(
        "exchange_message",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("peer_id", sa.String(_ID), nullable=False),
        sa.Column("message_id", sa.String(_ID), nullable=False),
        sa.Column("peer_message_id", sa.String(_ID), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("case_ref", sa.String(64), nullable=False),
        sa.Column("in_reply_to", sa.String(_ID), nullable=True),
        sa.Column("forwarded_from", sa.String(_ID), nullable=True),
        sa.Column("handling", sa.JSON(), nullable=False),
        sa.Column("evaluation", sa.String(2), nullable=True),
        sa.Column("outcome", sa.String(8), nullable=True),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("masked_records", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", _utc(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_message"),
        sa.ForeignKeyConstraint(["peer_id"], ["peer.id"], name="fk_exchange_message_peer_id_peer"),
        sa.ForeignKeyConstraint(
            ["in_reply_to"], ["exchange_message.id"], name="fk_exchange_message_in_reply_to_exchange_message"
        ),
        sa.ForeignKeyConstraint(
            ["forwarded_from"],
            ["exchange_message.id"],
            name="fk_exchange_message_forwarded_from_exchange_message",
        ),
        sa.UniqueConstraint(
            "peer_id", "direction", "message_id", name="uq_exchange_message_peer_direction_id"
        ),
        sa.CheckConstraint("direction IN ('in', 'out')", name="ck_exchange_message_direction"),
        sa.CheckConstraint(
            "status IN ('awaiting_approval', 'approved', 'refused', 'sent', 'answered', 'received',"
            " 'failed')",
            name="ck_exchange_message_status",
        ),
    )
    op.create_index("ix_exchange_message_status_created_at", "exchange_message", ["status", "created_at"])
    op.create_index("ix_exchange_message_in_reply_to", "exchange_message", ["in_reply_to"])
    op.create_table(
        "exchange_permission",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("message_id", sa.String(_ID), nullable=False),
        sa.Column("to_peer_id", sa.String(_ID), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_permission"),
        sa.ForeignKeyConstraint(
            ["message_id"], ["exchange_message.id"], name="fk_exchange_permission_message_id_exchange_message"
        ),
        sa.ForeignKeyConstraint(["to_peer_id"], ["peer.id"], name="fk_exchange_permission_to_peer_id_peer"),
        sa.UniqueConstraint("message_id", "to_peer_id", name="uq_exchange_permission_message_peer"),
    )
    op.create_table(
        "replay_nonce",
        sa.Column("keyid", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("keyid", "nonce", name="pk_replay_nonce"),
    )
    op.create_index("ix_replay_nonce_expires_at", "replay_nonce", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_replay_nonce_expires_at", table_name="replay_nonce")
    op.drop_table("replay_nonce")
    op.drop_table("exchange_permission")
    op.drop_index("ix_exchange_message_in_reply_to", table_name="exchange_message")
    op.drop_index("ix_exchange_message_status_created_at", table_name="exchange_message")
    op.drop_table("exchange_message")
    op.drop_table("peer")
