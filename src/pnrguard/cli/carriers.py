"""`pnrguard carriers add|list|rotate|revoke|quality`: carrier credentials for the push API,
and what each carrier sent how well (the data-quality report, numbers only).

`add` and `rotate` print the new token once: only its SHA-256 is stored, so a lost token
cannot be shown again; rotate it (or revoke it and add a new one). Revocation takes effect
on every web process within `PNRGUARD_GATEWAY_CREDENTIAL_TTL_SECONDS` (default 5 s).

Why `--as`: issuing, rotating and revoking go through `service.carrier_admin`, the same
functions as `/admin/carriers`, so the command line is audited exactly like the web (an
*alteration* naming the administrator and the credential id, never the token) and only an
administrator, proven by their TOTP code, may do it.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from pnrguard.cli.users import AsOption, CodeOption, _actor, _fail
from pnrguard.csvsafe import safe_writer
from pnrguard.errors import PnrguardError
from pnrguard.service import carrier_admin
from pnrguard.service.accounts import Account
from pnrguard.service.bootstrap import Node
from pnrguard.service.quality import csv_rows, quality_report
from pnrguard.store.gateway import Credential

app = typer.Typer(
    name="carriers",
    help="Issue, list and revoke carrier push credentials; report carrier data quality.",
    no_args_is_help=True,
    add_completion=False,
)


CredentialArg = Annotated[str, typer.Argument(help="Credential id from `carriers list`.")]
T = TypeVar("T")


def _as_admin(acting: str, code: str | None, change: Callable[[Node, Account], T]) -> T:
    """Run one credential change as the acting person (proven by their TOTP code); the
    service refuses anyone but an administrator, and audits the change."""
    with Node.from_settings() as node:
        actor = _actor(node, acting, code)
        try:
            return change(node, actor)
        except PnrguardError as exc:
            raise _fail(exc) from None


def _print_token(cred: Credential, token: str) -> None:
    err = Console(stderr=True)
    err.print(
        f"credential {cred.id} for {cred.carrier} (senders: {', '.join(cred.senders)}; "
        f"writes bookings of: {', '.join(sorted(cred.scope))})"
    )
    err.print("the token below is shown once; give it to the carrier over a secure channel:")
    print(token)  # stdout carries only the token, for scripts


@app.command("add")
def add(
    carrier: Annotated[str, typer.Argument(help="IATA/ICAO carrier code, e.g. LH.")],
    acting: AsOption,
    sender: Annotated[
        list[str] | None,
        typer.Option("--sender", help="UNB sender id allowed (repeat; default: the carrier code)."),
    ] = None,
    designator: Annotated[
        list[str] | None,
        typer.Option(
            "--designator",
            help="Airline designator whose bookings it may write (repeat; default: the carrier code).",
        ),
    ] = None,
    code: CodeOption = None,
) -> None:
    """Issue a token for CARRIER and print it once (audited, like the workspace)."""
    cred, token = _as_admin(
        acting, code,
        lambda node, actor: carrier_admin.issue(
            node, actor=actor, carrier=carrier, senders=sender or (), designators=designator or ()
        ),
    )  # fmt: skip
    _print_token(cred, token)


@app.command("rotate")
def rotate(credential_id: CredentialArg, acting: AsOption, code: CodeOption = None) -> None:
    """A new token with the same scope; the old one is revoked (audited, like the workspace)."""
    cred, token = _as_admin(
        acting, code, lambda node, actor: carrier_admin.rotate(node, actor=actor, credential_id=credential_id)
    )
    Console(stderr=True).print(f"{credential_id} is revoked")
    _print_token(cred, token)


@app.command("list")
def list_(
    fmt: Annotated[str, typer.Option("--format", help="table or csv.")] = "table",
) -> None:
    """List credentials (never tokens)."""
    with Node.from_settings() as node:
        creds = carrier_admin.list_all(node)
    rows = [
        (c.id, c.carrier, " ".join(c.senders), c.created_at.isoformat(timespec="seconds"),
         c.revoked_at.isoformat(timespec="seconds") if c.revoked_at else "")
        for c in creds
    ]  # fmt: skip
    header = ("id", "carrier", "senders", "created", "revoked")
    if fmt == "csv":
        w = safe_writer(sys.stdout)
        w.writerow(header)
        w.writerows(rows)
        return
    table = Table(*header)
    table.columns[0].no_wrap = True
    for r in rows:
        table.add_row(*r)
    Console().print(table)


@app.command("revoke")
def revoke(credential_id: CredentialArg, acting: AsOption, code: CodeOption = None) -> None:
    """Revoke a credential: its token stops working within seconds (audited)."""
    done = _as_admin(
        acting, code, lambda node, actor: carrier_admin.revoke(node, actor=actor, credential_id=credential_id)
    )
    if not done:
        Console(stderr=True).print("[red]no active credential with that id[/red]")
        raise typer.Exit(1)
    Console(stderr=True).print(f"revoked {credential_id}")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.0f}%"


@app.command("quality")
def quality(
    since: Annotated[str, typer.Option("--since", help="First day (YYYY-MM-DD, UTC); default: a week.")] = "",
    until: Annotated[str, typer.Option("--until", help="Last day, inclusive; default today.")] = "",
    carrier: Annotated[
        list[str] | None, typer.Option("--carrier", help="Only this sender / carrier code (repeat).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or csv (every column).")] = "table",
) -> None:
    """Data quality per carrier and day: messages, bookings, pushes on the Art. 8(3)
    schedule, API and Annex I coverage, deviations, quarantine and refusals."""
    try:
        last = dt.date.fromisoformat(until) if until else None
        first = dt.date.fromisoformat(since) if since else None
    except ValueError:
        Console(stderr=True).print("[red]dates are YYYY-MM-DD[/red]")
        raise typer.Exit(2) from None
    with Node.from_settings() as node:
        today = node.clock.now().date()
        last = last or today
        first = first or last - dt.timedelta(days=6)
        report = quality_report(
            node.engine, since=first, until=last + dt.timedelta(days=1), carriers=carrier or None
        )
    if fmt == "csv":
        header, rows = csv_rows(report)
        w = safe_writer(sys.stdout)
        w.writerow(header)
        w.writerows(rows)
        return
    table = Table(
        "carrier", "day", "messages", "quarantined", "bookings", "travellers", "API",
        "on time", "early/between/late", "top deviations", "quarantine / refusals",
        title=f"Carrier data quality {first} to {last} (UTC days)",
    )  # fmt: skip
    for d in report:
        timing = f"{d.pushes.get('early', 0)}/{d.pushes.get('between', 0)}/{d.pushes.get('late', 0)}"
        top = ", ".join(f"{k} {n}" for k, n in sorted(d.deviations.items(), key=lambda kv: -kv[1])[:3])
        why = ", ".join(
            [f"{k} {n}" for k, n in sorted(d.quarantine_reasons.items())]
            + [f"refused:{k} {n}" for k, n in sorted(d.gateway_refusals.items())]
        )
        table.add_row(
            d.carrier, d.day.isoformat(), str(d.messages), str(d.quarantined), str(d.bookings),
            str(d.travellers), _pct(d.api_share), _pct(d.on_time_share), timing, top, why,
        )  # fmt: skip
    Console().print(table)
