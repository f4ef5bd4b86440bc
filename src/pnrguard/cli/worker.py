"""`pnrguard worker`: drain the carrier gateway's inbox queue into ingest, in its own process.

Run as many as the CPU allows, on any host that reaches the database: claims never
collide, and a killed worker's message is claimed again when its lease runs out. SIGTERM
or Ctrl-C finishes the message in hand, then stops.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from pnrguard.service.bootstrap import Node
from pnrguard.service.gateway_settings import GatewaySettings
from pnrguard.service.worker import WorkerPool, settle_heap
from pnrguard.store.gateway import GatewayRepository
from pnrguard.web.logging import configure_logging

log = logging.getLogger("pnrguard.worker")


def worker(
    threads: Annotated[int, typer.Option(help="Worker threads in this process.")] = 1,
    drain: Annotated[bool, typer.Option("--drain", help="Exit when nothing is due.")] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Queue the rows parked as failed again, then run.")
    ] = False,
    parent: Annotated[int, typer.Option(hidden=True, help="Stop when this process is gone.")] = 0,
) -> None:
    """Process queued carrier messages until stopped."""
    configure_logging()
    settings = GatewaySettings()
    with Node.from_settings() as node:
        if retry_failed:
            with node.engine.begin() as conn:
                n = GatewayRepository(conn).retry_failed(now=node.clock.now())
            Console(stderr=True).print(f"{n} failed message(s) queued again")
        pool = WorkerPool(node, settings, threads=threads)
        settle_heap()
        if drain:
            n = pool.drain()
            Console(stderr=True).print(f"processed {n} message(s)")
            return
        stop = threading.Event()

        def _stop(_sig: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        pool.start()
        while not stop.wait(1.0):
            if parent and os.getppid() != parent:  # the serve process is gone
                break
        pool.stop()
