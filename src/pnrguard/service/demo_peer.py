"""A second, synthetic PIU on loopback so the demo shows exchange without reading docs.

Why it looks like this (issue 15, "A demo that shows the whole product"): exchange needs two
nodes that trust each other. `pnrguard demo-peer` builds the other one beside the demo node
(`var/demo-peer/`: its own SQLite file, key file and private CA), does both operators' steps
(identity cards, fingerprints, registration both ways; the "phone call" is skipped because
both nodes are on this machine, and the page says so), ingests synthetic traffic of its own,
sends the demo node one request about one of the demo's travellers (so the demo's inbox has
something to answer) and then answers every request the demo sends it.

That answering is done by a robot account of the *synthetic* peer: "a person decides" holds
for the node people use (the demo node); the peer stands for another nation, whose people we
do not simulate. The robot searches from the request's subject, like a person would, and
answers with what that search found, or refuses when the subject is not searchable. It never
runs on a real node: the command refuses a main database without the demo's marker
(`service.demo`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from pnrguard.audit.models import Purpose
from pnrguard.config import Settings
from pnrguard.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.exchange.client import PeerClient, PeerRefused, PeerUnreachable
from pnrguard.exchange.identity import create_node_pki
from pnrguard.exchange.messages import Evaluation, Subject
from pnrguard.formats.synth import generate
from pnrguard.service import accounts, exchange_peers, peer_answers
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.demo import MARKER
from pnrguard.service.exchange_answers import approve_answer, refuse_request
from pnrguard.service.exchange_inbox import list_queue
from pnrguard.service.exchange_requests import send_request
from pnrguard.service.review import ReviewPolicy
from pnrguard.store.exchange import ExchangeRecord
from pnrguard.store.repository import BookingRepository
from pnrguard.store.tables import booking, node_marker

__all__ = [
    "PEER_NAME",
    "DemoPeer",
    "answer_waiting",
    "ask_demo",
    "ensure_pki",
    "is_demo",
    "peer_env",
    "prepare",
]

PEER_NAME = "demo-peer.piu"
ROBOT = "demo-peer-robot"
REASONING = (
    "Synthetic demo request: the traveller shares an itinerary with a courier network under investigation."
)
ANSWER_REASON = "Synthetic demo peer: answered with what the search from the request's subject found."
REFUSE_REASON = "Synthetic demo peer: the subject names no surname with a flight date, nor a booking."


@dataclass(frozen=True, slots=True)
class DemoPeer:
    settings: Settings
    base: Path


def is_demo(node: Node) -> bool:
    """Whether `node`'s database carries the demo's marker (the only place this may run)."""
    with node.engine.connect() as conn:
        return (
            conn.execute(select(node_marker.c.value).where(node_marker.c.name == MARKER)).first() is not None
        )


def ensure_pki(settings: Settings) -> None:
    """A private CA and certificate for a node that has none yet (loopback names)."""
    if not settings.tls_cert_file.exists():
        create_node_pki(
            name=settings.node_name, hosts=["127.0.0.1", "localhost"], out_dir=settings.tls_cert_file.parent
        )


def peer_settings(base: Path, *, port: int) -> DemoPeer:
    """The synthetic peer's settings: everything under `base`, its peer API on `port`."""
    tls = base / "tls"
    s = Settings(
        database_url=SecretStr(f"sqlite:///{base / 'peer.db'}"),
        key_file=base / "keys.json",
        node_name=PEER_NAME,
        node_country="BE",
        tls_cert_file=tls / "node.pem",
        tls_key_file=tls / "node.key",
        tls_ca_file=tls / "ca.pem",
        peer_api_host="127.0.0.1",
        peer_api_port=port,
        peer_api_url=f"https://127.0.0.1:{port}",
    )
    return DemoPeer(s, base)


