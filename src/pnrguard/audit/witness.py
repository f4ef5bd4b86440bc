"""The witness's rules (C2SP tlog-witness ``add-checkpoint``), pure: parse a submission,
decide it against the last checkpoint cosigned for that log, say why when refusing.

A submission is ``old <size>\\n``, up to 63 consistency-proof lines (base64 hashes), an
empty line, then the signed checkpoint note. The witness cosigns only when:

- the checkpoint is signed by the log's registered key (else 403) for a known origin
  (else 404);
- ``old`` is at most the checkpoint size (else 400) and equals the size of the last
  checkpoint it cosigned for that origin, 0 if none (else 409, answering its size);
- at equal sizes the roots are equal (else 409: two histories of one size, a fork);
- the proof is an RFC 6962 consistency proof from its last root (else 422).

Then it stores the new checkpoint as its state, atomically with the check (the shell's
job: `service.witness`), and answers cosignature lines.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from pnrguard.audit.checkpoint import Checkpoint, Verifier, _b64decode, open_checkpoint
from pnrguard.audit.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from pnrguard.errors import AuditError

__all__ = [
    "MAX_PROOF_LINES",
    "Submission",
    "WitnessRefusal",
    "decide",
    "parse_submission",
    "submission_body",
]

MAX_PROOF_LINES = 63
MAX_SUBMISSION_BYTES = 64 * 1024
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")


class WitnessRefusal(Exception):
    """Why a witness does not cosign: the HTTP status of the spec, a stable code, a detail
    without content, and (409 on a size mismatch) the size it last cosigned."""

    def __init__(self, status: int, code: str, detail: str, *, size: int | None = None) -> None:
        self.status, self.code, self.detail, self.size = status, code, detail, size
        super().__init__(f"{status} {code}: {detail}")


@dataclass(frozen=True, slots=True)
class Submission:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


def submission_body(*, old_size: int, proof: list[bytes], note: str) -> bytes:
    """The add-checkpoint request body."""
    lines = [f"old {old_size}"] + [base64.b64encode(h).decode("ascii") for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode("utf-8")


def parse_submission(data: bytes) -> Submission:
    """Parse an add-checkpoint body; `WitnessRefusal` 400 on anything malformed."""
    if len(data) > MAX_SUBMISSION_BYTES:
        raise WitnessRefusal(400, "bad_request", "submission too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRefusal(400, "bad_request", "submission is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise WitnessRefusal(400, "bad_request", "no empty line before the checkpoint")
    lines = head.split("\n")
    m = _OLD.fullmatch(lines[0])
    if m is None:
        raise WitnessRefusal(400, "bad_request", "first line must be 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRefusal(400, "bad_request", "too many consistency proof lines")
    proof: list[bytes] = []
    for line in lines[1:]:
        try:
            h = _b64decode(line, "proof hash")
        except AuditError:
            raise WitnessRefusal(400, "bad_request", "proof line is not base64") from None
        if len(h) != HASH_SIZE:
            raise WitnessRefusal(400, "bad_request", "proof hash is not 32 bytes")
        proof.append(h)
    return Submission(old_size=int(m.group(1)), proof=tuple(proof), note=note)


def decide(
    sub: Submission, *, log_key: Verifier | None, origin: str, last: tuple[int, bytes] | None
) -> Checkpoint:
    """Check a submission for the log `origin` (whose key is `log_key`, None if unknown)
    against `last` = (size, root) last cosigned for it (None: never). Returns the
    checkpoint to cosign, or raises `WitnessRefusal`."""
    if log_key is None:
        raise WitnessRefusal(404, "unknown_log", "this witness does not know that log")
    try:
        cp = open_checkpoint(sub.note, log_key, origin=origin)
    except AuditError:
        raise WitnessRefusal(403, "bad_signature", "no valid signature by the log's key") from None
    if sub.old_size > cp.size:
        raise WitnessRefusal(400, "bad_request", "old size is larger than the checkpoint")
    last_size, last_root = last if last is not None else (0, EMPTY_ROOT)
    if sub.old_size != last_size:
        raise WitnessRefusal(409, "old_size_mismatch", f"last cosigned size is {last_size}", size=last_size)
    if cp.size == last_size and cp.root != last_root:
        raise WitnessRefusal(
            409, "fork", f"a different root for size {cp.size} was cosigned before", size=last_size
        )
    if last_size == 0 and sub.proof:
        raise WitnessRefusal(422, "bad_proof", "the proof from size 0 must be empty")
    if not verify_consistency(
        old_size=last_size,
        new_size=cp.size,
        old_root=last_root,
        new_root=cp.root,
        proof=list(sub.proof),
    ):
        raise WitnessRefusal(
            422, "inconsistent", f"not a consistent extension of the cosigned size {last_size}"
        )
    return cp
