"""HTTP Strict Transport Security (RFC 6797) on every response served over TLS.

A pure ASGI middleware (no response buffering, nothing on the carrier push's hot path
beyond one header): when the connection is HTTPS (`scope["scheme"]`, which Uvicorn sets
when it terminates TLS, or behind a proxy with `--proxy-headers`), the response carries
``Strict-Transport-Security``, so a browser never again talks to the node in clear.
`force=True` (``PNRGUARD_COOKIE_SECURE=true``: TLS ends at a proxy) sends it always.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HSTS", "HstsMiddleware"]

HSTS = b"max-age=31536000; includeSubDomains"

Scope = dict[str, Any]
Receive = Any
Send = Any


class HstsMiddleware:
    def __init__(self, app: Any, *, force: bool = False) -> None:
        self.app = app
        self.force = force

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (self.force or scope.get("scheme") == "https"):
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"strict-transport-security" for k, _ in headers):
                    headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_hsts)
