"""The personal-data inventory covers the migrated schema, column by column, and the table
in docs/data-protection.md is the one the code renders.

Why on the migrated schema (SQLite and PostgreSQL), not on the SQLAlchemy metadata: a
migration that adds a column without a table definition, or a table another helper adds,
must fail here too. Adding a column that can hold personal data means saying, in
`store/inventory.py`, how it is protected, masked and deleted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from pnrguard.store import inventory

pytestmark = pytest.mark.storage

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-protection.md"
BEGIN = "<!-- inventory:begin (generated from src/pnrguard/store/inventory.py) -->"
END = "<!-- inventory:end -->"


def test_every_migrated_column_is_in_the_inventory(engine: Engine) -> None:
    known = inventory.covered()
    insp = inspect(engine)
    missing: list[str] = []
    for table in insp.get_table_names():
        if table not in known:
            missing.append(f"table {table}")
            continue
        if table in inventory.NOT_PERSONAL_TABLES:
            continue
        missing += [f"{table}.{c['name']}" for c in insp.get_columns(table) if c["name"] not in known[table]]
    assert missing == [], "add these to src/pnrguard/store/inventory.py: " + ", ".join(missing)


def test_the_inventory_names_no_column_the_schema_lacks(engine: Engine) -> None:
    insp = inspect(engine)
    actual = {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}
    stale = [
        f"{t}.{c}"
        for t, cols in inventory.covered().items()
        for c in cols
        if t not in actual or c not in actual[t]
    ]
    stale += [t for t in inventory.NOT_PERSONAL_TABLES if t not in actual]
    assert stale == []


def test_a_column_is_either_personal_or_not_never_both() -> None:
    personal = {(p.table, p.column) for p in inventory.PERSONAL}
    assert len(personal) == len(inventory.PERSONAL), "a column is listed twice"
    both = [(t, c) for t, cols in inventory.NOT_PERSONAL.items() for c in cols if (t, c) in personal]
    assert both == []
    assert not set(inventory.NOT_PERSONAL) & set(inventory.NOT_PERSONAL_TABLES)
    for p in inventory.PERSONAL:
        assert p.table not in inventory.NOT_PERSONAL_TABLES
        assert all((p.holds, p.protection, p.masking, p.deletion)), p


def test_free_text_about_a_traveller_is_never_clear_after_masking() -> None:
    """The class of issue 10 item 1: any column with a reason or copy about a traveller says
    what happens to it at masking and at deletion, and 'kept' at deletion is not allowed."""
    for p in inventory.PERSONAL:
        if p.holds.startswith("traveller"):
            assert not p.deletion.startswith("kept") or "count" in p.deletion or "tombstone" in p.deletion, p


def test_tables_and_columns_agree() -> None:
    """One data source: a table with a personal column has a personal rule, a table listed
    as wholly non-personal has no column rows, and every table has exactly one rule."""
    personal_tables = {p.table for p in inventory.PERSONAL}
    for t in personal_tables | set(inventory.NOT_PERSONAL):
        assert t in inventory.TABLES, f"{t} has columns but no rule in TABLES"
    for t in personal_tables:
        assert inventory.TABLES[t].personal, f"{t} has a personal column but its rule says none"
    for t, rule in inventory.TABLES.items():
        assert rule.table == t
        if rule.none:
            assert not rule.personal, t
            assert t not in personal_tables, t
            assert t not in inventory.NOT_PERSONAL, t


def test_every_text_sealed_at_write_is_inventoried_as_encrypted() -> None:
    """Issue 10 item 1: each free-text column `service.text_sealing` knows is documented as
    encrypted from its first write, and no other traveller free-text column is left clear."""
    from pnrguard.service.text_sealing import TEXT_COLUMNS

    sealed = {(tc.table.name, tc.column) for tc in TEXT_COLUMNS}
    rows = {(p.table, p.column): p for p in inventory.PERSONAL}
    for key in sealed:
        assert rows[key].protection.startswith("AES-GCM"), key
    for key in rows:
        if "reason" in key[1] or "justification" in key[1]:
            assert key in sealed, key
        if rows[key].protection in (inventory._TEXT_BOOKING, inventory._TEXT_MONTH):
            assert key in sealed, key  # documented as encrypted at write: `seal-texts` knows it


def test_docs_table_is_generated_from_the_inventory() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text, "docs/data-protection.md lost its inventory markers"
    assert END in text, "docs/data-protection.md lost its inventory markers"
    body = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert body == inventory.render_markdown(), (
        "docs/data-protection.md is stale: regenerate with "
        "python -c 'from pnrguard.store.inventory import render_markdown; print(render_markdown())'"
    )
