"""The ingest use case end to end on SQLite and PostgreSQL: conformance traffic, duplicates,
versions, quarantine, audit, concurrency."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from edifact_inputs import ADULT, pnr
from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import CryptoError, MessageError
from pnrguard.formats.result import ReadResult
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.clock import FixedClock
from pnrguard.service.ingest import (
    IngestResult,
    IngestStatus,
    discard_quarantined,
    expire_quarantine,
    ingest,
    reprocess_quarantined,
)
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import BookingRepository
from pnrguard.store.tables import booking, booking_version, message

pytestmark = pytest.mark.storage

ORIGIN = "test.invalid/piu"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
BASIC = "gtas/pnr-messages-2_pnrs_basic.edi"


class Node:
    """The use case's adapters for one test database (real store, real crypto, real audit)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keystore = InMemoryKeyStore()
        self.clock = FixedClock(T0)
        self.sensitive_filter = SENSITIVE

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin=ORIGIN, clock=self.clock)

    def ingest(self, data: bytes, **kwargs: object) -> IngestResult:
        return ingest(
            data, engine=self.engine, keystore=self.keystore, audit=self.audit,
            sensitive_filter=self.sensitive_filter, clock=self.clock, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip

    def entries(self) -> list[object]:
        with self.engine.connect() as conn:
            return list(SqlAuditLog(conn, origin=ORIGIN).entries())


SENSITIVE = SensitiveFilter.load()


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


def _conformance(conformance_dir: Path) -> list[Path]:
    files = sorted((conformance_dir / "gtas").iterdir())
    assert len(files) >= 10
    return files


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_conformance_messages_ingest_and_dedupe(node: Node, conformance_dir: Path) -> None:
    files = _conformance(conformance_dir)
    first = [node.ingest(f.read_bytes()) for f in files]
    assert [r.status for r in first] == [IngestStatus.ACCEPTED] * len(files), [
        (f.name, r.reason) for f, r in zip(files, first, strict=True) if r.reason
    ]
    assert all(r.bookings > 0 for r in first)
    assert {r.message_type for r in first} == {"PNRGOV", "PAXLST"}
    n_bookings, n_versions = _count(node.engine, booking), _count(node.engine, booking_version)
    assert n_bookings > 0

    again = [node.ingest(f.read_bytes()) for f in files]
    assert [r.status for r in again] == [IngestStatus.DUPLICATE] * len(files)
    assert [r.duplicate_of for r in again] == [r.message_id for r in first]
    # Stored once: nothing but the receipts was added.
    assert (_count(node.engine, booking), _count(node.engine, booking_version)) == (n_bookings, n_versions)
    with node.engine.connect() as conn:
        msgs = MessageRepository(conn, node.keystore)
        dup = msgs.get(again[0].message_id)
        assert dup.status is MessageStatus.DUPLICATE
        assert dup.sha256 is None
        assert msgs.get(first[0].message_id).status is MessageStatus.ACCEPTED


def test_repush_is_a_version_and_identical_booking_is_a_duplicate(node: Node, conformance_dir: Path) -> None:
    original = (conformance_dir / BASIC).read_bytes()
    reenveloped = original.replace(b"020A07", b"020A08")  # same bookings, another interchange
    # A kept element changes (a general remark would not: it is not stored, C-817/19).
    changed = original.replace(b"020A07", b"020A09").replace(b"00115555555555", b"00115555555556")
    r1 = node.ingest(original)
    assert (r1.status, r1.bookings_new) == (IngestStatus.ACCEPTED, 2)
    r2 = node.ingest(reenveloped)
    assert (r2.status, r2.bookings_new, r2.bookings_new_version, r2.bookings_duplicate) == (
        IngestStatus.ACCEPTED, 0, 0, 2,
    )  # fmt: skip
    assert set(r2.booking_ids) == set(r1.booking_ids)
    r3 = node.ingest(changed)
    assert (r3.bookings_new, r3.bookings_new_version, r3.bookings_duplicate) == (0, 1, 1)
    with node.engine.connect() as conn:
        repo = BookingRepository(conn, node.keystore)
        versions = sorted(len(repo.versions(b)) for b in r1.booking_ids)
        assert versions == [1, 2]
        [bid] = [b for b in r1.booking_ids if len(repo.versions(b)) == 2]
        assert [v.message_id for v in repo.versions(bid)] == [r1.message_id, r3.message_id]
        latest, first = repo.get(bid), repo.get(bid, version=1)
        assert any("5556" in c.value for c in latest.contacts)
        assert not any("5556" in c.value for c in first.contacts)
        assert latest.remarks == first.remarks == []  # "IS A VIP": a general remark, not stored


def test_malformed_message_is_quarantined_recoverably(node: Node) -> None:
    raw = b"UNB+IATA:1+XX++261209:2100+1'UNH+1+PNRGOV:11:1:IA'TIF+OBRIENQUARANTINE+SEAN'"
    result = node.ingest(raw)
    assert result.status is IngestStatus.QUARANTINED
    assert result.reason
    assert result.bookings == 0
    with node.engine.connect() as conn:
        msgs = MessageRepository(conn, node.keystore)
        assert msgs.get(result.message_id).status is MessageStatus.QUARANTINED
        [q] = msgs.quarantined()
        assert q.message_id == result.message_id
        assert q.reason_code == result.reason
        assert "OBRIEN" not in q.reason_text
        assert msgs.raw(result.message_id) == raw
        with pytest.raises(CryptoError):
            MessageRepository(conn, InMemoryKeyStore()).raw(result.message_id)
    [entry] = node.entries()
    assert entry.operation is Operation.COLLECTION  # type: ignore[attr-defined]
    assert entry.record_ids == (result.message_id,)  # type: ignore[attr-defined]
    assert dict(entry.counts) == {"message.quarantined": 1}  # type: ignore[attr-defined]
    assert node.ingest(raw).status is IngestStatus.DUPLICATE  # the same bytes are kept once


def test_audit_one_collection_entry_per_message_without_content(node: Node, conformance_dir: Path) -> None:
    data = (conformance_dir / BASIC).read_bytes()
    result = node.ingest(data)
    [entry] = node.entries()
    assert entry.operation is Operation.COLLECTION  # type: ignore[attr-defined]
    assert entry.purpose is Purpose.INGEST  # type: ignore[attr-defined]
    assert entry.actor == "carrier:DL"  # type: ignore[attr-defined]
    assert entry.reference == result.message_id  # type: ignore[attr-defined]
    assert set(entry.record_ids) == set(result.booking_ids)  # type: ignore[attr-defined]
    counts = dict(entry.counts)  # type: ignore[attr-defined]
    assert counts["bookings.new"] == 2
    # AVML in the sample was deleted, but the entry names the bookings: no category counts.
    assert not any(k.startswith("sensitive") for k in counts)
    text = entry.canonical_bytes()  # type: ignore[attr-defined]
    for content in (b"SMITH", b"MFN4TI", b"AVML", b"VIP"):
        assert content not in text
    node.ingest(data.replace(b"020A07", b"020A08"))
    node.ingest(data)  # a duplicate message is not a new collection
    assert len(node.entries()) == 2


def _broken_reader(data: bytes) -> ReadResult:
    """A reader as it was before a fix: it cannot read this carrier's messages."""
    raise MessageError("unsupported PNRGOV version", segment_index=2)


def test_reprocess_discard_and_expiry(node: Node, conformance_dir: Path) -> None:
    data = (conformance_dir / BASIC).read_bytes()
    q = node.ingest(data, reader=_broken_reader)
    assert (q.status, q.reason) == (IngestStatus.QUARANTINED, "message_content")
    again = reprocess_quarantined(
        q.message_id, engine=node.engine, keystore=node.keystore, audit=node.audit,
        sensitive_filter=node.sensitive_filter, clock=node.clock, actor="operator:test",
        reader=_broken_reader,
    )  # fmt: skip
    assert again.status is IngestStatus.QUARANTINED
    ok = reprocess_quarantined(
        q.message_id, engine=node.engine, keystore=node.keystore, audit=node.audit,
        sensitive_filter=node.sensitive_filter, clock=node.clock, actor="operator:test",
    )  # fmt: skip
    assert (ok.status, ok.message_id, ok.bookings_new) == (IngestStatus.ACCEPTED, q.message_id, 2)
    with node.engine.connect() as conn:
        msgs = MessageRepository(conn, node.keystore)
        assert msgs.quarantined() == []
        assert msgs.get(q.message_id).status is MessageStatus.ACCEPTED
        assert msgs.get(q.message_id).bookings_new == 2
    assert node.ingest(data).status is IngestStatus.DUPLICATE

    bad1 = node.ingest(b"NOT EDIFACT AT ALL 1")
    bad2 = node.ingest(b"NOT EDIFACT AT ALL 2")
    assert discard_quarantined(
        bad1.message_id, engine=node.engine, keystore=node.keystore, audit=node.audit, actor="operator:test"
    )
    node.clock.advance(dt.timedelta(days=31))
    expired = expire_quarantine(
        engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock
    )
    assert expired == [bad2.message_id]
    with node.engine.connect() as conn:
        msgs = MessageRepository(conn, node.keystore)
        assert msgs.quarantined() == []
        assert msgs.get(bad2.message_id).status is MessageStatus.DISCARDED
    erasures = [e for e in node.entries() if e.operation is Operation.ERASURE]  # type: ignore[attr-defined]
    assert [e.record_ids for e in erasures] == [(bad1.message_id,), (bad2.message_id,)]  # type: ignore[attr-defined]
    # Once discarded, the same bytes are read afresh rather than called a duplicate.
    assert node.ingest(b"NOT EDIFACT AT ALL 1").status is IngestStatus.QUARANTINED


def test_concurrent_pushes_of_one_booking(node: Node, conformance_dir: Path) -> None:
    data = (conformance_dir / BASIC).read_bytes()
    variants = [data.replace(b"020A07", f"020B{i:02d}".encode()) for i in range(4)]
    results: list[IngestResult] = []
    errors: list[BaseException] = []

    def push(d: bytes) -> None:
        try:
            results.append(node.ingest(d))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(v,)) for v in variants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.bookings_new for r in results) == [0, 0, 0, 2]
    assert sum(r.bookings_duplicate for r in results) == 6
    assert _count(node.engine, booking) == 2
    assert _count(node.engine, booking_version) == 2
    assert _count(node.engine, message) == 4


