"""RFC 6962 Merkle tree hashing, proofs and an incremental root, for the audit log.

Why a Merkle tree and not only a hash chain: a signed tree head (checkpoint) commits to the
whole history in 32 bytes, and two proofs follow from it with a logarithmic number of
hashes: an *inclusion proof* shows one entry is in the log a DPO or a court holds a
checkpoint of, and a *consistency proof* shows a later checkpoint extends an earlier one
(the log was only appended to). Hashing follows RFC 6962 §2.1 (leaf prefix 0x00, node prefix
0x01, split at the largest power of two smaller than n), so the roots agree with
Certificate Transparency and the C2SP tlog tools. Proof generation follows RFC 6962
§2.1.1/§2.1.2; verification follows the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2,
which need only the sizes, the hashes and the proof.

`Frontier` keeps the compact range of a growing tree (the roots of its perfect subtrees,
one per set bit of the size), so appending costs O(log n) hashes and the root of any size
is O(log n) from it. Stored with a checkpoint, it also lets the log drop a prefix by
retention and still verify the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pnrguard.errors import N_, AuditError

HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string (RFC 6962 §2.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The compact range [0, size) of a Merkle tree: the roots of its perfect subtrees, largest
    (leftmost) first. Append is O(log n) amortised O(1); `root()` is O(log n)."""

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise AuditError(N_("frontier does not match its tree size"))
        if any(len(h) != HASH_SIZE for h in hashes):
            raise AuditError(N_("frontier hashes must be 32 bytes"))
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def copy(self) -> Frontier:
        return Frontier(self._size, self._hashes)

    def append(self, leaf: bytes) -> None:
        """Add a leaf *hash* (not data): merge the equal-sized subtrees it completes."""
        h = leaf
        size = self._size
        hashes = self._hashes
        while size & 1:
            h = _sha256(_NODE + hashes.pop() + h).digest()
            size >>= 1
        hashes.append(h)
        self._size += 1

    def root(self) -> bytes:
        """MTH of the leaves appended so far; equal to RFC 6962's recursive definition because
        the perfect subtrees are exactly the left-heavy splits of §2.1."""
        if not self._hashes:
            return EMPTY_ROOT
        r = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            r = _sha256(_NODE + h + r).digest()
        return r

    def to_bytes(self) -> bytes:
        """The concatenated subtree roots; the size is stored beside it (the checkpoint's)."""
        return b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> Frontier:
        if len(data) != HASH_SIZE * max(size, 0).bit_count():
            raise AuditError(N_("frontier does not match its tree size"))
        return cls(size, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes."""
    f = Frontier()
    for h in leaf_hashes:
        f.append(h)
    return f.root()


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 6962 §2.1.1, from the leaf upwards."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise AuditError(N_("leaf index outside the tree"))
    path: list[bytes] = []
    lo, hi, m = 0, n, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(root(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root(leaf_hashes[lo : lo + k]))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2 for m = old_size, n = len(leaf_hashes).

    Empty for m == n and for m == 0 (the empty tree is a prefix of every tree)."""
    n = len(leaf_hashes)
    if not 0 <= old_size <= n:
        raise AuditError(N_("old size outside the tree"))
    if old_size in (0, n):
        return []
    proof: list[bytes] = []
    lo, hi, m, complete = 0, n, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(root(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:
            proof.append(root(leaf_hashes[lo : lo + k]))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        proof.append(root(leaf_hashes[lo:hi]))
    proof.reverse()
    return proof


def verify_inclusion(
    *, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `leaf` (a leaf hash) sit at `index` of the tree `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    *,
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (old_size, old_root) a prefix of (new_size, new_root)?"""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def consistency_proof_from_frontier(old: Frontier, new_leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2 from the compact range of the old tree (m =
    `old.size`) and the leaf hashes appended since (n = m + len(new_leaves)).

    Why this works without the first m leaves: walking RFC 6962's recursion, every hash
    the proof takes left of m is one perfect subtree of the old tree's left-heavy
    decomposition (a frontier hash), and every other hash lies wholly in [m, n). So a
    signer that keeps only the frontier of what it last signed (outside the database) can
    prove that the tree it is about to sign extends it, reading only the new entries."""
    m = old.size
    n = m + len(new_leaves)
    if m in (0, n):
        return []
    spans: dict[tuple[int, int], bytes] = {}
    lo = 0
    for h in old.hashes:  # one perfect subtree per set bit of m, largest first
        size = 1 << ((m - lo).bit_length() - 1)
        spans[(lo, lo + size)] = h
        lo += size

    def mth(a: int, b: int) -> bytes:
        if a >= m:
            return root(new_leaves[a - m : b - m])
        found = spans.get((a, b))
        if found is None:  # pragma: no cover - impossible by the argument above
            raise AuditError(N_("consistency proof needs a hash the frontier does not hold"))
        return found

    proof: list[bytes] = []
    lo, hi, k_m, complete = 0, n, m, True
    while k_m != hi - lo:
        k = _split(hi - lo)
        if k_m <= k:
            proof.append(mth(lo + k, hi))
            hi = lo + k
        else:
            proof.append(mth(lo, lo + k))
            lo, k_m, complete = lo + k, k_m - k, False
    if not complete:
        proof.append(mth(lo, hi))
    proof.reverse()
    return proof
