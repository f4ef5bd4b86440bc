"""C2SP signed notes and checkpoints: the Go sumdb/note vector, then corruption probes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pnrguard.audit.checkpoint import (
    Checkpoint,
    Signer,
    Verifier,
    cosign,
    key_id,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from pnrguard.audit.merkle import EMPTY_ROOT
from pnrguard.errors import AuditError, AuditVerificationError

pytestmark = pytest.mark.unit

# golang.org/x/mod/sumdb/note: the package documentation's example (also in C2SP signed-note).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
GO_NOTE = GO_TEXT + "\n— PeterNeumann " + GO_SIG + "\n"
ROOT8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")


def go_signer() -> Signer:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert raw[0] == 0x01
    return Signer(name="PeterNeumann", private_key=Ed25519PrivateKey.from_private_bytes(raw[1:]))


def node_signer(seed: int = 7, name: str = "pnrguard.test/audit") -> Signer:
    return Signer(name=name, private_key=Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def test_go_vector_signs_byte_for_byte() -> None:
    signer = go_signer()
    assert signer.verifier().vkey == GO_VKEY
    assert signer.verifier().key_id.hex() == "c74f20a3"
    assert sign_note(GO_TEXT, signer) == GO_NOTE


def test_go_vector_opens_with_the_published_verifier_key() -> None:
    assert open_note(GO_NOTE, Verifier.from_vkey(GO_VKEY)) == GO_TEXT
    with pytest.raises(AuditVerificationError):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), Verifier.from_vkey(GO_VKEY))


def test_key_id_is_sha256_of_name_newline_alg_key() -> None:
    signer = node_signer()
    pub = signer.verifier()
    assert len(pub.key_id) == 4
    assert pub.key_id == key_id(signer.name, base64.b64decode(pub.vkey.split("+")[2])[1:])
    assert Verifier.from_vkey(pub.vkey).vkey == pub.vkey


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "name+c74f20a3",
        GO_VKEY.replace("c74f20a3", "c74f20a4"),  # key id does not match
        GO_VKEY.replace("PeterNeumann", "PeterNeuman"),  # name does not match the id
        GO_VKEY[:-4],  # truncated key
        "PeterNeumann+c74f20a3+AhpcQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong algorithm
    ],
)
def test_malformed_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(AuditError):
        Verifier.from_vkey(bad)


def test_checkpoint_body_is_origin_size_root() -> None:
    cp = Checkpoint(origin="pnrguard.test/audit", size=8, root=ROOT8)
    assert cp.body() == (
        "pnrguard.test/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    )
    assert Checkpoint.from_body(cp.body()) == cp


@pytest.mark.parametrize(
    "body",
    [
        "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",  # no final newline
        "o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",  # leading zero
        "o\n-1\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
        "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQy=\n",  # bad base64
        "o\n8\nXcna\n",  # short root
        "o\n8\n",
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str) -> None:
    with pytest.raises(AuditError):
        Checkpoint.from_body(body)


def test_checkpoint_signs_and_opens() -> None:
    signer = node_signer()
    note = sign_checkpoint(Checkpoint(origin=signer.name, size=0, root=EMPTY_ROOT), signer)
    cp = open_checkpoint(note, signer.verifier(), origin=signer.name)
    assert (cp.size, cp.root) == (0, EMPTY_ROOT)
    assert note.splitlines()[-1].startswith("— pnrguard.test/audit ")
    with pytest.raises(AuditVerificationError):
        open_checkpoint(note, signer.verifier(), origin="other.test/audit")


def test_every_bit_flip_of_a_signed_checkpoint_is_detected() -> None:
    signer = node_signer()
    note = sign_checkpoint(Checkpoint(origin=signer.name, size=8, root=ROOT8), signer)
    raw = note.encode("utf-8")
    for i in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[i // 8] ^= 1 << (i % 8)
        try:
            text = flipped.decode("utf-8")
        except UnicodeDecodeError:
            continue  # cannot even be handed over as text
        if text == note:  # pragma: no cover - a flip always changes the bytes
            continue
        with pytest.raises(AuditError):
            open_checkpoint(text, signer.verifier(), origin=signer.name)


def test_signatures_by_other_keys_are_ignored_but_one_node_signature_is_needed() -> None:
    node, witness = node_signer(1), node_signer(2, name="peer.test/witness")
    note = sign_checkpoint(Checkpoint(origin=node.name, size=8, root=ROOT8), node)
    both = cosign(note, witness)
    assert open_checkpoint(both, node.verifier()).size == 8
    assert open_checkpoint(both, witness.verifier()).size == 8
    only_witness = sign_checkpoint(Checkpoint(origin=node.name, size=8, root=ROOT8), witness)
    with pytest.raises(AuditVerificationError, match="no signature by the node key"):
        open_checkpoint(only_witness, node.verifier())


def test_a_forged_signature_under_the_node_name_is_refused() -> None:
    node, forger = node_signer(1), node_signer(3)  # same name, other key: other key id
    forged = sign_checkpoint(Checkpoint(origin=node.name, size=9, root=ROOT8), forger)
    with pytest.raises(AuditVerificationError):
        open_checkpoint(forged, node.verifier())
    good = sign_checkpoint(Checkpoint(origin=node.name, size=8, root=ROOT8), node)
    body, sig_line = good.split("\n\n")
    kid_sig = bytearray(base64.b64decode(sig_line.split(" ")[2]))
    kid_sig[10] ^= 1
    tampered = body + "\n\n— " + node.name + " " + base64.b64encode(kid_sig).decode() + "\n"
    with pytest.raises(AuditVerificationError, match="does not verify"):
        open_checkpoint(tampered, node.verifier())


def test_signer_repr_shows_no_key_material() -> None:
    signer = node_signer()
    assert "key_id=" in repr(signer)
    assert "private" not in repr(signer).lower()


def test_verifier_key_whose_base64_contains_a_plus() -> None:
    # transparency-dev/formats note tests: a type 0x01 key whose base64 contains "+".
    v = Verifier.from_vkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert (v.name, v.key_id.hex()) == ("TEST", "7997405c")
