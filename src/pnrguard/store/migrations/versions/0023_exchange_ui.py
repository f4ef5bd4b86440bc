"""Indexes for the exchange inbox: folders and the menu's count of what waits.

- ``ix_exchange_message_waiting`` (status, decided_by, direction, kind): what waits for a
  person (requests awaiting a decision, drafts awaiting a second approval, failed
  deliveries, and received answers and transfers nobody opened yet: ``status = 'received'
  AND decided_by IS NULL``), counted from the index alone on every workspace page an
  analyst or supervisor opens;
- ``ix_exchange_message_folder`` (direction, kind, created_at): the received folders,
  newest first, and their sizes;
- ``ix_exchange_message_direction_created_at`` (direction, created_at): the sent folder.

No column or table: nothing new holds personal data.

Revision ID: 0023_exchange_ui
Revises: 0018_search_scale
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0023_exchange_ui"
down_revision = "0018_search_scale"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_exchange_message_waiting", "exchange_message", ["status", "decided_by", "direction", "kind"]
    )
    op.create_index("ix_exchange_message_folder", "exchange_message", ["direction", "kind", "created_at"])
    op.create_index(
        "ix_exchange_message_direction_created_at", "exchange_message", ["direction", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_exchange_message_direction_created_at", table_name="exchange_message")
    op.drop_index("ix_exchange_message_folder", table_name="exchange_message")
    op.drop_index("ix_exchange_message_waiting", table_name="exchange_message")
