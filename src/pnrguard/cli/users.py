"""`pnrguard users add|list|disable`: workspace accounts, and the demo's users and hits.

A thin shell over `service.accounts`. A new person's password is generated and printed
once (or read from stdin with `--password-stdin`); it is never written anywhere else.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from pnrguard.audit.models import Purpose
from pnrguard.errors import PnrguardError
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.demo import claim_for_demo
from pnrguard.service.disclosure import add_authority, list_authorities
from pnrguard.service.screening import import_watchlist
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking

app = typer.Typer(help="Workspace accounts: people and machine identities.", no_args_is_help=True)


def _fail(exc: PnrguardError) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/] {exc}")
    return typer.Exit(2)


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name: 2-32 of a-z 0-9 . _ -")],
    role: Annotated[Role, typer.Option(help="The account's role.")],
    oidc_subject: Annotated[
        str | None, typer.Option(help='Log in through OIDC as "<issuer> <sub>" instead of a password.')
    ] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Add an account. A person without --oidc-subject gets a generated password, printed once."""
    password: str | None = None
    if role in accounts.HUMAN_ROLES and oidc_subject is None:
        password = sys.stdin.readline().rstrip("\n") if password_stdin else accounts.generate_password()
    with Node.from_settings() as node:
        try:
            acc = accounts.create_account(
                node.engine,
                username=username,
                role=role,
                password=password,
                oidc_subject=oidc_subject,
                now=node.clock(),
            )
        except PnrguardError as exc:
            raise _fail(exc) from None
    console = Console()
    console.print(f"added [bold]{acc.username}[/] ({acc.role.label})")
    if password and not password_stdin:
        console.print(f"password (shown once): [bold]{password}[/]")


@app.command("list")
def list_(
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
) -> None:
    """List accounts (never a password hash)."""
    with Node.from_settings() as node:
        rows = accounts.list_accounts(node.engine)
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["username", "role", "login", "disabled", "last_login_at"])
        for a in rows:
            login = "oidc" if a.oidc_subject else ("password" if a.is_human else "machine")
            w.writerow([a.username, a.role.value, login, a.disabled, a.last_login_at or ""])
        typer.echo(out.getvalue(), nl=False)
        return
    table = Table("username", "role", "login", "status", "last login (UTC)")
    for a in rows:
        login = "OIDC" if a.oidc_subject else ("password" if a.is_human else "machine")
        table.add_row(
            a.username,
            a.role.label,
            login,
            "disabled" if a.disabled else "enabled",
            f"{a.last_login_at:%Y-%m-%d %H:%M}" if a.last_login_at else "",
        )
    Console().print(table)


@app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="The account to disable.")]) -> None:
    """Disable an account and end its sessions at once."""
    with Node.from_settings() as node:
        try:
            accounts.set_disabled(node.engine, username)
        except PnrguardError as exc:
            raise _fail(exc) from None
    Console().print(f"disabled [bold]{username}[/]")


# --- the demo ------------------------------------------------------------------------------

DEMO_USERS = {
    "analyst": Role.ANALYST,
    "analyst2": Role.ANALYST,
    "supervisor": Role.SUPERVISOR,
    "dpo": Role.DPO,
    "judge": Role.JUDICIAL,
    "judge-senior": Role.JUDICIAL_SENIOR,
    "admin": Role.ADMIN,
}
DEMO_MACHINES = {"carrier-demo": Role.CARRIER, "peer-demo": Role.PEER}
DEMO_AUTHORITIES = (
    ("POLICE", "National Police, Counter-Terrorism Unit (demo)", "national"),
    ("CUSTOMS", "Customs Investigation Service (demo)", "national"),
    ("PIU-XX", "Passenger Information Unit of another member state (demo)", "piu"),
)
DEMO_LIST = "demo-watchlist"


def synthetic_watchlist(node: Node, *, people: int = 12) -> bytes:
    """A CSV watchlist of people drawn from the stored synthetic bookings (every other one
    with a typo in the name and no birth date, so the queue shows strong and weak matches).
    Synthetic traffic only: the demo never holds a real person."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["entity_id", "name", "aliases", "dob", "nationality", "documents"])
    with node.engine.connect() as conn:
        ids = list(
            conn.execute(
                select(booking.c.id)
                .where(booking.c.state == "active", booking.c.source == "PNR")
                .order_by(booking.c.id)
            ).scalars()
        )
        repo = BookingRepository(conn, node.keystore)
        step = max(1, len(ids) // max(people, 1))
        n = 0
        for bid in ids[::step]:
            if n >= people:
                break
            b = repo.get(bid)
            t = next((t for t in b.travellers if t.surname and t.given_names), None)
            if t is None:
                continue
            n += 1
            surname = t.surname if n % 2 else t.surname[:-1] + ("A" if t.surname[-1] != "A" else "E")
            dob = t.date_of_birth.isoformat() if t.date_of_birth and n % 2 else ""
            w.writerow([f"DEMO-{n:03d}", f"{t.given_names} {surname}", "", dob, t.nationality, ""])
    return out.getvalue().encode("utf-8")


def seed_demo(node: Node, console: Console | None = None) -> dict[str, str]:
    """Demo users (one per role, fresh passwords printed), competent authorities, and hits
    (a synthetic watchlist, unless screening already produced some). Idempotent."""
    console = console or Console()
    claim_for_demo(node.engine, clock=node.clock)  # raises on a database with real data
    now = node.clock()
    passwords: dict[str, str] = {}
    for username, role in DEMO_USERS.items():
        password = accounts.generate_password()
        try:
            accounts.create_account(node.engine, username=username, role=role, password=password, now=now)
        except PnrguardError:
            accounts.set_password(node.engine, username, password)
        passwords[username] = password
    for username, role in DEMO_MACHINES.items():
        with contextlib.suppress(PnrguardError):
            accounts.create_account(node.engine, username=username, role=role, now=now)
    known = {a.code for a in list_authorities(node.engine)}
    for code, name, kind in DEMO_AUTHORITIES:
        if code not in known:
            add_authority(node.engine, code=code, name=name, kind=kind, now=now)
    with node.engine.connect() as conn:
        hits = conn.execute(select(func.count()).select_from(hit)).scalar_one()
    if not hits:
        import_watchlist(
            synthetic_watchlist(node),
            name=DEMO_LIST,
            fmt="csv",
            purpose=Purpose.TERRORIST_OFFENCES,
            engine=node.engine,
            keystore=node.keystore,
            audit=node.audit,
            clock=node.clock,
            actor="demo",
            role="admin",
        )
    table = Table("username", "role", "password (this run)", title="demo users")
    for username, password in passwords.items():
        table.add_row(username, DEMO_USERS[username].label, password)
    console.print(table)
    with node.engine.connect() as conn:
        waiting = select(func.count()).select_from(hit).where(hit.c.status == "open")
        open_hits = conn.execute(waiting).scalar_one()
    console.print(f"hits waiting for review: {open_hits} (log in as analyst)")
    return passwords
