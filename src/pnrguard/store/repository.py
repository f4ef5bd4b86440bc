"""The booking repository: bookings and their versions (the inbox and the quarantine are
`store.messages`; the node secrets behind the digests `store.node_secrets`).

The repository works on a SQLAlchemy `Connection` inside the caller's transaction and never
commits: the use case (`service/ingest.py`) owns the unit of work, so a message's bookings,
its inbox row and its audit entry commit together or not at all.

Encryption (DESIGN.md, Security notes): a booking has two data keys (identity, content),
generated here, stored only wrapped by the `KeyStore` in `booking_key`. Each version stores
the JSON of the fields in `domain.annex.MASKED_AT_6_MONTHS` under the identity key and the
JSON of all other fields under the content key, AES-GCM with associated data binding table,
column, row (booking id and version number) and data-key version, so a blob copied to
another booking, column or version does not decrypt.

Digests are HMAC-SHA256 under a node secret kept wrapped in `node_secret`, never plain hashes:
a plain hash of a name, date of birth and document number could be confirmed by anyone who
guesses them. Two are used:

- the *identity digest* of a booking's natural key finds the booking a push belongs to
  (PNR: carrier, locator, reservation time; API and PNR without a locator: the reported
  flight and the traveller's names, date of birth and first document, because several
  travellers on one PNR each have their own API record under the same locator);
- the *content digest* of a version tells an identical re-push (a duplicate: nothing stored
  but `last_seen`) from a changed one (a new version, Annex I element 19).

Portability: plain Core SQL that runs on SQLite and PostgreSQL; inserts are batched per
message (executemany), lookups are one `IN` query per message per table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from pnrguard.domain import model
from pnrguard.domain.annex import MASKED_AT_6_MONTHS
from pnrguard.domain.model import Booking, Source, booking_from_dict, reporting_leg
from pnrguard.errors import N_, CryptoError, NotFoundError
from pnrguard.protection.crypto import (
    AssociatedData,
    BookingKeys,
    KeyKind,
    WrappedBookingKeys,
    decrypt_field,
    encrypt_field,
    key_context,
    receipt_period,
    unwrap_booking_keys,
    wrap_booking_keys,
)
from pnrguard.protection.keystore import KeyStore, Secret, WrappedKey
from pnrguard.store.db import chunks
from pnrguard.store.node_secrets import load_node_secret
from pnrguard.store.tables import (
    booking,
    booking_key,
    booking_version,
)
from pnrguard.store.tally import add_travellers
from pnrguard.store.traveller import forget_bookings

__all__ = [
    "BookingRepository",
    "BookingSummary",
    "SaveOutcome",
    "SaveStatus",
    "VersionInfo",
    "flight_columns",
    "new_id",
]

_DIGEST_KEY_NAME = "digest-hmac"
_JSON_SEPARATORS = (",", ":")
#: Booking fields encrypted under the identity key, in model order.
_IDENTITY_FIELDS = frozenset(MASKED_AT_6_MONTHS)


def new_id() -> str:
    """An opaque id: 48-bit milliseconds then 80 random bits, as 32 hex characters.

    Time-ordered so B-tree inserts land at the right edge (fast on both databases) while
    telling nothing about content; random enough that ids cannot be guessed.
    """
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=_JSON_SEPARATORS, ensure_ascii=False).encode("utf-8")


#: Field names of every model dataclass, looked up once (see `_compact_json`).
_MODEL_FIELDS: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls))
    for cls in vars(model).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == model.__name__
}
_EMPTY: tuple[Any, ...] = (None, "", [])


def _fields_of(obj: Any) -> dict[str, Any]:
    """A model object's non-empty fields, one level deep (json.dumps recurses via `_default`)."""
    return {
        name: value
        for name in _MODEL_FIELDS[type(obj)]
        if (value := getattr(obj, name)) is not None and value != "" and value != []
    }


