"""The audit log port, its in-memory fake and the pure verifier.

Integrity is layered, each layer for a reason:

- every entry stores its **leaf hash** (RFC 6962, over the entry's canonical bytes), so an
  entry edited in place is named exactly by its seq;
- every entry stores a **chain hash** ``chain[i] = SHA-256(chain[i-1] || leaf[i])`` with
  ``chain[-1]`` = 32 zero bytes. It is unsigned and adds no security over the signed root;
  it is kept because it is one sequential hash a database query or an operator can check
  cheaply, and it names the first entry whose stored leaf hash was rewritten without the
  chain after it;
- the **Merkle root** of the first n leaves is signed in **checkpoints** (C2SP notes). This
  is what a forger without the node key cannot get round. When an attacker with database
  access rewrites entries *and* all their hashes, the stored hashes agree with each other
  and only the signed root disagrees: the verifier then names the first seq not covered by
  an earlier good checkpoint (the forgery lies between that seq and the failing checkpoint;
  a signed root cannot localise further). Checkpoint often to keep that window small.

`verify` is pure: it takes the stored records, the checkpoint notes and the verifier key,
recomputes everything in one streaming pass (O(log n) memory besides the checkpoints) and
names the FIRST problem in seq order. A log that retention has pruned is verified from an
`Anchor`: the frontier (compact range) kept with the checkpoint at the cut, whose root must
match that signed checkpoint, so the remainder verifies without the deleted prefix.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from pnrguard.audit.checkpoint import Checkpoint, Signer, Verifier, open_checkpoint, sign_checkpoint
from pnrguard.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
)
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.errors import N_, AuditError, AuditVerificationError, ConflictError

#: chain[-1]: the chain hash "before" the first entry.
GENESIS_CHAIN = bytes(HASH_SIZE)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def prune_reference(size: int) -> str:
    """The `reference` of the erasure entry that retention appends when it prunes the log to
    start at `size`. `verify` requires it: a prefix that vanished without one was deleted,
    not retained."""
    return f"audit-prune:{size}"


def chain_hash(prev_chain: bytes, leaf: bytes) -> bytes:
    """chain[i] = SHA-256(chain[i-1] || leaf[i])."""
    return hashlib.sha256(prev_chain + leaf).digest()


@dataclass(frozen=True, slots=True)
class LogRecord:
    """An entry as stored: the entry and the two hashes stored beside it."""

    entry: AuditEntry
    leaf_hash: bytes
    chain_hash: bytes

    @classmethod
    def make(cls, entry: AuditEntry, prev_chain: bytes) -> LogRecord:
        leaf = leaf_hash(entry.canonical_bytes())
        return cls(entry=entry, leaf_hash=leaf, chain_hash=chain_hash(prev_chain, leaf))


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint as the log keeps it. `frontier` is the compact range at
    `tree_size` (see `merkle.Frontier.to_bytes`): it lets the next checkpoint be computed
    from the entries after this one, and lets retention drop the prefix before it."""

    tree_size: int
    root: bytes
    note: str
    at: datetime
    frontier: bytes


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a pruned log starts: the tree state at `size` (the first kept seq)."""

    size: int
    frontier: bytes
    chain_hash: bytes


class Reason(StrEnum):
    """Why a log does not verify (stable codes, printed by `pnrguard audit verify`)."""

    MALFORMED = "malformed"  # a stored entry cannot be decoded or validated
    LEAF_HASH_MISMATCH = "leaf_hash_mismatch"  # entry content differs from its leaf hash
    CHAIN_HASH_MISMATCH = "chain_hash_mismatch"  # stored chain hash does not follow
    SEQ_GAP = "seq_gap"  # an entry is missing
    SEQ_REORDER = "seq_reorder"  # entries out of order or duplicated
    TRUNCATED = "truncated"  # the log ends before a signed checkpoint's size
    ROOT_MISMATCH = "root_mismatch"  # entries (and their hashes) differ from the signed root
    BAD_SIGNATURE = "bad_signature"  # a checkpoint is not signed by the node key
    CHECKPOINT_INCONSISTENT = "checkpoint_inconsistent"  # two signed histories disagree
    BAD_ANCHOR = "bad_anchor"  # a pruned log's starting state is not a signed checkpoint
    UNSIGNED_TAIL = "unsigned_tail"  # entries after the last checkpoint (strict mode only)


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The outcome of `verify`. When not `ok`, `first_broken_seq` is the first entry at fault
    (None when the fault is a checkpoint not tied to one entry), `reason` says why and
    `checkpoint_size` names the checkpoint involved, if any. `detail` never holds content."""

    ok: bool
    start: int
    tree_size: int
    root: bytes
    checkpoints_verified: int
    signed_size: int
    reason: Reason | None = None
    first_broken_seq: int | None = None
    checkpoint_size: int | None = None
    detail: str = ""

    @property
    def unsigned_tail(self) -> int:
        """Entries after the largest verified checkpoint: intact but not yet signed."""
        return max(self.tree_size - self.signed_size, 0)

    def raise_for_problem(self) -> None:
        if not self.ok:
            assert self.reason is not None
            raise AuditVerificationError(
                self.reason.value, seq=self.first_broken_seq, detail=self.detail
            )


