"""`pnrguard node identity` and `pnrguard peers add|list|revoke|serve`: trust between nodes.

The operator's steps (docs/federation.md): create or configure the node's certificate,
export the identity card, swap cards with the other nation, read each other the two
fingerprints over a second channel, register each other, start the peer API.
"""

from __future__ import annotations

import ssl
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pnrguard.csvsafe import safe_writer
from pnrguard.errors import PnrguardError
from pnrguard.exchange.identity import IdentityCard, create_node_pki, load_certificate
from pnrguard.exchange.peers import PeerKind
from pnrguard.service import exchange as service
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_peers import LiveTrust

app = typer.Typer(help="Peer PIUs this node trusts (explicit registration, no central registry).")
node_app = typer.Typer(help="This node's identity towards peers.")


def _fail(exc: PnrguardError) -> typer.Exit:
    Console(stderr=True).print(f"[red]error[/]: {exc}")
    return typer.Exit(code=2)


@node_app.command("identity")
def identity(
    create_cert: Annotated[
        bool, typer.Option("--create-cert", help="Create a private CA and TLS certificate if none exists.")
    ] = False,
    host: Annotated[list[str] | None, typer.Option(help="Host name or IP in the certificate.")] = None,
    export: Annotated[Path | None, typer.Option(help="Write the identity card (JSON) to this file.")] = None,
) -> None:
    """Show the node's identity (fingerprints peers must confirm); optionally create its
    certificate or export its identity card."""
    with Node.from_settings() as node:
        s = node.settings
        if create_cert:
            if s.tls_cert_file.exists():
                Console(stderr=True).print(f"{s.tls_cert_file} exists: kept")
            else:
                create_node_pki(
                    name=s.node_name, hosts=host or [s.peer_api_host], out_dir=s.tls_cert_file.parent
                )
        try:
            card = service.node_card(node)
        except PnrguardError as exc:
            raise _fail(exc) from None
        cert = load_certificate(card.cert_pem)
        table = Table(show_header=False)
        table.add_row("name", card.name)
        table.add_row("country", card.country)
        table.add_row("peer API", card.url)
        table.add_row("certificate fingerprint (SHA-256)", card.cert_fingerprint)
        table.add_row("signing key fingerprint (SHA-256, keyid)", card.keyid)
        table.add_row(
            "certificate valid",
            f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}",
        )
        Console().print(table)
        if export is not None:
            export.write_text(card.to_json(), encoding="ascii")
            Console().print(f"identity card written to {export}")


@app.command("add")
def add(
    card_file: Annotated[Path, typer.Argument(help="The peer's identity card (JSON).")],
    cert_fingerprint: Annotated[
        str, typer.Option(help="Certificate fingerprint, as the peer read it to you.")
    ],
    key_fingerprint: Annotated[
        str, typer.Option(help="Signing key fingerprint, as the peer read it to you.")
    ],
    kind: Annotated[PeerKind, typer.Option(help="What the peer is.")] = PeerKind.MEMBER_STATE,
    onward_condition: Annotated[
        str | None, typer.Option(help="Third countries: their undertaking on onward transfers.")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who registers (for the audit log).")] = "operator",
) -> None:
    """Register a peer from its identity card; both fingerprints must match the card."""
    try:
        card = IdentityCard.from_json(card_file.read_text("ascii"))
        with Node.from_settings() as node:
            p = service.register_peer(
                card,
                cert_fingerprint=cert_fingerprint,
                key_fingerprint=key_fingerprint,
                kind=kind,
                onward_condition=onward_condition,
                actor=actor,
                node=node,
            )
    except PnrguardError as exc:
        raise _fail(exc) from None
    Console().print(
        f"registered peer [bold]{p.name}[/] ({p.kind.value}); restart `pnrguard peers serve` to admit its CA"
    )


@app.command("list")
def list_(fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table") -> None:
    """Registered peers (revoked ones included)."""
    with Node.from_settings() as node:
        peers = service.list_peers(node)
    cols = ["name", "country", "kind", "url", "keyid", "cert_fingerprint", "cert_not_after", "revoked"]
    rows = [
        [p.name, p.country, p.kind.value, p.url, p.keyid, p.cert_fingerprint, f"{p.cert_not_after:%Y-%m-%d}",
         "yes" if p.revoked else "no"]
        for p in peers
    ]  # fmt: skip
    if fmt == "csv":
        w = safe_writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
        return
    table = Table(*cols)
    for r in rows:
        table.add_row(*r)
    Console().print(table)


@app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The peer's name.")],
    actor: Annotated[str, typer.Option(help="Who revokes (for the audit log).")] = "operator",
) -> None:
    """Revoke a peer: its next message is refused (and logged). Final."""
    try:
        with Node.from_settings() as node:
            done = service.revoke_peer(name, actor=actor, node=node)
    except PnrguardError as exc:
        raise _fail(exc) from None
    Console().print(f"peer {name} revoked" if done else f"peer {name} was revoked already")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default PNRGUARD_PEER_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PNRGUARD_PEER_API_PORT).")] = None,
) -> None:
    """Serve the peer API over mutual TLS: only certificates from registered peers' CAs
    connect (read from the registry at every handshake, so registering or revoking a peer
    takes effect without a restart); every message must carry a valid signature of a
    registered peer."""
    import uvicorn

    from pnrguard.web.peer import create_peer_app

    node = Node.from_settings()
    try:
        s = node.settings
        if not service.peer_ca_bundle(node):
            Console(stderr=True).print(
                "no peer is registered yet: the peer API admits nobody until one is (no restart needed)"
            )
        config = uvicorn.Config(
            create_peer_app(node),
            host=host or s.peer_api_host,
            port=port or s.peer_api_port,
            ssl_certfile=str(s.tls_cert_file),
            ssl_keyfile=str(s.tls_key_file),
            ssl_cert_reqs=ssl.CERT_REQUIRED,
            log_level="warning",
            access_log=False,
        )
        config.load()
        trust = LiveTrust(node)
        try:
            config.ssl = trust.attach(trust.context())
        except PnrguardError as exc:
            raise _fail(exc) from None
        uvicorn.Server(config).run()
    finally:
        node.close()
