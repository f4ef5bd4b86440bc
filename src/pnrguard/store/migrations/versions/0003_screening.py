"""Screening: watchlists and versions, criteria rules, hits and suppressions.

Revision ID: 0003_screening
Revises: 0002_audit
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_screening"
down_revision = "0002_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watchlist",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_watchlist"),
        sa.UniqueConstraint("name", name="uq_watchlist_name"),
    )
    op.create_table(
        "watchlist_version",
        sa.Column("watchlist_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("rescreened_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["watchlist_id"], ["watchlist.id"], name="fk_watchlist_version_watchlist_id_watchlist"
        ),
        sa.PrimaryKeyConstraint("watchlist_id", "version", name="pk_watchlist_version"),
    )
    op.create_table(
        "watchlist_entry",
        sa.Column("watchlist_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=False),
        sa.Column("first_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("removed_version", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["watchlist_id"], ["watchlist.id"], name="fk_watchlist_entry_watchlist_id_watchlist"
        ),
        sa.PrimaryKeyConstraint("watchlist_id", "entity_id", "first_version", name="pk_watchlist_entry"),
    )
    op.create_index("ix_watchlist_entry_current", "watchlist_entry", ["watchlist_id", "removed_version"])
    op.create_table(
        "criteria_rule",
        sa.Column("rule_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "version", name="pk_criteria_rule"),
    )
    op.create_table(
        "hit",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("booking_version", sa.Integer(), nullable=False),
        sa.Column("traveller_ref", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=9), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("match_key", sa.String(length=200), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=True),
        sa.Column("list_version", sa.Integer(), nullable=True),
        sa.Column("entity_id", sa.String(length=128), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("rule_id", sa.String(length=40), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("person_digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hit"),
        sa.UniqueConstraint("booking_id", "traveller_ref", "match_key", name="uq_hit_booking_id"),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name="fk_hit_booking_id_booking"),
        sa.ForeignKeyConstraint(
            ["watchlist_id", "list_version"],
            ["watchlist_version.watchlist_id", "watchlist_version.version"],
            name="fk_hit_watchlist_id_watchlist_version",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id", "rule_version"],
            ["criteria_rule.rule_id", "criteria_rule.version"],
            name="fk_hit_rule_id_criteria_rule",
        ),
        sa.CheckConstraint("kind IN ('watchlist', 'rule')", name="ck_hit_kind"),
        sa.CheckConstraint("status IN ('open', 'confirmed', 'dismissed', 'withdrawn')", name="ck_hit_status"),
        sa.CheckConstraint(
            "(kind = 'watchlist' AND watchlist_id IS NOT NULL AND list_version IS NOT NULL"
            " AND entity_id IS NOT NULL AND rule_id IS NULL AND rule_version IS NULL)"
            " OR (kind = 'rule' AND rule_id IS NOT NULL AND rule_version IS NOT NULL"
            " AND watchlist_id IS NULL AND list_version IS NULL AND entity_id IS NULL)",
            name="ck_hit_source",
        ),
    )
    op.create_index("ix_hit_status_created_at", "hit", ["status", "created_at"])
    op.create_index("ix_hit_watchlist_entity", "hit", ["watchlist_id", "entity_id"])
    op.create_index("ix_hit_rule_id", "hit", ["rule_id"])
    op.create_table(
        "suppression",
        sa.Column("hit_id", sa.String(length=32), nullable=False),
        sa.Column("person_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("match_key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["hit_id"], ["hit.id"], name="fk_suppression_hit_id_hit"),
        sa.PrimaryKeyConstraint("hit_id", name="pk_suppression"),
    )
    op.create_index("ix_suppression_person_digest", "suppression", ["person_digest", "match_key"])


def downgrade() -> None:
    op.drop_index("ix_suppression_person_digest", table_name="suppression")
    op.drop_table("suppression")
    op.drop_index("ix_hit_rule_id", table_name="hit")
    op.drop_index("ix_hit_watchlist_entity", table_name="hit")
    op.drop_index("ix_hit_status_created_at", table_name="hit")
    op.drop_table("hit")
    op.drop_table("criteria_rule")
    op.drop_index("ix_watchlist_entry_current", table_name="watchlist_entry")
    op.drop_table("watchlist_entry")
    op.drop_table("watchlist_version")
    op.drop_table("watchlist")
