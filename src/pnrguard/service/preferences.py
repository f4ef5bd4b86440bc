"""A person's own workspace settings (today: the language).

Not an account change under the two-person rule: it grants nothing and shows nothing, so
the person sets it alone, and it is not audited (no personal data is touched).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from pnrguard.errors import N_, InputError
from pnrguard.service.accounts import Account
from pnrguard.store import accounts as store

__all__ = ["set_language"]


def set_language(engine: Engine, account: Account, locale: str | None, *, offered: tuple[str, ...]) -> None:
    """Store `locale` (one of `offered`) as the person's language; None or "" clears it."""
    if locale and locale not in offered:
        raise InputError(N_("language is one of %(items)s"), items=", ".join(offered))
    with engine.begin() as conn:
        store.set_locale(conn, account_id=account.id, locale=locale or None)
