"""The ingest use case: one carrier message in, protected booking versions stored, audited.

Order of steps, and why:

1. Read and protect the message (pure, no I/O): sensitive data is deleted before anything
   is written (DESIGN.md Principle 2). Done before the transaction opens so that a slow
   parse never holds the database's write lock.
2. In ONE transaction: dedupe by the SHA-256 of the raw bytes (the same message twice is
   stored once; the second receipt is recorded as `duplicate` pointing at the first), then
   either quarantine an unreadable message (raw bytes encrypted under their own key) or
   store every booking as a new booking, a new version or a duplicate version, add what
   the sensitive-data filter deleted to the per-carrier, per-day counts, then append one
   `collection` entry to the audit log, then commit. So an accepted message is durable
   before `ingest` returns, and its bookings, inbox row and audit entry exist together or
   not at all.

Bad input never raises: a `ParseError` (and, so that a flight's data is never lost, any
other failure of the reader or of the Annex I check) quarantines the message with a reason
code and a reason text naming positions only. Only system failures (database, key store)
raise. Concurrent workers storing the same booking collide on a unique key; the loser's
transaction is retried from the start, where it sees the winner's rows.

The raw message of an accepted message is not kept: it still holds the sensitive data that
must be deleted at once. See docs/data-protection.md, "Storage". What the filter deleted is
counted only per carrier, day and category (`store.deletions`): never on the inbox row, in
the audit entry or in the result, which all name one message (Art. 13(4); issue 10).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import Booking
from pnrguard.errors import N_, ConflictError, NotFoundError, ParseError
from pnrguard.formats.edifact import peek_sender
from pnrguard.formats.reader import read_message
from pnrguard.formats.result import ReadResult
from pnrguard.protection.keystore import KeyStore
from pnrguard.protection.minimise import AnnexViolation, minimisation_counts
from pnrguard.protection.protect import protect
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.carrier_scope import OUT_OF_SCOPE, Limits, out_of_scope, over_limits
from pnrguard.service.clock import Clock
from pnrguard.service.quality import record_quality
from pnrguard.service.screening import screen_saved
from pnrguard.service.traveller import index_and_link
from pnrguard.store.deletions import add_deletions
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import BookingRepository, SaveOutcome, SaveStatus, new_id

__all__ = [
    "DEFAULT_QUARANTINE_RETENTION",
    "AuditFactory",
    "IngestResult",
    "IngestStatus",
    "discard_quarantined",
    "expire_quarantine",
    "ingest",
    "reprocess_quarantined",
]

#: Audit log bound to the use case's connection (`SqlAuditLog(conn, ...)`), or one shared
#: log (the in-memory fake in unit tests).
AuditFactory = Callable[[Connection], AuditLog]
Reader = Callable[[bytes], ReadResult]

#: How long an unreadable message is kept (encrypted) before it is deleted. A retention
#: profile setting; 30 days gives operators time to fix a reader and reprocess.
DEFAULT_QUARANTINE_RETENTION = dt.timedelta(days=30)
#: An audit entry holds at most 10,000 record ids; larger messages get several entries.
_AUDIT_IDS_PER_ENTRY = 10_000
_RETRIES = 3
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
_NOT_OPAQUE = re.compile(r"[^A-Za-z0-9._:/+=#-]")


class IngestStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What happened to one message. Holds ids and counts, never content.

    `message_id` is this receipt's inbox id; for a duplicate, `duplicate_of` names the
    message first received with the same bytes. `reason` is the quarantine reason code.
    """

    message_id: str
    status: IngestStatus
    bookings_new: int = 0
    bookings_new_version: int = 0
    bookings_duplicate: int = 0
    reason: str | None = None
    message_type: str = ""
    duplicate_of: str | None = None
    booking_ids: tuple[str, ...] = ()
    minimisation: dict[str, int] = field(default_factory=dict)

    @property
    def bookings(self) -> int:
        return self.bookings_new + self.bookings_new_version + self.bookings_duplicate


@dataclass(slots=True)
class _Read:
    """The outcome of the pure part: protected bookings, or why the message is unreadable."""

    result: ReadResult | None = None
    bookings: list[Booking] = field(default_factory=list)
    #: (carrier, category or "elements") -> deletions; goes to the per-day counts only.
    deletions: Counter[tuple[str, str]] = field(default_factory=Counter)
    reason_code: str = ""
    reason_text: str = ""


