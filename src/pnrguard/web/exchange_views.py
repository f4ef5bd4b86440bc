"""Workspace pages for federation: the exchange inbox, answering a peer, sending.

    GET  /exchange?folder=requests|answers|transfers|sent   the inbox (metadata only,
                                            nothing decrypted); counts of what waits
    GET  /exchange/{exchange_id}            one message, decrypted: a logged consultation;
                                            received bookings rendered like bookings
    POST /exchange/{exchange_id}/search     the purpose-bound search under an incoming
                                            request (a page of people to choose from, logged)
    GET  /exchange/{exchange_id}/bookings/{booking_id}  a booking that search found, whole
    POST /exchange/{exchange_id}/answer     a person approves the answer (bookings, reason,
                                            evaluation and handling codes); only then it leaves
    POST /exchange/{exchange_id}/refuse     a person refuses the request (the peer is told)
    POST /exchange/{exchange_id}/second-approval  four eyes: a supervisor other than the
                                            first approver sends the drafted answer, or
                                            sends it back (decision=approve|return)
    POST /exchange/{exchange_id}/retry      deliver a failed outgoing message again (same id)
    GET  /exchange/new/request              the form for a request to a peer PIU
    POST /exchange/requests                 send it (subject data only in the POST body)
    GET  /exchange/new/transfer?hit=<id>    the form for a spontaneous transfer of a hit
    POST /exchange/transfers                send it

Sending is one person's decision (analyst or supervisor); answers to a peer's request need a
second, a supervisor's, when the node runs with four eyes (`app.state.review_policy`, the
setting transmissions to authorities use). A failed delivery is not an error page: the
message is stored as ``failed`` and its page offers a retry.

Roles come from `web.auth.require_role`: analysts, supervisors and the DPO read; analysts and
supervisors decide (`service.exchange` checks again: the shell is not the only guard). The
templates are ``templates/exchange_*.html``; the menu's count comes from
`exchange_inbox.inbox_counts` (a Jinja global, `exchange_waiting`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from pnrguard.audit.models import Purpose
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.exchange.client import PeerClient, PeerRefused, PeerUnreachable
from pnrguard.exchange.messages import MIN_REASONING, Evaluation, HandlingCode, Subject
from pnrguard.service import exchange as service
from pnrguard.service import exchange_inbox as inbox
from pnrguard.service import four_eyes, peer_answers
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_payload import shown_reason
from pnrguard.service.review import Page, ReviewPolicy, investigative_purposes
from pnrguard.service.search import SearchCriteria, SearchOutcome
from pnrguard.store import exchange as store
from pnrguard.store import exchange_inbox as inbox_store
from pnrguard.store import screening as hits_store
from pnrguard.store.repository import new_id
from pnrguard.store.screening import HitStatus
from pnrguard.web.auth import require_role
from pnrguard.web.requests import criteria_of
from pnrguard.web.views import TEMPLATES, PageNumber, render

__all__ = ["install", "router"]

READERS = (Role.ANALYST, Role.SUPERVISOR, Role.DPO)
DECIDERS = (Role.ANALYST, Role.SUPERVISOR)
_HEX32 = re.compile(r"[0-9a-f]{32}")

_HANDLING = (
    ("H0", "use for crime fighting only"),
    ("H1", "not in court without our permission"),
    ("H2", "no onward transfer without our permission"),
    ("H3", "other restrictions (spell them out)"),
)
_RELIABILITY = (
    ("A", "no doubt"),
    ("B", "mostly reliable"),
    ("C", "mostly not reliable"),
    ("X", "cannot be assessed"),
)
_ACCURACY = (
    ("1", "known to be true"),
    ("2", "known to the source"),
    ("3", "corroborated"),
    ("4", "cannot be judged"),
)
_KINDS = {
    "request": "Request",
    "europol_request": "Europol request",
    "answer": "Answer",
    "transfer": "Transfer",
}
_OUTCOMES = {"data": "data", "no_data": "no data", "refused": "refused"}
_STATUSES = {
    "awaiting_approval": "waiting for a decision",
    "awaiting_second": "waiting for a second approval",
    "approved": "approved, not delivered yet",
    "refused": "refused",
    "sent": "delivered",
    "answered": "answered",
    "received": "received",
    "failed": "not delivered",
}
_FOLDERS = (
    ("requests", "Requests received"),
    ("answers", "Answers received"),
    ("transfers", "Transfers received"),
    ("sent", "Sent"),
)
_SUBJECT_FIELDS = (
    ("surname", "Surname"),
    ("given_names", "Given names"),
    ("date_of_birth", "Date of birth"),
    ("document_number", "Travel document number"),
    ("nationality", "Nationality (ISO code, e.g. AT)"),
    ("carrier", "Carrier (IATA code)"),
    ("locator", "Record locator"),
    ("flight_date", "Flight date"),
)
_DONE = {
    "sent": "Delivered: the peer's signed receipt is recorded and the disclosure logged.",
    "failed": "Not delivered: the peer could not be reached or refused the message. It is stored "
    "(failed) and can be retried from its page.",
    "awaiting_second": "Approved. Four eyes: the answer waits for a supervisor's second approval.",
    "answered": "Answer approved and delivered.",
    "refused": "Request refused: the peer is told, without the reason.",
    "returned": "The answer was sent back: the request is in the queue again.",
    "searched": "Searched: the bookings found are listed under Search.",
    "transfer_waits": "Approved. Four eyes: the transfer waits for a supervisor's second approval.",
    "transfer_returned": "The transfer was sent back: nothing left the node.",
    "permission": "The originator's permission is recorded: the data may be forwarded to that peer.",
}
_SEARCH_FIELDS = (
    "carrier", "locator", "flight_number", "date_from", "date_to", "surname", "given_names",
    "date_of_birth", "document_number", "contact", "card", "sounds_like",
)  # fmt: skip

router = APIRouter()


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def _client(request: Request) -> PeerClient:
    """The node's peer client, built on first use (it needs the node's TLS certificate)."""
    client: PeerClient | None = getattr(request.app.state, "peer_client", None)
    if client is None:
        client = service.make_client(_node(request))
        request.app.state.peer_client = client
    return client


def exchange_waiting(request: Request) -> int:
    """The menu's count for the signed-in person (0 for roles that do not act on exchange)."""
    user: Account | None = getattr(request.state, "account", None)
    if user is None or user.role not in DECIDERS:
        return 0
    return inbox.inbox_counts(_node(request)).waiting_for(user.role)


