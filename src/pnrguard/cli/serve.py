"""`pnrguard serve` and `pnrguard demo`: run the node's web app with Uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from pnrguard.cli.ingest import ingest
from pnrguard.cli.synth import synth
from pnrguard.cli.users import seed_demo
from pnrguard.errors import ForbiddenError
from pnrguard.service.bootstrap import Node
from pnrguard.service.demo import claim_for_demo
from pnrguard.web.app import create_app

DEMO_DIR = Path("var/demo")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers_inline: Annotated[
        int | None,
        typer.Option(
            "--workers-inline",
            min=0,
            help="Ingest workers started with the server (0: run `pnrguard worker` separately). "
            "Default: PNRGUARD_GATEWAY_INLINE_WORKERS, else 1.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the node (web app, carrier push API, workspace) on the configured database."""
    if workers_inline is not None:
        # The gateway reads its settings from the environment when the app is built.
        os.environ["PNRGUARD_GATEWAY_INLINE_WORKERS"] = str(workers_inline)
    node = Node.from_settings()
    try:
        uvicorn.run(create_app(node), host=host, port=port, log_level="info", access_log=False)
    finally:
        node.close()


def demo(
    flights: Annotated[int, typer.Option(help="Synthetic flights to generate.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic traffic.")] = 1,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare the data, do not serve.")] = False,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Generate synthetic traffic, ingest it into the embedded store and serve the node.

    Idempotent: run it again and the same messages are recognised as duplicates. Refuses
    (exit 4) a database it did not create, or one that received data from outside the demo
    (`service.demo`): the demo reads bookings without a login and prints passwords.
    """
    console = Console()
    with Node.from_settings() as node:
        try:
            claim_for_demo(node.engine, clock=node.clock)
        except ForbiddenError as exc:
            Console(stderr=True).print(f"refused: {exc}", markup=False, highlight=False)
            raise typer.Exit(code=4) from None
    console.print(f"[bold]pnrguard demo[/]: synthetic traffic into {DEMO_DIR}/")
    synth(DEMO_DIR, flights=flights, seed=seed)
    ingest([DEMO_DIR])
    with Node.from_settings() as node:  # demo users (one per role) and hits to review
        seed_demo(node, console)
    if no_serve:
        return
    console.print(f"serving on http://127.0.0.1:{port} (Ctrl-C to stop)")
    serve(host="127.0.0.1", port=port)
