"""`pnrguard audit verify|show|export|checkpoint|vkey`: the audit log for operators, the DPO
and the supervisory authority (a thin shell over `pnrguard.audit` and `store.audit`).

Exit codes: 0 the log verifies; 1 the log is tampered (the first broken seq and the reason
are printed on stderr); 2 the log could not be read (configuration, database, key).

The database and the node key come from the settings (`PNRGUARD_DATABASE_URL`,
`PNRGUARD_KEY_FILE`, `PNRGUARD_NODE_NAME`). `verify` needs only the public key: pass the
published verifier key with ``--vkey`` to check the log without the node's key file (what a
DPO or a court expert does); without it, the node's own key is used.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.audit.checkpoint import Signer, Verifier
from pnrguard.audit.cosignature import CosignerKey
from pnrguard.audit.export import CheckpointFile
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.config import Settings, load_settings
from pnrguard.csvsafe import safe_writer
from pnrguard.errors import PnrguardError
from pnrguard.protection.keystore import LocalKeyFileStore
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.db import make_engine
from pnrguard.store.witness import count_witnesses, export_file

app = typer.Typer(
    name="audit",
    help="Verify, show, export and checkpoint the tamper-evident audit log.",
    no_args_is_help=True,
    add_completion=False,
)

EXIT_TAMPERED = 1
EXIT_UNREADABLE = 2

_err = Console(stderr=True)


def _fail(message: str, code: int = EXIT_UNREADABLE) -> typer.Exit:
    _err.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(code)


def _signer(settings: Settings) -> Signer:
    """The node key from the key store, under the node name (the checkpoint origin)."""
    store = LocalKeyFileStore(settings.key_file)
    return Signer(name=settings.node_name, private_key=store.signing_key())


@contextmanager
def _log(*, write: bool = False) -> Iterator[tuple[SqlAuditLog, Settings]]:
    """The SQL audit log in one transaction (committed only when `write`)."""
    settings = load_settings()
    engine = make_engine(settings.database_url.get_secret_value())
    try:
        conn: Connection
        with engine.begin() if write else engine.connect() as conn:
            yield SqlAuditLog(conn, origin=settings.node_name), settings
    finally:
        engine.dispose()


@contextmanager
def _guard() -> Iterator[None]:
    """Turn expected failures into a message and exit code 2, never a traceback."""
    try:
        yield
    except PnrguardError as exc:
        raise _fail(f"error: {exc}") from exc
    except SQLAlchemyError as exc:
        raise _fail(f"error: the database could not be read ({type(exc).__name__})") from exc


@app.command()
def verify(
    vkey: Annotated[
        str | None,
        typer.Option("--vkey", help="Published verifier key <name>+<id>+<key> to check with."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Also fail when entries after the last checkpoint exist."),
    ] = False,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            help="A file of `audit export-checkpoints`: the log must extend every checkpoint in it.",
        ),
    ] = None,
    witnesses: Annotated[
        int,
        typer.Option(
            "--witnesses", min=0, help="The latest checkpoint needs at least N valid peer cosignatures."
        ),
    ] = 0,
    witness_key: Annotated[
        list[str] | None,
        typer.Option(
            "--witness-key",
            help="A witness key <name>+<id>+<key> to count (repeatable); default: the registered peers.",
        ),
    ] = None,
) -> None:
    """Recompute every hash and check every signed checkpoint; exit 1 on any tampering."""
    with _guard(), _log() as (log, settings):
        verifier = Verifier.from_vkey(vkey) if vkey else _signer(settings).verifier()
        kept = CheckpointFile.read(against, verifier=verifier, origin=log.origin) if against else None
        report = log.verify(
            verifier, require_signed_tail=strict, kept_checkpoints=kept.notes if kept else ()
        )
        witnessed: tuple[int, int, int] | None = None
        if witnesses:
            keys = [CosignerKey.from_vkey(v) for v in witness_key] if witness_key else None
            witnessed = count_witnesses(log, verifier, keys)
    if not report.ok:
        assert report.reason is not None
        where = (
            f"first broken seq {report.first_broken_seq}"
            if report.first_broken_seq is not None
            else "a checkpoint"
        )
        cp = f" (checkpoint of size {report.checkpoint_size})" if report.checkpoint_size else ""
        _err.print(
            f"[red]TAMPERED[/red]: {where}: {report.reason.value}{cp}"
            + (f": {report.detail}" if report.detail else ""),
            highlight=False,
        )
        raise typer.Exit(EXIT_TAMPERED)
    if witnessed is not None and witnessed[0] < witnesses:
        count, size, known = witnessed
        _err.print(
            f"[red]NOT WITNESSED[/red]: the latest checkpoint (size {size}) has {count} valid "
            f"cosignature(s) of {known} known witness(es); {witnesses} required",
            highlight=False,
        )
        raise typer.Exit(EXIT_TAMPERED)
    last = report.tree_size - 1
    span = f"seq {report.start}..{last}" if report.tree_size > report.start else "no entries"
    typer.echo(
        f"OK: {report.tree_size - report.start} entries ({span}), "
        f"{report.checkpoints_verified} checkpoints verified, signed up to size "
        f"{report.signed_size}, {report.unsigned_tail} not yet signed; "
        f"root {report.root.hex()}"
        + (f"; {witnessed[0]} witness cosignature(s) on size {witnessed[1]}" if witnessed else "")
    )


_COLUMNS = ("seq", "at", "actor", "role", "operation", "purpose", "record_ids", "counts", "reference")


def _row(e: AuditEntry) -> list[str]:
    return [
        str(e.seq),
        e.to_json_obj()["at"],
        e.actor,
        e.role,
        e.operation.value,
        e.purpose.value,
        " ".join(e.record_ids),
        " ".join(f"{k}={v}" for k, v in e.counts.items()),
        e.reference or "",
    ]


@app.command()
def show(
    since: Annotated[int, typer.Option("--since", min=0, help="First seq.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many entries.")] = 100,
    operation: Annotated[Operation | None, typer.Option("--operation")] = None,
    purpose: Annotated[Purpose | None, typer.Option("--purpose")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    record_id: Annotated[str | None, typer.Option("--record-id")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or csv.")] = "table",
) -> None:
    """List entries (a Rich table, or CSV for scripts)."""
    if fmt not in ("table", "csv"):
        raise typer.BadParameter("expected table or csv", param_hint="--format")
    with _guard(), _log() as (log, _):
        found = log.entries(
            since_seq=since,
            operation=operation,
            purpose=purpose,
            actor=actor,
            record_id=record_id,
        )[:limit]
    if fmt == "csv":
        writer = safe_writer(sys.stdout, lineterminator="\n")
        writer.writerow(_COLUMNS)
        writer.writerows(_row(e) for e in found)
        return
    table = Table(title=f"audit log ({len(found)} entries)")
    for col in _COLUMNS:
        table.add_column(col, overflow="fold", no_wrap=col in ("seq", "at"))
    for e in found:
        table.add_row(*_row(e))
    Console().print(table)


@app.command()
def export(
    output: Annotated[
        Path | None, typer.Option("--output", help="Write here instead of stdout.")
    ] = None,
    since: Annotated[int, typer.Option("--since", min=0, help="First seq.")] = 0,
) -> None:
    """Write the entries as JSON lines, each with its stored leaf and chain hash (hex)."""

    def lines(log: SqlAuditLog) -> Iterator[str]:
        for rec in log.records(since_seq=since):
            obj: dict[str, Any] = rec.entry.to_json_obj()
            obj["leaf_hash"] = rec.leaf_hash.hex()
            obj["chain_hash"] = rec.chain_hash.hex()
            yield json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"

    with _guard(), _log() as (log, _):
        if output is None:
            sys.stdout.writelines(lines(log))
        else:
            with output.open("w", encoding="utf-8") as f:
                f.writelines(lines(log))


@app.command()
def checkpoint(
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="Once, after upgrading: verify the log and take its last stored checkpoint as "
            "the signer's own record (the file beside the key store).",
        ),
    ] = False,
    witness: Annotated[
        bool, typer.Option("--witness/--no-witness", help="Ask the registered peers to cosign.")
    ] = True,
) -> None:
    """Sign the current tree head as a proven extension of the last checkpoint this node
    signed, store it, ask the peers to cosign it, and print the signed note. Exit 1 when the
    signer refuses (the log is not an extension of what it signed)."""
    from pnrguard.service import audit_signing
    from pnrguard.service.bootstrap import Node
    from pnrguard.service.witness import sign_and_witness

    with _guard(), Node.from_settings() as node:
        if adopt:
            state = audit_signing.adopt(node)
            _err.print(f"adopted the checkpoint of size {state.size}", highlight=False)
        try:
            if witness:
                outcomes = sign_and_witness(node)
            else:
                audit_signing.sign(node)
                outcomes = []
        except audit_signing.CheckpointRefused as exc:
            raise _fail(f"REFUSED: {exc}", EXIT_TAMPERED) from exc
        note = audit_signing.load_state(node).note
    for o in outcomes:
        _err.print(f"witness {o.peer}: {o.result}", highlight=False)
    typer.echo(note, nl=False)


@app.command("export-checkpoints")
def export_checkpoints(
    output: Annotated[Path, typer.Option("--output", help="The file to write (JSON).")],
    latest: Annotated[
        int | None,
        typer.Option(
            "--latest",
            min=1,
            help="Only the newest N checkpoints (the newest alone already binds all before it).",
        ),
    ] = None,
) -> None:
    """Write the signed checkpoints with the cosignatures the peers gave them, for the DPO
    or the supervisory authority to keep and later check with `verify --against`."""
    with _guard(), _log() as (log, settings):
        kept = export_file(log, _signer(settings).verifier(), latest=latest)
        output.write_text(kept.to_json(), encoding="utf-8")
    typer.echo(f"{len(kept.notes)} checkpoints written to {output}")


@app.command()
def vkey() -> None:
    """Print the node's verifier key, to publish for `pnrguard audit verify --vkey`."""
    with _guard():
        settings = load_settings()
        typer.echo(_signer(settings).verifier().vkey)


@app.command("witness-vkey")
def witness_vkey() -> None:
    """Print this node's witness (cosignature/v1) key, for auditors' `verify --witness-key`:
    the node identity key under the node name, with the cosignature algorithm byte."""
    with _guard():
        settings = load_settings()
        key = CosignerKey(name=settings.node_name, public_key=_signer(settings).private_key.public_key())
        typer.echo(key.vkey)