@router.get("/exchange", include_in_schema=False)
def queue(
    request: Request,
    user: Annotated[Account, Depends(require_role(*READERS))],
    folder: str = "requests",
    page: PageNumber = 1,
) -> Response:
    """The inbox: one folder a page, newest first, with what waits per folder."""
    chosen = inbox.Folder(folder) if folder in {f.value for f in inbox.Folder} else inbox.Folder.REQUESTS
    rows, total = inbox.list_folder(_node(request), chosen, page=page)
    counts = inbox.inbox_counts(_node(request))
    waiting = {
        "requests": counts.requests + (counts.second if user.role is Role.SUPERVISOR else 0),
        "answers": counts.answers,
        "transfers": counts.transfers,
        "sent": counts.failed,
    }
    label = dict(_FOLDERS)[chosen.value]
    return render(
        request,
        "exchange_inbox.html",
        {"folder": chosen.value, "page": Page(rows, page, 25, total), "caption": f"{label}: {total}",
         "folders": [(f, lbl, waiting[f]) for f, lbl in _FOLDERS], "kinds": _KINDS, "outcomes": _OUTCOMES,
         "can_send": user.role in DECIDERS, "statuses": _STATUSES},
    )  # fmt: skip


def _policy(request: Request) -> ReviewPolicy:
    """The node's review policy (set by `web.workspace.install`); the environment's otherwise."""
    policy: ReviewPolicy | None = getattr(request.app.state, "review_policy", None)
    return policy if policy is not None else ReviewPolicy.from_env()


