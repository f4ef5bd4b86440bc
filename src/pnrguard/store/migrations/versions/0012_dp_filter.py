"""Sensitive-data deletions counted per carrier and day only; per-message counts cleared.

Issue 10, item 3: a one-booking message left ``{"health": 1, ...}`` on its inbox row, which
tells which special categories (Directive 2016/681 Art. 13(4)) that one passenger had.
From now on the ingest use case adds its deletions to ``sensitive_deletion`` (day, carrier,
category -> count), which names no message and no booking, and the DPO's statistics show
counts under 5 as "<5". This revision creates that table and empties ``message.sensitive``
on every existing row. The column itself stays (always ``{}``): dropping it would rebuild
the inbox table on SQLite under the foreign keys of every booking version.

Existing audit entries are not rewritten: every entry is a leaf of the signed, witnessed
Merkle log, and changing one would break the log's verification (docs/data-protection.md,
"Counting deletions", says what that leaves and why).

Revision ID: 0012_dp_filter
Revises: 0013_audit_witness
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_dp_filter"
down_revision = "0013_audit_witness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sensitive_deletion",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("carrier", sa.String(8), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "carrier", "category", name="pk_sensitive_deletion"),
        sa.CheckConstraint("deleted >= 0", name="ck_sensitive_deletion_deleted"),
    )
    message = sa.table("message", sa.column("sensitive", sa.JSON()))
    op.execute(message.update().values(sensitive={}))


def downgrade() -> None:
    # The per-message counts are gone for good (that is the point); nothing to restore.
    op.drop_table("sensitive_deletion")
