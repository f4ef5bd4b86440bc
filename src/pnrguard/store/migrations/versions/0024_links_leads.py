"""Financing leads (issue 16): leads found in payment digests, their records, their
disclosures to the financial intelligence unit.

- ``financing_lead``: kind, fingerprint, card digest (blind-index token), route codes,
  flight dates, counts, basis (hit or criterion), status and review code.
- ``financing_lead_record``: (lead, booking, traveller ref, opaque person id).
- ``lead_disclosure``: a confirmed lead proposed to and released to a competent authority
  under four eyes; ids, codes, times and the package's SHA-256.

No free text anywhere (reviews are codes), so nothing to seal at masking; rows follow the
bookings (`store/leads.py`, `forget_leads`).

Revision ID: 0024_links_leads
Revises: 0017_dp_text
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_links_leads"
down_revision = "0017_dp_text"
branch_labels = None
depends_on = None

_KINDS = "kind IN ('card_many_unrelated', 'card_of_confirmed', 'cash_on_route')"


def upgrade() -> None:
    op.create_table(
        "financing_lead",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("card_token", sa.LargeBinary(16), nullable=True),
        sa.Column("origin", sa.String(5), nullable=True),
        sa.Column("destination", sa.String(5), nullable=True),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("bookings", sa.Integer(), nullable=False),
        sa.Column("hit_id", sa.String(32), nullable=True),
        sa.Column("rule_id", sa.String(40), nullable=True),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_code", sa.String(32), nullable=True),
        sa.CheckConstraint(_KINDS, name=op.f("ck_financing_lead_kind")),
        sa.CheckConstraint(
            "status IN ('open', 'confirmed', 'dismissed')", name=op.f("ck_financing_lead_status")
        ),
        sa.ForeignKeyConstraint(["hit_id"], ["hit.id"], name=op.f("fk_financing_lead_hit_id_hit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financing_lead")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_financing_lead_fingerprint")),
    )
    op.create_index("ix_financing_lead_status_found_at", "financing_lead", ["status", "found_at"])
    op.create_table(
        "financing_lead_record",
        sa.Column("lead_id", sa.String(32), nullable=False),
        sa.Column("booking_id", sa.String(32), nullable=False),
        sa.Column("traveller_ref", sa.String(32), nullable=False),
        sa.Column("person", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["financing_lead.id"], name=op.f("fk_financing_lead_record_lead_id_financing_lead")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"], name=op.f("fk_financing_lead_record_booking_id_booking")
        ),
        sa.PrimaryKeyConstraint(
            "lead_id", "booking_id", "traveller_ref", name=op.f("pk_financing_lead_record")
        ),
    )
    op.create_index("ix_financing_lead_record_booking_id", "financing_lead_record", ["booking_id"])
    op.create_table(
        "lead_disclosure",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("lead_id", sa.String(32), nullable=False),
        sa.Column("authority_id", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("package_sha256", sa.LargeBinary(32), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'released', 'rejected')", name=op.f("ck_lead_disclosure_status")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["financing_lead.id"], name=op.f("fk_lead_disclosure_lead_id_financing_lead")
        ),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["competent_authority.id"],
            name=op.f("fk_lead_disclosure_authority_id_competent_authority"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_disclosure")),
    )
    op.create_index("ix_lead_disclosure_lead_id", "lead_disclosure", ["lead_id"])


def downgrade() -> None:
    op.drop_index("ix_lead_disclosure_lead_id", table_name="lead_disclosure")
    op.drop_table("lead_disclosure")
    op.drop_index("ix_financing_lead_record_booking_id", table_name="financing_lead_record")
    op.drop_table("financing_lead_record")
    op.drop_index("ix_financing_lead_status_found_at", table_name="financing_lead")
    op.drop_table("financing_lead")