def _to(exchange_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/exchange/{exchange_id}?done={done}", status_code=303)


def _peers(request: Request) -> list[Any]:
    return [p for p in service.list_peers(_node(request)) if not p.revoked]


def _codes(handling: list[str] | None) -> list[HandlingCode]:
    try:
        return [HandlingCode(h) for h in (handling or ["H0"])]
    except ValueError:
        raise InputError(N_("unknown handling code")) from None


@router.get("/exchange/new/request", include_in_schema=False)
def new_request(request: Request, _: Annotated[Account, Depends(require_role(*DECIDERS))]) -> Response:
    form = {f: "" for f, _ in _SUBJECT_FIELDS} | {
        "peer": "", "purpose": "", "case_ref": "", "reasoning": "", "subject_kind": "person",
        "legal_basis": "Directive (EU) 2016/681 Art. 9(2)", "handling": ["H0"], "handling_conditions": "",
    }  # fmt: skip
    return _request_form(request, form)


def _request_form(
    request: Request, form: dict[str, Any], error: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "exchange_new_request.html",
        {"peers": _peers(request), "purposes": investigative_purposes(), "form": form, "error": error,
         "min_reason": MIN_REASONING, "subject_fields": _SUBJECT_FIELDS, "handling_codes": _HANDLING},
        status_code=status_code,
    )  # fmt: skip


def _subject(kind: str, fields: dict[str, str]) -> Subject:
    """The subject from the form; a refusal names the fields, never their values."""
    data = {k: v.strip() for k, v in fields.items() if v.strip()}
    for k in ("nationality", "carrier", "locator"):
        if k in data:
            data[k] = data[k].upper()
    try:
        return Subject.model_validate({"kind": kind, **data})
    except ValidationError as exc:
        where = sorted({".".join(str(x) for x in e["loc"]) for e in exc.errors()} - {""})
        if where:
            raise InputError(
                N_("the subject is incomplete or invalid (%(fields)s)"), fields=", ".join(where)
            ) from None
        raise InputError(
            N_("the subject is incomplete or invalid: a person needs a surname or a document number, "
               "a booking its carrier and record locator")
        ) from None  # fmt: skip


@router.post("/exchange/requests", include_in_schema=False)
def send_request(
    request: Request,
    user: Annotated[Account, Depends(require_role(*DECIDERS))],
    peer: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = "",
    case_ref: Annotated[str, Form()] = "",
    legal_basis: Annotated[str, Form()] = "",
    reasoning: Annotated[str, Form()] = "",
    subject_kind: Annotated[str, Form()] = "person",
    surname: Annotated[str, Form()] = "",
    given_names: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    document_number: Annotated[str, Form()] = "",
    nationality: Annotated[str, Form()] = "",
    carrier: Annotated[str, Form()] = "",
    locator: Annotated[str, Form()] = "",
    flight_date: Annotated[str, Form()] = "",
    handling: Annotated[list[str] | None, Form()] = None,
    handling_conditions: Annotated[str, Form()] = "",
) -> Response:
    """Send a duly reasoned request (Art. 9(2)). The subject travels in the POST body only;
    the redirect names the message's opaque id."""
    fields = {
        "surname": surname, "given_names": given_names, "date_of_birth": date_of_birth,
        "document_number": document_number, "nationality": nationality, "carrier": carrier,
        "locator": locator, "flight_date": flight_date,
    }  # fmt: skip
    local_id = new_id()
    try:
        if subject_kind not in ("person", "booking"):
            raise InputError(N_("the subject is a person or a booking"))
        subject = _subject(subject_kind, fields)
        try:
            chosen = Purpose(purpose)
        except ValueError:
            raise InputError(N_("choose the purpose: terrorism or an Annex II offence")) from None
        codes = _codes(handling)
        service.send_request(
            user=user, peer_name=peer, subject=subject, purpose=chosen, case_ref=case_ref.strip(),
            legal_basis=legal_basis.strip(), reasoning=reasoning, handling=codes,
            handling_conditions=handling_conditions.strip() or None, node=_node(request),
            client=_client(request), local_id=local_id,
        )  # fmt: skip
    except InputError as exc:
        form = fields | {
            "peer": peer, "purpose": purpose, "case_ref": case_ref, "legal_basis": legal_basis,
            "reasoning": reasoning, "subject_kind": subject_kind, "handling": handling or [],
            "handling_conditions": handling_conditions,
        }  # fmt: skip
        return _request_form(request, form, str(exc), status_code=400)
    except (PeerRefused, PeerUnreachable):
        return _to(local_id, "failed")  # stored as failed, audited; its page offers a retry
    return _to(local_id, "sent")


def _confirmed_hit(request: Request, hit_id: str) -> hits_store.HitRecord:
    if not _HEX32.fullmatch(hit_id or ""):
        raise InputError(N_("name a confirmed hit: /exchange/new/transfer?hit=<hit id>"))
    with _node(request).engine.connect() as conn:
        h = hits_store.get_hit(conn, hit_id)
    if h.status is not HitStatus.CONFIRMED:
        raise ConflictError(N_("only a hit a person confirmed is transferred"))
    return h


def _transfer_form(
    request: Request, h: hits_store.HitRecord, form: dict[str, Any], error: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "exchange_new_transfer.html",
        {"hit": h, "peers": _peers(request), "form": form, "error": error, "min_reason": service.MIN_REASON,
         "handling_codes": _HANDLING, "reliability": _RELIABILITY, "accuracy": _ACCURACY},
        status_code=status_code,
    )  # fmt: skip


@router.get("/exchange/new/transfer", include_in_schema=False)
def new_transfer(
    request: Request, _: Annotated[Account, Depends(require_role(*DECIDERS))], hit: str = ""
) -> Response:
    h = _confirmed_hit(request, hit)
    form = {"peer": "", "case_ref": "", "reason": "", "source": "B", "accuracy": "2", "handling": ["H0"],
            "handling_conditions": ""}  # fmt: skip
    return _transfer_form(request, h, form)


@router.post("/exchange/transfers", include_in_schema=False)
def send_transfer(
    request: Request,
    user: Annotated[Account, Depends(require_role(*DECIDERS))],
    hit: Annotated[str, Form()] = "",
    peer: Annotated[str, Form()] = "",
    case_ref: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "X",
    accuracy: Annotated[str, Form()] = "4",
    handling: Annotated[list[str] | None, Form()] = None,
    handling_conditions: Annotated[str, Form()] = "",
) -> Response:
    """A spontaneous transfer (Art. 9(1)) of a confirmed hit's booking to a peer PIU."""
    h = _confirmed_hit(request, hit)
    local_id = new_id()
    try:
        try:
            evaluation = Evaluation.model_validate({"source": source, "accuracy": accuracy})
        except ValueError:
            raise InputError(N_("unknown evaluation code")) from None
        out = service.send_transfer(
            user=user, peer_name=peer, case_ref=case_ref.strip(), reason=reason, evaluation=evaluation,
            hit_id=h.id, handling=_codes(handling), handling_conditions=handling_conditions.strip() or None,
            node=_node(request), client=_client(request), local_id=local_id, policy=_policy(request),
        )  # fmt: skip
    except InputError as exc:
        form = {"peer": peer, "case_ref": case_ref, "reason": reason, "source": source, "accuracy": accuracy,
                "handling": handling or [], "handling_conditions": handling_conditions}  # fmt: skip
        return _transfer_form(request, h, form, str(exc), status_code=400)
    except (PeerRefused, PeerUnreachable):
        return _to(local_id, "failed")
    return _to(local_id, "transfer_waits" if out.status == "awaiting_second" else "sent")


def _form_from(criteria: SearchCriteria) -> dict[str, str]:
    return {
        "carrier": criteria.carrier, "locator": criteria.locator, "flight_number": criteria.flight_number,
        "date_from": criteria.date_from.isoformat() if criteria.date_from else "",
        "date_to": criteria.date_to.isoformat() if criteria.date_to else "",
        "surname": criteria.surname, "given_names": criteria.given_names,
        "date_of_birth": criteria.date_of_birth.isoformat() if criteria.date_of_birth else "",
        "document_number": criteria.document_number, "contact": criteria.contact, "card": criteria.card,
        "sounds_like": "1" if criteria.sounds_like else "",
    }  # fmt: skip


def _message_page(
    request: Request,
    exchange_id: str,
    user: Account,
    *,
    done: str = "",
    form: dict[str, str] | None = None,
    outcome: SearchOutcome | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    node = _node(request)
    state = inbox.copy_masked(node, exchange_id[:64])
    env = None
    if state == "active":
        rec, peer, env = service.open_message(exchange_id, user=user, node=node)
    else:  # sealed or erased with the bookings it carries: metadata only, nothing decrypted
        with node.engine.connect() as conn:
            found_rec = store.get_message(conn, exchange_id[:64])
            assert found_rec is not None
            found_peer = store.SqlPeerDirectory(conn).by_id(found_rec.peer_id)
        assert found_peer is not None
        rec, peer = found_rec, found_peer
    can_decide = (
        user.role in DECIDERS
        and rec.direction == "in"
        and rec.status == "awaiting_approval"
        and env is not None
    )
    answers: list[store.ExchangeRecord] = []
    replies: list[store.ExchangeRecord] = []
    with node.engine.connect() as conn:
        rec = dataclasses.replace(rec, decision_reason=shown_reason(conn, node.keystore, rec))
        if rec.direction == "in" and rec.kind in ("request", "europol_request"):
            answers = store.answers_to(conn, rec.id)
        if rec.direction == "out" and rec.kind in ("request", "europol_request"):
            replies = inbox_store.replies(conn, rec.id)
    can_second = (
        user.role is Role.SUPERVISOR and rec.status == "awaiting_second"
        and rec.decided_by != user.username
    )  # fmt: skip
    preview = ""
    if can_second:
        # The second person sees what leaves (the sealed message), not ids.
        draft_id = rec.id
        if rec.direction == "in":
            with node.engine.connect() as conn:
                draft = store.draft_answer(conn, rec.id)
            draft_id = draft.id if draft is not None else ""
        if draft_id:
            preview = four_eyes.preview_outgoing(draft_id, user=user, node=node)
    can_retry = user.role in DECIDERS and rec.direction == "out" and rec.status in ("approved", "failed")
    earlier = []
    if can_decide:
        shown = {r.booking.id for r in outcome.rows} if outcome else set()
        earlier = [s for s in peer_answers.found_summaries(node, rec.id) if s.id not in shown]
        if form is None:
            try:
                form = _form_from(peer_answers.criteria_from_subject(env.subject if env else None))
            except InputError:
                form = dict.fromkeys(_SEARCH_FIELDS, "")
    views = [inbox.received_view(r) for r in env.records] if env is not None else []
    can_forward = (
        user.role in DECIDERS and env is not None and rec.direction == "in"
        and rec.kind in ("answer", "transfer") and rec.records > 0
    )  # fmt: skip
    others = [p for p in _peers(request) if p.id != rec.peer_id] if can_forward else []
    return render(
        request,
        "exchange_message.html",
        {"rec": rec, "peer": peer, "env": env, "copy_state": state, "can_decide": can_decide,
         "can_second": can_second, "can_retry": can_retry, "answers": answers, "replies": replies,
         "four_eyes": _policy(request).four_eyes, "preview": preview, "earlier": earlier,
         "outcome": outcome, "form": form or {}, "views": views, "error": error,
         "message": _DONE.get(done, ""), "handling_codes": _HANDLING, "reliability": _RELIABILITY,
         "accuracy": _ACCURACY, "handling_meaning": dict(_HANDLING), "kinds": _KINDS, "outcomes": _OUTCOMES,
         "can_forward": can_forward, "others": others, "h2": "H2" in rec.handling,
         "statuses": _STATUSES, "subject_labels": dict(_SUBJECT_FIELDS) | {"kind": "Kind"},
         "back": "sent" if rec.direction == "out" else {"answer": "answers", "transfer": "transfers"}.get(
             rec.kind, "requests")},
        status_code=status_code,
    )  # fmt: skip


@router.get("/exchange/{exchange_id}", include_in_schema=False)
def message(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(*READERS))],
    done: str = "",
) -> Response:
    return _message_page(request, exchange_id, user, done=done)


