"""The checkpoint signer: signs the audit log's tree head only as a proven extension of the
last checkpoint it signed, which it keeps outside the database (`audit.signer_state`).

Why outside the database: see `pnrguard.audit.signer_state`. The file lives beside the key
store (`config.audit_state_path`), is replaced atomically (temporary file, fsync,
rename, fsync of the directory) and only after the database transaction that stored the
checkpoint row committed: a crash in between leaves the file one checkpoint behind, from
which the next one is still a consistent extension. A file lock serialises signers of
one host (the worker pool, `pnrguard audit checkpoint`).

A refusal is an alarm: it is logged at ERROR (reason code and seq, never content),
counted in `pnrguard_audit_checkpoint_refusals_total{reason}`, appended to the audit log as
a refusal (who: the node; why: system security) and raised as `CheckpointRefused`.

Upgrading a node that signed checkpoints before this file existed: `pnrguard audit
checkpoint --adopt` verifies the whole log against its stored checkpoints and, if it
verifies, takes the last stored checkpoint as the signer's state. Without the file, a node
whose database holds checkpoints refuses to sign (someone may have removed the file).
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import Counter
from sqlalchemy import select

from pnrguard.audit.checkpoint import Checkpoint, Signer, Verifier
from pnrguard.audit.merkle import Frontier
from pnrguard.audit.models import Operation, Purpose
from pnrguard.audit.signer_state import SignerState
from pnrguard.config import audit_state_path
from pnrguard.errors import N_, AuditError, AuditVerificationError
from pnrguard.service.bootstrap import Node
from pnrguard.store.audit import SqlAuditLog, audit_checkpoint

__all__ = [
    "REFUSALS",
    "CheckpointRefused",
    "SignResult",
    "adopt",
    "load_state",
    "sign",
]

log = logging.getLogger("pnrguard.audit")

#: Registered into each app's metrics registry by `web.metrics`.
REFUSALS = Counter(
    "pnrguard_audit_checkpoint_refusals",
    "Checkpoints the signer refused to sign (the log is not an extension of its last one)",
    ["reason"],
    registry=None,
)


class CheckpointRefused(AuditVerificationError):
    """The signer refused: the log is not a consistent extension of its last checkpoint."""

    code = "audit_checkpoint_refused"


class SignResult:
    """A signed checkpoint: the new state and the proof from the previous one."""

    __slots__ = ("previous", "proof", "state")

    def __init__(self, state: SignerState, previous: SignerState, proof: list[bytes]) -> None:
        self.state, self.previous, self.proof = state, previous, proof

    @property
    def note(self) -> str:
        return self.state.note


def _signer(node: Node) -> Signer:
    return Signer(name=node.settings.node_name, private_key=node.keystore.signing_key())


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def load_state(node: Node, verifier: Verifier | None = None) -> SignerState:
    """The signer's state file, checked against the node key; the empty state for a node
    that never signed. Raises `AuditVerificationError` when the file is missing while the
    database holds checkpoints, or when it does not verify."""
    s = node.settings
    path = audit_state_path(s)
    verifier = verifier or _signer(node).verifier()
    if not path.exists():
        with node.engine.connect() as conn:
            signed_before = conn.execute(select(audit_checkpoint.c.tree_size).limit(1)).first()
        if signed_before is not None:
            raise AuditVerificationError(
                "signer_state_missing",
                detail=(
                    "the database holds checkpoints but the signer's own record of its last one "
                    "is missing; if this node was just upgraded run `pnrguard audit checkpoint "
                    "--adopt`, otherwise investigate"
                ),
            )
        return SignerState.empty(s.node_name)
    try:
        return SignerState.from_json(path.read_text("utf-8"), verifier, origin=s.node_name)
    except AuditVerificationError:
        raise
    except AuditError as exc:
        raise AuditVerificationError("signer_state_unreadable", detail=str(exc)) from exc


def _alert(node: Node, exc: AuditVerificationError) -> CheckpointRefused:
    reason = exc.reason
    REFUSALS.labels(reason).inc()
    log.error(
        "audit_checkpoint_refused",
        extra={
            "fields": {"reason": reason, "seq": exc.seq if exc.seq is not None else "", "detail": exc.detail}
        },
    )
    try:
        with node.engine.begin() as conn:
            node.audit(conn).append(
                actor="system:audit-signer",
                role="system",
                operation=Operation.REFUSAL,
                purpose=Purpose.SYSTEM_SECURITY,
                record_ids=[],
                counts={f"audit.checkpoint.refused.{reason}": 1},
                reference=f"audit-seq:{exc.seq}" if exc.seq is not None else None,
            )
    except Exception:  # the alarm must not hide the refusal (the database may be the problem)
        log.error("audit_refusal_not_logged", extra={"fields": {"reason": reason}})
    return CheckpointRefused(reason, seq=exc.seq, detail=exc.detail)


def sign(node: Node) -> SignResult | None:
    """Sign the current tree head as an extension of the last checkpoint this node signed;
    None when nothing was appended since. Raises `CheckpointRefused` (after the alarm)."""
    path = audit_state_path(node.settings)
    signer = _signer(node)
    with _locked(path):
        try:
            previous = load_state(node, signer.verifier())
            with node.engine.begin() as conn:
                out = SqlAuditLog(conn, origin=node.settings.node_name, clock=node.clock).sign_extension(
                    signer, previous
                )
        except AuditVerificationError as exc:
            raise _alert(node, exc) from exc
        if out is None:
            return None
        state, proof = out
        _write_atomically(path, state.to_json())
    log.info("audit_checkpoint_signed", extra={"fields": {"size": state.size, "from": previous.size}})
    return SignResult(state, previous, proof)


def adopt(node: Node) -> SignerState:
    """Take the last stored checkpoint as the signer's state after verifying the whole log
    against every stored checkpoint (for nodes upgraded from before the state file). Refuses
    when the file exists already or the log does not verify."""
    path = audit_state_path(node.settings)
    signer = _signer(node)
    with _locked(path):
        if path.exists():
            raise AuditError(N_("the signer already keeps its state; nothing to adopt"))
        with node.engine.connect() as conn:
            sql = SqlAuditLog(conn, origin=node.settings.node_name)
            report = sql.verify(signer.verifier())
            report.raise_for_problem()
            stored = sql.stored_checkpoints()
            row = conn.execute(
                select(audit_checkpoint.c.chain_hash).order_by(audit_checkpoint.c.tree_size.desc()).limit(1)
            ).first()
        if not stored or row is None:
            state = SignerState.empty(node.settings.node_name)
        else:
            last = stored[-1]
            state = SignerState(
                last.note,
                Checkpoint(origin=node.settings.node_name, size=last.tree_size, root=last.root),
                Frontier.from_bytes(last.tree_size, last.frontier),
                bytes(row.chain_hash),
            )
            # Re-read through the checks a loaded state gets (signature, frontier, origin).
            state = SignerState.from_json(state.to_json(), signer.verifier(), origin=node.settings.node_name)
        _write_atomically(path, state.to_json())
    return state