class _Peekable:
    __slots__ = ("_it", "_next")

    def __init__(self, items: Iterable[LogRecord]) -> None:
        self._it = iter(items)
        self._next: list[LogRecord] = []

    def __iter__(self) -> _Peekable:
        return self

    def __next__(self) -> LogRecord:
        return self._next.pop() if self._next else next(self._it)

    def peek(self) -> LogRecord | None:
        if not self._next:
            try:
                self._next.append(next(self._it))
            except StopIteration:
                return None
        return self._next[0]


def verify(
    records: Iterable[LogRecord],
    checkpoints: Iterable[str],
    verifier: Verifier,
    *,
    origin: str | None = None,
    anchor: Anchor | None = None,
    require_signed_tail: bool = False,
) -> VerificationReport:
    """Recompute leaf hashes, the chain and the tree over `records` (in seq order, starting at
    0 or at `anchor.size`) and check every signed checkpoint note against them.

    Names the first problem in seq order. Checkpoint notes that do not verify with
    `verifier` (or are for another `origin`) fail first, since nothing they say can be used.
    Entries after the last checkpoint are intact-but-unsigned; with
    `require_signed_tail` they are a failure (use after `checkpoint()` for a full audit).
    """
    start = anchor.size if anchor else 0
    frontier = Frontier()
    prev_chain = GENESIS_CHAIN

    def report(
        reason: Reason | None = None,
        seq: int | None = None,
        *,
        cp: int | None = None,
        detail: str = "",
        verified: int = 0,
        signed: int = 0,
    ) -> VerificationReport:
        return VerificationReport(
            ok=reason is None,
            start=start,
            tree_size=frontier.size,
            root=frontier.root(),
            checkpoints_verified=verified,
            signed_size=signed,
            reason=reason,
            first_broken_seq=seq,
            checkpoint_size=cp,
            detail=detail,
        )

    # 1. Open every checkpoint; a bad one is reported before anything else.
    opened: dict[int, set[bytes]] = {}
    for i, note in enumerate(checkpoints):
        try:
            cp = open_checkpoint(note, verifier, origin=origin)
        except AuditError as exc:
            detail = exc.detail if isinstance(exc, AuditVerificationError) else "unreadable"
            return report(Reason.BAD_SIGNATURE, detail=f"checkpoint #{i}: {detail}")
        opened.setdefault(cp.size, set()).add(cp.root)
    for size, roots in sorted(opened.items()):
        if len(roots) > 1:
            return report(
                Reason.CHECKPOINT_INCONSISTENT,
                cp=size,
                detail=f"two signed checkpoints of size {size} with different roots",
            )
    signed_roots = {size: next(iter(roots)) for size, roots in opened.items()}

    # 2. Start from the anchor of a pruned log, which must be a signed tree state.
    if anchor is not None:
        try:
            frontier = Frontier.from_bytes(anchor.size, anchor.frontier)
        except AuditError:
            return report(Reason.BAD_ANCHOR, anchor.size, detail="anchor frontier unreadable")
        if signed_roots.get(anchor.size) != frontier.root():
            return report(
                Reason.BAD_ANCHOR, anchor.size, detail="anchor does not match a signed checkpoint"
            )
        prev_chain = anchor.chain_hash
    elif signed_roots.get(0, EMPTY_ROOT) != EMPTY_ROOT:
        return report(
            Reason.CHECKPOINT_INCONSISTENT, cp=0, detail="a signed empty tree with a non-empty root"
        )
    # Checkpoints below a pruned log's start can no longer be checked against entries.
    pending = sorted(s for s in signed_roots if s > frontier.size)
    verified = 1 if frontier.size in signed_roots else 0
    signed = frontier.size if anchor is not None else 0
    # Checkpoint whose root disagreed; judged once we know whether a later one agrees.
    mismatch: tuple[int, int] | None = None  # (checkpoint size, first seq of its window)

    def root_problem() -> VerificationReport:
        assert mismatch is not None
        size, window = mismatch
        return report(
            Reason.ROOT_MISMATCH,
            window,
            cp=size,
            detail=(
                f"entries {window}..{size - 1} differ from the signed checkpoint of size {size}"
            ),
            verified=verified,
            signed=signed,
        )

    # 3. One streaming pass over the entries.
    expected = frontier.size
    it = _Peekable(records)
    pi = 0
    prune_ref = prune_reference(anchor.size) if anchor is not None else None
    prune_seen = anchor is None
    try:
        for rec in it:
            entry = rec.entry
            if not prune_seen and entry.reference == prune_ref:
                prune_seen = (entry.operation, entry.purpose) == (
                    Operation.ERASURE,
                    Purpose.RETENTION,
                )
            if entry.seq != expected:
                if mismatch:
                    return root_problem()
                nxt = it.peek()
                if entry.seq < expected or (nxt is not None and nxt.entry.seq == expected):
                    return report(
                        Reason.SEQ_REORDER,
                        expected,
                        detail=f"found seq {entry.seq} where seq {expected} belongs",
                        verified=verified,
                        signed=signed,
                    )
                return report(
                    Reason.SEQ_GAP,
                    expected,
                    detail=f"seq {expected}..{entry.seq - 1} missing",
                    verified=verified,
                    signed=signed,
                )
            try:
                leaf = leaf_hash(entry.canonical_bytes())
            except (AuditError, ValueError, TypeError):
                return report(Reason.MALFORMED, expected, verified=verified, signed=signed)
            if leaf != rec.leaf_hash:
                if mismatch:
                    return root_problem()
                return report(
                    Reason.LEAF_HASH_MISMATCH,
                    expected,
                    detail="entry content does not match its stored leaf hash",
                    verified=verified,
                    signed=signed,
                )
            prev_chain = chain_hash(prev_chain, leaf)
            if prev_chain != rec.chain_hash:
                if mismatch:
                    return root_problem()
                return report(
                    Reason.CHAIN_HASH_MISMATCH,
                    expected,
                    detail="stored chain hash does not follow from the previous entry",
                    verified=verified,
                    signed=signed,
                )
            frontier.append(leaf)
            expected += 1
            if pi < len(pending) and pending[pi] == expected:
                pi += 1
                if signed_roots[expected] == frontier.root():
                    if mismatch:
                        size, window = mismatch
                        return report(
                            Reason.CHECKPOINT_INCONSISTENT,
                            window,
                            cp=size,
                            detail=(
                                f"signed checkpoint of size {size} contradicts the signed "
                                f"checkpoint of size {expected}, which the entries match"
                            ),
                            verified=verified,
                            signed=signed,
                        )
                    verified += 1
                    signed = expected
                elif mismatch is None:
                    mismatch = (expected, signed)

    except AuditVerificationError as exc:  # a stored row the adapter could not decode
        if mismatch:
            return root_problem()
        seq = exc.seq if exc.seq is not None else expected
        return report(Reason.MALFORMED, seq, detail=exc.detail, verified=verified, signed=signed)

    if mismatch:
        return root_problem()
    if pi < len(pending):
        return report(
            Reason.TRUNCATED,
            expected,
            cp=pending[-1],
            detail=f"log ends at size {expected}; a checkpoint signs size {pending[-1]}",
            verified=verified,
            signed=signed,
        )
    if not prune_seen:
        return report(
            Reason.BAD_ANCHOR,
            start,
            detail=f"entries before {start} are gone without a retention entry saying so",
            verified=verified,
            signed=signed,
        )
    if require_signed_tail and expected > signed:
        return report(
            Reason.UNSIGNED_TAIL,
            signed,
            detail=f"entries {signed}..{expected - 1} are not covered by a signed checkpoint",
            verified=verified,
            signed=signed,
        )
    return report(verified=verified, signed=signed)