@router.post("/exchange/{exchange_id}/answer", include_in_schema=False)
def answer(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(*DECIDERS))],
    reason: Annotated[str, Form()] = "",
    booking_ids: Annotated[list[str] | None, Form()] = None,
    source: Annotated[str, Form()] = "X",
    accuracy: Annotated[str, Form()] = "4",
    handling: Annotated[list[str] | None, Form()] = None,
    handling_conditions: Annotated[str, Form()] = "",
) -> Response:
    """Approve the answer with the bookings the person ticked (checkboxes of what this
    request's searches found; none: no data)."""
    try:
        evaluation = Evaluation.model_validate({"source": source, "accuracy": accuracy})
        codes = [HandlingCode(h) for h in (handling or ["H0"])]
    except ValueError:
        raise InputError(N_("unknown evaluation or handling code")) from None
    chosen = [b for v in booking_ids or [] for b in v.split()]
    try:
        out = service.approve_answer(
            exchange_id, user=user, reason=reason, booking_ids=chosen, evaluation=evaluation,
            handling=codes, handling_conditions=handling_conditions.strip() or None, node=_node(request),
            client=_client(request), policy=_policy(request),
        )  # fmt: skip
    except (PeerRefused, PeerUnreachable):
        return _to(exchange_id, "failed")
    except (InputError, ForbiddenError, ConflictError) as exc:
        if isinstance(exc, NotFoundError):
            raise
        return _message_page(request, exchange_id, user, error=str(exc), status_code=exc.http_status)
    return _to(exchange_id, "awaiting_second" if out.status == "awaiting_second" else "answered")


