"""The workspace language a person chose (issue 15): ``account.locale``.

NULL means "as the browser asks" (Accept-Language, then English). A language code, not
personal data about travellers. Plain ``ADD COLUMN`` on both databases.

Revision ID: 0022_locale
Revises: 0023_exchange_ui
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_locale"
down_revision = "0023_exchange_ui"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("account", sa.Column("locale", sa.String(8), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 has it): no table copy of `account`, which
    # `web_session` references (as in 0014).
    op.drop_column("account", "locale")
