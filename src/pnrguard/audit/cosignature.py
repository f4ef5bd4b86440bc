"""Witness cosignatures of checkpoints (C2SP tlog-cosignature, Ed25519 ``cosignature/v1``).

Why cosignatures: a node's own signature proves a checkpoint came from its key, not that
the node showed everybody the same history. A peer that cosigns only consistent
extensions of what it cosigned before (the witness, `pnrguard.audit.witness`) makes a
split view visible: two histories cannot both gather cosignatures from the same peer.

Format (c2sp.org/tlog-cosignature): a cosignature is a signed-note signature line

    — <cosigner name> base64(key id || u64 big-endian timestamp || Ed25519 signature)

with key id SHA-256(name || 0x0A || 0x04 || public key)[:4], over the message
``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's note body.

Which key a pnrguard node cosigns with: its Ed25519 node identity key, the one its peers
registered (fingerprint confirmed out of band) to verify its RFC 9421 signatures and its
checkpoints, under its node name. No second key to distribute, confirm and rotate;
the three uses cannot be confused because each signs a differently framed message (a
cosigned message starts with ``cosignature/v1``, which no checkpoint or RFC 9421
signature base can, and the algorithm byte 0x04 gives the cosignature its own key id).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pnrguard.audit.checkpoint import SIG_PREFIX, _b64decode, _split_note
from pnrguard.errors import N_, AuditError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "Cosigner",
    "CosignerKey",
    "cosignature_message",
    "valid_cosignatures",
]

ALG_COSIGNATURE_V1 = 0x04
_NAME = re.compile(r"[^\s+]+")
_MAX_TIMESTAMP = 2**63 - 1


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """The tlog-cosignature key id: SHA-256(name || 0x0A || 0x04 || key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key).digest()[
        :4
    ]


def cosignature_message(body: str, timestamp: int) -> bytes:
    """What a cosigner signs: the header line, the time line, then the checkpoint body."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise AuditError(N_("cosignature timestamp out of range"))
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True, slots=True)
class CosignerKey:
    """A witness's public key under its name (what a verifier of cosignatures holds)."""

    name: str
    public_key: Ed25519PublicKey

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise AuditError(N_("cosigner name must be non-empty, without spaces or '+'"))

    @property
    def key_id(self) -> bytes:
        return cosigner_key_id(self.name, _raw(self.public_key))

    @property
    def vkey(self) -> str:
        """The verifier key text ``<name>+<hex id>+<base64(0x04 || key)>``."""
        raw = bytes([ALG_COSIGNATURE_V1]) + _raw(self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode('ascii')}"

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignerKey:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise AuditError(N_("witness key must be <name>+<hex id>+<base64 key>"))
        name, hex_id, b64 = parts
        raw = _b64decode(b64, "witness key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise AuditError(N_("witness key is not an Ed25519 cosignature/v1 key"))
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id) or bytes.fromhex(hex_id) != cosigner_key_id(
            name, raw[1:]
        ):
            raise AuditError(N_("witness key id does not match its name and key"))
        return cls(name=name, public_key=Ed25519PublicKey.from_public_bytes(raw[1:]))

    def verify(self, body: str, blob: bytes) -> int | None:
        """The timestamp of a valid cosignature `blob` (key id || time || signature) on
        `body` by this key; None when it is not one."""
        if len(blob) != 4 + 8 + 64 or blob[:4] != self.key_id:
            return None
        ts = int.from_bytes(blob[4:12], "big")
        if ts > _MAX_TIMESTAMP:
            return None
        try:
            self.public_key.verify(blob[12:], cosignature_message(body, ts))
        except InvalidSignature:
            return None
        return ts


@dataclass(frozen=True, slots=True)
class Cosigner:
    """This node as a witness: its identity key under its node name."""

    name: str
    private_key: Ed25519PrivateKey

    def __repr__(self) -> str:  # never show key material
        return f"Cosigner(name={self.name!r})"

    def key(self) -> CosignerKey:
        return CosignerKey(name=self.name, public_key=self.private_key.public_key())

    def cosign(self, body: str, timestamp: int) -> str:
        """A cosignature line (ending in a newline) on a checkpoint body."""
        sig = self.private_key.sign(cosignature_message(body, timestamp))
        blob = self.key().key_id + timestamp.to_bytes(8, "big") + sig
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(blob).decode('ascii')}\n"


def signature_lines(text: str) -> list[tuple[str, bytes]]:
    """(name, blob) of each signature line in `text` (lines of a response body)."""
    out: list[tuple[str, bytes]] = []
    for line in text.splitlines():
        if not line.startswith(SIG_PREFIX):
            raise AuditError(N_("malformed signature line"))
        name, _, b64 = line[len(SIG_PREFIX) :].partition(" ")
        if not _NAME.fullmatch(name):
            raise AuditError(N_("malformed signature line"))
        out.append((name, _b64decode(b64, "signature")))
    return out


def valid_cosignatures(note: str, witnesses: Iterable[CosignerKey]) -> dict[str, int]:
    """Witness name -> timestamp of each valid cosignature in a signed note, for the given
    witness keys. Lines by other keys are ignored (signed-note rule); so is a line that
    names a known key but does not verify: it counts for nothing."""
    body, sigs = _split_note(note)
    by_id = {(w.name, w.key_id): w for w in witnesses}
    found: dict[str, int] = {}
    for name, kid, sig in sigs:
        w = by_id.get((name, kid))
        if w is None:
            continue
        ts = w.verify(body, kid + sig)
        if ts is not None:
            found[name] = ts
    return found