@router.post("/exchange/{exchange_id}/search", include_in_schema=False)
def search(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(*DECIDERS))],
    carrier: Annotated[str, Form()] = "",
    locator: Annotated[str, Form()] = "",
    flight_number: Annotated[str, Form()] = "",
    date_from: Annotated[str, Form()] = "",
    date_to: Annotated[str, Form()] = "",
    surname: Annotated[str, Form()] = "",
    given_names: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    document_number: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    card: Annotated[str, Form()] = "",
    sounds_like: Annotated[str, Form()] = "",
    page: Annotated[int, Form(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The purpose-bound search under an incoming request (criteria only in the POST body):
    a page of people to choose from; the page is logged and its bookings may be answered."""
    form = {
        "carrier": carrier, "locator": locator, "flight_number": flight_number, "date_from": date_from,
        "date_to": date_to, "surname": surname, "given_names": given_names,
        "date_of_birth": date_of_birth, "document_number": document_number, "contact": contact,
        "card": card, "sounds_like": "1" if sounds_like else "",
    }  # fmt: skip
    if not any(v for k, v in form.items() if k != "sounds_like"):
        # A bare "Search" (older pages, scripts): the request's own subject.
        peer_answers.search_peer_request(exchange_id[:64], user=user, node=_node(request))
        return _to(exchange_id, "searched")
    try:
        criteria = criteria_of(form)
        outcome = peer_answers.search_request_page(
            exchange_id[:64], criteria, user=user, node=_node(request), page=page
        )
    except InputError as exc:
        return _message_page(request, exchange_id, user, form=form, error=str(exc), status_code=400)
    return _message_page(request, exchange_id, user, form=form, outcome=outcome)


@router.get("/exchange/{exchange_id}/bookings/{booking_id}", include_in_schema=False)
def found_record(
    request: Request,
    exchange_id: str,
    booking_id: str,
    user: Annotated[Account, Depends(require_role(*READERS))],
) -> Response:
    """A booking this request's searches found, whole as this person may see it (logged)."""
    rec, view = peer_answers.open_found(exchange_id[:64], booking_id[:64], user=user, node=_node(request))
    return render(request, "exchange_record.html", {"rec": rec, "b": view})


@router.post("/exchange/{exchange_id}/forward", include_in_schema=False)
def forward(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(*DECIDERS))],
    peer: Annotated[str, Form()] = "",
    case_ref: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "X",
    accuracy: Annotated[str, Form()] = "4",
    handling: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Forward received data to another peer: its handling codes travel on, and H2 refuses
    the forward unless the originator's permission for that peer is recorded."""
    local_id = new_id()
    try:
        try:
            evaluation = Evaluation.model_validate({"source": source, "accuracy": accuracy})
        except ValueError:
            raise InputError(N_("unknown evaluation code")) from None
        out = service.send_transfer(
            user=user, peer_name=peer, case_ref=case_ref.strip(), reason=reason, evaluation=evaluation,
            forward_message_id=exchange_id[:64], handling=_codes(handling), node=_node(request),
            client=_client(request), local_id=local_id, policy=_policy(request),
        )  # fmt: skip
    except (InputError, ForbiddenError, ConflictError) as exc:
        if isinstance(exc, NotFoundError):
            raise
        return _message_page(request, exchange_id, user, error=str(exc), status_code=exc.http_status)
    except (PeerRefused, PeerUnreachable):
        return _to(local_id, "failed")
    return _to(local_id, "transfer_waits" if out.status == "awaiting_second" else "sent")


@router.post("/exchange/{exchange_id}/permission", include_in_schema=False)
def permission(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(Role.SUPERVISOR))],
    peer: Annotated[str, Form()] = "",
    reference: Annotated[str, Form()] = "",
) -> Response:
    """A supervisor records the originator's permission (its letter or message id) to pass
    data received under H2 on to one named peer."""
    try:
        service.record_onward_permission(
            exchange_id[:64], to_peer_name=peer, reference=reference.strip(), user=user, node=_node(request)
        )
    except (InputError, ConflictError) as exc:
        return _message_page(request, exchange_id, user, error=str(exc), status_code=exc.http_status)
    return _to(exchange_id, "permission")


