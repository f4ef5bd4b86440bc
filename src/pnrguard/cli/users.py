"""`pnrguard users bootstrap|add|role|reset|pending|approve|refuse|list|disable|enable`:
workspace accounts under the two-person rule, and the demo's users and hits.

A thin shell over `service.account_admin`, with the workspace's rules: whoever acts names
their own account (`--as`) and proves it with their TOTP code; a person's account, role or
reset waits for a second person; no password is ever printed (enrolment links and codes).
"""

from __future__ import annotations

import contextlib
import io
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from pnrguard.audit.models import Purpose
from pnrguard.csvsafe import safe_writer
from pnrguard.errors import ForbiddenError, PnrguardError
from pnrguard.service import account_admin, accounts, totp
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.demo import claim_for_demo
from pnrguard.service.disclosure import add_authority, list_authorities
from pnrguard.service.screening import import_watchlist
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking

app = typer.Typer(help="Workspace accounts: people and machine identities.", no_args_is_help=True)

AsOption = Annotated[
    str, typer.Option("--as", help="Who acts: your own account (an administrator, or the DPO to approve).")
]
CodeOption = Annotated[
    str | None,
    typer.Option(
        "--code", envvar="PNRGUARD_OTP", help="Your current TOTP code (prompted for when not given)."
    ),
]
BaseUrl = Annotated[str, typer.Option(help="The workspace's address, for the enrolment link.")]
_BASE = "http://127.0.0.1:8000"


def _fail(exc: PnrguardError) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/] {exc}")
    return typer.Exit(2)


def _actor(node: Node, username: str, code: str | None) -> Account:
    """The acting person, proven by their second factor: the CLI follows the workspace's
    rules (docs/security.md); whoever runs it still has to be someone."""
    try:
        acc = accounts.get_account(node.engine, username)
    except PnrguardError as exc:
        raise _fail(exc) from None
    if code is None:
        code = typer.prompt(f"TOTP code of {username}", hide_input=True)
    ok = (
        acc.is_human
        and not acc.disabled
        and acc.approved
        and account_admin.verify_second_factor(
            node.engine, node.keystore, account=acc, code=code, now=node.clock()
        )
    )
    if not ok:
        raise _fail(ForbiddenError("the acting account's second-factor code is wrong or already used"))
    return acc


def _link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{account_admin.ENROL_PATH}/{token}"


@app.command("bootstrap")
def bootstrap(
    admin: Annotated[str, typer.Option(help="The first administrator's username.")],
    dpo: Annotated[str, typer.Option(help="The Data Protection Officer's username.")],
    base_url: BaseUrl = _BASE,
) -> None:
    """A fresh node's first administrator and DPO (refused once any person exists): each
    gets an enrolment link and code, printed once, to set their own password and TOTP."""
    with Node.from_settings() as node:
        try:
            links = account_admin.bootstrap(node.engine, node.audit, admin=admin, dpo=dpo, now=node.clock())
        except PnrguardError as exc:
            raise _fail(exc) from None
    console = Console(soft_wrap=True)
    for b in links:
        link = _link(base_url, b.link_token)
        console.print(f"{b.role.label} [bold]{b.username}[/]: enrol at {link} with code {b.code}")
    console.print(f"links expire in {account_admin.ENROL_VALIDITY.total_seconds() / 3600:g} h")


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name: 2-32 of a-z 0-9 . _ -")],
    role: Annotated[Role, typer.Option(help="The account's role.")],
    actor: AsOption,
    code: CodeOption = None,
    oidc_subject: Annotated[
        str | None, typer.Option(help='Log in through OIDC as "<issuer> <sub>" instead of a password.')
    ] = None,
    base_url: BaseUrl = _BASE,
) -> None:
    """Ask for an account. A person's waits for a second person (`users approve`); you get
    its enrolment link, the approver the code. No password is ever printed."""
    with Node.from_settings() as node:
        me = _actor(node, actor, code)
        try:
            done = account_admin.request_account(
                node.engine, node.audit, actor=me, username=username, role=role,
                oidc_subject=oidc_subject, now=node.clock(),
            )  # fmt: skip
        except PnrguardError as exc:
            raise _fail(exc) from None
    console = Console(soft_wrap=True)
    if done.change_id is None:
        console.print(f"added [bold]{done.account.username}[/] ({done.account.role.label})")
        return
    console.print(
        f"requested [bold]{done.account.username}[/] ({done.account.role.label}): change {done.change_id}"
    )
    console.print("it waits for a second person: pnrguard users approve CHANGE --as OTHER")
    if done.link_token:
        console.print(f"enrolment link for the person (shown once): {_link(base_url, done.link_token)}")


