"""Carrier push credentials managed by an administrator: issue, rotate, revoke; audited.

Why (issue 15, "Administrators"; docs/workspace.md): the workspace (`/admin/carriers`) and
the CLI (`pnrguard carriers add|rotate|revoke --as`) both call these functions, so every
change is audited alike: an ``alteration`` (purpose ``system_security``) naming the
administrator and the credential id, never the token. A token is shown once (only its SHA-256 is stored,
`service.gateway_credentials.issue_credential`). Rotating issues a new token with the same carrier,
senders and designators, then revokes the old one: in between both work, so the carrier
never has a gap; revocation reaches every web process within the credential cache's TTL.
A carrier credential is a machine identity: the two-person rule of `account_admin` covers
people's power, not machines, so one administrator decides, and the log says who.
"""

from __future__ import annotations

from collections.abc import Sequence

from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import N_, ConflictError, ForbiddenError, NotFoundError
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.gateway_credentials import issue_credential, list_credentials, revoke_credential
from pnrguard.store.gateway import Credential

__all__ = ["issue", "list_all", "revoke", "rotate"]


def _admin(actor: Account) -> None:
    if not actor.is_human or actor.role is not Role.ADMIN:
        raise ForbiddenError(N_("only an administrator manages carrier credentials"))


def _log(node: Node, actor: Account, credential_id: str, what: str) -> None:
    with node.engine.begin() as conn:
        node.audit(conn).append(
            actor=actor.username,
            role=actor.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose.SYSTEM_SECURITY,
            record_ids=[f"credential:{credential_id}"],
            counts={f"carrier.credential.{what}": 1},
            reference=credential_id,
        )


def list_all(node: Node) -> list[Credential]:
    return list_credentials(node.engine)


def issue(
    node: Node, *, actor: Account, carrier: str, senders: Sequence[str] = (), designators: Sequence[str] = ()
) -> tuple[Credential, str]:
    """A new credential and its token (to be shown once, never stored or logged)."""
    _admin(actor)
    cred, token = issue_credential(
        node.engine, carrier=carrier, senders=senders, designators=designators, clock=node.clock
    )
    _log(node, actor, cred.id, "issued")
    return cred, token


def _get(node: Node, credential_id: str) -> Credential:
    found = next((c for c in list_credentials(node.engine) if c.id == credential_id), None)
    if found is None:
        raise NotFoundError(N_("no such credential"))
    return found


def rotate(node: Node, *, actor: Account, credential_id: str) -> tuple[Credential, str]:
    """Replace an active credential by a new one with the same scope; the old is revoked."""
    _admin(actor)
    old = _get(node, credential_id)
    if old.revoked_at is not None:
        raise ConflictError(N_("this credential is revoked: issue a new one"))
    cred, token = issue_credential(
        node.engine, carrier=old.carrier, senders=old.senders, designators=old.designators, clock=node.clock
    )
    revoke_credential(node.engine, old.id, clock=node.clock)
    _log(node, actor, cred.id, "issued")
    _log(node, actor, old.id, "rotated")
    return cred, token


def revoke(node: Node, *, actor: Account, credential_id: str) -> bool:
    """Revoke a credential: its token stops working within the cache's TTL."""
    _admin(actor)
    _get(node, credential_id)
    done = revoke_credential(node.engine, credential_id, clock=node.clock)
    if done:
        _log(node, actor, credential_id, "revoked")
    return done
