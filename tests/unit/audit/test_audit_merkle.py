"""RFC 6962 Merkle hashing: published vectors, then properties against a brute-force MTH."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnrguard.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from pnrguard.errors import AuditError

pytestmark = pytest.mark.unit

# The RFC 6962 vectors used by Certificate Transparency implementations
# (google/certificate-transparency merkle_tree_test.cc, transparency-dev/merkle testonly).
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]  # fmt: skip
ROOTS = [
    bytes.fromhex(h)
    for h in [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
INCLUSION = [  # (leaf index, tree size, audit path)
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
LEAF_HASHES = [leaf_hash(d) for d in LEAVES]


def mth(data: list[bytes]) -> bytes:
    """RFC 6962 §2.1 taken literally, on leaf data: the reference for the fast code."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(data[:k]) + mth(data[k:])).digest()


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == mth([])
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("n", range(1, 9))
def test_published_roots(n: int) -> None:
    assert root(LEAF_HASHES[:n]) == ROOTS[n - 1]
    assert mth(LEAVES[:n]) == ROOTS[n - 1]


def test_frontier_gives_every_published_root_while_growing() -> None:
    f = Frontier()
    for n, h in enumerate(LEAF_HASHES, start=1):
        f.append(h)
        assert f.size == n
        assert f.root() == ROOTS[n - 1]
        assert len(f.hashes) == n.bit_count()


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_published_inclusion_proofs(index: int, size: int, path: list[str]) -> None:
    proof = inclusion_proof(LEAF_HASHES[:size], index)
    assert [p.hex() for p in proof] == path
    assert verify_inclusion(
        index=index, size=size, leaf=LEAF_HASHES[index], proof=proof, root=ROOTS[size - 1]
    )


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_published_consistency_proofs(old: int, new: int, path: list[str]) -> None:
    proof = consistency_proof(LEAF_HASHES[:new], old)
    assert [p.hex() for p in proof] == path
    assert verify_consistency(
        old_size=old, new_size=new, old_root=ROOTS[old - 1], new_root=ROOTS[new - 1], proof=proof
    )


def test_frontier_round_trips_through_bytes() -> None:
    f = Frontier()
    for h in LEAF_HASHES[:7]:
        f.append(h)
    g = Frontier.from_bytes(7, f.to_bytes())
    assert g.root() == ROOTS[6]
    g.append(LEAF_HASHES[7])
    assert g.root() == ROOTS[7]
    with pytest.raises(AuditError):
        Frontier.from_bytes(8, f.to_bytes())


def test_proof_arguments_outside_the_tree_are_refused() -> None:
    with pytest.raises(AuditError):
        inclusion_proof(LEAF_HASHES[:3], 3)
    with pytest.raises(AuditError):
        consistency_proof(LEAF_HASHES[:3], 4)
    assert not verify_inclusion(index=3, size=3, leaf=LEAF_HASHES[0], proof=[], root=ROOTS[2])
    assert not verify_consistency(
        old_size=5, new_size=3, old_root=ROOTS[4], new_root=ROOTS[2], proof=[]
    )
    # The empty tree is a prefix of every tree; a non-empty proof for it is not accepted.
    assert verify_consistency(
        old_size=0, new_size=8, old_root=EMPTY_ROOT, new_root=ROOTS[7], proof=[]
    )
    assert not verify_consistency(
        old_size=0, new_size=8, old_root=EMPTY_ROOT, new_root=ROOTS[7], proof=[ROOTS[0]]
    )


def _flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def test_every_bit_flip_of_a_published_inclusion_proof_fails() -> None:
    index, size = 5, 8
    proof = inclusion_proof(LEAF_HASHES[:size], index)
    for j, element in enumerate(proof):
        for bit in range(256):
            bad = [*proof[:j], _flip(element, bit), *proof[j + 1 :]]
            assert not verify_inclusion(
                index=index, size=size, leaf=LEAF_HASHES[index], proof=bad, root=ROOTS[7]
            )
    for bit in range(256):
        assert not verify_inclusion(
            index=index, size=size, leaf=_flip(LEAF_HASHES[index], bit), proof=proof, root=ROOTS[7]
        )
    for wrong in (4, 6):
        assert not verify_inclusion(
            index=wrong, size=size, leaf=LEAF_HASHES[index], proof=proof, root=ROOTS[7]
        )
    assert not verify_inclusion(
        index=index, size=size, leaf=LEAF_HASHES[index], proof=proof[:-1], root=ROOTS[7]
    )
    assert not verify_inclusion(
        index=index, size=size, leaf=LEAF_HASHES[index], proof=[*proof, proof[0]], root=ROOTS[7]
    )


def test_every_bit_flip_of_a_published_consistency_proof_fails() -> None:
    proof = consistency_proof(LEAF_HASHES, 6)
    for j, element in enumerate(proof):
        for bit in range(256):
            bad = [*proof[:j], _flip(element, bit), *proof[j + 1 :]]
            assert not verify_consistency(
                old_size=6, new_size=8, old_root=ROOTS[5], new_root=ROOTS[7], proof=bad
            )
    # Rewind: a different old root of the same size is not consistent.
    assert not verify_consistency(
        old_size=6, new_size=8, old_root=ROOTS[4], new_root=ROOTS[7], proof=proof
    )
    assert not verify_consistency(
        old_size=6, new_size=8, old_root=ROOTS[5], new_root=ROOTS[7], proof=proof[:-1]
    )


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@settings(max_examples=60, deadline=None)
@given(leaf_lists)
def test_incremental_root_equals_recursive_mth_at_every_size(data: list[bytes]) -> None:
    f = Frontier()
    for n, d in enumerate(data, start=1):
        f.append(leaf_hash(d))
        assert f.root() == mth(data[:n])


@settings(max_examples=40, deadline=None)
@given(leaf_lists)
def test_inclusion_proof_verifies_for_every_index(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    r = mth(data)
    for i, h in enumerate(hashes):
        proof = inclusion_proof(hashes, i)
        assert verify_inclusion(index=i, size=len(data), leaf=h, proof=proof, root=r)
        other = node_hash(h, h)
        assert not verify_inclusion(index=i, size=len(data), leaf=other, proof=proof, root=r)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=4), min_size=1, max_size=40))
def test_consistency_proof_verifies_for_every_pair(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    roots = [mth(data[:n]) for n in range(len(data) + 1)]
    for n in range(1, len(data) + 1):
        for m in range(0, n + 1):
            proof = consistency_proof(hashes[:n], m)
            assert verify_consistency(
                old_size=m, new_size=n, old_root=roots[m], new_root=roots[n], proof=proof
            )
            if 0 < m < n:
                forged = node_hash(roots[m], roots[m])
                assert not verify_consistency(
                    old_size=m, new_size=n, old_root=forged, new_root=roots[n], proof=proof
                )
