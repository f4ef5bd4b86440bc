"""Witnessed audit log: cosignatures received, and the witness's state and evidence.

No personal data: checkpoints (origin, size, hash), signature lines, sizes and reasons.

Revision ID: 0013_audit_witness
Revises: 0009_judicial_senior
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_audit_witness"
down_revision = "0009_judicial_senior"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_cosignature",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=128), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", "witness", name="pk_audit_cosignature"),
    )
    op.create_table(
        "witness_state",
        sa.Column("origin", sa.String(length=128), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_witness_state")),
    )
    op.create_table(
        "witness_evidence",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("origin", sa.String(length=128), nullable=False),
        sa.Column("old_size", sa.BigInteger(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witness_evidence")),
    )
    op.create_index(op.f("ix_witness_evidence_origin"), "witness_evidence", ["origin"])


def downgrade() -> None:
    op.drop_index(op.f("ix_witness_evidence_origin"), table_name="witness_evidence")
    op.drop_table("witness_evidence")
    op.drop_table("witness_state")
    op.drop_table("audit_cosignature")
