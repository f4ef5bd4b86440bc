"""Four eyes on answers to peers: status `awaiting_second`, the second approver's columns.

An answer to a peer's request that one person approved waits, when the node is configured
for four eyes (`ReviewPolicy.four_eyes`, ``PNRGUARD_FOUR_EYES``), for a supervisor's second
approval; the status is enforced by a CHECK constraint, so the constraint is replaced.

The CHECK constraint 0007 created is named ``ck_exchange_message_ck_exchange_message_status``
(0007 passed a full name through the ``ck`` naming convention, which prefixed it again); it
is dropped under that name and recreated as ``ck_exchange_message_status``, the name
`store.exchange` declares. `op.f` marks both names as final (no convention applied).

On SQLite the batch runs as a table copy (``render_as_batch``); on PostgreSQL as plain
``ALTER TABLE`` statements (added nullable columns: no rewrite).

Revision ID: 0008_exchange_four_eyes
Revises: 0007_exchange
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_exchange_four_eyes"
down_revision = "0007_exchange"
branch_labels = None
depends_on = None

_OLD = "('awaiting_approval', 'approved', 'refused', 'sent', 'answered', 'received', 'failed')"
_NEW = (
    "('awaiting_approval', 'approved', 'refused', 'sent', 'answered', 'received', 'failed',"
    " 'awaiting_second')"
)


def upgrade() -> None:
    with op.batch_alter_table("exchange_message") as batch:
        batch.add_column(sa.Column("second_approver", sa.String(64), nullable=True))
        batch.add_column(sa.Column("second_approved_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_exchange_message_ck_exchange_message_status"), type_="check")
        batch.create_check_constraint(op.f("ck_exchange_message_status"), f"status IN {_NEW}")


def downgrade() -> None:
    # Drafts waiting for a second approval cannot exist under 0007: the drafted answers are
    # dropped (nothing left the node; the audit log keeps the first approvals) and their
    # requests go back to the queue.
    op.execute("DELETE FROM exchange_message WHERE direction = 'out' AND status = 'awaiting_second'")
    op.execute(
        "UPDATE exchange_message SET status = 'awaiting_approval', decided_by = NULL,"
        " decided_at = NULL, decision_reason = NULL WHERE status = 'awaiting_second'"
    )
    with op.batch_alter_table("exchange_message") as batch:
        batch.drop_constraint(op.f("ck_exchange_message_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_exchange_message_ck_exchange_message_status"), f"status IN {_OLD}"
        )
        batch.drop_column("second_approved_at")
        batch.drop_column("second_approver")
