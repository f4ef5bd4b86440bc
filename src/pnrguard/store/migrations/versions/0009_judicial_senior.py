"""Senior judicial authority role (``judicial_senior``); merges the four branches into one head.

Dormant (EU-US 2012 profile, 5-10 years) unmasking needs a higher-level approval
(docs/data-protection.md); `service.unmasking` already requires ``judicial_senior`` for
it, and the workspace now issues that role. The role is enforced by a CHECK constraint on
``account``, so the constraint is replaced.

The CHECK constraint 0005 created is named ``ck_account_ck_account_role`` (0005 passed a
full name through the ``ck`` naming convention, which prefixed it again, like 0007 did);
it is dropped under that name and recreated as ``ck_account_role``, the name
`store.accounts` declares. `op.f` marks both names as final (no convention applied).

This revision is also the merge point of the branches that grew from 0002/0003
(0004_gateway, 0005_workspace, 0006_lifecycle, 0008_exchange_four_eyes): after it the
script directory has exactly one head.

On SQLite the batch runs as a table copy (``render_as_batch``), with the sessions held
aside meanwhile because ``web_session`` references ``account``; on PostgreSQL as
plain ``ALTER TABLE`` statements (the column is unchanged: no rewrite, only the new check
is validated). ``judicial_senior`` fits the column's 16 characters.

Revision ID: 0009_judicial_senior
Revises: 0004_gateway, 0005_workspace, 0006_lifecycle, 0008_exchange_four_eyes
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_judicial_senior"
down_revision = ("0004_gateway", "0005_workspace", "0006_lifecycle", "0008_exchange_four_eyes")
branch_labels = None
depends_on = None

_OLD = "('analyst', 'supervisor', 'dpo', 'judicial', 'admin', 'carrier', 'peer')"
_NEW = "('analyst', 'supervisor', 'dpo', 'judicial', 'judicial_senior', 'admin', 'carrier', 'peer')"


def _replace_role_check(old: str, new: str, body: str) -> None:
    """Drop the role check `old` and create `new` with `body`.

    On SQLite the batch copies ``account`` and drops the original, whose implicit delete
    fails while ``web_session`` rows reference it (foreign keys are on for every
    connection, and deferring them does not help: the rename does not clear the counted
    violations). The sessions are held in memory for the copy (not in a temporary table,
    which may be a file: they carry CSRF tokens) and put back after it, in the same
    transaction: nobody is logged out."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    sessions: list[dict[str, object]] = []
    if sqlite:
        sessions = [dict(r) for r in bind.execute(sa.text("SELECT * FROM web_session")).mappings()]
        op.execute("DELETE FROM web_session")
    with op.batch_alter_table("account") as batch:
        batch.drop_constraint(op.f(old), type_="check")
        batch.create_check_constraint(op.f(new), body)
    if sessions:
        web_session = sa.table("web_session", *(sa.column(c) for c in sessions[0]))
        bind.execute(sa.insert(web_session), sessions)


def upgrade() -> None:
    _replace_role_check("ck_account_ck_account_role", "ck_account_role", f"role IN {_NEW}")


def downgrade() -> None:
    # A senior judge's account cannot exist under 0008. Changing its role would silently
    # change someone's powers, and deleting it would lose who decided past requests, so
    # the downgrade stops and leaves that decision to a person.
    held = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM account WHERE role = 'judicial_senior'"))
        .scalar_one()
    )
    if held:
        raise RuntimeError(
            f"{held} account(s) hold the role judicial_senior, which the previous schema does not "
            "know: remove or re-role them before downgrading"
        )
    _replace_role_check("ck_account_role", "ck_account_ck_account_role", f"role IN {_OLD}")