@app.command("role")
def role_(
    username: Annotated[str, typer.Argument(help="The account.")],
    role: Annotated[Role, typer.Option(help="The new role.")],
    actor: AsOption,
    code: CodeOption = None,
) -> None:
    """Ask to change a person's role (a second person approves)."""
    with Node.from_settings() as node:
        me = _actor(node, actor, code)
        try:
            done = account_admin.request_role(
                node.engine, node.audit, actor=me, username=username, role=role, now=node.clock()
            )
        except PnrguardError as exc:
            raise _fail(exc) from None
    Console(soft_wrap=True).print(f"role change requested: change {done.change_id}")


@app.command("reset")
def reset(
    username: Annotated[str, typer.Argument(help="The account.")],
    actor: AsOption,
    code: CodeOption = None,
    base_url: BaseUrl = _BASE,
) -> None:
    """Ask to reset a person's password and second factor (a second person approves)."""
    with Node.from_settings() as node:
        me = _actor(node, actor, code)
        try:
            done = account_admin.request_reset(
                node.engine, node.audit, actor=me, username=username, now=node.clock()
            )
        except PnrguardError as exc:
            raise _fail(exc) from None
    console = Console(soft_wrap=True)
    console.print(f"reset requested: change {done.change_id}")
    if done.link_token:
        console.print(f"enrolment link for the person (shown once): {_link(base_url, done.link_token)}")


@app.command("pending")
def pending() -> None:
    """Account changes waiting for a second person."""
    with Node.from_settings() as node:
        rows = account_admin.list_pending(node.engine)
    table = Table("change", "account", "kind", "role granted", "requested by", "at (UTC)")
    for c in rows:
        table.add_row(
            c.id, c.username, c.kind, c.role.value, c.requested_by, f"{c.requested_at:%Y-%m-%d %H:%M}"
        )
    Console(soft_wrap=True).print(table)


@app.command("approve")
def approve(
    change_id: Annotated[str, typer.Argument(help="The change (see `users pending`).")],
    actor: AsOption,
    code: CodeOption = None,
) -> None:
    """Approve a change as the second person; prints the enrolment code once."""
    with Node.from_settings() as node:
        me = _actor(node, actor, code)
        try:
            done = account_admin.approve(
                node.engine, node.audit, actor=me, change_id=change_id, now=node.clock()
            )
        except PnrguardError as exc:
            raise _fail(exc) from None
    console = Console(soft_wrap=True)
    console.print(f"approved for [bold]{done.account.username}[/]")
    if done.enrol_code:
        console.print(f"enrolment code for the person (shown once): {done.enrol_code}")


@app.command("refuse")
def refuse(
    change_id: Annotated[str, typer.Argument(help="The change (see `users pending`).")],
    actor: AsOption,
    code: CodeOption = None,
) -> None:
    """Refuse a change."""
    with Node.from_settings() as node:
        me = _actor(node, actor, code)
        try:
            account_admin.refuse(node.engine, node.audit, actor=me, change_id=change_id, now=node.clock())
        except PnrguardError as exc:
            raise _fail(exc) from None
    Console(soft_wrap=True).print("refused")


