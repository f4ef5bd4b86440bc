"""`pnrguard watchlist import|list`: list versions and the rescreen they trigger (thin shell
over `service.screening`, through `Node` from the composition root).

`import FILE --name NAME` stores the file as the next version of list NAME (the first
import also needs `--purpose`), prints the delta against the stored version and the summary
of the incremental rescreen of every stored traveller against the added and changed
entries. Re-importing an identical file stores nothing.

Exit codes: 0 done; 2 the file or the options are not acceptable (unreadable list, format
or purpose differing from the list's); 3 a system error (database, key store, settings).
"""

from __future__ import annotations

import getpass
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.audit.models import Purpose
from pnrguard.csvsafe import safe_writer
from pnrguard.errors import InputError, PnrguardError
from pnrguard.service.bootstrap import Node
from pnrguard.service.ingest import opaque
from pnrguard.service.screening import ImportResult, import_watchlist, list_watchlists

app = typer.Typer(
    name="watchlist",
    help="Import watchlists as versions (with incremental rescreen) and list them.",
    no_args_is_help=True,
    add_completion=False,
)

EXIT_INPUT = 2
EXIT_SYSTEM = 3
_err = Console(stderr=True)


class ListFormat(StrEnum):
    AUTO = "auto"
    CSV = "csv"
    OFAC = "ofac"
    UN = "un"
    EU = "eu"
    FTM = "ftm"


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"


def operator() -> str:
    """The audit actor for a command run by a person at the console."""
    try:
        return f"operator:{opaque(getpass.getuser())}"
    except (KeyError, OSError):  # no login name (containers)
        return "operator:unknown"


def fail(exc: Exception) -> typer.Exit:
    """A message and an exit code for an expected failure, never a traceback. SQLAlchemy
    errors can quote statement parameters: only their class is printed."""
    if isinstance(exc, InputError | PnrguardError) and exc.http_status < 500:
        _err.print(f"error: {exc}", markup=False, highlight=False)
        return typer.Exit(EXIT_INPUT)
    detail = str(exc) if isinstance(exc, PnrguardError) else type(exc).__name__
    _err.print(f"system error: {detail}", markup=False, highlight=False)
    return typer.Exit(EXIT_SYSTEM)


def _summary(result: ImportResult) -> Table:
    table = Table(title=f"watchlist {result.watchlist}", show_header=True)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("version", str(result.version))
    table.add_row("new version stored", "yes" if result.created else "no (nothing changed)")
    table.add_row("entries added", str(result.added))
    table.add_row("entries removed", str(result.removed))
    table.add_row("entries changed", str(result.changed))
    table.add_row("entries total", str(result.total))
    table.add_row("open hits withdrawn (removed entries)", str(result.withdrawn))
    r = result.rescreen
    if r is not None:
        table.add_section()
        table.add_row("rescreen: entries screened (delta)", str(r.entries))
        table.add_row("rescreen: bookings", str(r.bookings))
        table.add_row("rescreen: travellers", str(r.travellers))
        table.add_row("rescreen: new hits for review", str(r.hits_new))
        table.add_row("rescreen: open hits updated", str(r.hits_refreshed))
        table.add_row("rescreen: suppressed (Art. 12(5))", str(r.suppressed))
        table.add_row("rescreen: open hits withdrawn (changed entries)", str(r.withdrawn))
        table.add_row("rescreen: bookings unreadable", str(r.unreadable))
        table.add_row("rescreen: seconds", f"{r.seconds:.2f}")
    return table


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The list file.", show_default=False)],
    name: Annotated[str, typer.Option("--name", help="The list's name (a-z 0-9 . _ -).", show_default=False)],
    fmt: Annotated[
        ListFormat, typer.Option("--format", help="File format; auto detects it.")
    ] = ListFormat.AUTO,
    purpose: Annotated[
        Purpose | None,
        typer.Option(
            "--purpose", help="What the list is held for (required on first import).", show_default=False
        ),
    ] = None,
) -> None:
    """Import FILE as the next version of list NAME, then rescreen stored travellers."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        _err.print(f"error: {file}: cannot read file ({exc.strerror})", markup=False, highlight=False)
        raise typer.Exit(EXIT_INPUT) from None
    try:
        with Node.from_settings() as node:
            result = import_watchlist(
                data, name=name, fmt=fmt.value, purpose=purpose, filename=file.name,
                engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock,
                actor=operator(),
            )  # fmt: skip
    except (PnrguardError, SQLAlchemyError) as exc:
        raise fail(exc) from None
    Console().print(_summary(result))


@app.command("list")
def list_(
    output: Annotated[OutputFormat, typer.Option("--format", help="table or csv.")] = OutputFormat.TABLE,
) -> None:
    """Lists and their versions, newest version last."""
    try:
        with Node.from_settings() as node:
            lists = list_watchlists(engine=node.engine)
    except (PnrguardError, SQLAlchemyError) as exc:
        raise fail(exc) from None
    header = ["list", "format", "purpose", "version", "imported_at", "imported_by", "added", "removed",
              "changed", "total", "rescreened"]  # fmt: skip
    rows = [
        [
            wl.name,
            wl.format,
            wl.purpose.value,
            str(v.version),
            v.imported_at.isoformat(timespec="seconds"),
            v.imported_by,
            str(v.added),
            str(v.removed),
            str(v.changed),
            str(v.total),
            "yes" if v.rescreened_at else "pending",
        ]
        for wl, versions in lists
        for v in versions
    ]
    if output is OutputFormat.CSV:
        writer = safe_writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return
    table = Table(title="watchlists", show_header=True)
    numeric = {"version", "added", "removed", "changed", "total"}
    for column in header:
        table.add_column(column, justify="right" if column in numeric else "left")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
