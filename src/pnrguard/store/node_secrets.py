"""Node secrets: node-wide 32-byte secrets (the digest key, the blind index's key, the
person digest's, the TOTP key's), each stored wrapped by the key store in `node_secret`.

Created on first use; unwrapped once per process and key store (`_SECRET_CACHE`). Never
stored or logged in clear: the database holds only the key store's wrapping, so a copy of
it without the key store derives nothing. `service.keys` rewraps them with the other keys.
"""

from __future__ import annotations

import datetime as dt
import weakref

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from pnrguard.protection.crypto import new_data_key
from pnrguard.protection.keystore import KeyStore, WrappedKey
from pnrguard.store.tables import node_secret

__all__ = ["load_node_secret", "replace_node_secret"]

#: Bound into each secret's wrapping with its name, so a wrapped secret copied to another
#: row does not unwrap.
_SECRET_CONTEXT = b"pnrguard/node-secret/v1\x00"

#: Unwrapped node secrets per key store object, by (name, wrapped blob): one unwrap per
#: process rather than one per message; a rewrapped secret is a new entry, and a key store
#: that is garbage-collected takes its entries with it.
_SECRET_CACHE: weakref.WeakKeyDictionary[KeyStore, dict[tuple[str, bytes], bytes]] = (
    weakref.WeakKeyDictionary()
)


def load_node_secret(conn: Connection, keystore: KeyStore, name: str, *, now: dt.datetime) -> bytes:
    """A node-wide 32-byte secret, created on first use and stored wrapped by the key store.

    Creation runs in a savepoint, so two workers creating it at once do not fail the
    caller's transaction: the loser reads the winner's secret.
    """
    query = select(node_secret.c.kek_version, node_secret.c.wrapped).where(node_secret.c.name == name)
    row = conn.execute(query).first()
    if row is None:
        try:
            with conn.begin_nested():
                _insert_new(conn, keystore, name, now)
        except IntegrityError:
            pass
        row = conn.execute(query).one()
    blob = bytes(row.wrapped)
    cache = _SECRET_CACHE.setdefault(keystore, {})
    secret = cache.get((name, blob))
    if secret is None:
        secret = keystore.unwrap(WrappedKey(row.kek_version, blob), context=_context(name))
        cache[(name, blob)] = secret
    return secret


def replace_node_secret(conn: Connection, keystore: KeyStore, name: str, *, now: dt.datetime) -> None:
    """Put a fresh secret in place of node secret `name` (the blind index's, when its key
    is replaced: `service.index_rebuild`). What was derived from the old one is stale."""
    conn.execute(delete(node_secret).where(node_secret.c.name == name))
    _insert_new(conn, keystore, name, now)


def _context(name: str) -> bytes:
    return _SECRET_CONTEXT + name.encode("ascii")


def _insert_new(conn: Connection, keystore: KeyStore, name: str, now: dt.datetime) -> None:
    """Store a fresh 32-byte secret as row `name`, wrapped by the key store."""
    wrapped = keystore.wrap(new_data_key(), context=_context(name))
    conn.execute(
        insert(node_secret).values(
            name=name, kek_version=wrapped.kek_version, wrapped=wrapped.blob, created_at=now
        )
    )
