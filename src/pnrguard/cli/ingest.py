"""`pnrguard ingest PATH...`: ingest carrier message files into this node (thin shell).

Paths are files or directories; directories are searched recursively for ``*.edi`` and
``*.txt``, in sorted order so that re-runs ingest in the same order. Each file is one
message (`service.ingest.ingest`, through `Node` from the composition root), audited with
the operator (``operator:<login>``) as actor.

Exit codes, decided so scripts can tell "the data had problems" from "the node has one":

- 0: every file was handled; quarantined messages are normal operations (the carrier sent
  something unreadable, it is kept encrypted for reprocessing) and show in the summary;
- 1: with ``--strict-exit`` only, when at least one message was quarantined;
- 2: a path could not be read (missing, permissions); the other files are still ingested;
- 3: a system error (database, key store, configuration) stopped the run.
"""

from __future__ import annotations

import getpass
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.errors import PnrguardError
from pnrguard.service.bootstrap import Node
from pnrguard.service.carrier_scope import unb_sender
from pnrguard.service.ingest import IngestStatus, opaque
from pnrguard.store.gateway import GatewayRepository

_SUFFIXES = {".edi", ".txt"}


def collect_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(files to ingest, paths that do not exist). Explicit files are taken whatever their
    suffix; directories contribute their ``*.edi`` / ``*.txt`` files recursively."""
    files: list[Path] = []
    missing: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            missing.append(p)
    return list(dict.fromkeys(files)), missing


def file_scope(engine: Engine, data: bytes) -> frozenset[str] | None:
    """The designators a file may write: those of the credentials that may push as its UNB
    sender. None when no credential names the sender (a host system or an archive the
    operator vouches for: `--carrier` then sets the scope explicitly)."""
    sender = unb_sender(data)
    with engine.connect() as conn:
        creds = GatewayRepository(conn).credentials(include_revoked=False)
    scope: set[str] = set()
    for c in creds:
        if sender in c.senders:
            scope |= c.scope
    return frozenset(scope) if scope else None


def _operator() -> str:
    try:
        return f"operator:{opaque(getpass.getuser())}"
    except (KeyError, OSError):  # no login name (containers)
        return "operator:unknown"


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Message files or directories.", show_default=False)],
    strict_exit: Annotated[
        bool, typer.Option("--strict-exit", help="Exit 1 if any message was quarantined.")
    ] = False,
    carrier: Annotated[
        list[str] | None,
        typer.Option(
            "--carrier",
            help="Airline designator the files may write (repeat). Default: the scope of the "
            "credentials registered for each file's UNB sender (none registered: unchecked).",
        ),
    ] = None,
) -> None:
    """Ingest PNRGOV / PAXLST files: parse, protect, store encrypted, audit. A file naming
    bookings of a carrier outside its scope is quarantined (docs/security.md)."""
    err = Console(stderr=True)
    files, missing = collect_files(paths)
    for p in missing:
        err.print(f"error: {p}: no such file or directory", markup=False, highlight=False)
    messages: Counter[str] = Counter()
    bookings: Counter[str] = Counter()
    unreadable = len(missing)
    actor = _operator()
    try:
        with Node.from_settings() as node, Progress(
            TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task("ingest", total=len(files))
            for path in files:
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    err.print(f"error: {path}: cannot read file ({exc.strerror})", markup=False)
                    unreadable += 1
                    progress.advance(task)
                    continue
                scope = (
                    frozenset(c.strip().upper() for c in carrier)
                    if carrier
                    else file_scope(node.engine, data)
                )
                result = node.ingest(data, source_name="file", actor=actor, carriers=scope)
                messages[result.status.value] += 1
                bookings["new"] += result.bookings_new
                bookings["new version"] += result.bookings_new_version
                bookings["duplicate"] += result.bookings_duplicate
                if result.status is IngestStatus.QUARANTINED:
                    err.print(
                        f"quarantined: {path} ({result.reason}); message {result.message_id}",
                        markup=False, highlight=False,
                    )  # fmt: skip
                progress.advance(task)
    except (PnrguardError, SQLAlchemyError) as exc:
        # SQLAlchemy errors can quote statement parameters: print the class only.
        detail = str(exc) if isinstance(exc, PnrguardError) else type(exc).__name__
        err.print(f"system error: {detail}", markup=False, highlight=False)
        raise typer.Exit(code=3) from None

    table = Table(title="ingest summary", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for status in IngestStatus:
        table.add_row(f"messages {status.value}", str(messages[status.value]))
    table.add_row("files unreadable", str(unreadable))
    for kind in ("new", "new version", "duplicate"):
        table.add_row(f"bookings {kind}", str(bookings[kind]))
    # Deletions of sensitive data are counted per carrier and day only (`pnrguard dpo stats`):
    # a count for one file could tell which categories its passengers had.
    Console().print(table)
    if unreadable:
        raise typer.Exit(code=2)
    if strict_exit and messages[IngestStatus.QUARANTINED.value]:
        raise typer.Exit(code=1)
