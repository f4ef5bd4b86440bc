"""Federation use cases: receive, queue, approve, send; logged at both ends.

This module is the federation's front door: one concept per module behind it, every name
re-exported here so callers keep one import (`exchange_inbound` receiving,
`exchange_inbox` folders and opening, `exchange_requests` our requests, `exchange_answers`
answering a peer, `exchange_transfers` spontaneous transfers and H2, `exchange_delivery`
filing, delivery and retry, `exchange_payload` envelopes at rest, `exchange_peers` trust,
`four_eyes` the second approval of whatever leaves).

Why it works this way (Directive 2016/681 Art. 9-11, REQUIREMENTS §6, DESIGN.md):

- **Only what a person approved leaves.** An incoming request waits in the workspace queue
  (`awaiting_approval`); `approve_answer` is a named person's decision with a reason, and
  only then is an answer built and sent. With four eyes (`ReviewPolicy.four_eyes`, the
  setting transmissions to authorities use) the drafted answer waits (`awaiting_second`)
  until a supervisor other than that person approves it (`second_approval`).
  A spontaneous transfer (`send_transfer`) sends a *confirmed* hit's booking, or data
  received earlier when its handling codes allow it.
- **Masked stays masked.** An answer or transfer reads each booking through the unmasking
  seam (`service.unmasking.can_see_identity_on`): a masked booking leaves only when an
  approved judicial unmasking covers this booking, approver and purpose (Art. 12(3));
  otherwise the whole message is refused and nothing leaves (issue 10, item 4). A copy
  filed before its booking was masked is sealed with it (`service.exchange_payload`).
- **Logged at both ends.** Every message sent is a ``disclosure`` in the sender's log and
  every message received a ``collection`` in the receiver's, each with the other side's
  message id in its record ids (``peer-msg:<id>``) and its own id as the reference, so two
  DPOs can match the two logs line by line. Every refusal (a bad signature, a replay, an
  unknown, revoked or expired peer, a message the rules forbid, a failed delivery) is a
  ``refusal`` entry, at the end that refused.
- **Idempotent on message id.** The receiver files a message once per (peer, message id);
  a re-delivery gets the original receipt and writes nothing. The sender keeps the message
  id when it retries, so a lost receipt never makes a second copy.
- **H2 in code.** Data received under H2 is forwarded to another peer only with a recorded
  permission of the originator (`record_onward_permission`); otherwise the forward is
  refused and the refusal logged.
- **Third countries (Art. 11).** Data goes to a third-country peer only when its registration
  records its undertaking not to pass the data on without express authorisation; the
  condition travels in the message, H2 is added, and the DPO gets a notification.
"""

from __future__ import annotations

from pnrguard.service.exchange_answers import approve_answer, refuse_request, return_answer, second_approval
from pnrguard.service.exchange_delivery import (
    MIN_REASON,
    deliver,
    make_client,
    require_reason,
    retry_delivery,
    usable_peer,
)
from pnrguard.service.exchange_inbound import Inbound, Outcome, receive_message
from pnrguard.service.exchange_inbox import list_queue, open_message
from pnrguard.service.exchange_payload import open_payload
from pnrguard.service.exchange_peers import (
    list_peers,
    node_card,
    peer_api_url,
    peer_ca_bundle,
    register_peer,
    revoke_peer,
)
from pnrguard.service.exchange_requests import send_request
from pnrguard.service.exchange_transfers import record_onward_permission, send_transfer

__all__ = [
    "MIN_REASON",
    "Inbound",
    "Outcome",
    "approve_answer",
    "list_peers",
    "list_queue",
    "make_client",
    "node_card",
    "open_message",
    "peer_api_url",
    "peer_ca_bundle",
    "receive_message",
    "record_onward_permission",
    "refuse_request",
    "register_peer",
    "retry_delivery",
    "return_answer",
    "revoke_peer",
    "second_approval",
    "send_request",
    "send_transfer",
]

# Names older callers (and tests) reach for; the modules above hold the code.
_unseal = open_payload
_reason = require_reason
_usable_peer = usable_peer
_deliver = deliver
