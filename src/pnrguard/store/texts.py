"""Free text about travellers, encrypted at its first write: the one seal/open pair.

Issue 10, item 1 (Directive (EU) 2016/681 Art. 12(1)-(3); Directive (EU) 2016/680 Art.
4(1)(e)): a reviewer's reason, a transmission's justification, a DPO's decision, an
authority's request, a requester's or a judge's reasoning may name the person. Stored in
clear until masking, such a text survives in PostgreSQL's dead rows, in WAL segments and in
every backup taken before, readable by anyone with the database. So every such text is
encrypted *before* it reaches the database (`seal_text`) and decrypted only where a page,
package or report shows it (`open_text`), under one of two keys:

- **the booking's identity key** (``sealed:v1:``) for a text about exactly one booking
  (hit review reason, suppression reason, transmission justification and decision,
  rectification decision). Masking seals that key (the text goes dark with the name) and
  deletion destroys it (the text with it), in dead rows and backups too, by construction.
  A booking whose identity key is already sealed (masked) gets the month key of its receipt
  month instead; `open_text` shows a masked booking's texts to nobody without a decided
  unmasking either way.
- **a month text key** (``sealed:m1:YYYY-MM:``) for a text about several bookings or none:
  an authority's request and the PIU's decision on it (the month of registration: what it
  can find was received by then or is searched for later), an unmasking request and the
  judge's reasoning (the receipt month of the newest booking it names, so the key cannot
  die before that booking). One 32-byte key per month, stored in `text_key` wrapped under
  that month's *period KEK* (keystore.py). The period KEK is destroyed when every booking
  received in the month is deleted (`service.retention._destroy_spent_periods`), and with
  it every copy of the text (dead rows, WAL, backups); the explicit erasure rules of
  `store/copies.py` (a request's texts go when a booking it found is deleted) still apply
  first.

The associated data binds each ciphertext to (table, column/row id, owner, key version):
a sealed reason copied to another row, column or booking fails to open.

``sealed:v1:`` is also the format masking used for texts written in clear before this
module existed (`store/copies.py`); `pnrguard keys seal-texts` (`seal_clear_texts`)
encrypts what is left of those.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import Column, Integer, LargeBinary, String, Table, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from pnrguard.errors import N_, CryptoError
from pnrguard.protection.crypto import (
    AssociatedData,
    KeyKind,
    decrypt_field,
    encrypt_field,
    key_context,
    receipt_period,
)
from pnrguard.protection.keystore import KeyStore, WrappedKey
from pnrguard.store.db import metadata
from pnrguard.store.tables import booking, booking_key

__all__ = [
    "MASKED_TEXT",
    "MONTH_TEXT_PREFIX",
    "SEALED_TEXT_PREFIX",
    "TEXT_KEY_CONTEXT",
    "TextKey",
    "TextKeys",
    "forget_month_keys",
    "is_sealed",
    "open_text",
    "seal_text",
    "text_key",
]

SEALED_TEXT_PREFIX = "sealed:v1:"
MONTH_TEXT_PREFIX = "sealed:m1:"
_ANY_PREFIX = "sealed:"
MASKED_TEXT = "[masked: opens only under a decided judicial unmasking]"
#: The wrap context of a month's text key (under the month's period KEK).
TEXT_KEY_CONTEXT = b"pnrguard/text-key/v1\x00"
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

#: One data key per month for texts that concern several bookings or none (module docstring).
text_key = Table(
    "text_key",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("kek_version", Integer, nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
)


@dataclass(frozen=True, slots=True)
class TextKey:
    """A data key in clear for one sealing or opening: `owner` is the booking id (identity
    key) or ``period:YYYY-MM`` (month key), bound into the associated data."""

    owner: str
    raw: bytes = field(repr=False)
    key_version: int
    prefix: str = SEALED_TEXT_PREFIX


def _aad(key: TextKey, table: str, column: str, row_id: str) -> AssociatedData:
    return AssociatedData(table, f"{column}/{row_id}", key.owner, key.key_version)


def seal_text(key: TextKey, text: str, *, table: str, column: str, row_id: str) -> str:
    """`text` encrypted under `key`, bound to its row: what is stored in the text column."""
    blob = encrypt_field(key.raw, text.encode("utf-8"), aad=_aad(key, table, column, row_id))
    return key.prefix + base64.b64encode(blob).decode("ascii")


def is_sealed(text: str | None) -> bool:
    return text is not None and text.startswith(_ANY_PREFIX)


def _month_context(period: str) -> bytes:
    return TEXT_KEY_CONTEXT + period.encode("ascii")


class TextKeys:
    """Finds the keys of sealed texts for one connection (cached per booking and month).

    `unsealed`: bookings a *decided* judicial unmasking covers for this caller (checked and
    logged by the caller, Art. 12(3)); only for those is a masked booking's sealed identity
    key opened, through `seal_keystore`."""

    def __init__(
        self,
        conn: Connection,
        keystore: KeyStore,
        *,
        seal_keystore: KeyStore | None = None,
        unsealed: Collection[str] = (),
    ) -> None:
        self._conn = conn
        self._keystore = keystore
        self._seal_keystore = seal_keystore or keystore
        self._unsealed = frozenset(unsealed)
        self._bookings: dict[str, TextKey | None] = {}
        self._months: dict[str, TextKey | None] = {}

    # -- writing --------------------------------------------------------------------------
    def for_booking(self, booking_id: str) -> TextKey:
        """The key a new text about this booking is sealed under: its identity key, or the
        month key of its receipt month when that key is sealed already (masked)."""
        key = self._identity(booking_id)
        if key is not None:
            return key
        first = self._conn.execute(select(booking.c.first_seen).where(booking.c.id == booking_id)).scalar()
        return self.for_month(first if first is not None else dt.datetime.now(dt.UTC))

    def for_month(self, at: dt.datetime) -> TextKey:
        """The month key of `at` (created on first use, wrapped under the period KEK)."""
        period = receipt_period(at)
        key = self._month(period)
        if key is not None:
            return key
        raw = secrets.token_bytes(32)
        w = self._keystore.wrap(raw, context=_month_context(period), period=period)
        try:
            with self._conn.begin_nested():  # a savepoint: a concurrent creator wins, we read theirs
                self._conn.execute(
                    insert(text_key).values(period=period, kek_version=w.kek_version, wrapped=w.blob)
                )
        except IntegrityError:
            raw = b""
        if not raw:
            self._months.pop(period, None)
            found = self._month(period)
            if found is None:
                raise CryptoError(N_("the text key of %(period)s cannot be read"), period=period)
            return found
        key = TextKey(f"period:{period}", raw, 1, f"{MONTH_TEXT_PREFIX}{period}:")
        self._months[period] = key
        return key

    # -- reading --------------------------------------------------------------------------
    def visible(self, booking_id: str) -> bool:
        """Whether this caller may read texts about the booking: its identity key is live,
        or a decided unmasking covers it."""
        return booking_id in self._unsealed or self._live(booking_id)

    def _live(self, booking_id: str) -> bool:
        if booking_id in self._bookings:
            return self._bookings[booking_id] is not None
        r = self._conn.execute(
            select(booking_key.c.booking_id).where(
                booking_key.c.booking_id == booking_id, booking_key.c.kind == KeyKind.IDENTITY.value
            )
        ).first()
        return r is not None

    def _identity(self, booking_id: str) -> TextKey | None:
        if booking_id in self._bookings:
            return self._bookings[booking_id]
        key: TextKey | None = None
        r = self._conn.execute(
            select(booking_key).where(
                booking_key.c.booking_id == booking_id, booking_key.c.kind == KeyKind.IDENTITY.value
            )
        ).first()
        if r is not None:
            raw = self._keystore.unwrap(
                WrappedKey(r.kek_version, bytes(r.wrapped)),
                context=key_context(booking_id, KeyKind.IDENTITY, r.key_version),
            )
            key = TextKey(booking_id, raw, r.key_version)
        self._bookings[booking_id] = key
        return key

    def identity_for_reading(self, booking_id: str) -> TextKey | None:
        try:
            key = self._identity(booking_id)
        except CryptoError:  # its period KEK was destroyed: the booking is gone
            return None
        if key is not None or booking_id not in self._unsealed:
            return key
        from pnrguard.store.lifecycle import sealed_context, sealed_key  # lifecycle imports copies

        s = self._conn.execute(select(sealed_key).where(sealed_key.c.booking_id == booking_id)).first()
        if s is None:
            return None
        try:
            raw = self._seal_keystore.unwrap(
                WrappedKey(s.kek_version, bytes(s.wrapped)),
                context=sealed_context(booking_id, s.key_version, s.tier),
            )
        except CryptoError:
            return None
        return TextKey(booking_id, raw, s.key_version)

    def _month(self, period: str) -> TextKey | None:
        if period in self._months:
            return self._months[period]
        key: TextKey | None = None
        r = self._conn.execute(select(text_key).where(text_key.c.period == period)).first()
        if r is not None:
            try:
                raw = self._keystore.unwrap(
                    WrappedKey(r.kek_version, bytes(r.wrapped)), context=_month_context(period)
                )
                key = TextKey(f"period:{period}", raw, 1, f"{MONTH_TEXT_PREFIX}{period}:")
            except CryptoError:  # the month's KEK was destroyed: its texts are gone
                key = None
        self._months[period] = key
        return key

    def month_for_reading(self, period: str) -> TextKey | None:
        return self._month(period) if _MONTH.fullmatch(period) else None


def open_text(
    keys: TextKeys,
    text: str | None,
    *,
    table: str,
    column: str,
    row_id: str,
    booking_id: str | None = None,
) -> str | None:
    """What a page, package or report shows for a stored text.

    `booking_id`: the one booking the text is about, if any. A masked booking's text shows
    as `MASKED_TEXT` unless `keys` holds a decided unmasking for it, whatever its format
    (Art. 12(2)-(3)); a text whose key is gone (deleted booking, destroyed month) too. Never
    raises on a bad text: a page does not fail because one reason cannot be opened."""
    if text is None or text == "":
        return text
    if booking_id is not None and not keys.visible(booking_id):
        return MASKED_TEXT
    if not is_sealed(text):
        return text  # written before encryption at write; `seal_clear_texts` encrypts it
    key: TextKey | None
    if text.startswith(MONTH_TEXT_PREFIX):
        period, _, body = text[len(MONTH_TEXT_PREFIX) :].partition(":")
        key = keys.month_for_reading(period)
    elif text.startswith(SEALED_TEXT_PREFIX) and booking_id is not None:
        body = text[len(SEALED_TEXT_PREFIX) :]
        key = keys.identity_for_reading(booking_id)
    else:
        return MASKED_TEXT
    if key is None:
        return MASKED_TEXT
    try:
        blob = base64.b64decode(body, validate=True)
        return decrypt_field(key.raw, blob, aad=_aad(key, table, column, row_id)).decode("utf-8")
    except (CryptoError, ValueError):
        return MASKED_TEXT


def forget_month_keys(conn: Connection, periods: Collection[str]) -> int:
    """Delete the text keys of months whose period KEK is destroyed (they no longer open)."""
    if not periods:
        return 0
    return int(conn.execute(delete(text_key).where(text_key.c.period.in_(sorted(periods)))).rowcount or 0)
