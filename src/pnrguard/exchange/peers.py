"""The `PeerDirectory` port: the peers this node trusts, registered one by one by an operator.

There is no central registry (DESIGN.md, Principle 1). A peer exists for this node only
after an operator registered its identity card and confirmed both fingerprints out of band.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Peer", "PeerDirectory", "PeerKind"]


class PeerKind(StrEnum):
    """What a peer is, which decides the rules its messages follow (service.exchange)."""

    MEMBER_STATE = "member_state"  # another EU PIU (Art. 9)
    EUROPOL = "europol"  # may send europol_request (Art. 10)
    THIRD_COUNTRY = "third_country"  # Art. 11: onward-transfer condition, DPO informed


@dataclass(frozen=True, slots=True)
class Peer:
    """A registered peer. `keyid` is the fingerprint of `signing_key` (raw Ed25519, 32
    bytes); `ca_pem` admits its TLS certificates; `cert_pem` is the certificate registered
    for it, whose validity bounds the registration; `onward_condition` is the recorded
    undertaking of a third country not to pass data on without express authorisation."""

    id: str
    name: str
    country: str
    kind: PeerKind
    url: str
    keyid: str
    signing_key: bytes
    cert_pem: str
    cert_fingerprint: str
    cert_not_after: dt.datetime
    ca_pem: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    onward_condition: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def third_country(self) -> bool:
        return self.kind is PeerKind.THIRD_COUNTRY


class PeerDirectory(ABC):
    """Port: the node's registered peers.

    Contract:

    - `add` stores a new peer; names and keyids are unique (a second registration of either
      raises `ConflictError`). Registration is the only way a keyid becomes known.
    - `by_keyid` and `by_name` return revoked peers too (callers refuse them, and log that
      they did); they return None for an unknown peer.
    - `revoke` is final: a revoked peer is never un-revoked (register a new identity
      instead), so an old signature can never become valid again. Returns False if the peer
      was revoked already.
    - `ca_bundle` is the PEM of every non-revoked peer's CA, for the mutual-TLS listener.
    - Reads and writes take effect within the caller's transaction when the directory is
      bound to one (the SQL adapter), so a revocation is seen by the next message.
    """

    @abstractmethod
    def add(self, peer: Peer) -> None: ...

    @abstractmethod
    def by_keyid(self, keyid: str) -> Peer | None: ...

    @abstractmethod
    def by_name(self, name: str) -> Peer | None: ...

    @abstractmethod
    def by_id(self, peer_id: str) -> Peer | None: ...

    @abstractmethod
    def all(self) -> list[Peer]: ...

    @abstractmethod
    def revoke(self, name: str, *, at: dt.datetime) -> bool: ...

    def ca_bundle(self) -> str:
        return "".join(
            p.ca_pem if p.ca_pem.endswith("\n") else p.ca_pem + "\n" for p in self.all() if not p.revoked
        )
