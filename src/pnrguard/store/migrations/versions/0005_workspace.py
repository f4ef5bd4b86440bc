"""Workspace: accounts and sessions, competent authorities, requests, transmissions.

Revision ID: 0005_workspace
Revises: 0003_screening
Create Date: 2026-11-25
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0005_workspace"
down_revision = "0003_screening"
branch_labels = None
depends_on = None

_ROLES = "'analyst', 'supervisor', 'dpo', 'judicial', 'admin', 'carrier', 'peer'"


def _ts(name: str, nullable: bool = False) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=32), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "account",
        _id("id"),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("oidc_subject", sa.String(length=255), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        _ts("locked_until", nullable=True),
        _ts("created_at"),
        _ts("last_login_at", nullable=True),
        sa.CheckConstraint(f"role IN ({_ROLES})", name="ck_account_role"),
        sa.PrimaryKeyConstraint("id", name="pk_account"),
        sa.UniqueConstraint("username", name="uq_account_username"),
        sa.UniqueConstraint("oidc_subject", name="uq_account_oidc_subject"),
    )
    op.create_table(
        "web_session",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        _id("account_id"),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        _ts("created_at"),
        _ts("last_seen_at"),
        _ts("expires_at"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name="fk_web_session_account_id_account"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_web_session"),
    )
    op.create_index("ix_web_session_account_id", "web_session", ["account_id"])
    op.create_table(
        "competent_authority",
        _id("id"),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint(
            "kind IN ('national', 'piu', 'europol', 'third_country')", name="ck_competent_authority_kind"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_competent_authority"),
        sa.UniqueConstraint("code", name="uq_competent_authority_code"),
    )
    op.create_table(
        "authority_request",
        _id("id"),
        _id("authority_id"),
        sa.Column("case_reference", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        _ts("registered_at"),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        _ts("decided_at", nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'answered', 'refused')", name="ck_authority_request_status"),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["competent_authority.id"],
            name="fk_authority_request_authority_id_competent_authority",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_authority_request"),
    )
    op.create_index(
        "ix_authority_request_status_registered_at", "authority_request", ["status", "registered_at"]
    )
    op.create_table(
        "request_result",
        _id("request_id"),
        _id("booking_id"),
        _ts("found_at"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["authority_request.id"], name="fk_request_result_request_id_authority_request"
        ),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name="fk_request_result_booking_id_booking"),
        sa.PrimaryKeyConstraint("request_id", "booking_id", name="pk_request_result"),
    )
    op.create_table(
        "transmission",
        _id("id"),
        _id("hit_id", nullable=True),
        _id("request_id", nullable=True),
        _id("booking_id"),
        sa.Column("booking_version", sa.Integer(), nullable=False),
        _id("authority_id"),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        _ts("proposed_at"),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        _ts("decided_at", nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        _ts("released_at", nullable=True),
        sa.Column("package_sha256", sa.LargeBinary(length=32), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'released', 'rejected')", name="ck_transmission_status"),
        sa.CheckConstraint("hit_id IS NOT NULL OR request_id IS NOT NULL", name="ck_transmission_origin"),
        sa.CheckConstraint(
            "(status = 'released' AND released_at IS NOT NULL AND package_sha256 IS NOT NULL)"
            " OR (status <> 'released' AND released_at IS NULL AND package_sha256 IS NULL)",
            name="ck_transmission_release",
        ),
        sa.ForeignKeyConstraint(["hit_id"], ["hit.id"], name="fk_transmission_hit_id_hit"),
        sa.ForeignKeyConstraint(
            ["request_id"], ["authority_request.id"], name="fk_transmission_request_id_authority_request"
        ),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], name="fk_transmission_booking_id_booking"),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["competent_authority.id"],
            name="fk_transmission_authority_id_competent_authority",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_transmission"),
    )
    op.create_index("ix_transmission_status_proposed_at", "transmission", ["status", "proposed_at"])
    op.create_index("ix_transmission_hit_id", "transmission", ["hit_id"])


def downgrade() -> None:
    op.drop_index("ix_transmission_hit_id", table_name="transmission")
    op.drop_index("ix_transmission_status_proposed_at", table_name="transmission")
    op.drop_table("transmission")
    op.drop_table("request_result")
    op.drop_index("ix_authority_request_status_registered_at", table_name="authority_request")
    op.drop_table("authority_request")
    op.drop_table("competent_authority")
    op.drop_index("ix_web_session_account_id", table_name="web_session")
    op.drop_table("web_session")
    op.drop_table("account")
