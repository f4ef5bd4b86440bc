"""Workspace pages for federation: the queue of exchanged messages and the approval of answers.

    GET  /exchange                          the queue (metadata only, nothing decrypted)
    GET  /exchange/{exchange_id}            one message, decrypted: a logged consultation
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
templates live here, as strings extending the workspace's ``base.html``, so this module is
the whole federation workspace.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import ChoiceLoader, DictLoader
from pydantic import ValidationError

from pnrguard.audit.models import Purpose
from pnrguard.errors import ConflictError, InputError
from pnrguard.exchange.client import PeerClient, PeerRefused, PeerUnreachable
from pnrguard.exchange.messages import MIN_REASONING, Evaluation, HandlingCode, Subject
from pnrguard.service import exchange as service
from pnrguard.service import four_eyes, peer_answers
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.review import ReviewPolicy, investigative_purposes
from pnrguard.store import exchange as store
from pnrguard.store import peer_results
from pnrguard.store import screening as hits_store
from pnrguard.store.repository import new_id
from pnrguard.store.screening import HitStatus
from pnrguard.web.auth import require_role
from pnrguard.web.views import TEMPLATES, render

__all__ = ["install", "router"]

READERS = (Role.ANALYST, Role.SUPERVISOR, Role.DPO)
DECIDERS = (Role.ANALYST, Role.SUPERVISOR)
_HEX32 = re.compile(r"[0-9a-f]{32}")

_PAGES = {
    "exchange_queue.html": """{% extends "base.html" %}
{% block title %}Exchange{% endblock %}
{% block content %}
  <h1>Exchange with peer PIUs</h1>
  {% if rows %}
  <table>
    <caption>{{ rows | length }} message{{ "" if rows | length == 1 else "s" }}, newest first</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Direction</th><th scope="col">Peer</th>
      <th scope="col">Kind</th><th scope="col">Purpose</th><th scope="col">Case</th>
      <th scope="col">Handling</th><th scope="col">Status</th><th scope="col"></th></tr></thead>
    <tbody>
    {% for r, p in rows %}
      <tr><td>{{ r.created_at | utc }}</td><td>{{ "received" if r.direction == "in" else "sent" }}</td>
        <td>{{ p.name }}{% if p.third_country %} (third country){% endif %}</td><td>{{ r.kind }}</td>
        <td>{{ r.purpose | purpose }}</td><td class="mono">{{ r.case_ref }}</td>
        <td>{{ r.handling | join(" ") }}</td><td>{{ r.status }}</td>
        <td><a href="/exchange/{{ r.id }}">Open <span class="mono">{{ r.id[-8:] }}</span></a></td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% else %}<p class="empty">No exchanged messages.</p>{% endif %}
{% endblock %}""",
    "exchange_message.html": """{% extends "base.html" %}
{% block title %}Exchange {{ rec.id[-8:] }}{% endblock %}
{% block content %}
  <h1>{{ rec.kind }} {{ "from" if rec.direction == "in" else "to" }} {{ peer.name }}</h1>
  {% if message %}<p class="notice" role="status">{{ message }}</p>{% endif %}
  <dl>
    <dt>Status</dt><dd>{{ rec.status }}{% if rec.status == "awaiting_second" %} (waiting for a
      supervisor's second approval){% endif %}</dd>
    {% if rec.error %}<dt>{{ "Sent back" if rec.status == "refused" else "Delivery" }}</dt>
      <dd>{{ rec.error }}</dd>{% endif %}
    <dt>Purpose</dt><dd>{{ rec.purpose | purpose }}</dd>
    <dt>Case reference</dt><dd class="mono">{{ rec.case_ref }}</dd>
    <dt>Legal basis</dt><dd>{{ env.legal_basis }}</dd>
    <dt>Message ids</dt><dd class="mono">ours {{ rec.id }} · theirs {{ rec.peer_message_id or "-" }}</dd>
    <dt>Handling</dt><dd>{{ rec.handling | join(" ") }}
      {% if env.handling_conditions %}: {{ env.handling_conditions }}{% endif %}</dd>
    {% if rec.evaluation %}<dt>Evaluation</dt><dd>{{ rec.evaluation }}</dd>{% endif %}
    {% if env.onward_transfer_condition %}<dt>Onward transfer</dt>
      <dd>{{ env.onward_transfer_condition }}</dd>{% endif %}
    {% if env.reasoning %}<dt>Reasoning</dt><dd>{{ env.reasoning }}</dd>{% endif %}
    {% if rec.decided_by %}<dt>Decided</dt>
      <dd>{{ rec.decided_by }}, {{ rec.decided_at | utc }}: {{ rec.decision_reason | shown }}</dd>
      {% endif %}
    {% if rec.second_approver %}<dt>Second approval</dt>
      <dd>{{ rec.second_approver }}, {{ rec.second_approved_at | utc }}</dd>{% endif %}
    {% if rec.in_reply_to %}<dt>Answers</dt><dd><a href="/exchange/{{ rec.in_reply_to }}">the request
      <span class="mono">{{ rec.in_reply_to[-8:] }}</span></a></dd>{% endif %}
  </dl>
  {% if can_retry %}
  <form method="post" action="/exchange/{{ rec.id }}/retry">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <p class="hint">Not delivered yet. A retry sends the same message (same id): the peer files it
      once even if an earlier attempt reached it.</p>
    <button type="submit">Retry the delivery</button>
  </form>
  {% endif %}
  {% if answers %}
  <h2>Our answers</h2>
  <ul>{% for a in answers %}<li><a href="/exchange/{{ a.id }}">Answer <span class="mono">{{ a.id[-8:] }}
    </span></a> {{ a.outcome or "" }}, {{ a.status }}{% if a.decided_by %}, approved by {{ a.decided_by }}
    {% endif %}{% if a.second_approver %} and {{ a.second_approver }}{% endif %}</li>{% endfor %}</ul>
  {% endif %}
  {% if rec.status == "awaiting_second" %}
  <h2>Second approval</h2>
  <p>{{ rec.decided_by }} approved {{ "the answer" if rec.direction == "in" else "this transfer" }}.
    Four eyes: it leaves only when a supervisor other than {{ rec.decided_by }} approves it.</p>
  {% if preview %}<h3>What leaves (the sealed message, exactly)</h3>
  <pre class="package-preview" id="message-preview">{{ preview }}</pre>{% endif %}
  {% if can_second %}
  <form method="post" action="/exchange/{{ rec.id }}/second-approval">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <label>Reason (mandatory)<textarea name="reason" required minlength="20"></textarea></label>
    <button type="submit" name="decision" value="approve">Approve and send</button>
    <button type="submit" name="decision" value="return" class="secondary">Send it back</button>
  </form>
  {% endif %}
  {% endif %}
  {% if env.subject %}
  <h2>Subject</h2>
  <dl>{% for k, v in env.subject.model_dump(exclude_none=True).items() %}<dt>{{ k }}</dt>
    <dd>{{ v }}</dd>{% endfor %}</dl>
  {% endif %}
  {% if env.records %}
  <h2>Bookings ({{ env.records | length }})</h2>
  <ul>{% for r in env.records %}<li class="mono">{{ r.ref }}{% if r.masked %} (masked){% endif %}
    </li>{% endfor %}</ul>
  {% endif %}
  {% if can_decide %}
  <h2>Search</h2>
  <p class="hint">An answer names only bookings a search under this request found (logged).</p>
  <form method="post" action="/exchange/{{ rec.id }}/search">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <button type="submit" class="secondary">Search for the subject</button>
  </form>
  {% if found %}<p>Found: {% for f in found %}<span class="mono found-id">{{ f }}</span> {% endfor %}</p>
  {% else %}<p class="empty">Nothing found yet.</p>{% endif %}
  <h2>Decide</h2>
  <form method="post" action="/exchange/{{ rec.id }}/answer">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <label>Bookings to send (ids, one per line; none: "no data")<textarea name="booking_ids">
      </textarea></label>
    <label>Source reliability <select name="source">{% for s in "ABCX" %}<option>{{ s }}</option>
      {% endfor %}</select></label>
    <label>Information accuracy <select name="accuracy">{% for a in "1234" %}<option>{{ a }}
      </option>{% endfor %}</select></label>
    <fieldset><legend>Handling codes</legend>{% for h in handling_codes %}
      <label><input type="checkbox" name="handling" value="{{ h }}"{% if h == "H0" %} checked
        {% endif %}> {{ h }}</label>{% endfor %}
      <label>Other restrictions (H3)<input name="handling_conditions"></label></fieldset>
    <label>Reason (mandatory)<textarea name="reason" required minlength="20"></textarea></label>
    {% if four_eyes %}<p class="hint">Four eyes: the answer leaves only after a supervisor other
      than you approves it.</p>{% endif %}
    <button type="submit">Approve{% if not four_eyes %} and send{% endif %} the answer</button>
  </form>
  <form method="post" action="/exchange/{{ rec.id }}/refuse">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <label>Reason (mandatory)<textarea name="reason" required minlength="20"></textarea></label>
    <button type="submit" class="secondary">Refuse the request</button>
  </form>
  {% endif %}
{% endblock %}""",
    "exchange_new_request.html": """{% extends "base.html" %}
{% block title %}Request to a peer PIU{% endblock %}
{% block content %}
  <h1>Request data from a peer PIU</h1>
  {% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
  {% if peers %}
  <form method="post" action="/exchange/requests" class="stack">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <label for="peer">Peer PIU</label>
    <select id="peer" name="peer" required>{% for p in peers %}<option value="{{ p.name }}"
      {% if p.name == form.peer %} selected{% endif %}>{{ p.name }} ({{ p.country }}{% if p.third_country
      %}, third country{% endif %}{% if p.kind.value == "europol" %}, Europol{% endif %})</option>{% endfor %}
    </select>
    <label for="purpose">Purpose</label>
    <select id="purpose" name="purpose" required><option value="">Terrorism or an Annex II offence…</option>
      {% for pp in purposes %}<option value="{{ pp.value }}"{% if pp.value == form.purpose %} selected
      {% endif %}>{{ pp | purpose }}</option>{% endfor %}</select>
    <label for="case_ref">Case reference (an opaque id: letters, digits, . _ : / -)</label>
    <input id="case_ref" name="case_ref" required maxlength="64" value="{{ form.case_ref }}">
    <label for="legal_basis">Legal basis</label>
    <input id="legal_basis" name="legal_basis" required maxlength="200" value="{{ form.legal_basis }}">
    <label for="reasoning">Reasoning: why this data is needed for this case (at least {{ min_reason }}
      characters; the peer decides on it)</label>
    <textarea id="reasoning" name="reasoning" required minlength="{{ min_reason }}" maxlength="2000">
      {{- form.reasoning }}</textarea>
    <fieldset>
      <legend>Subject</legend>
      <p class="notice">The subject is personal data. It goes to the peer only in the signed message,
        over mutual TLS, and is stored here encrypted; it never appears in an address or a log.</p>
      <label><input type="radio" name="subject_kind" value="person"{% if form.subject_kind != "booking" %}
        checked{% endif %}> A person (surname or document number)</label>
      <label><input type="radio" name="subject_kind" value="booking"{% if form.subject_kind == "booking" %}
        checked{% endif %}> A booking (carrier and record locator)</label>
      {% for f, label in subject_fields %}<label for="s-{{ f }}">{{ label }}</label>
      <input id="s-{{ f }}" name="{{ f }}" value="{{ form[f] }}" autocomplete="off"
        {% if f.endswith("date") or f == "date_of_birth" %}type="date"{% endif %}>{% endfor %}
    </fieldset>
    <fieldset><legend>Handling codes</legend>{% for h, meaning in handling_codes %}
      <label><input type="checkbox" name="handling" value="{{ h }}"{% if h in form.handling %} checked
        {% endif %}> {{ h }}: {{ meaning }}</label>{% endfor %}
      <label>Other restrictions (with H3)<input name="handling_conditions" maxlength="2000"
        value="{{ form.handling_conditions }}"></label></fieldset>
    <div><button type="submit">Send the request</button></div>
  </form>
  {% else %}<p class="empty">No peer PIU is registered (or all are revoked): an operator registers
    peers with <code>pnrguard peers add</code>.</p>{% endif %}
{% endblock %}""",
    "exchange_new_transfer.html": """{% extends "base.html" %}
{% block title %}Transfer to a peer PIU{% endblock %}
{% block content %}
  <h1>Transfer a confirmed hit to a peer PIU</h1>
  {% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
  <p>Hit <a href="/hits/{{ hit.id }}" class="mono">{{ hit.id[-8:] }}</a>, {{ hit.purpose | purpose }}:
    its booking goes to the peer (Art. 9(1)); a masked booking goes masked unless an unmasking
    approval covers you for this purpose.</p>
  {% if peers %}
  <form method="post" action="/exchange/transfers" class="stack">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <input type="hidden" name="hit" value="{{ hit.id }}">
    <label for="peer">Peer PIU</label>
    <select id="peer" name="peer" required>{% for p in peers %}<option value="{{ p.name }}"
      {% if p.name == form.peer %} selected{% endif %}>{{ p.name }} ({{ p.country }}{% if p.third_country
      %}, third country: its onward-transfer undertaking travels with the data{% endif %})</option>
      {% endfor %}</select>
    <label for="case_ref">Case reference</label>
    <input id="case_ref" name="case_ref" required maxlength="64" value="{{ form.case_ref }}">
    <label for="reason">Reason (mandatory, at least {{ min_reason }} characters)</label>
    <textarea id="reason" name="reason" required minlength="{{ min_reason }}" maxlength="2000">
      {{- form.reason }}</textarea>
    <label>Source reliability <select name="source">{% for x in "ABCX" %}<option{% if x == form.source
      %} selected{% endif %}>{{ x }}</option>{% endfor %}</select></label>
    <label>Information accuracy <select name="accuracy">{% for x in "1234" %}<option{% if x == form.accuracy
      %} selected{% endif %}>{{ x }}</option>{% endfor %}</select></label>
    <fieldset><legend>Handling codes</legend>{% for h, meaning in handling_codes %}
      <label><input type="checkbox" name="handling" value="{{ h }}"{% if h in form.handling %} checked
        {% endif %}> {{ h }}: {{ meaning }}</label>{% endfor %}
      <label>Other restrictions (with H3)<input name="handling_conditions" maxlength="2000"
        value="{{ form.handling_conditions }}"></label></fieldset>
    <div><button type="submit">Send the transfer</button></div>
  </form>
  {% else %}<p class="empty">No peer PIU is registered (or all are revoked).</p>{% endif %}
{% endblock %}""",
}

_HANDLING = (
    ("H0", "use for crime fighting only"),
    ("H1", "not in court without our permission"),
    ("H2", "no onward transfer without our permission"),
    ("H3", "other restrictions (spell them out)"),
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
}

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


@router.get("/exchange", include_in_schema=False)
def queue(request: Request, _: Annotated[Account, Depends(require_role(*READERS))]) -> Response:
    return render(request, "exchange_queue.html", {"rows": service.list_queue(_node(request))})


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
        raise InputError("unknown handling code") from None


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
        raise InputError(
            "the subject is incomplete or invalid"
            + (f" ({', '.join(where)})" if where else ": a person needs a surname or a document number, "
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
            raise InputError("the subject is a person or a booking")
        subject = _subject(subject_kind, fields)
        try:
            chosen = Purpose(purpose)
        except ValueError:
            raise InputError("choose the purpose: terrorism or an Annex II offence") from None
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
        raise InputError("name a confirmed hit: /exchange/new/transfer?hit=<hit id>")
    with _node(request).engine.connect() as conn:
        h = hits_store.get_hit(conn, hit_id)
    if h.status is not HitStatus.CONFIRMED:
        raise ConflictError("only a hit a person confirmed is transferred")
    return h


def _transfer_form(
    request: Request, h: hits_store.HitRecord, form: dict[str, Any], error: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "exchange_new_transfer.html",
        {"hit": h, "peers": _peers(request), "form": form, "error": error, "min_reason": service.MIN_REASON,
         "handling_codes": _HANDLING},
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
            raise InputError("unknown evaluation code") from None
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


@router.get("/exchange/{exchange_id}", include_in_schema=False)
def message(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(*READERS))],
    done: str = "",
) -> Response:
    rec, peer, env = service.open_message(exchange_id, user=user, node=_node(request))
    can_decide = user.role in DECIDERS and rec.direction == "in" and rec.status == "awaiting_approval"
    answers: list[store.ExchangeRecord] = []
    if rec.direction == "in" and rec.kind in ("request", "europol_request"):
        with _node(request).engine.connect() as conn:
            answers = store.answers_to(conn, rec.id)
    can_second = (
        user.role is Role.SUPERVISOR and rec.status == "awaiting_second"
        and rec.decided_by != user.username
    )  # fmt: skip
    preview = ""
    if can_second:
        # The second person sees what leaves (the sealed message), not ids.
        draft_id = rec.id
        if rec.direction == "in":
            with _node(request).engine.connect() as conn:
                draft = store.draft_answer(conn, rec.id)
            draft_id = draft.id if draft is not None else ""
        if draft_id:
            preview = four_eyes.preview_outgoing(draft_id, user=user, node=_node(request))
    can_retry = user.role in DECIDERS and rec.direction == "out" and rec.status in ("approved", "failed")
    found: list[str] = []
    if can_decide:
        with _node(request).engine.connect() as conn:
            found = peer_results.found_for(conn, rec.id)
    return render(
        request,
        "exchange_message.html",
        {"rec": rec, "peer": peer, "env": env, "can_decide": can_decide, "can_second": can_second,
         "can_retry": can_retry, "answers": answers, "four_eyes": _policy(request).four_eyes,
         "preview": preview, "found": found,
         "message": _DONE.get(done, ""), "handling_codes": [h.value for h in HandlingCode]},
    )  # fmt: skip


@router.post("/exchange/{exchange_id}/answer", include_in_schema=False)
def answer(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(*DECIDERS))],
    reason: Annotated[str, Form()] = "",
    booking_ids: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "X",
    accuracy: Annotated[str, Form()] = "4",
    handling: Annotated[list[str] | None, Form()] = None,
    handling_conditions: Annotated[str, Form()] = "",
) -> Response:
    try:
        evaluation = Evaluation.model_validate({"source": source, "accuracy": accuracy})
        codes = [HandlingCode(h) for h in (handling or ["H0"])]
    except ValueError:
        raise InputError("unknown evaluation or handling code") from None
    try:
        out = service.approve_answer(
            exchange_id, user=user, reason=reason, booking_ids=booking_ids.split(), evaluation=evaluation,
            handling=codes, handling_conditions=handling_conditions.strip() or None, node=_node(request),
            client=_client(request), policy=_policy(request),
        )  # fmt: skip
    except (PeerRefused, PeerUnreachable):
        return _to(exchange_id, "failed")
    return _to(exchange_id, "awaiting_second" if out.status == "awaiting_second" else "answered")


@router.post("/exchange/{exchange_id}/search", include_in_schema=False)
def search(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(*DECIDERS))],
) -> Response:
    """Search under an incoming request from its subject; the answer may name what it found."""
    peer_answers.search_peer_request(exchange_id[:64], user=user, node=_node(request))
    return _to(exchange_id, "searched")


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
            raise InputError("approve or return")
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
        raise InputError("approve or return")
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
    loader = TEMPLATES.env.loader
    if not isinstance(loader, ChoiceLoader) or not any(isinstance(x, DictLoader) for x in loader.loaders):
        TEMPLATES.env.loader = ChoiceLoader([loader, DictLoader(_PAGES)] if loader else [DictLoader(_PAGES)])
    app.include_router(router)
    del node  # the app's state holds it already
