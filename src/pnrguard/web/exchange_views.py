"""Workspace pages for federation: the queue of exchanged messages and the approval of answers.

    GET  /exchange                          the queue (metadata only, nothing decrypted)
    GET  /exchange/{exchange_id}            one message, decrypted: a logged consultation
    POST /exchange/{exchange_id}/answer     a person approves the answer (bookings, reason,
                                            evaluation and handling codes); only then it leaves
    POST /exchange/{exchange_id}/refuse     a person refuses the request (the peer is told)

Roles come from `web.auth.require_role`: analysts, supervisors and the DPO read; analysts and
supervisors decide (`service.exchange` checks again: the shell is not the only guard). The
templates live here, as strings extending the workspace's ``base.html``, so this module is
the whole federation workspace.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import ChoiceLoader, DictLoader

from pnrguard.errors import InputError
from pnrguard.exchange.client import PeerClient
from pnrguard.exchange.messages import Evaluation, HandlingCode
from pnrguard.service import exchange as service
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.web.auth import require_role
from pnrguard.web.views import TEMPLATES, render

__all__ = ["install", "router"]

READERS = (Role.ANALYST, Role.SUPERVISOR, Role.DPO)
DECIDERS = (Role.ANALYST, Role.SUPERVISOR)

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
  <dl>
    <dt>Status</dt><dd>{{ rec.status }}</dd>
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
      <dd>{{ rec.decided_by }}, {{ rec.decided_at | utc }}: {{ rec.decision_reason }}</dd>
      {% endif %}
  </dl>
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
    <button type="submit">Approve and send the answer</button>
  </form>
  <form method="post" action="/exchange/{{ rec.id }}/refuse">
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <label>Reason (mandatory)<textarea name="reason" required minlength="20"></textarea></label>
    <button type="submit" class="secondary">Refuse the request</button>
  </form>
  {% endif %}
{% endblock %}""",
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


@router.get("/exchange/{exchange_id}", include_in_schema=False)
def message(
    request: Request, exchange_id: str, user: Annotated[Account, Depends(require_role(*READERS))]
) -> Response:
    rec, peer, env = service.open_message(exchange_id, user=user, node=_node(request))
    can_decide = user.role in DECIDERS and rec.direction == "in" and rec.status == "awaiting_approval"
    return render(
        request,
        "exchange_message.html",
        {"rec": rec, "peer": peer, "env": env, "can_decide": can_decide,
         "handling_codes": [h.value for h in HandlingCode]},
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
    service.approve_answer(
        exchange_id, user=user, reason=reason, booking_ids=booking_ids.split(), evaluation=evaluation,
        handling=codes, handling_conditions=handling_conditions.strip() or None, node=_node(request),
        client=_client(request),
    )  # fmt: skip
    return RedirectResponse(f"/exchange/{exchange_id}", status_code=303)


@router.post("/exchange/{exchange_id}/refuse", include_in_schema=False)
def refuse(
    request: Request,
    exchange_id: str,
    user: Annotated[Account, Depends(require_role(*DECIDERS))],
    reason: Annotated[str, Form()] = "",
) -> Response:
    service.refuse_request(
        exchange_id, user=user, reason=reason, node=_node(request), client=_client(request)
    )
    return RedirectResponse(f"/exchange/{exchange_id}", status_code=303)


def install(app: FastAPI, node: Node) -> None:
    """Add the federation workspace to the node's app (one line in `create_app`)."""
    loader = TEMPLATES.env.loader
    if not isinstance(loader, ChoiceLoader) or not any(isinstance(x, DictLoader) for x in loader.loaders):
        TEMPLATES.env.loader = ChoiceLoader([loader, DictLoader(_PAGES)] if loader else [DictLoader(_PAGES)])
    app.include_router(router)
    del node  # the app's state holds it already