@router.post("/exchange/{exchange_id}/refuse", include_in_schema=False)
def refuse(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(*DECIDERS))],
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        service.refuse_request(
            exchange_id, user=user, reason=reason, node=_node(request), client=_client(request)
        )
    except (PeerRefused, PeerUnreachable):
        return _to(exchange_id, "failed")
    return _to(exchange_id, "refused")


@router.post("/exchange/{exchange_id}/second-approval", include_in_schema=False)
def second_approval(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(Role.SUPERVISOR))],
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Four eyes on answers and transfers: a supervisor other than the first approver sends
    the sealed message or sends it back (`four_eyes.may_leave` refuses the first approver)."""
    with _node(request).engine.connect() as conn:
        rec = store.get_message(conn, exchange_id[:64])
    if rec is not None and rec.direction == "out":
        if decision == "return":
            four_eyes.return_outgoing(exchange_id, user=user, reason=reason, node=_node(request))
            return _to(exchange_id, "transfer_returned")
        if decision != "approve":
            raise InputError(N_("approve or return"))
        try:
            four_eyes.approve_outgoing(
                exchange_id, user=user, reason=reason, node=_node(request), client=_client(request)
            )
        except (PeerRefused, PeerUnreachable):
            return _to(exchange_id, "failed")
        return _to(exchange_id, "sent")
    if decision == "return":
        service.return_answer(exchange_id, user=user, reason=reason, node=_node(request))
        return _to(exchange_id, "returned")
    if decision != "approve":
        raise InputError(N_("approve or return"))
    try:
        service.second_approval(
            exchange_id, user=user, reason=reason, node=_node(request), client=_client(request)
        )
    except (PeerRefused, PeerUnreachable):
        return _to(exchange_id, "failed")
    return _to(exchange_id, "answered")


@router.post("/exchange/{exchange_id}/retry", include_in_schema=False)
def retry(
    request: Request, exchange_id: str, user: Annotated[Account, Depends(require_role(*DECIDERS))]
) -> Response:
    """Deliver a failed (or never delivered) outgoing message again, with the same id."""
    try:
        service.retry_delivery(exchange_id, user=user, node=_node(request), client=_client(request))
    except (PeerRefused, PeerUnreachable):
        return _to(exchange_id, "failed")
    return _to(exchange_id, "sent")


def install(app: FastAPI, node: Node) -> None:
    """Add the federation workspace to the node's app (one line in `create_app`)."""
    TEMPLATES.env.globals["exchange_waiting"] = exchange_waiting
    app.include_router(router)
    del node  # the app's state holds it already