@contextmanager
def _closing(records: Iterator[LogRecord]) -> Iterator[Iterator[LogRecord]]:
    """Close a records iterator (a generator over a database cursor) even when the reader
    stops early, so no cursor outlives the call."""
    try:
        yield records
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()


class AuditLog(ABC):
    """The append-only audit log port.

    Contract:

    - `append` assigns the next seq, stamps the time from the log's clock, validates the
      entry (opaque ids, category counts, no content) and stores it with its leaf and chain
      hashes. When backed by the store it is atomic with the caller's transaction: the entry
      exists if and only if the caller's work commits. Appends from concurrent workers are
      serialised so seqs are dense and the chain is linear.
    - Entries are never updated or deleted, except by the retention of the log itself
      (`prune`), which removes a prefix up to a signed checkpoint and keeps that checkpoint
      and its frontier, so the remainder still verifies.
    - `checkpoint` signs the current tree head with the node key and stores it.
    - `verify` checks the whole stored log against the stored checkpoints (see `verify`).
    """

    origin: str

    @abstractmethod
    def append(
        self,
        *,
        actor: str,
        role: str,
        operation: Operation,
        purpose: Purpose,
        record_ids: Sequence[str],
        counts: Mapping[str, int] | None = None,
        reference: str | None = None,
    ) -> AuditEntry: ...

    @abstractmethod
    def records(self, *, since_seq: int = 0) -> Iterator[LogRecord]:
        """Stored records in seq order, from `since_seq` (or the first kept one)."""

    @abstractmethod
    def stored_checkpoints(self) -> list[StoredCheckpoint]:
        """All stored checkpoints, by tree size."""

    @abstractmethod
    def anchor(self) -> Anchor | None:
        """Where the log starts after pruning; None if it was never pruned."""

    @abstractmethod
    def checkpoint(self, signer: Signer) -> str:
        """Sign and store the current tree head; return the signed note. If a checkpoint of
        the current size is stored already, return it unchanged."""

    @abstractmethod
    def prune(self, *, before: int, actor: str, role: str) -> AuditEntry:
        """Retention of the log itself: drop entries with seq < `before`, which must be the
        size of a stored checkpoint, and append an erasure entry saying how many went."""

    @abstractmethod
    def size(self) -> int:
        """Number of entries ever appended (the tree size), pruned ones included."""

    def entries(
        self,
        *,
        since_seq: int = 0,
        until_seq: int | None = None,
        actor: str | None = None,
        operation: Operation | None = None,
        purpose: Purpose | None = None,
        record_id: str | None = None,
        reference: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[AuditEntry]:
        """Entries matching every given filter (`until_seq` and `end` are exclusive)."""
        out: list[AuditEntry] = []
        with _closing(self.records(since_seq=since_seq)) as records:
            for rec in records:
                e = rec.entry
                if until_seq is not None and e.seq >= until_seq:
                    break
                if (
                    (actor is None or e.actor == actor)
                    and (operation is None or e.operation == operation)
                    and (purpose is None or e.purpose == purpose)
                    and (record_id is None or record_id in e.record_ids)
                    and (reference is None or e.reference == reference)
                    and (start is None or e.at >= start)
                    and (end is None or e.at < end)
                ):
                    out.append(e)
        return out

    def verify(
        self,
        verifier: Verifier,
        *,
        require_signed_tail: bool = False,
        kept_checkpoints: Sequence[str] = (),
    ) -> VerificationReport:
        """Verify the stored log against its stored checkpoints and `kept_checkpoints`
        (signed notes held outside the database, e.g. the DPO's exported file: the log must
        still extend every one of them)."""
        notes = [c.note for c in self.stored_checkpoints()] + list(kept_checkpoints)
        anchor = self.anchor()
        with _closing(self.records()) as records:
            return verify(
                records,
                notes,
                verifier,
                origin=self.origin,
                anchor=anchor,
                require_signed_tail=require_signed_tail,
            )

    def _leaf_hashes(self, size: int) -> list[bytes]:
        if self.anchor() is not None:
            raise AuditError(N_("proofs need the full log; this log was pruned"))
        with _closing(self.records()) as records:
            leaves = [r.leaf_hash for r in records if r.entry.seq < size]
        if len(leaves) != size:
            raise AuditError(N_("tree size larger than the log"))
        return leaves

    def inclusion_proof(self, *, seq: int, tree_size: int) -> list[bytes]:
        """RFC 6962 inclusion proof of entry `seq` in the tree of `tree_size` entries."""
        return inclusion_proof(self._leaf_hashes(tree_size), seq)

    def consistency_proof(self, *, old_size: int, new_size: int) -> list[bytes]:
        """RFC 6962 consistency proof between two tree sizes of this log."""
        return consistency_proof(self._leaf_hashes(new_size), old_size)


class InMemoryAuditLog(AuditLog):
    """The audit log in a list: the fake for unit tests of use cases, and the reference the
    SQL log is tested against. Not thread-safe (tests are single-threaded)."""

    def __init__(self, *, origin: str = "pnrguard.invalid/audit", clock: Clock = utc_now) -> None:
        self.origin = origin
        self._clock = clock
        self._records: list[LogRecord] = []
        self._checkpoints: list[StoredCheckpoint] = []
        self._anchor: Anchor | None = None
        self._frontier = Frontier()
        self._chain = GENESIS_CHAIN

    def append(
        self,
        *,
        actor: str,
        role: str,
        operation: Operation,
        purpose: Purpose,
        record_ids: Sequence[str],
        counts: Mapping[str, int] | None = None,
        reference: str | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            seq=self._frontier.size,
            at=self._clock(),
            actor=actor,
            role=role,
            operation=operation,
            purpose=purpose,
            record_ids=tuple(record_ids),
            counts=MappingProxyType(dict(counts or {})),
            reference=reference,
        )
        rec = LogRecord.make(entry, self._chain)
        self._records.append(rec)
        self._frontier.append(rec.leaf_hash)
        self._chain = rec.chain_hash
        return entry

    def records(self, *, since_seq: int = 0) -> Iterator[LogRecord]:
        first = self._anchor.size if self._anchor else 0
        return iter(self._records[max(since_seq - first, 0) :])

    def size(self) -> int:
        return self._frontier.size

    def stored_checkpoints(self) -> list[StoredCheckpoint]:
        return list(self._checkpoints)

    def anchor(self) -> Anchor | None:
        return self._anchor

    def checkpoint(self, signer: Signer) -> str:
        size = self._frontier.size
        for c in self._checkpoints:
            if c.tree_size == size:
                return c.note
        root = self._frontier.root()
        note = sign_checkpoint(Checkpoint(origin=self.origin, size=size, root=root), signer)
        self._checkpoints.append(
            StoredCheckpoint(
                tree_size=size,
                root=root,
                note=note,
                at=self._clock(),
                frontier=self._frontier.to_bytes(),
            )
        )
        return note

    def prune(self, *, before: int, actor: str, role: str) -> AuditEntry:
        cp = next((c for c in self._checkpoints if c.tree_size == before), None)
        if cp is None:
            raise ConflictError(N_("the log can only be pruned at a stored checkpoint"))
        first = self._anchor.size if self._anchor else 0
        if before < first:
            raise ConflictError(N_("the log is already pruned beyond that size"))
        drop = before - first
        if drop:
            chain = self._records[drop - 1].chain_hash
        else:
            chain = self._anchor.chain_hash if self._anchor else GENESIS_CHAIN
        self._records = self._records[drop:]
        self._anchor = Anchor(size=before, frontier=cp.frontier, chain_hash=chain)
        return self.append(
            actor=actor,
            role=role,
            operation=Operation.ERASURE,
            purpose=Purpose.RETENTION,
            record_ids=(),
            counts={"audit.entries": drop},
            reference=prune_reference(before),
        )


__all__ = [
    "GENESIS_CHAIN",
    "Anchor",
    "AuditLog",
    "InMemoryAuditLog",
    "LogRecord",
    "Reason",
    "StoredCheckpoint",
    "VerificationReport",
    "chain_hash",
    "prune_reference",
    "verify",
]
