"""The peer API: what other PIUs call, served on its own mutual-TLS listener.

    POST /peer/v1/messages   one signed envelope in; a signed receipt or refusal out
    POST /peer/v1/witness/add-checkpoint   a peer's audit checkpoint in; a cosignature out

Why a listener of its own (`create_peer_app`, run by `pnrguard peers serve`): Uvicorn
verifies client certificates per listener, so the workspace (browsers, no client
certificates) and the peer API (only certificates from registered peers' CAs,
``ssl_cert_reqs=CERT_REQUIRED``) cannot share one. It also keeps the two exposures apart:
the peer API faces the inter-PIU network, the workspace the PIU's own.

Uvicorn does not hand the client certificate to the app (DESIGN.md, Security notes), so
the app identifies the peer by the message's RFC 9421 signature. The route's dependency
reads the raw body (a signature covers bytes, not parsed JSON) and hands it with the
method, URL and headers to `service.exchange.receive_message`, which verifies, records the
nonce and files the message in one transaction. Every answer, refusals included, is signed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from pnrguard import __version__
from pnrguard.exchange.client import MESSAGE_PATH
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange import Inbound, receive_message
from pnrguard.service.witness import ADD_CHECKPOINT_PATH, add_checkpoint
from pnrguard.web.hsts import HstsMiddleware

__all__ = ["MAX_ENVELOPE_BYTES", "create_peer_app", "peer_router"]

#: Largest envelope accepted (500 bookings fit comfortably).
MAX_ENVELOPE_BYTES = 8 * 1024 * 1024


class _TooLarge(Exception):
    pass


async def inbound(request: Request) -> Inbound:
    """The dependency: the request as signed bytes and headers, size-capped *while it
    streams*: a declared length over the cap is refused before reading, and a chunked body
    (no length) is refused as soon as what arrived passes the cap, never buffered whole."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_ENVELOPE_BYTES):
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_ENVELOPE_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return Inbound(request.method, str(request.url), request.headers.items(), b"".join(chunks))


def peer_router(node: Node) -> APIRouter:
    router = APIRouter()

    @router.post(MESSAGE_PATH, include_in_schema=False)
    async def receive(msg: Annotated[Inbound, Depends(inbound)]) -> Response:
        # The use case does blocking database work: run it off the event loop.
        outcome = await run_in_threadpool(receive_message, msg, node=node)
        return Response(outcome.body, status_code=outcome.status, headers=outcome.headers)

    @router.post(ADD_CHECKPOINT_PATH, include_in_schema=False)
    async def witness(msg: Annotated[Inbound, Depends(inbound)]) -> Response:
        # C2SP tlog-witness add-checkpoint, signed like every peer message (service.witness).
        outcome = await run_in_threadpool(add_checkpoint, msg, node=node)
        return Response(outcome.body, status_code=outcome.status, headers=outcome.headers)

    return router


def create_peer_app(node: Node) -> FastAPI:
    """The app of the mutual-TLS listener: the peer API and nothing else (no docs, no
    workspace, no OpenAPI schema to browse)."""
    app = FastAPI(
        title="pnrguard peer API", version=__version__, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.node = node

    @app.exception_handler(_TooLarge)
    async def _too_large(_request: Request, _exc: _TooLarge) -> Response:
        return Response(b'{"error":"too_large"}', status_code=413, media_type="application/json")

    app.include_router(peer_router(node))
    app.add_middleware(HstsMiddleware)  # the listener is TLS: browsers never fall back
    return app