def _default_reader(data: bytes) -> ReadResult:
    return read_message(data)


def _read_and_protect(raw: bytes, reader: Reader, sensitive_filter: SensitiveFilter) -> _Read:
    try:
        result = reader(raw)
        protected = [protect(b, sensitive_filter=sensitive_filter) for b in result.bookings]
    except ParseError as exc:
        # ParseError messages name positions and codes, never content (errors.py).
        return _Read(reason_code=exc.code, reason_text=str(exc)[:200])
    except AnnexViolation as exc:
        return _Read(reason_code=exc.code, reason_text=str(exc)[:200])
    except Exception as exc:  # a reader bug must not lose a flight's data: quarantine it
        return _Read(reason_code="reader_failure", reason_text=type(exc).__name__)
    deletions: Counter[tuple[str, str]] = Counter()
    for p in protected:
        if p.report.deleted:
            carrier = p.booking.carrier
            deletions[(carrier, "elements")] += p.report.deleted
            for category, n in p.report.by_category.items():
                deletions[(carrier, category)] += n
    return _Read(result=result, bookings=[p.booking for p in protected], deletions=deletions)


def opaque(text: str, *, default: str = "unknown") -> str:
    """`text` made fit for an audit actor or reference (no spaces, no "@", ≤ 48 chars)."""
    cleaned = _NOT_OPAQUE.sub("-", text.strip())[:48].strip("-")
    return cleaned or default


def _audit_for(audit: AuditLog | AuditFactory, conn: Connection) -> AuditLog:
    return audit if isinstance(audit, AuditLog) else audit(conn)


def _append_collection(
    log: AuditLog,
    *,
    actor: str,
    role: str,
    message_id: str,
    record_ids: Sequence[str],
    counts: dict[str, int],
) -> None:
    ids = list(dict.fromkeys(record_ids))
    chunks = [ids[i : i + _AUDIT_IDS_PER_ENTRY] for i in range(0, len(ids), _AUDIT_IDS_PER_ENTRY)]
    for chunk in chunks or [[]]:
        log.append(
            actor=actor,
            role=role,
            operation=Operation.COLLECTION,
            purpose=Purpose.INGEST,
            record_ids=chunk,
            counts=counts,
            reference=message_id,
        )


def _tally(outcomes: Sequence[SaveOutcome]) -> Counter[SaveStatus]:
    return Counter(o.status for o in outcomes)


def _store_accepted(
    conn: Connection,
    keystore: KeyStore,
    log: AuditLog,
    read: _Read,
    *,
    message_id: str,
    received_at: dt.datetime,
    actor: str,
    role: str,
) -> IngestResult:
    """Save the bookings of a readable message and audit it (inside the transaction)."""
    result = read.result
    assert result is not None  # only called for a readable message
    outcomes = BookingRepository(conn, keystore, now=received_at).save_versions(
        read.bookings, message_id=message_id, received_at=received_at
    )
    tally = _tally(outcomes)
    minimisation = minimisation_counts(result)
    MessageRepository(conn, keystore).set_outcome(
        message_id,
        status=MessageStatus.ACCEPTED,
        message_type=result.message_type,
        sender=opaque(result.sender, default=""),
        bookings_new=tally[SaveStatus.NEW],
        bookings_new_version=tally[SaveStatus.NEW_VERSION],
        bookings_duplicate=tally[SaveStatus.DUPLICATE],
        deviations=dict(sorted(Counter(d.code for d in result.deviations).items())),
        minimisation=minimisation,
    )
    add_deletions(conn, day=received_at.astimezone(dt.UTC).date(), counts=read.deletions)
    counts = {
        "bookings.new": tally[SaveStatus.NEW],
        "bookings.new_version": tally[SaveStatus.NEW_VERSION],
        "bookings.duplicate": tally[SaveStatus.DUPLICATE],
        **minimisation,
    }
    booking_ids = tuple(dict.fromkeys(o.booking_id for o in outcomes))
    record_quality(conn, result, carrier=opaque(result.sender, default=""), received_at=received_at)
    _append_collection(
        log, actor=actor, role=role, message_id=message_id, record_ids=booking_ids, counts=counts
    )
    # Blind index and traveller links, then screening at ingest, in the same transaction: a
    # stored booking is never unindexed or unscreened, and screening sees linked travellers.
    index_and_link(conn, keystore, read.bookings, outcomes, now=received_at)
    screen_saved(
        conn, read.bookings, outcomes, keystore=keystore, audit=log, now=received_at, reference=message_id
    )
    return IngestResult(
        message_id=message_id,
        status=IngestStatus.ACCEPTED,
        bookings_new=tally[SaveStatus.NEW],
        bookings_new_version=tally[SaveStatus.NEW_VERSION],
        bookings_duplicate=tally[SaveStatus.DUPLICATE],
        message_type=result.message_type,
        booking_ids=booking_ids,
        minimisation=minimisation,
    )