def _default(obj: Any) -> Any:
    """`json.dumps` hook for what the C encoder cannot write itself. Enums are `StrEnum`s,
    which it writes as their values already."""
    if type(obj) in _MODEL_FIELDS:
        return _fields_of(obj)
    if isinstance(obj, dt.date):  # datetime is a date too
        return obj.isoformat()
    raise TypeError(f"cannot store a {type(obj).__name__}")


def _compact_json(obj: Any) -> bytes:
    """JSON of model data as `domain.model.to_dict` would give it, minus empty values.

    Why not `to_dict` + `json.dumps`: `to_dict` asks `dataclasses.is_dataclass` of every
    value in Python and was the largest single cost of ingest; here the C encoder writes
    every scalar and Python runs once per model object (2x faster). Dropping empty values
    (None, "", []) makes the stored JSON a quarter smaller; `booking_from_dict` restores
    them from the field defaults, so the round trip is exact (tested).
    """
    return json.dumps(obj, separators=_JSON_SEPARATORS, ensure_ascii=False, default=_default).encode("utf-8")


# --- bookings ----------------------------------------------------------------------------


class SaveStatus(StrEnum):
    """What saving one pushed booking did."""

    NEW = "new"  # a booking not seen before: row, keys and version 1
    NEW_VERSION = "new_version"  # a known booking whose content changed
    DUPLICATE = "duplicate"  # identical to the booking's latest version: nothing stored


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    booking_id: str
    version: int
    status: SaveStatus


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A version's metadata (no content)."""

    booking_id: str
    version: int
    message_id: str
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class BookingSummary:
    """The clear columns of a booking row: enough for lists, retention and the review queue."""

    id: str
    source: Source
    carrier: str
    locator: str
    created: dt.datetime | None
    flight_carrier: str
    flight_number: str
    flight_date: dt.date | None
    origin: str
    destination: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    state: str
    masked_at: dt.datetime | None
    latest_version: int

    @classmethod
    def from_row(cls, row: Row[Any]) -> BookingSummary:
        return cls(
            id=row.id,
            source=Source(row.source),
            carrier=row.carrier,
            locator=row.locator,
            created=row.created,
            flight_carrier=row.flight_carrier,
            flight_number=row.flight_number,
            flight_date=row.flight_date,
            origin=row.origin,
            destination=row.destination,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            state=row.state,
            masked_at=row.masked_at,
            latest_version=row.latest_version,
        )


@dataclass(slots=True)
class _Prepared:
    """One pushed booking, serialised and digested, before we know which booking it joins."""

    booking: Booking
    identity_digest: bytes
    content_digest: bytes
    identity_json: bytes
    content_json: bytes


@dataclass(slots=True)
class _Known:
    """A booking row a push matched: its id, latest version and that version's digest."""

    id: str
    version: int
    content_digest: bytes | None
    keys: BookingKeys | None = None


def flight_columns(b: Booking) -> dict[str, Any]:
    leg = reporting_leg(b)
    if leg is None:
        return {
            "flight_carrier": "", "flight_number": "", "flight_date": None,
            "origin": "", "destination": "",
        }  # fmt: skip
    return {
        "flight_carrier": leg.carrier[:8],
        "flight_number": leg.flight_number[:8],
        "flight_date": leg.departure.date() if leg.departure else None,
        "origin": leg.origin[:5],
        "destination": leg.destination[:5],
    }


def _aad(column: str, booking_id: str, version: int, key_version: int) -> AssociatedData:
    # The row key is booking id *and* version number, so one version's blob cannot be
    # replayed as another version of the same booking.
    return AssociatedData("booking_version", column, f"{booking_id}/{version}", key_version)


