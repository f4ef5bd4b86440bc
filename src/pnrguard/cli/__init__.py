"""The `pnrguard` command line: a thin Typer shell over the service layer.

One module per operator task group; each registers itself here with one line.
"""

from __future__ import annotations

import typer

from pnrguard.cli import match

app = typer.Typer(
    name="pnrguard",
    help="pnrguard: a Passenger Information Unit node.",
    no_args_is_help=True,
    add_completion=False,
)

# --- command registrations (one line each) ---
app.command("match")(match.match)
from pnrguard.cli import synth as _synth  # noqa: E402, I001 — commands register after app exists
app.command("synth")(_synth.synth)
from pnrguard.cli import audit as _audit  # noqa: E402, I001 — commands register after app exists
app.add_typer(_audit.app, name="audit")
from pnrguard.cli import ingest as _ingest  # noqa: E402, I001 — commands register after app exists
app.command("ingest")(_ingest.ingest)
from pnrguard.cli import parse as _parse  # noqa: E402, I001 — commands register after app exists
app.command("parse")(_parse.parse)
from pnrguard.cli import serve as _serve  # noqa: E402, I001 — commands register after app exists
app.command("serve")(_serve.serve)
app.command("demo")(_serve.demo)
from pnrguard.cli import demo_peer as _demo_peer  # noqa: E402, I001 — commands register after app exists
app.command("demo-peer")(_demo_peer.demo_peer)
from pnrguard.cli import watchlist as _watchlist  # noqa: E402, I001 — commands register after app exists
app.add_typer(_watchlist.app, name="watchlist")
from pnrguard.cli import criteria as _criteria  # noqa: E402, I001 — commands register after app exists
app.add_typer(_criteria.app, name="criteria")
from pnrguard.cli import carriers as _carriers  # noqa: E402, I001 — commands register after app exists
app.add_typer(_carriers.app, name="carriers")
from pnrguard.cli import worker as _worker  # noqa: E402, I001 — commands register after app exists
app.command("worker")(_worker.worker)
from pnrguard.cli import users as _users  # noqa: E402, I001 — commands register after app exists
app.add_typer(_users.app, name="users")
from pnrguard.cli import retention as _retention  # noqa: E402, I001 — commands register after app exists
app.add_typer(_retention.app, name="retention")
from pnrguard.cli import dpo as _dpo  # noqa: E402, I001 — commands register after app exists
app.add_typer(_dpo.app, name="dpo")
from pnrguard.cli import peers as _peers  # noqa: E402, I001 — commands register after app exists
app.add_typer(_peers.app, name="peers")
app.add_typer(_peers.node_app, name="node")
from pnrguard.cli import keys as _keys  # noqa: E402, I001 — commands register after app exists
app.add_typer(_keys.app, name="keys")
from pnrguard.cli import index as _index  # noqa: E402, I001 — commands register after app exists
app.add_typer(_index.app, name="index")
