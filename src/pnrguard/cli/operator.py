"""Who runs a CLI command that reveals personal data (issue 10, item 7).

A command line that opens bookings is an operator path around the workspace's login, so it
asks for the same thing: an **existing account of the right role, authenticated** with its
password (argon2, the same lockout as the web login), never a self-declared name. The
password comes, in this order, from:

1. ``--password-stdin``: one line read from standard input (scripts, secret managers);
2. ``PNRGUARD_OPERATOR_PASSWORD`` (scripts that cannot pipe; the variable is read once);
3. an interactive prompt that does not echo (`getpass`), when standard input is a terminal.

The account comes from ``--user`` or ``PNRGUARD_OPERATOR``. Every entry the command
appends names the account *and* the operating-system user who ran it
(``<account>/os:<login>``), so the audit log shows both the role holder and the shell
account. A refused attempt is audited as ``refusal`` (OS user only, no password, no name
typed), and exits with code 4.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console

from pnrguard.audit.models import Operation, Purpose
from pnrguard.service import accounts
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.ingest import opaque

__all__ = [
    "EXIT_REFUSED",
    "Operator",
    "PasswordStdinOpt",
    "UserOpt",
    "authenticate_operator",
    "os_user",
]

EXIT_REFUSED = 4
PASSWORD_ENV = "PNRGUARD_OPERATOR_PASSWORD"  # noqa: S105 — the variable's name, not a password
USER_ENV = "PNRGUARD_OPERATOR"

UserOpt = Annotated[
    str | None,
    typer.Option("--user", envvar=USER_ENV, help="Your workspace account (env PNRGUARD_OPERATOR)."),
]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read your password from stdin (one line).")
]

_err = Console(stderr=True)


@dataclass(frozen=True, slots=True)
class Operator:
    """An authenticated account at the command line."""

    account: Account
    os_user: str

    @property
    def actor(self) -> str:
        """The audit actor: the account and the OS user, e.g. ``dpo1/os:alice``."""
        return opaque(f"{self.account.username}/os:{self.os_user}")[:64]

    @property
    def id(self) -> str:  # `service.unmasking` and `rights` take any object with an id
        return self.actor

    @property
    def role(self) -> str:
        return self.account.role.value


def os_user() -> str:
    """The login of the process's user, fit for the audit log."""
    try:
        return opaque(getpass.getuser(), default="unknown")[:24]
    except (KeyError, OSError):
        return "unknown"


def _password(password_stdin: bool) -> str | None:
    if password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n") or None
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return None


def _refuse(node: Node, why: str, *, purpose: Purpose) -> typer.Exit:
    with node.engine.begin() as conn:
        node.audit(conn).append(
            actor=f"cli/os:{os_user()}",
            role="unknown",
            operation=Operation.REFUSAL,
            purpose=purpose,
            record_ids=[],
            counts={"cli.refused": 1},
        )
    _err.print(f"refused: {why}", markup=False, highlight=False)
    return typer.Exit(code=EXIT_REFUSED)


def authenticate_operator(
    node: Node, *, user: str | None, password_stdin: bool, roles: frozenset[Role], purpose: Purpose
) -> Operator:
    """The authenticated operator, or `typer.Exit(4)` (audited) when there is no such
    account, the password is wrong or missing, the account is locked or disabled, or its
    role is not one of `roles`. The messages do not say which, like the web login."""
    if not user:
        raise _refuse(node, f"name your account with --user or {USER_ENV}", purpose=purpose)
    password = _password(password_stdin)
    if password is None:
        raise _refuse(node, f"no password (prompt, --password-stdin or {PASSWORD_ENV})", purpose=purpose)
    account = accounts.authenticate(node.engine, username=user, password=password, now=node.clock.now())
    if account is None or account.role not in roles:
        raise _refuse(node, "unknown account, wrong password, or not allowed to do this", purpose=purpose)
    return Operator(account=account, os_user=os_user())
