"""Carrier data-quality counters (issue 13): numbers per carrier, day and metric.

No personal data: a UNB sender id, a date, a metric name and a count
(`store/quality.py`).

Revision ID: 0016_formats
Revises: 0012_dp_filter
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_formats"
down_revision = "0012_dp_filter"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carrier_quality",
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("carrier", "day", "metric", name=op.f("pk_carrier_quality")),
    )


def downgrade() -> None:
    op.drop_table("carrier_quality")
