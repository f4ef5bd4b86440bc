"""Bookings, their versions and keys, the message inbox and the quarantine.

Revision ID: 0001_bookings
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

revision = "0001_bookings"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # tables are added by the storage work of issue 2 (in progress)


def downgrade() -> None:
    pass
