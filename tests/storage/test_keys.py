"""Master-key rotation on SQLite and PostgreSQL: rotate, re-wrap every stored wrapped key
(bookings, node secrets, quarantine, sealed identity keys), retire the old KEK; refusals,
idempotence and the audit entries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.errors import ConflictError, CryptoError
from pnrguard.protection.keystore import InMemoryKeyStore, KeyStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.clock import FixedClock
from pnrguard.service.ingest import IngestResult, IngestStatus, ingest
from pnrguard.service.keys import KEY_TABLES, Progress, RewrapResult, key_usage, retire_old, rewrap_all
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.lifecycle import claim_bookings, mask_bookings, read_sealed
from pnrguard.store.messages import MessageRepository
from pnrguard.store.repository import BookingRepository
from pnrguard.store.tables import booking, booking_key, booking_version

pytestmark = pytest.mark.storage

ORIGIN = "test.invalid/piu"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
BASIC = "gtas/pnr-messages-2_pnrs_basic.edi"
SENSITIVE = SensitiveFilter.load()
BAD = b"UNB+IATA:1+XX++261209:2100+1'UNH+1+PNRGOV:11:1:IA'TIF+OBRIENQUARANTINE+SEAN'"


class Node:
    def __init__(self, engine: Engine, seal: KeyStore | None = None) -> None:
        self.engine = engine
        self.keystore = InMemoryKeyStore()
        self.seal = seal or self.keystore
        self.clock = FixedClock(T0)

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin=ORIGIN, clock=self.clock)

    def ingest(self, data: bytes) -> IngestResult:
        return ingest(
            data, engine=self.engine, keystore=self.keystore, audit=self.audit,
            sensitive_filter=SENSITIVE, clock=self.clock,
        )  # fmt: skip

    def rewrap(self, *, batch_size: int = 1000, progress: Progress | None = None) -> RewrapResult:
        return rewrap_all(
            engine=self.engine,
            keystore=self.keystore,
            seal_keystore=self.seal,
            audit=self.audit,
            batch_size=batch_size,
            progress=progress,
        )

    def mask(self, booking_id: str) -> None:
        with self.engine.begin() as conn:
            rows = claim_bookings(conn, booking.c.id == booking_id, limit=1)
            assert mask_bookings(conn, rows, keystore=self.keystore, seal_keystore=self.seal, at=T0) == [
                booking_id
            ]

    def alterations(self) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            return list(SqlAuditLog(conn, origin=ORIGIN).entries(operation=Operation.ALTERATION))


def _populate(node: Node, conformance_dir: Path) -> tuple[list[str], str, str]:
    """Two bookings (one of them masked) and a quarantined message."""
    ok = node.ingest((conformance_dir / BASIC).read_bytes())
    assert ok.status is IngestStatus.ACCEPTED
    assert len(ok.booking_ids) == 2
    q = node.ingest(BAD)
    assert q.status is IngestStatus.QUARANTINED
    masked = ok.booking_ids[0]
    node.mask(masked)
    return list(ok.booking_ids), masked, q.message_id


def _snapshot(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(booking_version).order_by("booking_id", "version"))]


def _check_readable(node: Node, ids: list[str], masked: str, quarantined: str) -> None:
    with node.engine.connect() as conn:
        repo = BookingRepository(conn, node.keystore)
        for bid in ids:
            if bid == masked:
                assert repo.get(bid, include_identity=False).locator
                full = read_sealed(conn, bid, keystore=node.keystore, seal_keystore=node.seal, tier="masked")
                assert full.travellers
                assert full.travellers[0].surname
            else:
                assert repo.get(bid).travellers[0].surname
        assert MessageRepository(conn, node.keystore).raw(quarantined) == BAD


def test_rotate_rewrap_retire(engine: Engine, conformance_dir: Path) -> None:
    node = Node(engine)
    ids, masked, quarantined = _populate(node, conformance_dir)
    before = key_usage(engine)
    assert set(before) == {1}
    assert before[1]["booking_key"] == 3  # two bookings, one identity key sealed away
    assert before[1]["sealed_key"] == 1
    assert before[1]["quarantine"] == 1
    assert before[1]["node_secret"] >= 1
    ciphertexts = _snapshot(engine)

    assert node.keystore.rotate() == 2
    _check_readable(node, ids, masked, quarantined)  # old version still unwraps
    with pytest.raises(ConflictError, match="KEK version 1 still wraps"):
        retire_old(engine=engine, keystore=node.keystore)
    assert node.keystore.versions() == (1, 2)  # nothing retired by the refusal

    seen: list[tuple[str, int]] = []
    result = node.rewrap(batch_size=1, progress=lambda t, n: seen.append((t, n)))
    total = sum(before[1].values())
    assert result.total == total
    assert result.total_remaining == 0
    assert result.rewrapped["booking_key"] == 3
    assert result.rewrapped["sealed_key"] == 1
    assert sum(n for _, n in seen) == total
    after = key_usage(engine)
    assert set(after) == {2}
    assert after[2] == before[1]
    assert _snapshot(engine) == ciphertexts  # no field ciphertext touched
    _check_readable(node, ids, masked, quarantined)

    entries = node.alterations()
    assert {e.purpose for e in entries} == {Purpose.SYSTEM_SECURITY}
    assert len(entries) == len([t for t, n in before[1].items() if n])  # one per table
    for e in entries:
        assert e.record_ids == ()
        assert e.counts["kek.version"] == 2
        assert e.reference == result.run_id
    assert {k for e in entries for k in e.counts} >= {
        "booking_key.rewrapped",
        "sealed_key.rewrapped",
        "quarantine.rewrapped",
        "node_secret.rewrapped",
    }

    again = node.rewrap()
    assert again.total == 0
    assert again.total_remaining == 0
    assert len(node.alterations()) == len(entries)  # a rerun appends nothing

    assert retire_old(engine=engine, keystore=node.keystore) == [1]
    assert node.keystore.versions() == (2,)
    _check_readable(node, ids, masked, quarantined)
    assert retire_old(engine=engine, keystore=node.keystore) == []


def test_new_rows_after_rotation_and_partial_state(engine: Engine, conformance_dir: Path) -> None:
    """Keys written after a rotation are already current; a row that fails to unwrap is
    counted, keeps its old version and blocks retirement."""
    node = Node(engine)
    node.keystore.rotate()
    ok = node.ingest((conformance_dir / BASIC).read_bytes())
    assert set(key_usage(engine)) == {2}
    assert node.rewrap().total == 0

    # A wrapped key under version 1 that does not authenticate (a copy of another row's blob).
    a, b = ok.booking_ids
    with engine.begin() as conn:
        other = conn.execute(
            select(booking_key.c.wrapped).where(
                booking_key.c.booking_id == b, booking_key.c.kind == "content"
            )
        ).scalar_one()
        conn.execute(
            update(booking_key)
            .where(booking_key.c.booking_id == a, booking_key.c.kind == "content")
            .values(kek_version=1, wrapped=other)
        )
    result = node.rewrap()
    assert result.failed["booking_key"] == 1
    assert result.remaining_old["booking_key"] == 1
    assert node.alterations() == []  # nothing altered, nothing audited
    with pytest.raises(ConflictError, match=r"booking_key: 1"):
        retire_old(engine=engine, keystore=node.keystore)
    assert node.keystore.versions() == (1, 2)
    with engine.connect() as conn, pytest.raises(CryptoError):
        BookingRepository(conn, node.keystore).get(a)


def test_separate_seal_keystore(engine: Engine, conformance_dir: Path) -> None:
    seal = InMemoryKeyStore()
    node = Node(engine, seal=seal)
    ids, masked, quarantined = _populate(node, conformance_dir)
    seal.rotate()  # only the seal store rotates
    result = node.rewrap()
    assert result.rewrapped == {kt.name: 0 for kt in KEY_TABLES} | {"sealed_key": 1}
    _check_readable(node, ids, masked, quarantined)
    assert retire_old(engine=engine, keystore=node.keystore, seal_keystore=seal) == [1]
    assert seal.versions() == (2,)
    assert node.keystore.versions() == (1,)
    _check_readable(node, ids, masked, quarantined)
