"""Two-person power over accounts, TOTP, atomic login throttling, carrier scopes.

- ``account``: ``approved`` (a second person approved the role), ``totp_wrapped`` and
  ``totp_last_step`` (RFC 6238 second factor, no code reuse), ``enrol_hash`` and
  ``enrol_expires_at`` (one-time enrolment: no password is ever shown).
- ``web_session.stage``: a session that still owes its second factor.
- ``account_change``: changes waiting for a second person.
- ``login_throttle``: failures per username and per address (keyed digests).
- ``exchange_result``: what the searches under an incoming peer request found; an answer
  names these bookings only.
- ``carrier_credential.designators``: the airline designators a credential may write.

Existing accounts stay approved (they were created before the rule); existing sessions
are full sessions. Plain ``ADD COLUMN`` on both databases (no table copy on SQLite).

Revision ID: 0014_acct_power
Revises: 0011_dp_rules
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_acct_power"
down_revision = "0011_dp_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("approved", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("account", sa.Column("totp_wrapped", sa.LargeBinary(), nullable=True))
    op.add_column("account", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.add_column("account", sa.Column("enrol_hash", sa.LargeBinary(32), nullable=True))
    op.add_column("account", sa.Column("enrol_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("web_session", sa.Column("stage", sa.String(16), nullable=False, server_default="full"))
    op.add_column("carrier_credential", sa.Column("designators", sa.String(200), nullable=True))
    op.create_table(
        "account_change",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(32), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(32), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(32), sa.ForeignKey("account.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("link_hash", sa.LargeBinary(32), nullable=True),
    )
    op.create_index("ix_account_change_status", "account_change", ["status"])
    op.create_table(
        "exchange_result",
        sa.Column("message_id", sa.String(32), sa.ForeignKey("exchange_message.id"), primary_key=True),
        sa.Column("booking_id", sa.String(32), sa.ForeignKey("booking.id"), primary_key=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_table("exchange_result")
    op.drop_index("ix_account_change_status", table_name="account_change")
    op.drop_table("account_change")
    # Plain DROP COLUMN (SQLite >= 3.35 has it): no table copy of `account`, which
    # `web_session` references (see 0009 for what a copy costs).
    op.drop_column("carrier_credential", "designators")
    op.drop_column("web_session", "stage")
    for col in ("enrol_expires_at", "enrol_hash", "totp_last_step", "totp_wrapped", "approved"):
        op.drop_column("account", col)