class BookingRepository:
    """Bookings, their versions and their data keys, on one connection.

    Contract: methods run inside the caller's transaction and never commit. Everything
    personal is encrypted before it reaches SQL; only the clear columns of `booking`
    (carrier, locator, reservation time, reported flight, dates, state) are readable
    without the key store.
    """

    def __init__(self, conn: Connection, keystore: KeyStore, *, now: dt.datetime | None = None) -> None:
        self._conn = conn
        self._keystore = keystore
        self._now = now
        self._digest_keys: tuple[bytes, bytes] | None = None

    # -- digests -------------------------------------------------------------------------
    def _keys_for_digests(self) -> tuple[bytes, bytes]:
        if self._digest_keys is None:
            secret = load_node_secret(
                self._conn, self._keystore, _DIGEST_KEY_NAME, now=self._now or dt.datetime.now(dt.UTC)
            )
            # Two sub-keys so an identity digest can never equal a content digest.
            self._digest_keys = (
                hmac.new(secret, b"identity", hashlib.sha256).digest(),
                hmac.new(secret, b"content", hashlib.sha256).digest(),
            )
        return self._digest_keys

    def identity_digest(self, b: Booking) -> bytes:
        """The keyed digest of the booking's natural key (see the module docstring)."""
        key, _ = self._keys_for_digests()
        if b.source is Source.PNR and b.locator:
            parts: list[str] = ["pnr", b.carrier, b.locator, b.created.isoformat() if b.created else ""]
        else:
            leg = b.reported_flight
            parts = [
                b.source.value.lower(),
                b.carrier,
                b.locator,
                leg.carrier if leg else "",
                leg.flight_number if leg else "",
                leg.departure.date().isoformat() if leg and leg.departure else "",
                leg.origin if leg else "",
                leg.destination if leg else "",
            ]
            for t in b.travellers:
                doc = t.documents[0] if t.documents else None
                dob = t.date_of_birth or (doc.date_of_birth if doc else None)
                parts += [
                    t.surname.upper(),
                    t.given_names.upper(),
                    dob.isoformat() if dob else "",
                    doc.number if doc else "",
                ]
        return hmac.new(key, _dumps(parts), hashlib.sha256).digest()

    def _prepare(self, b: Booking) -> _Prepared:
        data = _fields_of(b)
        ident = {k: v for k, v in data.items() if k in _IDENTITY_FIELDS}
        content = {k: v for k, v in data.items() if k not in _IDENTITY_FIELDS}
        ident_json, content_json = _compact_json(ident), _compact_json(content)
        _, ckey = self._keys_for_digests()
        digest = hmac.new(ckey, ident_json + b"\x00" + content_json, hashlib.sha256).digest()
        return _Prepared(b, self.identity_digest(b), digest, ident_json, content_json)

    # -- keys ----------------------------------------------------------------------------
    def _load_keys(self, booking_ids: Sequence[str]) -> dict[str, BookingKeys]:
        rows: dict[str, dict[str, Row[Any]]] = {}
        for chunk in chunks(list(booking_ids)):
            for r in self._conn.execute(select(booking_key).where(booking_key.c.booking_id.in_(chunk))):
                rows.setdefault(r.booking_id, {})[r.kind] = r
        out: dict[str, BookingKeys] = {}
        for bid in booking_ids:
            kinds = rows.get(bid, {})
            if KeyKind.IDENTITY.value not in kinds or KeyKind.CONTENT.value not in kinds:
                raise CryptoError(N_("booking %(bid)s: data keys are missing (masked or shredded)"), bid=bid)
            ik, ck = kinds[KeyKind.IDENTITY.value], kinds[KeyKind.CONTENT.value]
            wrapped = WrappedBookingKeys(
                identity=WrappedKey(ik.kek_version, bytes(ik.wrapped)),
                content=WrappedKey(ck.kek_version, bytes(ck.wrapped)),
                version=ik.key_version,
            )
            out[bid] = unwrap_booking_keys(self._keystore, wrapped, booking_id=bid)
        return out

    def _key(self, booking_id: str, kind: KeyKind) -> tuple[Secret[bytes], int]:
        r = self._conn.execute(
            select(booking_key).where(
                booking_key.c.booking_id == booking_id, booking_key.c.kind == kind.value
            )
        ).first()
        if r is None:
            raise CryptoError(
                N_("booking %(booking_id)s: %(kind)s key is missing (masked or shredded)"),
                booking_id=booking_id,
                kind=kind.value,
            )
        raw = self._keystore.unwrap(
            WrappedKey(r.kek_version, bytes(r.wrapped)),
            context=key_context(booking_id, kind, r.key_version),
        )
        return Secret(raw), r.key_version

    # -- writing -------------------------------------------------------------------------
    def save_version(self, b: Booking, *, message_id: str, received_at: dt.datetime) -> SaveOutcome:
        """Store one pushed booking: a new booking, a new version, or a duplicate."""
        return self.save_versions([b], message_id=message_id, received_at=received_at)[0]

    def save_versions(
        self, bookings: Sequence[Booking], *, message_id: str, received_at: dt.datetime
    ) -> list[SaveOutcome]:
        """Store the bookings of one message, in order, with batched SQL.

        A booking whose content equals its booking's latest version is a duplicate (only
        `last_seen` moves); otherwise it becomes the next version. A booking that matches a
        masked or deleted booking starts a new booking: the old one keeps its history but
        stops receiving pushes (its identity digest is retired).

        Concurrency: two transactions adding the same booking or the same version number
        collide on a unique key and one gets `IntegrityError`; the use case retries it.
        """
        if not bookings:
            return []
        prepared = [self._prepare(b) for b in bookings]
        digests = list({p.identity_digest for p in prepared})
        known: dict[bytes, _Known] = {}
        retire: list[str] = []
        latest = booking_version.alias("latest")
        for chunk in chunks(digests):
            q = (
                select(
                    booking.c.id,
                    booking.c.identity_digest,
                    booking.c.latest_version,
                    booking.c.state,
                    latest.c.content_digest,
                )
                .select_from(
                    booking.outerjoin(
                        latest,
                        and_(
                            latest.c.booking_id == booking.c.id,
                            latest.c.version == booking.c.latest_version,
                        ),
                    )
                )
                .where(booking.c.identity_digest.in_(chunk))
            )
            for r in self._conn.execute(q):
                if r.state != "active":
                    retire.append(r.id)
                    continue
                known[bytes(r.identity_digest)] = _Known(
                    r.id, r.latest_version, bytes(r.content_digest) if r.content_digest else None
                )

        # Decide each booking's fate, in message order (a booking may occur twice).
        fates: list[tuple[_Prepared, _Known, SaveStatus, int]] = []
        new_ids: set[str] = set()
        for p in prepared:
            k = known.get(p.identity_digest)
            if k is None:
                k = _Known(new_id(), 0, None, BookingKeys.generate())
                known[p.identity_digest] = k
                new_ids.add(k.id)
            if k.content_digest == p.content_digest:
                fates.append((p, k, SaveStatus.DUPLICATE, k.version))
                continue
            status = SaveStatus.NEW if k.version == 0 else SaveStatus.NEW_VERSION
            k.version += 1
            k.content_digest = p.content_digest
            fates.append((p, k, status, k.version))

        need_keys = sorted({k.id for _, k, s, _ in fates if s is not SaveStatus.DUPLICATE and k.keys is None})
        if need_keys:
            by_id = {k.id: k for k in known.values()}
            for bid, loaded in self._load_keys(need_keys).items():
                by_id[bid].keys = loaded

        conn = self._conn
        if retire:
            conn.execute(update(booking).where(booking.c.id.in_(retire)).values(identity_digest=None))
        booking_rows: list[dict[str, Any]] = []
        counted: list[tuple[dt.datetime, str, int]] = []
        key_rows: list[dict[str, Any]] = []
        version_rows: list[dict[str, Any]] = []
        seen_only: dict[str, dict[str, Any]] = {}
        changed: dict[str, dict[str, Any]] = {}
        outcomes: list[SaveOutcome] = []
        for p, k, status, version in fates:
            b = p.booking
            outcomes.append(SaveOutcome(k.id, version, status))
            if status is SaveStatus.DUPLICATE:
                if k.id not in new_ids and k.id not in changed:
                    seen_only[k.id] = {"b_id": k.id, "p_last_seen": received_at}
                continue
            if k.keys is None:  # pragma: no cover - loaded or generated above
                raise CryptoError(N_("booking %(id)s: data keys were not loaded"), id=k.id)
            keys = k.keys
            if status is SaveStatus.NEW:
                booking_rows.append(
                    {
                        "id": k.id,
                        "source": b.source.value,
                        "carrier": b.carrier[:8],
                        "locator": b.locator[:16],
                        "created": b.created,
                        "identity_digest": p.identity_digest,
                        **flight_columns(b),
                        "first_seen": received_at,
                        "last_seen": received_at,
                        "state": "active",
                        "masked_at": None,
                        "deleted_at": None,
                        "latest_version": k.version,
                    }
                )
                counted.append((received_at, b.source.value, len(b.travellers)))  # Art. 20, per day
                wrapped = wrap_booking_keys(
                    self._keystore, keys, booking_id=k.id, period=receipt_period(received_at)
                )
                for kind, w in ((KeyKind.IDENTITY, wrapped.identity), (KeyKind.CONTENT, wrapped.content)):
                    key_rows.append(
                        {
                            "booking_id": k.id,
                            "kind": kind.value,
                            "key_version": wrapped.version,
                            "kek_version": w.kek_version,
                            "wrapped": w.blob,
                        }
                    )
            elif k.id not in new_ids:
                seen_only.pop(k.id, None)
                changed[k.id] = {
                    "b_id": k.id,
                    "p_last_seen": received_at,
                    "p_latest_version": k.version,
                    **{f"p_{name}": value for name, value in flight_columns(b).items()},
                }
            version_rows.append(
                {
                    "booking_id": k.id,
                    "version": version,
                    "message_id": message_id,
                    "received_at": received_at,
                    "content_digest": p.content_digest,
                    "key_version": keys.version,
                    "identity_blob": encrypt_field(
                        keys.identity, p.identity_json,
                        aad=_aad("identity_blob", k.id, version, keys.version),
                    ),
                    "content_blob": encrypt_field(
                        keys.content, p.content_json,
                        aad=_aad("content_blob", k.id, version, keys.version),
                    ),
                }
            )  # fmt: skip

        if booking_rows:
            conn.execute(insert(booking), booking_rows)
            add_travellers(conn, counted)
        if key_rows:
            conn.execute(insert(booking_key), key_rows)
        if version_rows:
            conn.execute(insert(booking_version), version_rows)
        if seen_only:
            conn.execute(
                update(booking)
                .where(booking.c.id == bindparam("b_id"))
                .values(last_seen=bindparam("p_last_seen")),
                [seen_only[k] for k in sorted(seen_only)],  # id order: no lock-order deadlocks
            )
        if changed:
            conn.execute(
                update(booking)
                .where(booking.c.id == bindparam("b_id"))
                .values(
                    last_seen=bindparam("p_last_seen"),
                    latest_version=bindparam("p_latest_version"),
                    flight_carrier=bindparam("p_flight_carrier"),
                    flight_number=bindparam("p_flight_number"),
                    flight_date=bindparam("p_flight_date"),
                    origin=bindparam("p_origin"),
                    destination=bindparam("p_destination"),
                ),
                [changed[k] for k in sorted(changed)],
            )
        return outcomes

    # -- reading -------------------------------------------------------------------------
    def summary(self, booking_id: str) -> BookingSummary:
        row = self._conn.execute(select(booking).where(booking.c.id == booking_id)).first()
        if row is None:
            raise NotFoundError(N_("booking %(booking_id)s not found"), booking_id=booking_id)
        return BookingSummary.from_row(row)

    def get(self, booking_id: str, *, version: int | None = None, include_identity: bool = True) -> Booking:
        """The booking as pushed in `version` (default: the latest), decrypted.

        With `include_identity=False` only the content key is used and the identity fields
        come back empty: the view of a masked booking. Raises `NotFoundError` for an
        unknown or deleted booking, `CryptoError` when a needed key is gone.
        """
        summary = self.summary(booking_id)
        if summary.state == "deleted":
            raise NotFoundError(N_("booking %(booking_id)s was deleted"), booking_id=booking_id)
        v = summary.latest_version if version is None else version
        row = self._conn.execute(
            select(booking_version).where(
                booking_version.c.booking_id == booking_id, booking_version.c.version == v
            )
        ).first()
        if row is None:
            raise NotFoundError(N_("booking %(booking_id)s has no version %(v)s"), booking_id=booking_id, v=v)
        data: dict[str, Any] = {}
        ckey, ckv = self._key(booking_id, KeyKind.CONTENT)
        data.update(
            json.loads(
                decrypt_field(ckey, bytes(row.content_blob), aad=_aad("content_blob", booking_id, v, ckv))
            )
        )
        if include_identity:
            ikey, ikv = self._key(booking_id, KeyKind.IDENTITY)
            data.update(
                json.loads(
                    decrypt_field(
                        ikey, bytes(row.identity_blob), aad=_aad("identity_blob", booking_id, v, ikv)
                    )
                )
            )
        return booking_from_dict(data)

    def get_many(
        self, refs: Sequence[tuple[str, int | None]], *, include_identity: bool = True
    ) -> dict[str, Booking]:
        """Many bookings at once: `{booking id: booking}` for (id, version or None for the
        latest) pairs, each equal to what `get` returns for it.

        Why: `get` costs four queries a booking; a rescreen reads thousands. Here it is one
        query for the wrapped keys and one for the versions per 500 bookings, then one
        unwrap and decrypt per key and blob. With `include_identity=False` identity keys are
        neither read nor unwrapped. A booking `get` would refuse (unknown, deleted, no such
        version, a needed key gone or not authentic) is left out rather than raising, so one
        masked or shredded booking does not fail a batch: the caller tells them apart by
        what is missing (and asks `get` for the reason if it needs one). An id given twice
        keeps its last pair.
        """
        wanted: dict[str, int | None] = {bid: v for bid, v in refs}
        if not wanted:
            return {}
        kinds = [KeyKind.CONTENT.value] + ([KeyKind.IDENTITY.value] if include_identity else [])
        keys: dict[tuple[str, str], Row[Any]] = {}
        rows: dict[str, Row[Any]] = {}
        for chunk in chunks(list(wanted)):
            q = select(booking_key).where(booking_key.c.booking_id.in_(chunk), booking_key.c.kind.in_(kinds))
            for r in self._conn.execute(q):
                keys[(r.booking_id, r.kind)] = r
            explicit = [(bid, wanted[bid]) for bid in chunk if wanted[bid] is not None]
            latest = [bid for bid in chunk if wanted[bid] is None]
            which: list[ColumnElement[bool]] = []
            if explicit:
                which.append(tuple_(booking_version.c.booking_id, booking_version.c.version).in_(explicit))
            if latest:
                which.append(
                    and_(
                        booking_version.c.booking_id.in_(latest),
                        booking_version.c.version == booking.c.latest_version,
                    )
                )
            q = (
                select(booking_version)
                .select_from(booking_version.join(booking, booking.c.id == booking_version.c.booking_id))
                .where(booking.c.state != "deleted", or_(*which))
            )
            for r in self._conn.execute(q):
                rows[r.booking_id] = r
        out: dict[str, Booking] = {}
        for bid in wanted:
            row = rows.get(bid)
            if row is None:
                continue
            data: dict[str, Any] = {}
            try:
                for kind, column in ((KeyKind.CONTENT, "content_blob"), (KeyKind.IDENTITY, "identity_blob")):
                    if kind is KeyKind.IDENTITY and not include_identity:
                        continue
                    k = keys.get((bid, kind.value))
                    if k is None:
                        raise CryptoError(
                            N_("booking %(bid)s: %(kind)s key is missing"), bid=bid, kind=kind.value
                        )
                    raw = self._keystore.unwrap(
                        WrappedKey(k.kek_version, bytes(k.wrapped)),
                        context=key_context(bid, kind, k.key_version),
                    )
                    aad = _aad(column, bid, row.version, k.key_version)
                    data.update(json.loads(decrypt_field(Secret(raw), bytes(row._mapping[column]), aad=aad)))
            except CryptoError:
                continue
            out[bid] = booking_from_dict(data)
        return out

    def travellers_many(self, booking_ids: Sequence[str]) -> dict[str, list[model.Traveller]]:
        """The travellers of the latest version of many bookings: `{booking id: travellers}`.

        Why: a page that shows only names (link analysis labels its people) needs neither
        the content part nor the rest of the identity part. Only the identity key is
        unwrapped, only the identity blob decrypted, and only its travellers turned into
        objects (`get_many` builds the whole booking: most of its cost). A booking
        `get_many` would leave out (deleted, key gone, not authentic) is left out here too.
        """
        wanted = list(dict.fromkeys(booking_ids))
        keys: dict[str, Row[Any]] = {}
        blobs: dict[str, tuple[int, bytes]] = {}
        for chunk in chunks(wanted):
            q = select(booking_key).where(
                booking_key.c.booking_id.in_(chunk), booking_key.c.kind == KeyKind.IDENTITY.value
            )
            keys.update({r.booking_id: r for r in self._conn.execute(q)})
            bv = booking_version.c
            q2 = (
                select(bv.booking_id, bv.version, bv.identity_blob)
                .select_from(booking_version.join(booking, booking.c.id == booking_version.c.booking_id))
                .where(
                    booking_version.c.booking_id.in_(chunk),
                    booking_version.c.version == booking.c.latest_version,
                    booking.c.state != "deleted",
                )
            )
            blobs.update({r.booking_id: (r.version, bytes(r.identity_blob)) for r in self._conn.execute(q2)})
        out: dict[str, list[model.Traveller]] = {}
        for bid in wanted:
            k, blob = keys.get(bid), blobs.get(bid)
            if k is None or blob is None:
                continue
            try:
                raw = self._keystore.unwrap(
                    WrappedKey(k.kek_version, bytes(k.wrapped)),
                    context=key_context(bid, KeyKind.IDENTITY, k.key_version),
                )
                aad = _aad("identity_blob", bid, blob[0], k.key_version)
                data = json.loads(decrypt_field(Secret(raw), blob[1], aad=aad))
            except CryptoError:
                continue
            out[bid] = booking_from_dict({"travellers": data.get("travellers", [])}).travellers
        return out

    def versions(self, booking_id: str) -> list[VersionInfo]:
        """Every stored version of a booking, oldest first (metadata only)."""
        rows = self._conn.execute(
            select(
                booking_version.c.booking_id,
                booking_version.c.version,
                booking_version.c.message_id,
                booking_version.c.received_at,
            )
            .where(booking_version.c.booking_id == booking_id)
            .order_by(booking_version.c.version)
        )
        return [VersionInfo(r.booking_id, r.version, r.message_id, r.received_at) for r in rows]

    def find(self, carrier: str, locator: str, created: dt.datetime | None = None) -> list[BookingSummary]:
        """Bookings by carrier and locator (and reservation time when given), oldest first.

        Several can match: carriers recycle locators, and every traveller's API record
        carries the PNR's locator."""
        q = select(booking).where(
            booking.c.carrier == carrier, booking.c.locator == locator, booking.c.state != "deleted"
        )
        if created is not None:
            q = q.where(booking.c.created == created)
        rows = self._conn.execute(q.order_by(booking.c.first_seen, booking.c.id))
        return [BookingSummary.from_row(r) for r in rows]

    def iter_active(
        self,
        *,
        first_seen_before: dt.datetime | None = None,
        flight_carrier: str | None = None,
        flight_number: str | None = None,
        flight_date: dt.date | None = None,
        batch_size: int = 1000,
    ) -> Iterator[BookingSummary]:
        """Active bookings in id order, fetched in keyset-paginated batches, so a retention
        run over millions of rows holds neither a server cursor nor all rows in memory."""
        after = ""
        while True:
            q = select(booking).where(booking.c.state == "active", booking.c.id > after)
            if first_seen_before is not None:
                q = q.where(booking.c.first_seen < first_seen_before)
            if flight_carrier is not None:
                q = q.where(booking.c.flight_carrier == flight_carrier)
            if flight_number is not None:
                q = q.where(booking.c.flight_number == flight_number)
            if flight_date is not None:
                q = q.where(booking.c.flight_date == flight_date)
            rows = self._conn.execute(q.order_by(booking.c.id).limit(batch_size)).all()
            for r in rows:
                yield BookingSummary.from_row(r)
            if len(rows) < batch_size:
                return
            after = rows[-1].id

    def active_refs(
        self, *, after: str = "", limit: int = 1000, departing_from: dt.date | None = None
    ) -> list[tuple[str, int]]:
        """(id, latest version) of active bookings after `after`, in id order: one page of a
        keyset pagination (one short query each, no cursor held across transactions). With
        `departing_from`, only bookings whose reported flight departs on that date or later
        (a booking without a flight date is left out)."""
        q = select(booking.c.id, booking.c.latest_version).where(
            booking.c.state == "active", booking.c.restricted_at.is_(None), booking.c.id > after
        )
        if departing_from is not None:
            q = q.where(booking.c.flight_date >= departing_from)
        rows = self._conn.execute(q.order_by(booking.c.id).limit(limit))
        return [(r.id, int(r.latest_version)) for r in rows]

    def count(self, *, state: str | None = None) -> int:
        q = select(func.count()).select_from(booking)
        if state is not None:
            q = q.where(booking.c.state == state)
        return int(self._conn.execute(q).scalar_one())

    # -- life cycle ----------------------------------------------------------------------
    def mark_masked(self, booking_id: str, *, at: dt.datetime) -> bool:
        """Record that a booking was masked (the masking run locks its identity key).

        Also retires its identity digest: the digest of an API record is a keyed hash of
        names, birth date and document, and a node that could still match a guess against
        it would re-identify a masked traveller without the approval Art. 12(3) requires.
        A later push of the same booking starts a new booking. False if not active."""
        done = self._conn.execute(
            update(booking)
            .where(booking.c.id == booking_id, booking.c.state == "active")
            .values(state="masked", masked_at=at, identity_digest=None)
        )
        forget_bookings(self._conn, [booking_id])  # no name search on a masked booking
        return bool(done.rowcount)

    # -- deletion ------------------------------------------------------------------------
    def delete(self, booking_id: str, *, at: dt.datetime | None = None) -> bool:
        """Crypto-shred a booking: delete its wrapped keys and every version, and leave a
        tombstone row (state `deleted`, no locator, reservation time or digest) so that ids
        held elsewhere (audit entries, hits) still resolve to "deleted". Returns False if it
        was already deleted. The caller logs the key destruction."""
        summary = self.summary(booking_id)
        if summary.state == "deleted":
            return False
        at = at or self._now or dt.datetime.now(dt.UTC)
        conn = self._conn
        conn.execute(delete(booking_key).where(booking_key.c.booking_id == booking_id))
        conn.execute(delete(booking_version).where(booking_version.c.booking_id == booking_id))
        conn.execute(
            update(booking)
            .where(booking.c.id == booking_id)
            .values(state="deleted", deleted_at=at, locator="", created=None, identity_digest=None)
        )
        forget_bookings(conn, [booking_id], deleted=True)
        return True
