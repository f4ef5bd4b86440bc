"""`pnrguard dpo stats|access-report|approvals|audit`: the Data Protection Officer's tasks on
the command line (a thin shell over `service.dpo` and `service.rights`).

Tables by default, ``--format csv`` for scripts and for the supervisory authority. The
access report is JSON (the traveller's copy); producing it is audited under the DPO's name.

Exit codes: 0 done; 2 bad input; 3 a system error (database, key store, configuration).
"""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.errors import InputError, PnrguardError
from pnrguard.service.bootstrap import Node
from pnrguard.service.dpo import (
    approvals as list_approvals,
)
from pnrguard.service.dpo import (
    approvals_csv,
    audit_csv,
    backfill_traveller_counts,
    search_audit,
    statistics,
    statistics_csv,
    statistics_rows,
)
from pnrguard.service.ingest import opaque
from pnrguard.service.rights import access_report as make_access_report

app = typer.Typer(
    name="dpo",
    help="The DPO's view: Art. 20 statistics, access reports, unmasking approvals, audit search.",
    no_args_is_help=True,
    add_completion=False,
)

_err = Console(stderr=True)


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"


FormatOpt = Annotated[Format, typer.Option("--format", help="table or csv.")]


def _dpo(name: str | None) -> str:
    if name:
        return f"dpo:{opaque(name)}"
    try:
        return f"dpo:{opaque(getpass.getuser())}"
    except (KeyError, OSError):
        return "dpo:unknown"


def _fail(exc: Exception) -> typer.Exit:
    if isinstance(exc, InputError | ValueError):
        _err.print(f"error: {exc}", markup=False, highlight=False)
        return typer.Exit(code=2)
    detail = str(exc) if isinstance(exc, PnrguardError) else type(exc).__name__
    _err.print(f"system error: {detail}", markup=False, highlight=False)
    return typer.Exit(code=3)


def _day(text: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)


@app.command()
def stats(
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD), inclusive.")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD), exclusive.")],
    fmt: FormatOpt = Format.TABLE,
    backfill: Annotated[
        bool, typer.Option("--backfill/--no-backfill", help="First count travellers of older bookings.")
    ] = True,
) -> None:
    """The Art. 20 statistics for a period."""
    try:
        with Node.from_settings() as node:
            if backfill:
                backfill_traveller_counts(engine=node.engine, keystore=node.keystore, audit=node.audit)
            report = statistics(node.engine, start=_day(start), end=_day(end))
    except (PnrguardError, SQLAlchemyError, ValueError) as exc:
        raise _fail(exc) from None
    if fmt is Format.CSV:
        sys.stdout.write(statistics_csv(report))
        return
    t = Table(title=f"Art. 20 statistics {start} .. {end}")
    for col in ("section", "key", "value"):
        t.add_column(col, justify="right" if col == "value" else "left")
    for section, key, value in statistics_rows(report):
        t.add_row(section, key, f"{value:,}" if isinstance(value, int) else value)  # "<5" stays
    Console().print(t)


@app.command("access-report")
def access_report(
    surname: Annotated[str, typer.Option("--surname", help="The traveller's surname.")],
    carrier: Annotated[str | None, typer.Option("--carrier")] = None,
    locator: Annotated[str | None, typer.Option("--locator")] = None,
    booking_id: Annotated[list[str] | None, typer.Option("--booking-id", help="Repeatable.")] = None,
    date_of_birth: Annotated[str | None, typer.Option("--dob", help="YYYY-MM-DD, narrows the match.")] = None,
    dpo: Annotated[str | None, typer.Option("--dpo", help="The DPO's user id (default: login).")] = None,
) -> None:
    """A traveller's access report (JSON on stdout): what is held, where it went."""
    try:
        with Node.from_settings() as node:
            report = make_access_report(
                dpo=_dpo(dpo),
                surname=surname,
                engine=node.engine,
                keystore=node.keystore,
                audit=node.audit,
                clock=node.clock,
                origin=node.settings.node_name,
                date_of_birth=dt.date.fromisoformat(date_of_birth) if date_of_birth else None,
                booking_ids=booking_id or (),
                carrier=carrier,
                locator=locator,
            )
    except (PnrguardError, SQLAlchemyError, ValueError) as exc:
        raise _fail(exc) from None
    sys.stdout.write(report.to_json() + "\n")


@app.command()
def approvals(
    fmt: FormatOpt = Format.TABLE,
    status: Annotated[str | None, typer.Option("--status", help="pending, approved or rejected.")] = None,
) -> None:
    """Every unmasking request, its judicial decision and the views made under it."""
    try:
        with Node.from_settings() as node:
            records = list_approvals(node.engine, status=status)
    except (PnrguardError, SQLAlchemyError) as exc:
        raise _fail(exc) from None
    if fmt is Format.CSV:
        sys.stdout.write(approvals_csv(records))
        return
    t = Table(title="unmasking requests and approvals")
    for col in ("request", "requested", "requester", "purpose", "case", "level", "status", "judge", "views"):
        t.add_column(col)
    for a in records:
        t.add_row(
            a.request_id,
            a.requested_at.isoformat(timespec="minutes"),
            a.requester,
            a.purpose,
            a.case_reference,
            a.level,
            a.status,
            a.judge or "-",
            str(a.views),
        )
    Console().print(t)


@app.command()
def audit(
    operation: Annotated[str | None, typer.Option("--operation")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    record_id: Annotated[str | None, typer.Option("--record-id")] = None,
    start: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD, inclusive.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD, exclusive.")] = None,
) -> None:
    """Search the audit log; CSV on stdout (ids and counts only)."""
    try:
        with Node.from_settings() as node:
            entries = search_audit(
                node.engine,
                origin=node.settings.node_name,
                operation=operation,
                purpose=purpose,
                actor=actor,
                record_id=record_id,
                start=_day(start) if start else None,
                end=_day(end) if end else None,
            )
    except (PnrguardError, SQLAlchemyError, ValueError) as exc:
        raise _fail(exc) from None
    sys.stdout.write(audit_csv(entries))
