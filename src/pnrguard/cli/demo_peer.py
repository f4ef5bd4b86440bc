"""`pnrguard demo-peer`: a second, synthetic PIU on loopback so the demo shows exchange.

Run it beside `pnrguard demo` (another terminal, same directory and environment): it gives
the demo node a certificate if it has none, builds the peer under `var/demo-peer/`,
registers the two nodes with each other, starts both peer APIs (`pnrguard peers serve`, one
process each), has the peer send the demo one request, then answers the demo's requests
until Ctrl-C (`service.demo_peer`). Refuses (exit 4) a database that is not the demo's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pnrguard.errors import PnrguardError
from pnrguard.service import demo_peer as synthetic
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_delivery import make_client

PEER_DIR = Path("var/demo-peer")


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PnrguardError("a peer API exited at start (see its messages above)")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise PnrguardError(f"the peer API on port {port} did not start")


def demo_peer(
    port: Annotated[int, typer.Option(help="Port of the synthetic peer's API.")] = 8444,
    interval: Annotated[float, typer.Option(help="Seconds between the peer's answering rounds.")] = 2.0,
) -> None:
    """Start a synthetic peer PIU on loopback that trusts the demo node and answers it."""
    console = Console()
    main = Node.from_settings()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if not synthetic.is_demo(main):
            Console(stderr=True).print(
                "refused: run `pnrguard demo` first; demo-peer runs only beside the demo"
            )
            raise typer.Exit(code=4)
        synthetic.ensure_pki(main.settings)
        spec = synthetic.peer_settings(PEER_DIR, port=port)
        synthetic.ensure_pki(spec.settings)
        with Node.from_settings(spec.settings) as peer:
            robot = synthetic.prepare(main, peer)
            exe = str(Path(sys.executable).with_name("pnrguard"))
            for env, p in (
                (dict(os.environ), main.settings.peer_api_port),
                ({**os.environ, **synthetic.peer_env(spec.settings)}, port),
            ):
                # Our own executable with fixed arguments: nothing here comes from input.
                procs.append(subprocess.Popen([exe, "peers", "serve"], env=env))  # noqa: S603
                _wait(p, procs[-1])
            console.print(
                f"[bold]{synthetic.PEER_NAME}[/] on https://127.0.0.1:{port} trusts "
                f"{main.settings.node_name} and is trusted by it"
            )
            client = make_client(peer)
            try:
                asked = synthetic.ask_demo(main, peer, robot, client)
                if asked is not None:
                    console.print(
                        "it sent the demo a request: see Exchange in the workspace (analyst or supervisor)"
                    )
                console.print("answering the demo's requests (Ctrl-C to stop)")
                while True:
                    n = synthetic.answer_waiting(peer, robot, client)
                    if n:
                        console.print(f"answered {n} request(s)")
                    time.sleep(interval)
            finally:
                client.close()
    except KeyboardInterrupt:
        pass
    except PnrguardError as exc:
        Console(stderr=True).print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        main.close()
