"""Criteria rules (`criteria_rule`): one row per rule *version*.

A change is a new version, never an update, so every hit names the exact expression that
produced it (C-817/19: transparency). Part of the screening store (`store/screening.py`
re-exports it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Column, Date, Integer, String, Table, Text, and_, func, insert, select
from sqlalchemy.engine import Connection, Row

from pnrguard.audit.models import Purpose
from pnrguard.screening.criteria import Rule
from pnrguard.store.db import metadata
from pnrguard.store.tables import UTCDateTime

criteria_rule = Table(
    "criteria_rule",
    metadata,
    Column("rule_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("expression", Text, nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("review_date", Date, nullable=False),
    Column("expires", Date, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(64), nullable=False),
)

# --- criteria rules ------------------------------------------------------------------------


def _rule_from_row(r: Row[Any]) -> Rule:
    return Rule(
        rule_id=r.rule_id,
        version=r.version,
        name=r.name,
        expression=r.expression,
        purpose=Purpose(r.purpose),
        owner=r.owner,
        review_date=r.review_date,
        expires=r.expires,
        description=r.description,
        enabled=bool(r.enabled),
    )


def insert_rule(conn: Connection, rule: Rule, *, at: dt.datetime, by: str) -> None:
    conn.execute(
        insert(criteria_rule).values(
            rule_id=rule.rule_id,
            version=rule.version,
            name=rule.name,
            description=rule.description,
            expression=rule.expression,
            purpose=rule.purpose.value,
            owner=rule.owner,
            review_date=rule.review_date,
            expires=rule.expires,
            enabled=rule.enabled,
            created_at=at,
            created_by=by,
        )
    )


def latest_rules(conn: Connection) -> list[Rule]:
    """The newest version of every rule, by rule id (active or not: callers filter)."""
    newest = (
        select(criteria_rule.c.rule_id, func.max(criteria_rule.c.version).label("v"))
        .group_by(criteria_rule.c.rule_id)
        .subquery()
    )
    q = (
        select(criteria_rule)
        .join(
            newest,
            and_(newest.c.rule_id == criteria_rule.c.rule_id, newest.c.v == criteria_rule.c.version),
        )
        .order_by(criteria_rule.c.rule_id)
    )
    return [_rule_from_row(r) for r in conn.execute(q)]


def latest_rule(conn: Connection, rule_id: str) -> Rule | None:
    r = conn.execute(
        select(criteria_rule)
        .where(criteria_rule.c.rule_id == rule_id)
        .order_by(criteria_rule.c.version.desc())
        .limit(1)
    ).first()
    return None if r is None else _rule_from_row(r)


def rule_version(conn: Connection, rule_id: str, version: int) -> Rule | None:
    r = conn.execute(
        select(criteria_rule).where(criteria_rule.c.rule_id == rule_id, criteria_rule.c.version == version)
    ).first()
    return None if r is None else _rule_from_row(r)
