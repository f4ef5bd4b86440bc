"""Booking storage tables: the message inbox, the quarantine, bookings, versions and keys.

What is stored in clear and why (docs/data-protection.md, "Storage"):

- `message`: the inbox. Only facts about a message (when, how big, its SHA-256 for
  idempotency, type, sender, outcome, deviation and minimisation counts), never its content
  and never what the sensitive-data filter deleted (its `sensitive` column stays ``{}``:
  per-message category counts single out a booking; migration 0012 cleared old values). The raw
  message of an accepted message is not kept at all: it still holds the sensitive data that
  must be deleted at once, and the parsed, protected booking is the record.
- `quarantine`: a message we could not read, kept whole so nothing a carrier sent is lost,
  but encrypted under a per-message data key wrapped by the key store.
- `booking`: one row per booking with the columns needed to find it and to run retention
  and the review queue without decrypting anything: carrier, locator (the key carriers and
  analysts use), reservation time, the reported flight (non-personal) and life-cycle dates.
  `identity_digest` is a keyed HMAC of the booking's natural key (never a plain hash of
  personal data), so a re-push finds its booking with one index probe.
- `booking_version`: every push of a booking (Annex I element 19), with two AES-GCM blobs
  (identity fields / other fields) and a keyed digest of the content to tell an identical
  re-push (a duplicate) from a changed one (a new version).
- `booking_key`: the booking's two data keys, wrapped. Deleting these rows is the
  crypto-shredding of the booking.
- `sensitive_deletion`: what the sensitive-data filter deleted, counted per carrier, day
  of receipt and category only (Art. 13(4) accountability without singling anyone out);
  the DPO's statistics show counts under 5 as "<5".
- `node_secret`: node-wide secrets created on first use and stored wrapped by the key store
  (the HMAC key of the digests), so the database alone reveals nothing.

The schema is created only by Alembic (`migrations/versions/0001_bookings.py`); a test checks
that these definitions and the migrated schema agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from pnrguard.store.db import in_values, metadata

__all__ = [
    "ID_LENGTH",
    "UTCDateTime",
    "booking",
    "booking_key",
    "booking_version",
    "message",
    "node_marker",
    "node_secret",
    "not_restricted",
    "quarantine",
    "sensitive_deletion",
]

#: Opaque ids are 32 lower-case hex characters (a time-ordered 128-bit value).
ID_LENGTH = 32


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A point in time, stored as UTC and always read back timezone-aware.

    Why: SQLite has no time-zone type and returns naive values, PostgreSQL's `timestamptz`
    returns aware ones; code comparing the two would break on one of them. Naive input is
    refused, because guessing its zone is how retention deadlines go wrong.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.utcoffset() is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        at: dt.datetime = value
        return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _id(name: str = "id", *args: Any, **kwargs: Any) -> Column[str]:
    return Column(name, String(ID_LENGTH), *args, **kwargs)


MESSAGE_STATUSES = ("accepted", "duplicate", "quarantined", "discarded")
BOOKING_STATES = ("active", "masked", "deleted")
KEY_KINDS = ("identity", "content")
SOURCES = ("PNR", "API")


message = Table(
    "message",
    metadata,
    _id(primary_key=True),
    Column("received_at", UTCDateTime(), nullable=False),
    # SHA-256 of the raw bytes: the same message twice is stored once. NULL on a duplicate
    # receipt (it points to the original with `duplicate_of`) and on a discarded quarantine
    # (so that a re-send after an operator discarded it is read again).
    Column("sha256", LargeBinary(32), nullable=True, unique=True),
    Column("size", Integer, nullable=False),
    Column("message_type", String(16), nullable=False),
    Column("sender", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    _id("duplicate_of", ForeignKey("message.id"), nullable=True),
    Column("bookings_new", Integer, nullable=False, server_default="0"),
    Column("bookings_new_version", Integer, nullable=False, server_default="0"),
    Column("bookings_duplicate", Integer, nullable=False, server_default="0"),
    # Category counts only: {deviation code: n}, {segment tag: n}.
    Column("deviations", JSON, nullable=False),
    Column("minimisation", JSON, nullable=False),
    # Always {}: deletions are counted in `sensitive_deletion` (per carrier and day) only.
    Column("sensitive", JSON, nullable=False),
    CheckConstraint(in_values("status", MESSAGE_STATUSES), name="status"),
    CheckConstraint(
        "(status = 'duplicate' AND duplicate_of IS NOT NULL AND sha256 IS NULL)"
        " OR (status = 'discarded' AND duplicate_of IS NULL AND sha256 IS NULL)"
        " OR (status IN ('accepted', 'quarantined') AND duplicate_of IS NULL AND sha256 IS NOT NULL)",
        name="digest",
    ),
    Index("ix_message_received_at", "received_at"),
    Index("ix_message_duplicate_of", "duplicate_of"),
)

quarantine = Table(
    "quarantine",
    metadata,
    _id("message_id", ForeignKey("message.id"), primary_key=True),
    Column("quarantined_at", UTCDateTime(), nullable=False),
    Column("reason_code", String(32), nullable=False),
    # Positions and codes only (ParseError messages never carry content), capped.
    Column("reason_text", String(200), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="1"),
    # The raw message, AES-GCM under a per-message data key wrapped by the key store. All
    # three NULL once the raw bytes expired (0011_dp_rules: 72 hours by default); the
    # reason and the message's digest stay until the entry itself expires.
    Column("kek_version", Integer, nullable=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("raw_blob", LargeBinary, nullable=True),
    CheckConstraint(
        "(raw_blob IS NULL AND wrapped_key IS NULL AND kek_version IS NULL)"
        " OR (raw_blob IS NOT NULL AND wrapped_key IS NOT NULL AND kek_version IS NOT NULL)",
        name="raw",
    ),
    Index("ix_quarantine_quarantined_at", "quarantined_at"),
)

booking = Table(
    "booking",
    metadata,
    _id(primary_key=True),
    Column("source", String(3), nullable=False),
    Column("carrier", String(8), nullable=False),
    Column("locator", String(16), nullable=False),
    Column("created", DateTime(timezone=False), nullable=True),  # as the carrier sent it
    # HMAC-SHA256 (node digest key) of the natural key; NULL once retired (see repository).
    Column("identity_digest", LargeBinary(32), nullable=True, unique=True),
    Column("flight_carrier", String(8), nullable=False),
    Column("flight_number", String(8), nullable=False),
    Column("flight_date", Date, nullable=True),
    Column("origin", String(5), nullable=False),
    Column("destination", String(5), nullable=False),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    Column("state", String(8), nullable=False, server_default="active"),
    Column("masked_at", UTCDateTime(), nullable=True),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Column("latest_version", Integer, nullable=False),
    Column("dormant_at", UTCDateTime(), nullable=True),  # 0006_lifecycle
    # (0017_dp_text dropped `travellers`: Art. 20 counts are kept per day, store/tally.py)
    # 0011_dp_rules: processing restricted (LED Art. 16(3)): kept, but out of screening and
    # search until the restriction is lifted.
    Column("restricted_at", UTCDateTime(), nullable=True),
    CheckConstraint(in_values("source", SOURCES), name="source"),
    CheckConstraint(in_values("state", BOOKING_STATES), name="state"),
    Index("ix_booking_carrier_locator", "carrier", "locator"),
    Index("ix_booking_flight", "flight_carrier", "flight_number", "flight_date"),
    Index("ix_booking_state_first_seen", "state", "first_seen"),
    # 0018_search_scale: a flight typed without its carrier; the few restricted bookings.
    Index("ix_booking_flight_number", "flight_number", "flight_date"),
    Index(
        "ix_booking_restricted",
        "restricted_at",
        sqlite_where=text("restricted_at IS NOT NULL"),
        postgresql_where=text("restricted_at IS NOT NULL"),
    ),
)

booking_key = Table(
    "booking_key",
    metadata,
    _id("booking_id", ForeignKey("booking.id"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("key_version", Integer, nullable=False),  # data-key version (in every field's AAD)
    Column("kek_version", Integer, nullable=False),  # which master key wrapped it
    Column("wrapped", LargeBinary, nullable=False),
    CheckConstraint(in_values("kind", KEY_KINDS), name="kind"),
)

booking_version = Table(
    "booking_version",
    metadata,
    _id("booking_id", ForeignKey("booking.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    _id("message_id", ForeignKey("message.id"), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("content_digest", LargeBinary(32), nullable=False),  # HMAC, see repository
    Column("key_version", Integer, nullable=False),
    Column("identity_blob", LargeBinary, nullable=False),
    Column("content_blob", LargeBinary, nullable=False),
    Index("ix_booking_version_message_id", "message_id"),
)


def not_restricted() -> ColumnElement[bool]:
    """What screening and search require of a booking: processing not restricted (LED
    Art. 16(3); `service.subject_rights.restrict`)."""
    return booking.c.restricted_at.is_(None)


#: Facts about the database itself, e.g. ``demo`` when `pnrguard demo` created it (the demo
#: refuses a database without it that holds anything). Names and short codes, no content.
node_marker = Table(
    "node_marker",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

node_secret = Table(
    "node_secret",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("kek_version", Integer, nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


#: Deletions by the sensitive-data filter, per carrier, day of receipt (UTC) and category
#: (an Art. 13(4) category, or "elements" for the number of elements deleted). Nothing
#: here names a message or a booking (issue 10, item 3).
sensitive_deletion = Table(
    "sensitive_deletion",
    metadata,
    Column("day", Date, primary_key=True),
    Column("carrier", String(8), primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("deleted", Integer, nullable=False),
    CheckConstraint("deleted >= 0", name="deleted"),
)
