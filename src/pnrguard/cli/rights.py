"""`pnrguard dpo find|rectify|erase|restrict|unrestrict`: a traveller's rights on the command
line (LED Art. 14-16), a thin shell over `service.subject_rights` and `service.rights`.

The traveller is identified by surname and date of birth (``--surname``, ``--dob``,
optionally ``--given-names``); ``find`` lists their bookings, the other commands act on the
bookings named with ``--booking-id`` (default: every booking ``find`` returns). Each needs
an authenticated DPO account (`cli.operator`) and is audited under it and the OS user.
Exit codes as `cli.dpo`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.audit.models import Purpose
from pnrguard.cli.operator import Operator, PasswordStdinOpt, UserOpt, authenticate_operator
from pnrguard.errors import InputError, PnrguardError
from pnrguard.service import subject_rights as sr
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.rights import apply_rectification, reject_rectification, request_rectification
from pnrguard.store.tables import booking

_err = Console(stderr=True)
_DPO = frozenset({Role.DPO})

SurnameOpt = Annotated[str, typer.Option("--surname", help="The traveller's surname.")]
DobOpt = Annotated[str, typer.Option("--dob", help="The traveller's date of birth, YYYY-MM-DD.")]
GivenOpt = Annotated[str, typer.Option("--given-names", help="Narrows the match.")]
IdsOpt = Annotated[
    list[str] | None, typer.Option("--booking-id", help="Repeatable; default: every booking found.")
]
ChannelOpt = Annotated[str, typer.Option("--channel", help="How the request came: letter, email, ...")]


def _fail(exc: Exception) -> typer.Exit:
    if isinstance(exc, InputError | ValueError):
        _err.print(f"error: {exc}", markup=False, highlight=False)
        return typer.Exit(code=2)
    detail = str(exc) if isinstance(exc, PnrguardError) else type(exc).__name__
    _err.print(f"error: {detail}", markup=False, highlight=False)
    return typer.Exit(code=2 if isinstance(exc, PnrguardError) and exc.http_status < 500 else 3)


def _person(surname: str, dob: str, given: str) -> sr.Person:
    return sr.Person(surname=surname, date_of_birth=dt.date.fromisoformat(dob), given_names=given)


def _login(node: Node, user: str | None, password_stdin: bool) -> Operator:
    return authenticate_operator(
        node, user=user, password_stdin=password_stdin, roles=_DPO, purpose=Purpose.DATA_SUBJECT_REQUEST
    )


def _targets(node: Node, op: Operator, person: sr.Person, ids: list[str] | None) -> list[str]:
    if ids:
        return ids
    found = sr.lookup(
        dpo=op.actor, person=person, engine=node.engine, keystore=node.keystore, audit=node.audit,
        clock=node.clock,
    )  # fmt: skip
    if not found.matches:
        raise InputError("no active booking holds a traveller of that name and date of birth")
    return found.booking_ids


def find(
    surname: SurnameOpt,
    dob: DobOpt,
    given_names: GivenOpt = "",
    carrier: Annotated[str | None, typer.Option("--carrier")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First flight date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last flight date, YYYY-MM-DD.")] = None,
    user: UserOpt = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """List the bookings of a traveller found by name and date of birth (audited)."""
    try:
        with Node.from_settings() as node:
            op = _login(node, user, password_stdin)
            found = sr.lookup(
                dpo=op.actor, person=_person(surname, dob, given_names), engine=node.engine,
                keystore=node.keystore, audit=node.audit, clock=node.clock, carrier=carrier,
                flight_from=dt.date.fromisoformat(start) if start else None,
                flight_to=dt.date.fromisoformat(end) if end else None,
            )  # fmt: skip
            with node.engine.connect() as conn:
                rows = {
                    r.id: r
                    for r in conn.execute(select(booking).where(booking.c.id.in_(found.booking_ids)))
                }
    except (PnrguardError, SQLAlchemyError, ValueError) as exc:
        raise _fail(exc) from None
    t = Table(
        title=f"bookings found ({found.scanned} searched, {found.masked_not_searched} masked not searched)"
    )
    for col in ("booking", "carrier", "locator", "flight", "date", "restricted"):
        t.add_column(col)
    for m in found.matches:
        r = rows[m.booking_id]
        t.add_row(
            m.booking_id, r.carrier, r.locator, f"{r.flight_carrier}{r.flight_number}",
            str(r.flight_date or ""), "yes" if m.restricted else "",
        )  # fmt: skip
    Console().print(t)


def rectify(
    surname: SurnameOpt,
    dob: DobOpt,
    booking_id: Annotated[str, typer.Option("--booking-id")],
    field_path: Annotated[str, typer.Option("--field", help="e.g. travellers.0.surname")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the request).")],
    value: Annotated[str | None, typer.Option("--value", help="The corrected value.")] = None,
    reject: Annotated[bool, typer.Option("--reject", help="Refuse the correction, with --reason.")] = False,
    given_names: GivenOpt = "",
    channel: ChannelOpt = "letter",
    user: UserOpt = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Correct one field of a traveller's booking (a new version, through the sensitive
    filter), or refuse the correction."""
    if value is None and not reject:
        raise _fail(InputError("give --value, or --reject"))
    try:
        with Node.from_settings() as node:
            op = _login(node, user, password_stdin)
            person = _person(surname, dob, given_names)
            with node.engine.connect() as conn:
                sr.own_bookings(conn, node.keystore, person, [booking_id])
            rid = request_rectification(
                dpo=op.actor, booking_id=booking_id, field_path=field_path, channel=channel,
                engine=node.engine, clock=node.clock,
            )  # fmt: skip
            if reject:
                reject_rectification(
                    rid, dpo=op.actor, reason=reason, engine=node.engine, keystore=node.keystore,
                    clock=node.clock,
                )
                outcome = "rejected"
            else:
                assert value is not None
                apply_rectification(
                    rid, dpo=op.actor, value=value, reason=reason, engine=node.engine,
                    keystore=node.keystore, audit=node.audit, clock=node.clock,
                    sensitive_filter=node.sensitive_filter,
                )  # fmt: skip
                outcome = "applied"
            with node.engine.begin() as conn:
                sr.record_request(
                    conn, kind=sr.RequestKind.RECTIFICATION, actor=op.actor, channel=channel,
                    status="answered" if not reject else "refused", bookings=1, outcome=outcome,
                    now=node.clock.now(), request_id=rid,
                )  # fmt: skip
    except (PnrguardError, SQLAlchemyError, ValueError) as exc:
        raise _fail(exc) from None
    sys.stdout.write(json.dumps({"request_id": rid, "outcome": outcome}) + "\n")


