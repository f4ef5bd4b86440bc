"""The tamper-evident audit log: entries (`models`), RFC 6962 hashing and proofs (`merkle`),
C2SP signed checkpoints (`checkpoint`), the `AuditLog` port, its in-memory fake and the
pure verifier (`log`). The SQL adapter is `pnrguard.store.audit.SqlAuditLog`; the operator
commands are `pnrguard audit ...`. Pure: no I/O, no imports from the shells."""

from pnrguard.audit.checkpoint import Checkpoint, Signer, Verifier
from pnrguard.audit.log import (
    AuditLog,
    InMemoryAuditLog,
    LogRecord,
    Reason,
    VerificationReport,
    verify,
)
from pnrguard.audit.models import AuditEntry, Operation, Purpose

__all__ = [
    "AuditEntry",
    "AuditLog",
    "Checkpoint",
    "InMemoryAuditLog",
    "LogRecord",
    "Operation",
    "Purpose",
    "Reason",
    "Signer",
    "VerificationReport",
    "Verifier",
    "verify",
]
