"""The SQL audit log on SQLite and PostgreSQL: same hashes as the in-memory reference,
atomic with the caller's transaction, dense seqs under concurrent workers, and tampering
with the rows detected."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pnrguard.audit.checkpoint import Signer
from pnrguard.audit.log import InMemoryAuditLog, Reason
from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import AuditVerificationError, ConflictError
from pnrguard.store.audit import SqlAuditLog, audit_checkpoint, audit_entry

pytestmark = pytest.mark.storage

ORIGIN = "pnrguard.test/audit"
SIGNER = Signer(name=ORIGIN, private_key=Ed25519PrivateKey.from_private_bytes(b"\x33" * 32))
VERIFIER = SIGNER.verifier()


class StepClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 8, 0, 0, 250_001, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1, microseconds=7)
        return self.now


def fill(log: InMemoryAuditLog | SqlAuditLog, n: int, *, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append(
            actor=f"user-{i % 3}",
            role="analyst",
            operation=Operation.CONSULTATION,
            purpose=Purpose.ILLICIT_TRAFFICKING_IN_DRUGS,
            record_ids=(f"bk-{i:04d}", f"bk-{i + 1:04d}"),
            counts={"sensitive.health": i % 2, "travellers": 2},
            reference=f"case-{i // 4}" if i % 3 else None,
        )


def build(engine: Engine, n: int = 12, checkpoints_at: tuple[int, ...] = (8,)) -> None:
    clock = StepClock()
    with engine.begin() as conn:
        log = SqlAuditLog(conn, origin=ORIGIN, clock=clock)
        for i in range(n):
            fill(log, 1, start=i)
            if i + 1 in checkpoints_at:
                log.checkpoint(SIGNER)


def check(engine: Engine, **kwargs: bool) -> tuple[Reason | None, int | None]:
    with engine.connect() as conn:
        report = SqlAuditLog(conn, origin=ORIGIN).verify(VERIFIER, **kwargs)
    return report.reason, report.first_broken_seq


def test_sql_log_stores_exactly_what_the_reference_log_computes(engine: Engine) -> None:
    build(engine, 12, (8,))
    reference = InMemoryAuditLog(origin=ORIGIN, clock=StepClock())
    for i in range(12):
        fill(reference, 1, start=i)
        if i + 1 == 8:
            reference.checkpoint(SIGNER)
    with engine.connect() as conn:
        sql = SqlAuditLog(conn, origin=ORIGIN)
        assert list(sql.records()) == list(reference.records())
        assert [c.note for c in sql.stored_checkpoints()] == [c.note for c in reference.stored_checkpoints()]
        assert sql.size() == 12
        assert sql.entries(record_id="bk-0005") == reference.entries(record_id="bk-0005")
        report = sql.verify(VERIFIER)
    assert report.ok, report
    assert (report.signed_size, report.unsigned_tail) == (8, 4)


def test_append_is_atomic_with_the_callers_transaction(engine: Engine) -> None:
    build(engine, 3, ())
    conn = engine.connect()
    tx = conn.begin()
    fill(SqlAuditLog(conn, origin=ORIGIN), 2, start=3)
    tx.rollback()  # the use case failed after logging
    conn.close()
    with engine.begin() as conn:
        log = SqlAuditLog(conn, origin=ORIGIN)
        assert log.size() == 3
        fill(log, 1, start=3)
        assert log.size() == 4
    assert check(engine) == (None, None)


def test_session_binding_appends_in_the_session_transaction(engine: Engine) -> None:
    with Session(engine) as session:
        log = SqlAuditLog(session, origin=ORIGIN)
        fill(log, 2)
        session.rollback()
        fill(log, 1)
        session.commit()
    with engine.connect() as conn:
        assert [e.seq for e in SqlAuditLog(conn, origin=ORIGIN).entries()] == [0]


def test_concurrent_workers_get_dense_seqs_and_a_linear_chain(engine: Engine) -> None:
    workers, per_worker = 4, 15
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def work(w: int) -> None:
        try:
            barrier.wait()
            for i in range(per_worker):
                with engine.begin() as conn:
                    SqlAuditLog(conn, origin=ORIGIN).append(
                        actor=f"worker-{w}",
                        role="system",
                        operation=Operation.COLLECTION,
                        purpose=Purpose.INGEST,
                        record_ids=(f"msg-{w}-{i}",),
                    )
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.begin() as conn:
        log = SqlAuditLog(conn, origin=ORIGIN)
        assert [e.seq for e in log.entries()] == list(range(workers * per_worker))
        log.checkpoint(SIGNER)
    assert check(engine, require_signed_tail=True) == (None, None)


def test_stored_times_keep_microseconds_and_utc(engine: Engine) -> None:
    build(engine, 2, ())
    with engine.connect() as conn:
        at = SqlAuditLog(conn, origin=ORIGIN).entries()[1].at
    assert at == datetime(2026, 5, 1, 8, 0, 2, 250_015, tzinfo=UTC)


def test_an_updated_row_is_named(engine: Engine) -> None:
    build(engine)
    with engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 5).values(purpose=Purpose.FRAUD.value))
    assert check(engine) == (Reason.LEAF_HASH_MISMATCH, 5)


def test_a_rewritten_leaf_hash_is_named_by_the_chain(engine: Engine) -> None:
    build(engine)
    with engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 10).values(leaf_hash=bytes(32)))
    assert check(engine) == (Reason.LEAF_HASH_MISMATCH, 10)


def test_a_deleted_row_is_a_gap(engine: Engine) -> None:
    build(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq == 3))
    assert check(engine) == (Reason.SEQ_GAP, 3)


def test_a_truncated_tail_after_a_checkpoint_is_detected(engine: Engine) -> None:
    build(engine)
    with engine.begin() as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq >= 6))
    assert check(engine) == (Reason.TRUNCATED, 6)


def test_a_tampered_checkpoint_is_detected(engine: Engine) -> None:
    build(engine)
    with engine.begin() as conn:
        note = conn.execute(select(audit_checkpoint.c.note)).scalar_one()
        conn.execute(update(audit_checkpoint).values(note=note.replace("\n8\n", "\n7\n")))
    assert check(engine)[0] is Reason.BAD_SIGNATURE


def test_checkpoint_refuses_to_sign_an_edited_tail(engine: Engine) -> None:
    build(engine)
    with engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 9).values(role="dpo"))
    with engine.begin() as conn, pytest.raises(AuditVerificationError) as info:
        SqlAuditLog(conn, origin=ORIGIN).checkpoint(SIGNER)
    assert (info.value.reason, info.value.seq) == ("leaf_hash_mismatch", 9)


def test_checkpoint_is_idempotent_and_incremental(engine: Engine) -> None:
    build(engine, 12, (4, 8))
    with engine.begin() as conn:
        log = SqlAuditLog(conn, origin=ORIGIN)
        first = log.checkpoint(SIGNER)
        assert log.checkpoint(SIGNER) == first
        assert [c.tree_size for c in log.stored_checkpoints()] == [4, 8, 12]
    assert check(engine, require_signed_tail=True) == (None, None)


def test_prune_keeps_a_verifiable_remainder(engine: Engine) -> None:
    build(engine, 12, (8,))
    with engine.begin() as conn:
        log = SqlAuditLog(conn, origin=ORIGIN, clock=StepClock())
        with pytest.raises(ConflictError):
            log.prune(before=6, actor="system", role="retention")
        entry = log.prune(before=8, actor="system", role="retention")
        assert entry.seq == 12
        assert dict(entry.counts) == {"audit.entries": 8}
    assert check(engine) == (None, None)
    with engine.connect() as conn:
        log = SqlAuditLog(conn, origin=ORIGIN)
        assert log.size() == 13
        anchor = log.anchor()
        assert anchor is not None
        assert anchor.size == 8
    with engine.begin() as conn:  # a prefix deleted without retention's entry
        conn.execute(delete(audit_entry).where(audit_entry.c.seq == 12))
    assert check(engine) == (Reason.BAD_ANCHOR, 8)


def test_an_unreadable_row_is_reported_as_malformed_at_its_seq(engine: Engine) -> None:
    build(engine)
    with engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 4).values(counts="{"))
    assert check(engine) == (Reason.MALFORMED, 4)
    with engine.begin() as conn:
        conn.execute(
            update(audit_entry)
            .where(audit_entry.c.seq == 4)
            .values(counts="{}", record_ids='["JOHN SMITH"]')
        )
    assert check(engine) == (Reason.MALFORMED, 4)
