"""The node signs audit checkpoints on its own (workers call this at intervals)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from pnrguard.audit.checkpoint import Verifier, open_checkpoint
from pnrguard.config import Settings
from pnrguard.service.bootstrap import Node
from pnrguard.store.audit import SqlAuditLog


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    settings = Settings(
        database_url=SecretStr(f"sqlite:///{tmp_path / 'node.db'}"),
        key_file=tmp_path / "keys.json",
        node_name="test.local/piu",
    )
    with Node.from_settings(settings) as n:
        yield n


def test_checkpoint_covers_every_entry_and_verifies(node: Node, conformance_dir: Path) -> None:
    node.ingest((conformance_dir / "gtas" / "pnr-messages-2_pnrs_basic.edi").read_bytes())
    note = node.checkpoint_audit()
    verifier = Verifier(name="test.local/piu", public_key=node.keystore.signing_key().public_key())
    checkpoint = open_checkpoint(note, verifier, origin="test.local/piu")
    with node.engine.connect() as conn:
        log = SqlAuditLog(conn, origin="test.local/piu")
        assert checkpoint.size == len(list(log.entries())) >= 1
        assert log.verify(verifier, require_signed_tail=True).ok

    assert node.checkpoint_audit() == note  # nothing new: the same checkpoint, no new row
    node.ingest((conformance_dir / "gtas" / "pnr-messages-pnr3.txt").read_bytes())
    later = open_checkpoint(node.checkpoint_audit(), verifier, origin="test.local/piu")
    assert later.size > checkpoint.size
