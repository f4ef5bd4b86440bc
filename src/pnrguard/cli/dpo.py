"""`pnrguard dpo stats|access-report|approvals|audit`: the Data Protection Officer's tasks on
the command line (a thin shell over `service.dpo` and `service.rights`).

Tables by default, ``--format csv`` for scripts and for the supervisory authority. The
access report is JSON (the traveller's copy). Commands that reveal or change a traveller's
data (``access-report``, ``find``, ``rectify``, ``erase``, ``restrict``, ``unrestrict``)
need an authenticated account of role DPO (`cli.operator`: ``--user`` and a password from
a prompt, ``--password-stdin`` or ``PNRGUARD_OPERATOR_PASSWORD``) and are audited under
``<account>/os:<login>``; a masked booking is opened only under a decided unmasking
(``--unmasking REQUEST``, Art. 12(3)).

Exit codes: 0 done; 2 bad input; 3 a system error (database, key store, configuration);
4 refused (no such account, wrong password, wrong role).
"""

from __future__ import annotations

import datetime as dt
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.audit.models import Purpose
from pnrguard.cli.operator import PasswordStdinOpt, UserOpt, authenticate_operator
from pnrguard.errors import InputError, PnrguardError
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.dpo import (
    approvals as list_approvals,
)
from pnrguard.service.dpo import (
    approvals_csv,
    audit_csv,
    search_audit,
    statistics,
    statistics_csv,
    statistics_rows,
)
from pnrguard.service.rights import access_report as make_access_report
from pnrguard.service.subject_rights import RequestKind, record_request

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


DPO_ONLY = frozenset({Role.DPO})


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
) -> None:
    """The Art. 20 statistics for a period."""
    try:
        with Node.from_settings() as node:
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
    unmasking: Annotated[
        str | None, typer.Option("--unmasking", help="An approved unmasking request naming masked bookings.")
    ] = None,
    channel: Annotated[str, typer.Option("--channel", help="letter, email, ...")] = "letter",
    user: UserOpt = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """A traveller's access report (JSON on stdout): what is held, where it went."""
    try:
        with Node.from_settings() as node:
            op = authenticate_operator(
                node, user=user, password_stdin=password_stdin, roles=DPO_ONLY,
                purpose=Purpose.DATA_SUBJECT_REQUEST,
            )  # fmt: skip
            report = make_access_report(
                dpo=op.actor,
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
                unmasking_request_id=unmasking,
            )
            with node.engine.begin() as conn:
                record_request(
                    conn, kind=RequestKind.ACCESS, actor=op.actor, channel=channel, status="answered",
                    bookings=len(report.bookings), outcome="report" if report.bookings else "none_found",
                    now=node.clock.now(),
                )  # fmt: skip
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


# --- travellers' rights (cli/rights.py), registered on this group ---------------------------
from pnrguard.cli import rights as _rights  # noqa: E402 — the commands register after app exists

app.command("find")(_rights.find)
app.command("rectify")(_rights.rectify)
app.command("erase")(_rights.erase)
app.command("restrict")(_rights.restrict)
app.command("unrestrict")(_rights.unrestrict)
