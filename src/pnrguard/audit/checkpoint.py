"""Signed checkpoints of the audit log in the C2SP formats (tlog-checkpoint, signed-note).

Why these formats: they are what the transparency-log ecosystem (Go's sumdb, Sigstore,
the C2SP witnesses) reads, so a DPO, a court expert or a peer PIU acting as a witness can
check our checkpoints with existing tools, and peer cosigning (DESIGN, "later") needs no new
format.

A checkpoint body is three lines: the log's *origin* (a schema-less URL-like name), the tree
size in decimal, the RFC 6962 root in standard base64; each ends in a newline. The signed
note is the body, an empty line, then one line per signature::

    — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>

The key id is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key) (0x01 is
the Ed25519 algorithm byte). A verifier key travels as the text
``<name>+<8 hex digits of key id>+<base64(0x01 || public key)>``.

The node's private key comes from the key store (not ours): `Signer` takes an
`Ed25519PrivateKey` object and never serialises it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pnrguard.audit.merkle import HASH_SIZE
from pnrguard.errors import N_, AuditError, AuditVerificationError

ALG_ED25519 = 0x01
SIG_PREFIX = "— "  # U+2014 EM DASH, then a space
_MAX_SIGNATURES = 100
_KEY_NAME = re.compile(r"[^\s+]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


def _b64decode(text: str, what: str) -> bytes:
    # Canonical only: unused trailing bits must be zero, so no two texts mean the same bytes.
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise AuditError(N_("%(what)s is not standard base64"), what=what) from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise AuditError(N_("%(what)s is not canonical base64"), what=what)
    return raw


def _check_key_name(name: str) -> str:
    if not _KEY_NAME.fullmatch(name):
        raise AuditError(N_("key name must be non-empty, without spaces or '+'"))
    return name


def key_id(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note key id of an Ed25519 key."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[
        :4
    ]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: the log `origin`, its `size` and `root`. `extensions` are any further
    body lines (C2SP allows them; we write none and keep those we read)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or self.origin != self.origin.strip():
            raise AuditError(N_("checkpoint origin must be one non-empty line"))
        if self.size < 0 or len(self.root) != HASH_SIZE:
            raise AuditError(N_("checkpoint size or root is invalid"))
        if any(not line or "\n" in line for line in self.extensions):
            raise AuditError(N_("checkpoint extension lines must be non-empty single lines"))

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(line + "\n" for line in (*lines, *self.extensions))

    @classmethod
    def from_body(cls, body: str) -> Checkpoint:
        if not body.endswith("\n"):
            raise AuditError(N_("checkpoint body must end with a newline"))
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise AuditError(N_("checkpoint body needs origin, size and root lines"))
        origin, size_text, root_text, *ext = lines
        if not _DECIMAL.fullmatch(size_text):
            raise AuditError(N_("checkpoint size is not a canonical decimal"))
        root = _b64decode(root_text, "checkpoint root")
        return cls(origin=origin, size=int(size_text), root=root, extensions=tuple(ext))


@dataclass(frozen=True, slots=True)
class Verifier:
    """A named Ed25519 public key that checks signed notes."""

    name: str
    public_key: Ed25519PublicKey

    def __post_init__(self) -> None:
        _check_key_name(self.name)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, _raw_public(self.public_key))

    @property
    def vkey(self) -> str:
        """The verifier key text `<name>+<hex id>+<base64(0x01||pub)>` to publish."""
        raw = bytes([ALG_ED25519]) + _raw_public(self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode('ascii')}"

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)  # base64 may contain "+"
        if len(parts) != 3:
            raise AuditError(N_("verifier key must be <name>+<hex id>+<base64 key>"))
        name, hex_id, b64 = parts
        raw = _b64decode(b64, "verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise AuditError(N_("verifier key is not an Ed25519 key"))
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id) or bytes.fromhex(hex_id) != key_id(
            name, raw[1:]
        ):
            raise AuditError(N_("verifier key id does not match its name and key"))
        return cls(name=_check_key_name(name), public_key=Ed25519PublicKey.from_public_bytes(raw[1:]))

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class Signer:
    """The node's signing key under a key name (usually the log origin)."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        _check_key_name(self.name)

    def __repr__(self) -> str:  # never show key material
        return f"Signer(name={self.name!r}, key_id={self.verifier().key_id.hex()})"

    def verifier(self) -> Verifier:
        return Verifier(name=self.name, public_key=self.private_key.public_key())

    def signature_line(self, body: str) -> str:
        sig = self.private_key.sign(body.encode("utf-8"))
        blob = base64.b64encode(self.verifier().key_id + sig).decode("ascii")
        return f"{SIG_PREFIX}{self.name} {blob}\n"


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """Split a signed note into its body and its (name, key id, signature) triples."""
    sep = note.rfind("\n\n")
    if sep < 0 or not note.endswith("\n"):
        raise AuditError(N_("signed note has no signature block"))
    body, block = note[: sep + 1], note[sep + 2 :]
    if any(ord(c) < 0x20 and c != "\n" for c in body):
        raise AuditError(N_("signed note body has control characters"))
    sigs: list[tuple[str, bytes, bytes]] = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise AuditError(N_("malformed signature line"))
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        raw = _b64decode(blob, "signature")
        if not _KEY_NAME.fullmatch(name) or len(raw) < 5:
            raise AuditError(N_("malformed signature line"))
        sigs.append((name, raw[:4], raw[4:]))
    if not sigs or len(sigs) > _MAX_SIGNATURES:
        raise AuditError(N_("signed note has no or too many signatures"))
    return body, sigs


def sign_note(text: str, signer: Signer) -> str:
    """Sign a note text (non-empty lines, ending in a newline) in the signed-note format."""
    if not text.endswith("\n") or "\n\n" in text or text.startswith("\n"):
        raise AuditError(N_("note text must be non-empty lines ending in a newline"))
    return text + "\n" + signer.signature_line(text)


def open_note(note: str, verifier: Verifier) -> str:
    """Verify a signed note and return its text.

    Per the signed-note spec, signatures by unknown keys are ignored; the note must carry a
    valid signature by `verifier`, and a signature that names `verifier`'s key but does not
    verify is rejected. Raises `AuditVerificationError` (reason ``bad_signature``) when the
    note does not verify, `AuditError` when it cannot be read.
    """
    body, sigs = _split_note(note)
    want_id = verifier.key_id
    verified = False
    for name, kid, sig in sigs:
        if name != verifier.name or kid != want_id:
            continue
        if not verifier.verify(body.encode("utf-8"), sig):
            raise AuditVerificationError("bad_signature", detail="signature does not verify")
        verified = True
    if not verified:
        raise AuditVerificationError("bad_signature", detail="no signature by the node key")
    return body


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note text of a checkpoint."""
    return sign_note(checkpoint.body(), signer)


def cosign(note: str, signer: Signer) -> str:
    """Add a signature to an existing signed note (e.g. a peer node witnessing ours)."""
    body, _ = _split_note(note)
    return note + signer.signature_line(body)


def open_checkpoint(note: str, verifier: Verifier, *, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint (see `open_note`) and return it; with `origin`, refuse a
    checkpoint of another log."""
    checkpoint = Checkpoint.from_body(open_note(note, verifier))
    if origin is not None and checkpoint.origin != origin:
        raise AuditVerificationError("bad_signature", detail="checkpoint is for another log")
    return checkpoint