@app.command("list")
def list_(
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
) -> None:
    """List accounts (never a password hash)."""
    with Node.from_settings() as node:
        rows = accounts.list_accounts(node.engine)
    if fmt == "csv":
        out = io.StringIO()
        w = safe_writer(out)
        w.writerow(["username", "role", "login", "disabled", "last_login_at"])
        for a in rows:
            login = "oidc" if a.oidc_subject else ("password" if a.is_human else "machine")
            w.writerow([a.username, a.role.value, login, a.disabled, a.last_login_at or ""])
        typer.echo(out.getvalue(), nl=False)
        return
    table = Table("username", "role", "login", "status", "last login (UTC)")
    for a in rows:
        login = "OIDC" if a.oidc_subject else ("password" if a.is_human else "machine")
        status = "disabled" if a.disabled else ("waiting for approval" if not a.approved else "enabled")
        table.add_row(
            a.username,
            a.role.label,
            login,
            status,
            f"{a.last_login_at:%Y-%m-%d %H:%M}" if a.last_login_at else "",
        )
    Console(soft_wrap=True).print(table)


def _set_disabled(username: str, actor: str, code: str | None, *, disabled: bool) -> None:
    with Node.from_settings() as node:
        me = _actor(node, actor, code)
        try:
            account_admin.set_disabled(
                node.engine, node.audit, actor=me, username=username, disabled=disabled, now=node.clock()
            )
        except PnrguardError as exc:
            raise _fail(exc) from None
    Console(soft_wrap=True).print(f"{'disabled' if disabled else 'enabled'} [bold]{username}[/]")


@app.command("disable")
def disable(
    username: Annotated[str, typer.Argument(help="The account to disable.")],
    actor: AsOption,
    code: CodeOption = None,
) -> None:
    """Disable an account and end its sessions at once."""
    _set_disabled(username, actor, code, disabled=True)


@app.command("enable")
def enable(
    username: Annotated[str, typer.Argument(help="The account to enable.")],
    actor: AsOption,
    code: CodeOption = None,
) -> None:
    """Enable an account again (no new power: it still needs its password and TOTP)."""
    _set_disabled(username, actor, code, disabled=False)


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
    w = safe_writer(out)
    w.writerow(["entity_id", "name", "aliases", "dob", "nationality", "documents"])
    with node.engine.connect() as conn:
        ids = list(
            conn.execute(
                select(booking.c.id)
                .where(booking.c.state == "active", booking.c.source == "PNR")
                # By the record's own locator, not its id (ids are random within a
                # millisecond): the same synthetic traffic lists the same people every run.
                .order_by(booking.c.carrier, booking.c.locator, booking.c.id)
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
    """Demo users (one per role, fresh passwords and TOTP secrets printed: the demo is
    synthetic, so its users skip the two-person enrolment), competent authorities, and hits
    (a synthetic watchlist, unless screening already produced some). Idempotent."""
    console = console or Console()
    claim_for_demo(node.engine, clock=node.clock)  # raises on a database with real data
    now = node.clock()
    passwords: dict[str, str] = {}
    secrets_: dict[str, str] = {}
    for username, role in DEMO_USERS.items():
        password = accounts.generate_password()
        secrets_[username] = totp.new_secret()
        account_admin.provision_enrolled(
            node.engine, node.keystore, username=username, role=role, password=password,
            totp_secret=secrets_[username], now=now,
        )  # fmt: skip
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
    table = Table("username", "role", "password (this run)", "TOTP secret (this run)", title="demo users")
    for column in table.columns:
        column.overflow = "fold"  # never cut a password or a secret short
    for username, password in passwords.items():
        table.add_row(username, DEMO_USERS[username].label, password, secrets_[username])
    console.print(table)
    with node.engine.connect() as conn:
        waiting = select(func.count()).select_from(hit).where(hit.c.status == "open")
        open_hits = conn.execute(waiting).scalar_one()
    console.print(f"hits waiting for review: {open_hits} (log in as analyst)")
    return passwords
