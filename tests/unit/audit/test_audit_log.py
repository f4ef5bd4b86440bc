"""The in-memory audit log and the pure verifier: behaviour, then corruption probes.

Every probe tampers with what an attacker with database access could change (rows, hashes,
checkpoint notes) and checks that `verify` names the first broken seq and the reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pnrguard.audit.checkpoint import Checkpoint, Signer, sign_checkpoint
from pnrguard.audit.log import (
    Anchor,
    InMemoryAuditLog,
    LogRecord,
    Reason,
    VerificationReport,
    verify,
)
from pnrguard.audit.merkle import Frontier, verify_consistency, verify_inclusion
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.errors import AuditError, AuditVerificationError, ConflictError

pytestmark = pytest.mark.unit

ORIGIN = "pnrguard.test/audit"
SIGNER = Signer(name=ORIGIN, private_key=Ed25519PrivateKey.from_private_bytes(b"\x11" * 32))
OTHER = Signer(name=ORIGIN, private_key=Ed25519PrivateKey.from_private_bytes(b"\x22" * 32))
VERIFIER = SIGNER.verifier()


class StepClock:
    """A clock that moves one second per reading (the log's times are deterministic)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def make_log(n: int = 20, checkpoints_at: tuple[int, ...] = (4, 8, 16)) -> InMemoryAuditLog:
    log = InMemoryAuditLog(origin=ORIGIN, clock=StepClock())
    for i in range(n):
        log.append(
            actor=f"user-{i % 3}",
            role="analyst",
            operation=Operation.CONSULTATION if i % 2 else Operation.COLLECTION,
            purpose=Purpose.INGEST if i % 2 == 0 else Purpose.FRAUD,
            record_ids=(f"bk-{i:04d}",),
            counts={"travellers": i % 4},
            reference=f"msg-{i}",
        )
        if i + 1 in checkpoints_at:
            log.checkpoint(SIGNER)
    return log


def run(
    records: list[LogRecord], notes: list[str], **kwargs: object
) -> VerificationReport:
    return verify(records, notes, VERIFIER, origin=ORIGIN, **kwargs)  # type: ignore[arg-type]


def parts(log: InMemoryAuditLog) -> tuple[list[LogRecord], list[str]]:
    return list(log.records()), [c.note for c in log.stored_checkpoints()]


def rehash(records: list[LogRecord], entries: list[AuditEntry]) -> list[LogRecord]:
    """What an attacker with database access but without the key can do: store any entries
    with self-consistent leaf and chain hashes."""
    out: list[LogRecord] = []
    chain = bytes(32)
    for e in entries:
        rec = LogRecord.make(e, chain)
        chain = rec.chain_hash
        out.append(rec)
    return out


def renumber(entries: list[AuditEntry]) -> list[AuditEntry]:
    return [dataclasses.replace(e, seq=i) for i, e in enumerate(entries)]


def flip(data: bytes, bit: int) -> bytes:
    b = bytearray(data)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def bits(n: int) -> Iterator[int]:
    return iter(range(n * 8))


# --- behaviour -------------------------------------------------------------------------


def test_an_intact_log_verifies_and_reports_its_unsigned_tail() -> None:
    log = make_log()
    report = log.verify(VERIFIER)
    assert report.ok, report
    assert (report.tree_size, report.signed_size, report.unsigned_tail) == (20, 16, 4)
    assert report.checkpoints_verified == 3
    strict = log.verify(VERIFIER, require_signed_tail=True)
    assert (strict.reason, strict.first_broken_seq) == (Reason.UNSIGNED_TAIL, 16)
    log.checkpoint(SIGNER)
    assert log.verify(VERIFIER, require_signed_tail=True).ok


def test_empty_log_verifies_and_can_be_checkpointed() -> None:
    log = InMemoryAuditLog(origin=ORIGIN)
    assert log.verify(VERIFIER).ok
    note = log.checkpoint(SIGNER)
    assert note.startswith(f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n")
    assert log.verify(VERIFIER, require_signed_tail=True).ok


def test_append_is_keyword_only_and_returns_the_stored_entry() -> None:
    log = make_log(0)
    with pytest.raises(TypeError):
        log.append("u", "analyst", Operation.CONSULTATION, Purpose.FRAUD, ())  # type: ignore[misc]
    e = log.append(
        actor="user-9",
        role="analyst",
        operation=Operation.CONSULTATION,
        purpose=Purpose.CORRUPTION,
        record_ids=["bk-1"],
        counts={"sensitive.health": 2},
    )
    assert e.seq == 0
    assert log.size() == 1
    assert next(iter(log.records())).entry == e


def test_a_refused_entry_leaves_the_log_unchanged() -> None:
    log = make_log(3, ())
    with pytest.raises(AuditError):
        log.append(
            actor="user-1",
            role="analyst",
            operation=Operation.CONSULTATION,
            purpose=Purpose.FRAUD,
            record_ids=["MARIA GARCIA LOPEZ"],
        )
    assert log.size() == 3
    assert log.verify(VERIFIER).ok


def test_entries_filter_lets_a_use_case_test_assert_what_was_logged() -> None:
    log = make_log()
    fraud = log.entries(operation=Operation.CONSULTATION, purpose=Purpose.FRAUD)
    assert [e.seq for e in fraud] == list(range(1, 20, 2))
    assert [e.seq for e in log.entries(record_id="bk-0007")] == [7]
    assert [e.seq for e in log.entries(actor="user-0", since_seq=5, until_seq=13)] == [6, 9, 12]
    assert [e.seq for e in log.entries(reference="msg-3")] == [3]
    t0 = log.entries()[4].at
    assert [e.seq for e in log.entries(start=t0, end=t0 + timedelta(seconds=2))] == [4, 5]


def test_checkpoint_of_an_unchanged_log_is_returned_again() -> None:
    log = make_log(5, ())
    assert log.checkpoint(SIGNER) == log.checkpoint(SIGNER)
    assert len(log.stored_checkpoints()) == 1


def test_proofs_from_the_log_verify_against_signed_checkpoints() -> None:
    log = make_log()
    cps = {c.tree_size: c.root for c in log.stored_checkpoints()}
    leaves = [r.leaf_hash for r in log.records()]
    for seq in range(16):
        proof = log.inclusion_proof(seq=seq, tree_size=16)
        assert verify_inclusion(index=seq, size=16, leaf=leaves[seq], proof=proof, root=cps[16])
    proof = log.consistency_proof(old_size=4, new_size=16)
    assert verify_consistency(
        old_size=4, new_size=16, old_root=cps[4], new_root=cps[16], proof=proof
    )


def test_pruned_log_still_verifies_from_its_checkpoint() -> None:
    log = make_log()
    entry = log.prune(before=8, actor="system", role="retention")
    assert (entry.operation, entry.purpose) == (Operation.ERASURE, Purpose.RETENTION)
    assert dict(entry.counts) == {"audit.entries": 8}
    assert [r.entry.seq for r in log.records()][:1] == [8]
    report = log.verify(VERIFIER)
    assert report.ok, report
    assert (report.start, report.tree_size) == (8, 21)
    log.checkpoint(SIGNER)
    assert log.verify(VERIFIER, require_signed_tail=True).ok
    with pytest.raises(ConflictError):
        log.prune(before=12, actor="system", role="retention")  # no checkpoint at 12
    with pytest.raises(AuditError):
        log.inclusion_proof(seq=9, tree_size=16)


def test_pruning_without_the_retention_entry_or_with_a_forged_anchor_is_detected() -> None:
    log = make_log()
    log.prune(before=8, actor="system", role="retention")
    records, notes = parts(log)
    anchor = log.anchor()
    assert anchor is not None
    silent = run(records[:-1], notes, anchor=anchor)
    assert (silent.reason, silent.first_broken_seq) == (Reason.BAD_ANCHOR, 8)
    wrong = Anchor(size=8, frontier=flip(anchor.frontier, 3), chain_hash=anchor.chain_hash)
    assert run(records, notes, anchor=wrong).reason is Reason.BAD_ANCHOR
    unsigned = Anchor(size=9, frontier=Frontier(9, [bytes(32)] * 2).to_bytes(), chain_hash=bytes(32))
    assert run(records[1:], notes, anchor=unsigned).reason is Reason.BAD_ANCHOR
    # Without the anchor the missing prefix is a gap at seq 0.
    assert (run(records, notes).reason, run(records, notes).first_broken_seq) == (Reason.SEQ_GAP, 0)


# --- corruption probes -----------------------------------------------------------------


def test_every_bit_flip_of_an_entry_s_canonical_bytes_names_that_entry() -> None:
    records, notes = parts(make_log())
    target = records[5]
    data = target.entry.canonical_bytes()
    undecodable = 0
    for bit in bits(len(data)):
        try:
            changed = AuditEntry.from_canonical(flip(data, bit))
        except AuditError:
            undecodable += 1  # the store could not even load it: detected as malformed
            continue
        tampered = [*records[:5], dataclasses.replace(target, entry=changed), *records[6:]]
        report = run(tampered, notes)
        assert not report.ok
        assert report.first_broken_seq == 5, (bit, report)
        assert report.reason in {Reason.LEAF_HASH_MISMATCH, Reason.SEQ_GAP, Reason.SEQ_REORDER}
    assert 0 < undecodable < len(data) * 8


def test_every_bit_flip_of_a_stored_leaf_hash_or_chain_hash_names_that_entry() -> None:
    records, notes = parts(make_log())
    for seq in (0, 5, 19):
        rec = records[seq]
        for bit in bits(32):
            bad_leaf = dataclasses.replace(rec, leaf_hash=flip(rec.leaf_hash, bit))
            report = run([*records[:seq], bad_leaf, *records[seq + 1 :]], notes)
            assert (report.reason, report.first_broken_seq) == (Reason.LEAF_HASH_MISMATCH, seq)
            bad_chain = dataclasses.replace(rec, chain_hash=flip(rec.chain_hash, bit))
            report = run([*records[:seq], bad_chain, *records[seq + 1 :]], notes)
            assert (report.reason, report.first_broken_seq) == (Reason.CHAIN_HASH_MISMATCH, seq)


def test_every_bit_flip_of_a_checkpoint_note_is_detected() -> None:
    records, notes = parts(make_log())
    raw = notes[1].encode("utf-8")
    for bit in bits(len(raw)):
        try:
            text = flip(raw, bit).decode("utf-8")
        except UnicodeDecodeError:
            continue
        report = run(records, [notes[0], text, notes[2]])
        assert not report.ok, bit
        assert report.reason in {Reason.BAD_SIGNATURE, Reason.CHECKPOINT_INCONSISTENT}


def test_a_deleted_row_is_a_gap_at_its_seq() -> None:
    records, notes = parts(make_log())
    for seq in (0, 5, 17):
        report = run([*records[:seq], *records[seq + 1 :]], notes)
        assert (report.reason, report.first_broken_seq) == (Reason.SEQ_GAP, seq)


def test_swapped_rows_are_a_reorder_at_the_first_of_them() -> None:
    records, notes = parts(make_log())
    swapped = [*records[:5], records[6], records[5], *records[7:]]
    report = run(swapped, notes)
    assert (report.reason, report.first_broken_seq) == (Reason.SEQ_REORDER, 5)
    dup = [*records[:6], records[5], *records[6:]]
    assert (run(dup, notes).reason, run(dup, notes).first_broken_seq) == (Reason.SEQ_REORDER, 6)


def test_swapped_contents_with_rewritten_hashes_fail_the_signed_root() -> None:
    records, notes = parts(make_log())
    entries = [r.entry for r in records]
    entries[5], entries[6] = entries[6], entries[5]
    report = run(rehash(records, renumber(entries)), notes)
    # The attacker kept every stored hash consistent: only the checkpoint of size 8 disagrees,
    # and the first seq not covered by a good checkpoint (4) is named.
    assert (report.reason, report.first_broken_seq, report.checkpoint_size) == (
        Reason.ROOT_MISMATCH,
        4,
        8,
    )
    # Swapping contents but leaving the stored hashes in place names the entry itself.
    moved = [*records[:5], dataclasses.replace(records[5], entry=entries[5]), *records[6:]]
    assert run(moved, notes).first_broken_seq == 5


def test_truncating_the_tail_after_a_checkpoint_is_detected() -> None:
    records, notes = parts(make_log())
    for keep in (0, 12, 15):
        report = run(records[:keep], notes)
        assert (report.reason, report.first_broken_seq, report.checkpoint_size) == (
            Reason.TRUNCATED,
            keep,
            16,
        )


def test_extending_with_a_forged_entry_is_detected() -> None:
    log = make_log()
    records, notes = parts(log)
    forged = dataclasses.replace(records[-1].entry, seq=20, purpose=Purpose.TERRORIST_OFFENCES)
    # (a) with hashes that do not fit
    report = run([*records, dataclasses.replace(records[-1], entry=forged)], notes)
    assert (report.reason, report.first_broken_seq) == (Reason.LEAF_HASH_MISMATCH, 20)
    # (b) with fitting hashes: intact but unsigned, refused in strict mode
    extended = [*records, LogRecord.make(forged, records[-1].chain_hash)]
    assert run(extended, notes).unsigned_tail == 5
    strict = run(extended, notes, require_signed_tail=True)
    assert (strict.reason, strict.first_broken_seq) == (Reason.UNSIGNED_TAIL, 16)
    # (c) with a checkpoint signed by another key under the node's name
    frontier = Frontier()
    for r in extended:
        frontier.append(r.leaf_hash)
    fake = sign_checkpoint(Checkpoint(origin=ORIGIN, size=21, root=frontier.root()), OTHER)
    assert run(extended, [*notes, fake]).reason is Reason.BAD_SIGNATURE
    # (d) inserted in the middle with everything rehashed
    entries = [r.entry for r in records]
    inserted = renumber([*entries[:6], forged, *entries[6:]])
    report = run(rehash(records, inserted), notes)
    assert (report.reason, report.first_broken_seq) == (Reason.ROOT_MISMATCH, 4)


def test_rewind_a_signed_smaller_checkpoint_with_another_root_is_detected() -> None:
    log = make_log()
    records, notes = parts(log)
    frontier = Frontier()
    for r in records[:12]:
        frontier.append(r.leaf_hash)
    other_root = flip(frontier.root(), 0)
    rewind = sign_checkpoint(Checkpoint(origin=ORIGIN, size=12, root=other_root), SIGNER)
    report = run(records, [*notes, rewind])
    assert (report.reason, report.first_broken_seq, report.checkpoint_size) == (
        Reason.CHECKPOINT_INCONSISTENT,
        8,
        12,
    )
    # Two signed checkpoints of the same size with different roots: a fork.
    fork = sign_checkpoint(Checkpoint(origin=ORIGIN, size=16, root=other_root), SIGNER)
    report = run(records, [*notes, fork])
    assert (report.reason, report.checkpoint_size) == (Reason.CHECKPOINT_INCONSISTENT, 16)


def test_rewind_by_truncating_and_re_signing_is_detected_by_the_later_checkpoint() -> None:
    log = make_log()
    records, notes = parts(log)
    entries = [dataclasses.replace(r.entry, purpose=Purpose.FRAUD) for r in records[:10]]
    rewritten = rehash(records, entries)
    frontier = Frontier()
    for r in rewritten:
        frontier.append(r.leaf_hash)
    resigned = sign_checkpoint(Checkpoint(origin=ORIGIN, size=10, root=frontier.root()), SIGNER)
    report = run(rewritten, [*notes, resigned])
    assert not report.ok
    assert report.first_broken_seq == 0  # entry 0 changed: the checkpoint of size 4 disagrees
    assert report.reason in {Reason.ROOT_MISMATCH, Reason.CHECKPOINT_INCONSISTENT}


def test_a_signed_empty_tree_with_another_root_is_detected() -> None:
    records, notes = parts(make_log())
    bogus = sign_checkpoint(Checkpoint(origin=ORIGIN, size=0, root=bytes(32)), SIGNER)
    report = run(records, [*notes, bogus])
    assert (report.reason, report.checkpoint_size) == (Reason.CHECKPOINT_INCONSISTENT, 0)


def test_a_checkpoint_of_another_log_is_refused() -> None:
    records, notes = parts(make_log())
    foreign = sign_checkpoint(
        Checkpoint(origin="other.test/audit", size=4, root=bytes(32)),
        Signer(name=ORIGIN, private_key=Ed25519PrivateKey.from_private_bytes(b"\x11" * 32)),
    )
    assert run(records, [*notes, foreign]).reason is Reason.BAD_SIGNATURE


def test_report_raises_with_seq_and_reason_but_no_content() -> None:
    records, notes = parts(make_log())
    report = run([*records[:3], *records[4:]], notes)
    with pytest.raises(AuditVerificationError) as info:
        report.raise_for_problem()
    assert (info.value.seq, info.value.reason) == (3, "seq_gap")
    assert "bk-" not in str(info.value)
