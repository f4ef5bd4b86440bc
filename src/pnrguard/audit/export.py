"""The file of signed checkpoints a DPO or a supervisory authority keeps
(`pnrguard audit export-checkpoints`), and reads back for `audit verify --against`.

Why a file outside the node: whoever controls the node's database can delete checkpoint
rows; a copy held by someone else is a commitment the node cannot take back. Every
checkpoint in it must stay a prefix of the log for ever, and the cosignatures in it show
which peers saw the same history.

JSON: ``{"format": "pnrguard-checkpoints/1", "origin": ..., "vkey": ..., "checkpoints":
[<signed note with the node's signature and the peers' cosignature lines>, ...]}``. Each
note is a valid C2SP signed note: other tools verify it with the vkey and the witness keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pnrguard.audit.checkpoint import Verifier, open_checkpoint
from pnrguard.errors import N_, AuditError

__all__ = ["FILE_FORMAT", "CheckpointFile"]

FILE_FORMAT = "pnrguard-checkpoints/1"


@dataclass(frozen=True, slots=True)
class CheckpointFile:
    origin: str
    vkey: str
    notes: list[str]

    def to_json(self) -> str:
        obj = {"format": FILE_FORMAT, "origin": self.origin, "vkey": self.vkey, "checkpoints": self.notes}
        return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CheckpointFile:
        try:
            obj: Any = json.loads(text)
        except ValueError:
            raise AuditError(N_("checkpoint file is not JSON")) from None
        if (
            not isinstance(obj, dict)
            or obj.get("format") != FILE_FORMAT
            or not isinstance(obj.get("origin"), str)
            or not isinstance(obj.get("vkey"), str)
            or not isinstance(obj.get("checkpoints"), list)
            or not all(isinstance(n, str) for n in obj["checkpoints"])
        ):
            raise AuditError(N_("checkpoint file is not a %(FILE_FORMAT)s document"), FILE_FORMAT=FILE_FORMAT)
        return cls(origin=obj["origin"], vkey=obj["vkey"], notes=list(obj["checkpoints"]))

    @classmethod
    def read(cls, path: Path, *, verifier: Verifier, origin: str) -> CheckpointFile:
        """Read a file and check it is of this log and each note is signed by `verifier`
        (an `AuditVerificationError` otherwise: a file that does not verify proves nothing)."""
        try:
            text = path.read_text("utf-8")
        except OSError:
            raise AuditError(N_("the checkpoint file cannot be read")) from None
        kept = cls.from_json(text)
        if kept.origin != origin:
            raise AuditError(N_("the checkpoint file is of another log"))
        for note in kept.notes:
            open_checkpoint(note, verifier, origin=origin)
        return kept
