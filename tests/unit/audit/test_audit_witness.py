"""Witnessing, pure: cosignature/v1 lines, the witness's rules, consistency proofs from a
frontier, the signer's state. Each refusal of the C2SP tlog-witness spec is replayed."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from pnrguard.audit.checkpoint import Checkpoint, Signer, cosign, sign_checkpoint
from pnrguard.audit.cosignature import (
    Cosigner,
    CosignerKey,
    cosignature_message,
    cosigner_key_id,
    valid_cosignatures,
)
from pnrguard.audit.export import CheckpointFile
from pnrguard.audit.log import InMemoryAuditLog
from pnrguard.audit.merkle import (
    Frontier,
    consistency_proof,
    consistency_proof_from_frontier,
    leaf_hash,
    verify_consistency,
)
from pnrguard.audit.models import Operation, Purpose
from pnrguard.audit.signer_state import SignerState
from pnrguard.audit.witness import (
    Submission,
    WitnessRefusal,
    decide,
    parse_submission,
    submission_body,
)
from pnrguard.errors import AuditError, AuditVerificationError

ORIGIN = "a.piu"
AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LOG = Signer(name=ORIGIN, private_key=Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
OTHER = Signer(name=ORIGIN, private_key=Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))
WITNESS = Cosigner("b.piu", Ed25519PrivateKey.from_private_bytes(b"\x03" * 32))


def history(n: int, *, variant: int = -1) -> InMemoryAuditLog:
    """A log of n entries; `variant` >= 0 changes that entry (another history)."""
    log = InMemoryAuditLog(origin=ORIGIN, clock=lambda: AT)
    for i in range(n):
        log.append(
            actor=f"user-{i}" if i != variant else "forger",
            role="analyst",
            operation=Operation.CONSULTATION,
            purpose=Purpose.CYBERCRIME,
            record_ids=(f"bk-{i}",),
        )
    return log


def leaves(log: InMemoryAuditLog) -> list[bytes]:
    return [r.leaf_hash for r in log.records()]


# --- consistency proofs from the frontier ---------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.data())
def test_proof_from_frontier_equals_rfc6962(n: int, data: st.DataObject) -> None:
    m = data.draw(st.integers(0, n))
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    f = Frontier()
    for h in hashes[:m]:
        f.append(h)
    proof = consistency_proof_from_frontier(f, hashes[m:])
    assert proof == consistency_proof(hashes, m)
    full = Frontier()
    for h in hashes:
        full.append(h)
    assert verify_consistency(old_size=m, new_size=n, old_root=f.root(), new_root=full.root(), proof=proof)


# --- cosignatures ----------------------------------------------------------------------------


def test_cosignature_line_follows_the_spec() -> None:
    body = Checkpoint(origin=ORIGIN, size=3, root=b"\x07" * 32).body()
    line = WITNESS.cosign(body, 1_679_315_147)
    assert line.startswith("— b.piu ")
    assert line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2])
    pub = WITNESS.key().public_key
    raw = pub.public_bytes_raw()
    assert blob[:4] == hashlib.sha256(b"b.piu\n\x04" + raw).digest()[:4] == cosigner_key_id("b.piu", raw)
    assert int.from_bytes(blob[4:12], "big") == 1_679_315_147
    msg = cosignature_message(body, 1_679_315_147)
    assert msg == b"cosignature/v1\ntime 1679315147\n" + body.encode()
    pub.verify(blob[12:], msg)  # raises if not
    assert WITNESS.key().verify(body, blob) == 1_679_315_147
    assert CosignerKey.from_vkey(WITNESS.key().vkey).key_id == WITNESS.key().key_id


def test_every_bit_flip_of_a_cosignature_is_refused() -> None:
    body = Checkpoint(origin=ORIGIN, size=3, root=b"\x07" * 32).body()
    blob = base64.b64decode(WITNESS.cosign(body, 1_700_000_000).split(" ")[2])
    key = WITNESS.key()
    for i in range(len(blob) * 8):
        bad = bytearray(blob)
        bad[i // 8] ^= 1 << (i % 8)
        assert key.verify(body, bytes(bad)) is None
    assert key.verify(body.replace("3", "4"), blob) is None
    assert key.verify(body, blob[:-1]) is None


def test_only_known_witnesses_count() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, b"\x01" * 32), LOG)
    body = Checkpoint(ORIGIN, 5, b"\x01" * 32).body()
    stranger = Cosigner("c.piu", Ed25519PrivateKey.from_private_bytes(b"\x09" * 32))
    impostor = Cosigner("b.piu", Ed25519PrivateKey.from_private_bytes(b"\x0a" * 32))
    full = note + WITNESS.cosign(body, 10) + stranger.cosign(body, 11) + impostor.cosign(body, 12)
    assert valid_cosignatures(full, [WITNESS.key()]) == {"b.piu": 10}
    assert valid_cosignatures(full, [WITNESS.key(), stranger.key()]) == {"b.piu": 10, "c.piu": 11}
    # The log's own signature is not a cosignature (other algorithm byte, other key id).
    assert valid_cosignatures(note, [CosignerKey(ORIGIN, LOG.private_key.public_key())]) == {}
    # A cosignature copied onto another checkpoint counts for nothing.
    other = sign_checkpoint(Checkpoint(ORIGIN, 6, b"\x01" * 32), LOG)
    assert valid_cosignatures(other + WITNESS.cosign(body, 10), [WITNESS.key()]) == {}


# --- the witness's rules ---------------------------------------------------------------------


def submit(
    log: InMemoryAuditLog, old: int, *, signer: Signer = LOG, proof: list[bytes] | None = None
) -> Submission:
    note = sign_checkpoint(Checkpoint(ORIGIN, log.size(), _root(log)), signer)
    p = consistency_proof(leaves(log), old) if proof is None else proof
    return parse_submission(submission_body(old_size=old, proof=p, note=note))


def _root(log: InMemoryAuditLog) -> bytes:
    f = Frontier()
    for h in leaves(log):
        f.append(h)
    return f.root()


def refusal(sub: Submission, last: tuple[int, bytes] | None, *, key: Signer | None = LOG) -> WitnessRefusal:
    with pytest.raises(WitnessRefusal) as exc:
        decide(sub, log_key=key.verifier() if key else None, origin=ORIGIN, last=last)
    return exc.value


def test_a_consistent_extension_is_accepted_from_nothing_and_from_the_last_size() -> None:
    first = decide(submit(history(5), 0), log_key=LOG.verifier(), origin=ORIGIN, last=None)
    assert first.size == 5
    later = decide(submit(history(9), 5), log_key=LOG.verifier(), origin=ORIGIN, last=(5, first.root))
    assert later.size == 9
    same = decide(submit(history(9), 9), log_key=LOG.verifier(), origin=ORIGIN, last=(9, later.root))
    assert same.root == later.root


def test_each_refusal_of_the_spec() -> None:
    cp5 = Checkpoint(ORIGIN, 5, _root(history(5)))
    assert refusal(submit(history(5), 0), None, key=None).status == 404
    assert refusal(submit(history(5), 0, signer=OTHER), None).status == 403
    assert refusal(submit(history(5), 6, proof=[]), None).status == 400
    r = refusal(submit(history(9), 0, proof=[]), (5, cp5.root))
    assert (r.status, r.code, r.size) == (409, "old_size_mismatch", 5)
    # A fork: another history of the same size.
    r = refusal(submit(history(5, variant=2), 5), (5, cp5.root))
    assert (r.status, r.code) == (409, "fork")
    # An inconsistent extension: a longer history that rewrote entry 2.
    r = refusal(submit(history(9, variant=2), 5), (5, cp5.root))
    assert (r.status, r.code) == (422, "inconsistent")
    # A proof from size 0 must be empty.
    assert refusal(submit(history(5), 0, proof=[b"\x00" * 32]), None).status == 422


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_a_submission_or_a_400(data: bytes) -> None:
    try:
        parse_submission(data)
    except WitnessRefusal as exc:
        status = exc.status
    else:
        status = 400
    assert status == 400


def test_submission_limits() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, b"\x00" * 32), LOG)
    for bad in (
        b"old 01\n\n" + note.encode(),
        b"old 1\n" + b"AAAA\n" + b"\n" + note.encode(),
        b"old 1\n"
        + b"".join(base64.b64encode(b"\x00" * 32) + b"\n" for _ in range(64))
        + b"\n"
        + note.encode(),
        b"old 1\n" + note.encode(),
    ):
        with pytest.raises(WitnessRefusal):
            parse_submission(bad)


# --- the signer's state and the exported file ------------------------------------------------


def test_signer_state_round_trip_and_tampering() -> None:
    log = history(7)
    f = Frontier()
    for h in leaves(log):
        f.append(h)
    cp = Checkpoint(ORIGIN, 7, f.root())
    note = sign_checkpoint(cp, LOG)
    chain = list(log.records())[-1].chain_hash
    state = SignerState(note, cp, f, chain)
    back = SignerState.from_json(state.to_json(), LOG.verifier(), origin=ORIGIN)
    assert (back.size, back.frontier.root(), back.chain_hash) == (7, f.root(), chain)
    with pytest.raises(AuditVerificationError):
        SignerState.from_json(state.to_json(), OTHER.verifier(), origin=ORIGIN)
    other = Frontier()
    for h in leaves(history(7, variant=1)):
        other.append(h)
    forged = SignerState(note, cp, other, chain).to_json()
    with pytest.raises(AuditError):
        SignerState.from_json(forged, LOG.verifier(), origin=ORIGIN)
    with pytest.raises(AuditError):
        SignerState.from_json("{", LOG.verifier(), origin=ORIGIN)


def test_checkpoint_file_round_trip() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, b"\x00" * 32), LOG)
    note = cosign(note, Signer("x", Ed25519PrivateKey.from_private_bytes(b"\x05" * 32)))
    kept = CheckpointFile(origin=ORIGIN, vkey=LOG.verifier().vkey, notes=[note])
    assert CheckpointFile.from_json(kept.to_json()) == kept
    for bad in ("[]", '{"format": "x"}', "nope"):
        with pytest.raises(AuditError):
            CheckpointFile.from_json(bad)