def _quarantine(
    conn: Connection,
    keystore: KeyStore,
    log: AuditLog,
    read: _Read,
    raw: bytes,
    *,
    message_id: str,
    at: dt.datetime,
    actor: str,
    role: str,
) -> IngestResult:
    MessageRepository(conn, keystore).quarantine(
        message_id, raw, reason_code=read.reason_code, reason_text=read.reason_text, at=at
    )
    # The encrypted raw message is collected personal data too: logged by id and count.
    _append_collection(
        log,
        actor=actor,
        role=role,
        message_id=message_id,
        record_ids=[message_id],
        counts={"message.quarantined": 1},
    )
    return IngestResult(message_id=message_id, status=IngestStatus.QUARANTINED, reason=read.reason_code)


def _retryable(exc: DBAPIError) -> bool:
    """A unique-key race (another worker stored the same booking or message first), or a
    PostgreSQL deadlock / serialisation failure: starting again will succeed."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


def _with_retries(work: Callable[[], IngestResult]) -> IngestResult:
    for attempt in range(_RETRIES):
        try:
            return work()
        except DBAPIError as exc:
            if not _retryable(exc):
                raise
            if attempt == _RETRIES - 1:
                # The driver's message quotes parameters: say what happened, not with what.
                raise ConflictError(N_("ingest kept colliding with concurrent writers; retry")) from None
    raise AssertionError("unreachable")  # pragma: no cover


def ingest(
    data: bytes,
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    sensitive_filter: SensitiveFilter,
    clock: Clock,
    source_name: str = "file",
    actor: str | None = None,
    role: str | None = None,
    reader: Reader | None = None,
    carriers: Collection[str] | None = None,
    limits: Limits | None = None,
) -> IngestResult:
    """Ingest one message (see the module docstring). Never raises for bad input.

    `source_name` is the channel it came by (``file``, ``push``, ...), kept on the inbox
    row. The audit actor is `actor` when given (the CLI passes its operator), else
    ``carrier:<UNB sender>``; `role` defaults to ``operator`` / ``carrier`` accordingly.
    `carriers`: the designators the source may write; a message naming another carrier's
    booking is quarantined (`service.carrier_scope`). `limits` bound bytes and segments
    before anything is parsed.
    """
    raw = bytes(data)
    digest = hashlib.sha256(raw).digest()
    breach = over_limits(raw, limits or Limits())  # read per call: settings can change
    if breach is not None:
        read = _Read(reason_code=breach.code, reason_text=breach.detail)
    else:
        read = _read_and_protect(raw, reader or _default_reader, sensitive_filter)
    sender = read.result.sender if read.result else peek_sender(raw)
    if carriers is not None and read.result is not None:
        bad = out_of_scope(read.bookings, carriers)
        if bad:
            text = f"carrier codes {','.join(bad)[:80]} are outside the source's scope"
            read = _Read(reason_code=OUT_OF_SCOPE, reason_text=text)
    who = actor or f"carrier:{opaque(sender)}"
    as_role = role or ("operator" if actor else "carrier")

    def work() -> IngestResult:
        received_at = clock.now()
        message_id = new_id()
        with engine.begin() as conn:
            messages = MessageRepository(conn, keystore)
            original = messages.by_sha256(digest)
            if original is not None:
                messages.add(
                    message_id=message_id,
                    received_at=received_at,
                    sha256=None,
                    size=len(raw),
                    channel=source_name,
                    status=MessageStatus.DUPLICATE,
                    duplicate_of=original.id,
                    message_type=original.message_type,
                    sender=original.sender,
                )
                return IngestResult(
                    message_id=message_id,
                    status=IngestStatus.DUPLICATE,
                    message_type=original.message_type,
                    duplicate_of=original.id,
                )
            readable = read.result is not None
            messages.add(
                message_id=message_id,
                received_at=received_at,
                sha256=digest,
                size=len(raw),
                channel=source_name,
                status=MessageStatus.ACCEPTED if readable else MessageStatus.QUARANTINED,
                message_type=read.result.message_type if read.result else "",
                sender=opaque(sender, default=""),
            )
            log = _audit_for(audit, conn)
            if not readable:
                return _quarantine(
                    conn, keystore, log, read, raw,
                    message_id=message_id, at=received_at, actor=who, role=as_role,
                )  # fmt: skip
            return _store_accepted(
                conn, keystore, log, read,
                message_id=message_id, received_at=received_at, actor=who, role=as_role,
            )  # fmt: skip

    return _with_retries(work)


# --- quarantine operations ---------------------------------------------------------------


def reprocess_quarantined(
    message_id: str,
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    sensitive_filter: SensitiveFilter,
    clock: Clock,
    actor: str,
    role: str = "operator",
    reader: Reader | None = None,
) -> IngestResult:
    """Read a quarantined message again (after a reader fix). On success its bookings are
    stored with the original receipt time, the quarantine row and its key are deleted and
    the inbox row becomes `accepted`; otherwise it stays quarantined with the new reason."""

    def work() -> IngestResult:
        with engine.begin() as conn:
            messages = MessageRepository(conn, keystore)
            record = messages.get(message_id)
            if record.status is not MessageStatus.QUARANTINED:
                raise NotFoundError(N_("message %(message_id)s is not in quarantine"), message_id=message_id)
            raw = messages.raw(message_id)
            read = _read_and_protect(raw, reader or _default_reader, sensitive_filter)
            log = _audit_for(audit, conn)
            if read.result is None:
                messages.quarantine(
                    message_id, raw, reason_code=read.reason_code, reason_text=read.reason_text,
                    at=clock.now(),
                )  # fmt: skip
                return IngestResult(
                    message_id=message_id, status=IngestStatus.QUARANTINED, reason=read.reason_code
                )
            messages.release(message_id)
            return _store_accepted(
                conn, keystore, log, read,
                message_id=message_id, received_at=record.received_at, actor=actor, role=role,
            )  # fmt: skip

    return _with_retries(work)


def discard_quarantined(
    message_id: str,
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    actor: str,
    role: str = "operator",
    purpose: Purpose = Purpose.INGEST,
) -> bool:
    """Delete a quarantined message for good (its encrypted bytes and key), logged as an
    erasure. Returns False if it was not in quarantine."""
    with engine.begin() as conn:
        if not MessageRepository(conn, keystore).discard(message_id):
            return False
        _audit_for(audit, conn).append(
            actor=actor,
            role=role,
            operation=Operation.ERASURE,
            purpose=purpose,
            record_ids=[message_id],
            counts={"quarantine.discarded": 1},
            reference=message_id,
        )
    return True


def expire_quarantine(
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
    retention: dt.timedelta = DEFAULT_QUARANTINE_RETENTION,
    actor: str = "system:retention",
    role: str = "system",
) -> list[str]:
    """Delete every message quarantined longer than `retention` (the profile's setting);
    one erasure entry per batch. Returns the ids deleted."""
    cutoff = clock.now() - retention
    with engine.begin() as conn:
        messages = MessageRepository(conn, keystore)
        expired = [q.message_id for q in messages.quarantined(before=cutoff)]
        for mid in expired:
            messages.discard(mid)
        if expired:
            log = _audit_for(audit, conn)
            for i in range(0, len(expired), _AUDIT_IDS_PER_ENTRY):
                chunk = expired[i : i + _AUDIT_IDS_PER_ENTRY]
                log.append(
                    actor=actor,
                    role=role,
                    operation=Operation.ERASURE,
                    purpose=Purpose.RETENTION,
                    record_ids=chunk,
                    counts={"quarantine.expired": len(chunk)},
                )
    return expired
