"""Administration of the node's machine partners: peer PIUs and carrier credentials.

    GET  /admin/peers                         peers with both fingerprints whole, this node's own
    POST /admin/peers                         register a peer from its identity card, after
                                              both fingerprints were read out of band
    POST /admin/peers/{name}/revoke           revoke a peer (final)
    GET  /admin/carriers                      carrier credentials (never tokens)
    POST /admin/carriers                      issue a credential: its token is shown once
    POST /admin/carriers/{id}/rotate          a new token with the same scope; the old revoked
    POST /admin/carriers/{id}/revoke          revoke a credential

Why one administrator decides here: the two-person rule (`service.account_admin`) is about
people's power; peers and carriers are machine identities, "created directly" there. What
protects a peer registration is the out-of-band check: both fingerprints must equal the
card's or nothing is stored (`exchange_peers.register_peer`). Every change is audited
(``alteration``, ``system_security``) with the administrator's name. Tokens appear only in
the answer to the POST that made them (never in a URL, a log or a later page).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from pnrguard.errors import N_, ConfigError, InputError, PnrguardError
from pnrguard.exchange.identity import IdentityCard
from pnrguard.exchange.peers import PeerKind
from pnrguard.service import carrier_admin, exchange_peers
from pnrguard.service.accounts import Account, Role
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.i18n import error_text, gettext
from pnrguard.web.views import TEMPLATES, render

__all__ = ["router"]

router = APIRouter(prefix="/admin")
ADMIN = require_role(Role.ADMIN)
MAX_CARD = 64 * 1024



def grouped(fingerprint: str) -> str:
    """A fingerprint whole, in groups of four hex digits, as operators read it aloud
    (`normalise_fingerprint` accepts it back with or without the spaces)."""
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))


TEMPLATES.env.filters["fingerprint"] = grouped

_KINDS = (
    (PeerKind.MEMBER_STATE.value, "PIU of a member state"),
    (PeerKind.EUROPOL.value, "Europol (may send Europol requests)"),
    (PeerKind.THIRD_COUNTRY.value, "Third country (with its onward-transfer undertaking)"),
)


def _peers_page(
    request: Request, *, message: str = "", error: str = "", form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    node = node_of(request)
    try:
        own = exchange_peers.node_card(node)
    except ConfigError:
        own = None
    return render(
        request,
        "admin_peers.html",
        {"peers": exchange_peers.list_peers(node), "own": own, "kinds": _KINDS, "message": message,
         "error": error, "form": form or {"kind": PeerKind.MEMBER_STATE.value}},
        status_code=status_code,
    )  # fmt: skip


@router.get("/peers", include_in_schema=False)
def peers_page(request: Request, _: Annotated[Account, Depends(ADMIN)]) -> Response:
    return _peers_page(request)


@router.post("/peers", include_in_schema=False)
async def peers_add(
    request: Request,
    me: Annotated[Account, Depends(ADMIN)],
    card: Annotated[str, Form()] = "",
    card_file: Annotated[UploadFile | None, File()] = None,
    cert_fingerprint: Annotated[str, Form()] = "",
    key_fingerprint: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = PeerKind.MEMBER_STATE.value,
    onward_condition: Annotated[str, Form()] = "",
) -> Response:
    """Register a peer from its identity card (pasted or uploaded) and the two fingerprints
    its operator read out over a second channel."""
    text = card.strip()
    if card_file is not None and card_file.filename:
        raw = await card_file.read(MAX_CARD + 1)
        text = raw[:MAX_CARD].decode("ascii", errors="replace").strip() if len(raw) <= MAX_CARD else ""
    form = {
        "card": card[:MAX_CARD], "cert_fingerprint": cert_fingerprint[:200],
        "key_fingerprint": key_fingerprint[:200], "kind": kind, "onward_condition": onward_condition[:2000],
    }  # fmt: skip
    node = node_of(request)
    try:
        if not text:
            raise InputError(N_("paste or upload the peer's identity card (JSON, at most 64 KB)"))
        parsed = IdentityCard.from_json(text)  # InputError names what is wrong, never content
        try:
            peer_kind = PeerKind(kind)
        except ValueError:
            raise InputError(N_("unknown kind of peer")) from None
        p = exchange_peers.register_peer(
            parsed, cert_fingerprint=cert_fingerprint, key_fingerprint=key_fingerprint, kind=peer_kind,
            onward_condition=onward_condition or None, actor=me.username, node=node,
        )  # fmt: skip
    except PnrguardError as exc:
        return _peers_page(request, error=error_text(exc), form=form, status_code=exc.http_status)
    return _peers_page(
        request,
        message=gettext(
            "Peer %(name)s registered. The peer API admits its certificate from its next connection."
        ) % {"name": p.name},
    )


@router.post("/peers/{name}/revoke", include_in_schema=False)
def peers_revoke(request: Request, name: str, me: Annotated[Account, Depends(ADMIN)]) -> Response:
    node = node_of(request)
    try:
        done = exchange_peers.revoke_peer(name[:64], actor=me.username, node=node)
    except PnrguardError as exc:
        return _peers_page(request, error=error_text(exc), status_code=exc.http_status)
    if not done:
        return _peers_page(request, message=gettext("It was revoked already."))
    return _peers_page(request, message=gettext("Peer %(name)s revoked.") % {"name": name[:64]})


def _carriers_page(
    request: Request, *, message: str = "", token: str = "", error: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "admin_carriers.html",
        {"credentials": carrier_admin.list_all(node_of(request)), "message": message, "token": token,
         "error": error},
        status_code=status_code,
    )  # fmt: skip


@router.get("/carriers", include_in_schema=False)
def carriers_page(request: Request, _: Annotated[Account, Depends(ADMIN)]) -> Response:
    return _carriers_page(request)


def _codes(text: str) -> list[str]:
    return [c for c in text.replace(",", " ").split() if c][:20]


@router.post("/carriers", include_in_schema=False)
def carriers_issue(
    request: Request,
    me: Annotated[Account, Depends(ADMIN)],
    carrier: Annotated[str, Form()] = "",
    senders: Annotated[str, Form()] = "",
    designators: Annotated[str, Form()] = "",
) -> Response:
    try:
        cred, token = carrier_admin.issue(
            node_of(request), actor=me, carrier=carrier[:8], senders=_codes(senders),
            designators=_codes(designators),
        )  # fmt: skip
    except PnrguardError as exc:
        return _carriers_page(request, error=error_text(exc), status_code=exc.http_status)
    issued = gettext("Credential %(id)s issued for %(carrier)s.")
    issued %= {"id": cred.id[-8:], "carrier": cred.carrier}
    return _carriers_page(request, message=issued, token=token)


@router.post("/carriers/{credential_id}/rotate", include_in_schema=False)
def carriers_rotate(request: Request, credential_id: str, me: Annotated[Account, Depends(ADMIN)]) -> Response:
    try:
        cred, token = carrier_admin.rotate(node_of(request), actor=me, credential_id=credential_id[:64])
    except PnrguardError as exc:
        return _carriers_page(request, error=error_text(exc), status_code=exc.http_status)
    return _carriers_page(
        request,
        message=gettext("Credential rotated: %(new)s replaces %(old)s, which is revoked.")
        % {"new": cred.id[-8:], "old": credential_id[-8:]},
        token=token,
    )


@router.post("/carriers/{credential_id}/revoke", include_in_schema=False)
def carriers_revoke(request: Request, credential_id: str, me: Annotated[Account, Depends(ADMIN)]) -> Response:
    try:
        carrier_admin.revoke(node_of(request), actor=me, credential_id=credential_id[:64])
    except PnrguardError as exc:
        return _carriers_page(request, error=error_text(exc), status_code=exc.http_status)
    return RedirectResponse("/admin/carriers", status_code=303)
