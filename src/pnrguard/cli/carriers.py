"""`pnrguard carriers add|list|revoke`: carrier credentials for the push API.

`add` prints the new token once: only its SHA-256 is stored, so a lost token cannot be
shown again; revoke it and add a new one. Revocation takes effect on every web process
within `PNRGUARD_GATEWAY_CREDENTIAL_TTL_SECONDS` (default 5 s).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pnrguard.csvsafe import safe_writer
from pnrguard.errors import InputError
from pnrguard.service.bootstrap import Node
from pnrguard.service.gateway import issue_credential, list_credentials, revoke_credential

app = typer.Typer(
    name="carriers",
    help="Issue, list and revoke carrier push credentials.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("add")
def add(
    carrier: Annotated[str, typer.Argument(help="IATA/ICAO carrier code, e.g. LH.")],
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
) -> None:
    """Issue a token for CARRIER and print it once."""
    with Node.from_settings() as node:
        try:
            cred, token = issue_credential(
                node.engine,
                carrier=carrier,
                senders=sender or (),
                designators=designator or (),
                clock=node.clock,
            )
        except InputError as exc:
            Console(stderr=True).print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    err = Console(stderr=True)
    err.print(
        f"credential {cred.id} for {cred.carrier} (senders: {', '.join(cred.senders)}; "
        f"writes bookings of: {', '.join(sorted(cred.scope))})"
    )
    err.print("the token below is shown once; give it to the carrier over a secure channel:")
    print(token)  # stdout carries only the token, for scripts


@app.command("list")
def list_(
    fmt: Annotated[str, typer.Option("--format", help="table or csv.")] = "table",
) -> None:
    """List credentials (never tokens)."""
    with Node.from_settings() as node:
        creds = list_credentials(node.engine)
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
def revoke(credential_id: Annotated[str, typer.Argument(help="Credential id from `carriers list`.")]) -> None:
    """Revoke a credential: its token stops working within seconds."""
    with Node.from_settings() as node:
        done = revoke_credential(node.engine, credential_id, clock=node.clock)
    if not done:
        Console(stderr=True).print("[red]no active credential with that id[/red]")
        raise typer.Exit(1)
    Console(stderr=True).print(f"revoked {credential_id}")
