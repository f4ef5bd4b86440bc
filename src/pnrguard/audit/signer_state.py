"""The signer's memory outside the database: the last checkpoint it signed.

Why: a database administrator can rewrite every entry, every hash and every checkpoint row
of the log; the only thing he cannot forge is a new signature. If the signer trusted the
database to tell it what it signed last, it would sign his rewritten log a minute later.
So the signer keeps its last signed checkpoint beside the key store (where the key is,
out of the database administrator's reach) and signs a new tree head only when an RFC 6962
consistency proof shows the new tree extends that one.

The state is JSON: the signed note (checked against the node key on load), the compact
range (frontier) of the tree at that size, whose root must equal the signed root (so it
cannot be altered without breaking the signature's root), and the chain hash of the last
entry, which the signer compares with the database's row before going on.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from pnrguard.audit.checkpoint import Checkpoint, Verifier, open_checkpoint
from pnrguard.audit.log import GENESIS_CHAIN
from pnrguard.audit.merkle import HASH_SIZE, Frontier
from pnrguard.errors import N_, AuditError

__all__ = ["STATE_FORMAT", "SignerState"]

STATE_FORMAT = "pnrguard-audit-signer-state/1"


@dataclass(frozen=True, slots=True)
class SignerState:
    """The last checkpoint signed: its note, the tree's frontier and chain hash there."""

    note: str
    checkpoint: Checkpoint
    frontier: Frontier
    chain_hash: bytes

    @classmethod
    def empty(cls, origin: str) -> SignerState:
        """Before the first checkpoint: the empty tree (every log extends it)."""
        f = Frontier()
        return cls("", Checkpoint(origin=origin, size=0, root=f.root()), f, GENESIS_CHAIN)

    @property
    def size(self) -> int:
        return self.checkpoint.size

    def to_json(self) -> str:
        obj = {
            "format": STATE_FORMAT,
            "note": self.note,
            "frontier": base64.b64encode(self.frontier.to_bytes()).decode("ascii"),
            "chain_hash": self.chain_hash.hex(),
        }
        return json.dumps(obj, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, verifier: Verifier, *, origin: str) -> SignerState:
        """Read and check a state: signed by `verifier`, for `origin`, frontier matching the
        signed root. `AuditError` (or `AuditVerificationError`) when it is not."""
        try:
            obj: Any = json.loads(text)
            if not isinstance(obj, dict) or obj.get("format") != STATE_FORMAT:
                raise AuditError(N_("signer state has an unknown format"))
            note = obj["note"]
            frontier_raw = base64.b64decode(obj["frontier"], validate=True)
            chain = bytes.fromhex(obj["chain_hash"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise AuditError(N_("signer state is unreadable")) from exc
        cp = open_checkpoint(note, verifier, origin=origin)
        frontier = Frontier.from_bytes(cp.size, frontier_raw)
        if frontier.root() != cp.root or len(chain) != HASH_SIZE:
            raise AuditError(N_("signer state frontier does not match its signed root"))
        return cls(note, cp, frontier, chain)
