"""Triage: assignment and priority of hits, notes on hits, withdrawn transmissions.

- ``hit.assignee`` (a username, NULL: nobody) and ``hit.priority`` (0 normal, 1 high,
  2 urgent): plain ``ADD COLUMN`` on both databases.
- ``hit_note``: working notes, reopening reasons and the decisions a reopening set aside
  (free text about a traveller: sealed at masking and erased at deletion with the booking,
  like ``hit.review_reason``; store/hit_notes.py).
- ``transmission``: the status check admits ``withdrawn`` (the proposer took a pending
  transmission back). 0005 created the check as ``ck_transmission_ck_transmission_status``
  (its full name went through the naming convention again, see 0009); it is replaced by
  ``ck_transmission_status``, the name `store.workspace` declares. On SQLite the batch
  copies ``transmission`` (nothing references it); on PostgreSQL it is two ``ALTER TABLE``.

Revision ID: 0021_triage
Revises: 0024_links_leads
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_triage"
down_revision = "0024_links_leads"
branch_labels = None
depends_on = None

_OLD = "status IN ('pending', 'released', 'rejected')"
_NEW = "status IN ('pending', 'released', 'rejected', 'withdrawn')"


def _status_names() -> list[str]:
    insp = sa.inspect(op.get_bind())
    return [
        str(c["name"])
        for c in insp.get_check_constraints("transmission")
        if c.get("name") and "status" in str(c["name"])
    ]


def upgrade() -> None:
    op.add_column("hit", sa.Column("assignee", sa.String(64), nullable=True))
    op.add_column("hit", sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_hit_assignee_status", "hit", ["assignee", "status"])
    op.create_table(
        "hit_note",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("hit_id", sa.String(32), nullable=False),
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(10), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('note', 'reopen', 'decision')", name=op.f("ck_hit_note_kind")),
        sa.ForeignKeyConstraint(["hit_id"], ["hit.id"], name=op.f("fk_hit_note_hit_id_hit")),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name=op.f("fk_hit_note_booking_id_booking")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hit_note")),
    )
    op.create_index("ix_hit_note_hit_id", "hit_note", ["hit_id", "created_at"])
    op.create_index("ix_hit_note_booking_id", "hit_note", ["booking_id"])
    names = _status_names()
    with op.batch_alter_table("transmission") as batch:
        for name in names:
            batch.drop_constraint(op.f(name), type_="check")
        batch.create_check_constraint(op.f("ck_transmission_status"), _NEW)


def downgrade() -> None:
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM transmission WHERE status = 'withdrawn'"))
    if held.scalar_one():
        raise RuntimeError("withdrawn transmissions exist, which the previous schema does not know")
    names = _status_names()
    with op.batch_alter_table("transmission") as batch:
        for name in names:
            batch.drop_constraint(op.f(name), type_="check")
        batch.create_check_constraint(op.f("ck_transmission_ck_transmission_status"), _OLD)
    op.drop_index("ix_hit_note_booking_id", table_name="hit_note")
    op.drop_index("ix_hit_note_hit_id", table_name="hit_note")
    op.drop_table("hit_note")
    op.drop_index("ix_hit_assignee_status", table_name="hit")
    op.drop_column("hit", "priority")
    op.drop_column("hit", "assignee")
