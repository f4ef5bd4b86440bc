"""`pnrguard criteria add|disable|list|stats`: pre-determined criteria for their owners and
their periodic review (thin shell over `service.screening`).

A rule is written in a small TOML or JSON file (by its suffix), one rule per file:

```toml
rule_id = "drugs-cash-oneway"
name = "Cash-paid one-way tickets booked the day before departure"
expression = 'booking.one_way && "CA" in booking.payment_forms && booking.days_booked_before_departure <= 1'
purpose = "illicit_trafficking_in_drugs"
owner = "drugs-unit"
review_date = 2026-06-01
expires = 2026-12-31
description = "Agreed with the competent authority on ..."
```

`add` stores it as the rule's next version (validated first: a field outside the criteria
view, bad CEL or a non-investigative purpose is refused); saving an unchanged rule stores
nothing. Exit codes as `pnrguard watchlist`: 2 for a rule or file that is not acceptable,
3 for a system error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from pnrguard.audit.models import Purpose
from pnrguard.cli.watchlist import EXIT_INPUT, OutputFormat, fail, operator
from pnrguard.csvsafe import safe_writer
from pnrguard.errors import InputError, PnrguardError
from pnrguard.screening.criteria import Rule
from pnrguard.service.bootstrap import Node
from pnrguard.service.screening import list_rules, rule_statistics, save_rule

app = typer.Typer(
    name="criteria",
    help="Pre-determined criteria: add new versions, disable, list, review statistics.",
    no_args_is_help=True,
    add_completion=False,
)

_REQUIRED = ("rule_id", "name", "expression", "purpose", "owner", "review_date", "expires")
_OPTIONAL = ("description", "enabled")


def _date(value: Any, key: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{key} must be a date (YYYY-MM-DD)")


def rule_from_mapping(data: Mapping[str, Any]) -> Rule:
    """A rule from a rule file's keys; refuses unknown and missing keys, so a typo in an
    optional key cannot silently leave a rule enabled or undocumented."""
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    missing = [k for k in _REQUIRED if k not in data]
    if unknown or missing:
        raise InputError(f"rule file: unknown keys {unknown}, missing keys {missing}")
    for key in ("rule_id", "name", "expression", "purpose", "owner", "description"):
        if key in data and not isinstance(data[key], str):
            raise InputError(f"rule file: {key} must be a string")
    if "enabled" in data and not isinstance(data["enabled"], bool):
        raise InputError("rule file: enabled must be true or false")
    try:
        purpose = Purpose(data["purpose"])
    except ValueError:
        raise InputError("rule file: purpose is not a known purpose code") from None
    return Rule(
        rule_id=data["rule_id"],
        version=0,
        name=data["name"],
        expression=data["expression"],
        purpose=purpose,
        owner=data["owner"],
        review_date=_date(data["review_date"], "review_date"),
        expires=_date(data["expires"], "expires"),
        description=data.get("description", ""),
        enabled=data.get("enabled", True),
    )


def load_rule_file(path: Path) -> Rule:
    raw = path.read_bytes()
    try:
        data = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError and TOMLDecodeError are ValueErrors
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise InputError(f"{path.name}: not valid {kind}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path.name}: expected one rule (an object)")
    return rule_from_mapping(data)


@app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="A .toml or .json rule file.", show_default=False)],
) -> None:
    """Store the rule in FILE as its next version."""
    try:
        rule = load_rule_file(file)
    except OSError as exc:
        Console(stderr=True).print(f"error: {file}: cannot read file ({exc.strerror})", markup=False)
        raise typer.Exit(EXIT_INPUT) from None
    except InputError as exc:
        raise fail(exc) from None
    try:
        with Node.from_settings() as node:
            # With the key store, a new rule also screens stored bookings of flights not yet departed.
            stored = save_rule(
                rule, actor=operator(), engine=node.engine, audit=node.audit, clock=node.clock,
                keystore=node.keystore,
            )  # fmt: skip
    except (PnrguardError, SQLAlchemyError) as exc:
        raise fail(exc) from None
    Console().print(f"rule {stored.rule_id} version {stored.version}", markup=False, highlight=False)


@app.command("disable")
def disable(rule_id: Annotated[str, typer.Argument(help="The rule to stop.", show_default=False)]) -> None:
    """Store a new version of RULE_ID that does not run (its history stays)."""
    try:
        with Node.from_settings() as node:
            current = {r.rule_id: r for r in list_rules(engine=node.engine)}.get(rule_id)
            if current is None:
                raise InputError(f"rule {rule_id} not found")
            stored = save_rule(
                dataclasses.replace(current, enabled=False), actor=operator(), engine=node.engine,
                audit=node.audit, clock=node.clock,
            )  # fmt: skip
    except (PnrguardError, SQLAlchemyError) as exc:
        raise fail(exc) from None
    Console().print(f"rule {stored.rule_id} version {stored.version} disabled", markup=False, highlight=False)


def _print(title: str, header: list[str], rows: list[list[str]], output: OutputFormat) -> None:
    if output is OutputFormat.CSV:
        writer = safe_writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return
    table = Table(title=title, show_header=True)
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


@app.command("list")
def list_(
    output: Annotated[OutputFormat, typer.Option("--format", help="table or csv.")] = OutputFormat.TABLE,
) -> None:
    """The current version of every rule."""
    try:
        with Node.from_settings() as node:
            rules = list_rules(engine=node.engine)
            today = node.clock.now().date()
    except (PnrguardError, SQLAlchemyError) as exc:
        raise fail(exc) from None
    header = ["rule", "version", "name", "purpose", "owner", "review_date", "expires", "state", "expression"]
    rows = [
        [
            r.rule_id,
            str(r.version),
            r.name,
            r.purpose.value,
            r.owner,
            r.review_date.isoformat(),
            r.expires.isoformat(),
            _state(r, today),
            r.expression,
        ]
        for r in rules
    ]
    _print("criteria", header, rows, output)


def _state(rule: Rule, today: dt.date) -> str:
    if not rule.enabled:
        return "disabled"
    return "active" if rule.is_active(today) else "expired"


@app.command("stats")
def stats(
    today: Annotated[
        str | None, typer.Option("--today", help="Review as of this date (YYYY-MM-DD).", show_default=False)
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table or csv.")] = OutputFormat.TABLE,
) -> None:
    """Per rule: hits, open, confirmed, dismissed and whether its review is due."""
    try:
        day = _date(today, "--today") if today is not None else None
        with Node.from_settings() as node:
            figures = rule_statistics(day or node.clock.now().date(), engine=node.engine)
            day = day or node.clock.now().date()
    except (PnrguardError, SQLAlchemyError) as exc:
        raise fail(exc) from None
    header = ["rule", "version", "owner", "purpose", "state", "review_due", "hits", "open", "confirmed",
              "dismissed", "confirmed_rate"]  # fmt: skip
    rows = [
        [
            s.rule.rule_id,
            str(s.rule.version),
            s.rule.owner,
            s.rule.purpose.value,
            _state(s.rule, day),
            "yes" if s.needs_review else "no",
            str(s.hits),
            str(s.open),
            str(s.confirmed),
            str(s.dismissed),
            "" if s.confirmed_rate is None else f"{s.confirmed_rate:.2f}",
        ]
        for s in figures
    ]
    _print("criteria review", header, rows, output)
