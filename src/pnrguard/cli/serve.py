"""`pnrguard serve` and `pnrguard demo`: run the node's web app with Uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from pnrguard.cli.ingest import collect_files, ingest
from pnrguard.cli.synth import synth
from pnrguard.cli.users import seed_demo
from pnrguard.errors import ForbiddenError
from pnrguard.service.bootstrap import Node
from pnrguard.service.demo import claim_for_demo
from pnrguard.service.demo_scenario import (
    PAST,
    enable_demo_criterion,
    ingest_past,
    mask_the_past,
    request_demo_unmasking,
)
from pnrguard.service.worker import settle_heap
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
        app = create_app(node)
        settle_heap()  # inline workers ingest in this process (service.worker)
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
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
        today = node.clock().date()
    upcoming, past = DEMO_DIR / "upcoming", DEMO_DIR / "past"
    for folder in (upcoming, past):  # files of another day would be ingested again
        for old in collect_files([folder])[0]:
            old.unlink()
    console.print(f"[bold]pnrguard demo[/]: synthetic traffic from {today} into {DEMO_DIR}/")
    synth(upcoming, flights=flights, seed=seed, base_date=today.isoformat())
    synth(past, flights=max(1, flights // 4), seed=seed + 1, base_date=(today - PAST).isoformat())
    ingest([upcoming])
    with Node.from_settings() as node:
        accepted = ingest_past(node, collect_files([past])[0])
        seed_demo(node, console)  # demo users (one per role), authorities, a watchlist and its hits
        masked = mask_the_past(node)
        rule = enable_demo_criterion(node)
        pending = request_demo_unmasking(node)
    console.print(
        f"past traffic: {accepted} messages received {PAST.days} days ago, {masked} bookings masked now; "
        f"criterion {rule.rule_id} v{rule.version} enabled; "
        + ("an unmasking request waits for a judge" if pending else "unmasking requests unchanged")
    )
    if no_serve:
        return
    console.print(f"serving on http://127.0.0.1:{port} (Ctrl-C to stop)")
    serve(host="127.0.0.1", port=port)
