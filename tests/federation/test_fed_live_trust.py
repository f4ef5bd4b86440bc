"""Registering or revoking a peer takes effect in a running `pnrguard peers serve`.

A real server process (mutual TLS, `CERT_REQUIRED`) started with one registered peer: a
second peer's certificate is refused in the TLS handshake until the node registers it, and
is admitted at once after, without a restart; a revoked peer's next connection is refused
in the handshake too (not only by the app). Registration and revocation are the functions
`/admin/peers` calls (`service.exchange_peers`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fed_env import Member, make_member, start, stop, trust, wait_ready
from test_fed_e2e import _envelope, _raw

from pnrguard.exchange.peers import PeerKind
from pnrguard.service import exchange_peers

pytestmark = pytest.mark.e2e


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[tuple[Member, Member, Member]]:
    x = make_member(tmp_path, "x.piu", f"sqlite:///{tmp_path / 'x.db'}", country="FR")
    y = make_member(tmp_path, "y.piu", f"sqlite:///{tmp_path / 'y.db'}", country="DE")
    z = make_member(tmp_path, "z.piu", f"sqlite:///{tmp_path / 'z.db'}", country="IT")
    try:
        trust(x, y)
        start(x)
        wait_ready(x, timeout=300)  # a loaded machine starts a process slowly
        yield x, y, z
    finally:
        stop(x)
        for m in (x, y, z):
            m.close()


def _post(sender: Member, to: Member) -> int:
    """A signed request on a new connection (a new TLS handshake); the HTTP status."""
    client, url, body, headers = _raw(sender, to, env=_envelope(sender.name, to.name))
    with client:
        return client.post(url, content=body, headers=headers).status_code


def test_peers_registered_or_revoked_take_effect_without_restart(trio: tuple[Member, Member, Member]) -> None:
    x, y, z = trio
    assert _post(y, x) == 202
    # z's CA is trusted by nobody at x: the handshake fails, the app never sees it.
    with pytest.raises(httpx.TransportError):
        _post(z, x)
    card = z.card()
    exchange_peers.register_peer(
        card, cert_fingerprint=card.cert_fingerprint, key_fingerprint=card.keyid,
        kind=PeerKind.MEMBER_STATE, onward_condition=None, actor="u-admin", node=x.node,
    )  # fmt: skip
    assert _post(z, x) == 202  # the same server process, no restart
    assert exchange_peers.revoke_peer("y.piu", actor="u-admin", node=x.node)
    with pytest.raises(httpx.TransportError):
        _post(y, x)  # refused in the handshake now, not only by the app
    assert _post(z, x) == 202
    assert x.proc is not None
    assert x.proc.poll() is None