def peer_env(s: Settings) -> dict[str, str]:
    """The environment that makes `pnrguard peers serve` run as the node of `s`."""
    return {
        "PNRGUARD_DATABASE_URL": s.database_url.get_secret_value(),
        "PNRGUARD_KEY_FILE": str(s.key_file),
        "PNRGUARD_NODE_NAME": s.node_name,
        "PNRGUARD_NODE_COUNTRY": s.node_country,
        "PNRGUARD_TLS_CERT_FILE": str(s.tls_cert_file),
        "PNRGUARD_TLS_KEY_FILE": str(s.tls_key_file),
        "PNRGUARD_TLS_CA_FILE": str(s.tls_ca_file),
        "PNRGUARD_PEER_API_HOST": s.peer_api_host,
        "PNRGUARD_PEER_API_PORT": str(s.peer_api_port),
        "PNRGUARD_PEER_API_URL": s.peer_api_url or "",
    }


def _register(at: Node, other: Node) -> bool:
    """`at` registers `other` from its card (both nodes are here: the fingerprints are the card's)."""
    card = exchange_peers.node_card(other)
    if any(p.name == card.name and not p.revoked for p in exchange_peers.list_peers(at)):
        return False
    exchange_peers.register_peer(
        card, cert_fingerprint=card.cert_fingerprint, key_fingerprint=card.keyid, actor="demo-peer", node=at
    )
    return True


def _robot(node: Node) -> Account:
    try:
        return accounts.get_account(node.engine, ROBOT)
    except NotFoundError:
        # The peer node serves no workspace: the password is never shown nor used.
        return accounts.create_account(
            node.engine,
            username=ROBOT,
            role=Role.SUPERVISOR,
            password=accounts.generate_password(),
            now=node.clock(),
        )


def prepare(main: Node, peer: Node, *, seed: int = 7, flights: int = 4) -> Account:
    """Trust both ways and give the peer synthetic traffic; returns the peer's robot."""
    _register(main, peer)
    _register(peer, main)
    with peer.engine.connect() as conn:
        empty = conn.execute(select(booking.c.id).limit(1)).first() is None
    if empty:
        start = dt.date.today() + dt.timedelta(days=1)
        for push in generate(seed, flights=flights, base_date=start):
            peer.ingest(push.pnrgov.encode("utf-8"))
    return _robot(peer)


def _a_traveller(main: Node) -> Subject | None:
    """A traveller of the demo's own synthetic traffic, as a peer would name them."""
    with main.engine.connect() as conn:
        repo = BookingRepository(conn, main.keystore)
        ids = conn.execute(
            select(booking.c.id)
            .where(booking.c.state == "active")
            .order_by(booking.c.flight_date.desc())
            .limit(50)
        ).scalars()
        for bid in ids:
            b = repo.get(bid)
            if b.travellers and b.travellers[0].surname and b.itinerary and b.itinerary[0].departure:
                return Subject(
                    kind="person",
                    surname=b.travellers[0].surname,
                    flight_date=b.itinerary[0].departure.date(),
                )
    return None


def ask_demo(main: Node, peer: Node, robot: Account, client: PeerClient) -> ExchangeRecord | None:
    """The peer asks the demo node about one of its travellers (None: the demo has none)."""
    subject = _a_traveller(main)
    if subject is None:
        return None
    return send_request(
        user=robot, peer_name=main.settings.node_name, subject=subject, purpose=Purpose.TERRORIST_OFFENCES,
        case_ref="DEMO-PEER-1", legal_basis="Directive (EU) 2016/681 Art. 9(2)", reasoning=REASONING,
        node=peer, client=client,
    )  # fmt: skip


def answer_waiting(peer: Node, robot: Account, client: PeerClient) -> int:
    """Answer every request waiting at the synthetic peer; returns how many were decided."""
    done = 0
    for rec, _ in list_queue(peer, direction="in", status="awaiting_approval"):
        try:
            try:
                found = peer_answers.search_peer_request(rec.id, user=robot, node=peer)
            except InputError:
                refuse_request(rec.id, user=robot, reason=REFUSE_REASON, node=peer, client=client)
            else:
                approve_answer(
                    rec.id, user=robot, reason=ANSWER_REASON, booking_ids=[b.id for b in found[:5]],
                    evaluation=Evaluation.model_validate({"source": "B", "accuracy": "2"}),
                    node=peer, client=client, policy=ReviewPolicy(four_eyes=False),
                )  # fmt: skip
            done += 1
        except (PeerRefused, PeerUnreachable, ConflictError, ForbiddenError, NotFoundError):
            continue  # stored as failed (retryable) or decided meanwhile; the next round retries
    return done