def test_ingest_screens_new_bookings_against_the_current_list(node: Node, conformance_dir: Path) -> None:
    from pnrguard.service.screening import HitStatus, import_watchlist
    from pnrguard.store.screening import hit

    listed = b"entity_id,name,aliases,dob,nationality,documents\nE1,\"SMITHJR, John\",,1964-07-12,GB,\n"
    import_watchlist(
        listed, name="national-list", fmt="csv", purpose=Purpose.TERRORIST_OFFENCES, engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock, actor="operator:test",
    )  # fmt: skip
    result = node.ingest((conformance_dir / BASIC).read_bytes())

    with node.engine.connect() as conn:
        rows = conn.execute(select(hit.c.booking_id, hit.c.entity_id, hit.c.status)).all()
    assert [(r.entity_id, r.status) for r in rows] == [("E1", HitStatus.OPEN.value)]
    assert rows[0].booking_id in result.booking_ids
    operations = [e.operation for e in node.entries()]  # type: ignore[attr-defined]
    assert operations.index(Operation.COLLECTION) < operations.index(Operation.COMBINATION)


def test_every_interchange_of_a_push_is_stored(node: Node) -> None:
    second = pnr(ADULT).replace("0995F0", "1234AB").replace("+22'", "+23'")
    result = node.ingest((pnr(ADULT) + "\n" + second).encode())
    assert result.status is IngestStatus.ACCEPTED
    assert result.bookings_new == 2


def test_a_form_we_do_not_read_is_quarantined_with_its_reason(node: Node) -> None:
    cedipax = "UNB+UNOA:1+XX+PIU+240301:0600+1'UNH+1+PAXLST:93:1:IA'BGM+250'TDT+20+LH400'"
    cedipax += "PDT+DOE:JANE+M+19700101'UNT+5+1'UNZ+1+1'"
    result = node.ingest(cedipax.encode())
    assert result.status is IngestStatus.QUARANTINED
    assert result.reason == "message_unsupported"