def _act(
    action: str,
    surname: str,
    dob: str,
    given_names: str,
    booking_id: list[str] | None,
    channel: str,
    user: str | None,
    password_stdin: bool,
) -> None:
    fn = {"erase": sr.erase, "restrict": sr.restrict, "unrestrict": sr.lift_restriction}[action]
    try:
        with Node.from_settings() as node:
            op = _login(node, user, password_stdin)
            person = _person(surname, dob, given_names)
            answer = fn(
                dpo=op.actor, person=person, booking_ids=_targets(node, op, person, booking_id),
                channel=channel, engine=node.engine, keystore=node.keystore, audit=node.audit,
                clock=node.clock,
            )  # fmt: skip
    except (PnrguardError, SQLAlchemyError, ValueError) as exc:
        raise _fail(exc) from None
    sys.stdout.write(
        json.dumps(
            {
                "request_id": answer.request_id,
                "status": answer.status,
                "outcome": answer.outcome,
                "bookings": answer.booking_ids,
                "kept_linked": answer.kept_linked,
            }
        )
        + "\n"
    )


def erase(
    surname: SurnameOpt,
    dob: DobOpt,
    given_names: GivenOpt = "",
    booking_id: IdsOpt = None,
    channel: ChannelOpt = "letter",
    user: UserOpt = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Erase a traveller's data (LED Art. 16(2)): crypto-shred their own bookings, remove
    them from shared ones; bookings kept as evidence are listed, not erased."""
    _act("erase", surname, dob, given_names, booking_id, channel, user, password_stdin)


def restrict(
    surname: SurnameOpt,
    dob: DobOpt,
    given_names: GivenOpt = "",
    booking_id: IdsOpt = None,
    channel: ChannelOpt = "letter",
    user: UserOpt = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Restrict processing (LED Art. 16(3)): kept, but out of screening and search."""
    _act("restrict", surname, dob, given_names, booking_id, channel, user, password_stdin)


def unrestrict(
    surname: SurnameOpt,
    dob: DobOpt,
    given_names: GivenOpt = "",
    booking_id: IdsOpt = None,
    channel: ChannelOpt = "letter",
    user: UserOpt = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Lift a restriction of processing (after telling the traveller, LED Art. 16(4))."""
    _act("unrestrict", surname, dob, given_names, booking_id, channel, user, password_stdin)
