"""Fuzzing with a fixed budget: the readers and the envelope checks raise only their own
errors on any bytes, and the push endpoint never answers 500."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_env import RECIPIENT, GatewayEnv, gateway_env, synthetic_pushes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from pnrguard.errors import ParseError
from pnrguard.formats.reader import read_message
from pnrguard.service.gateway_envelope import GatewayRejection, check_envelope

PUSHES = synthetic_pushes(seed=11, flights=2, passengers=8)
BODIES = [p.pnrgov.encode() for p in PUSHES] + [p.paxlst.encode() for p in PUSHES if p.paxlst]
SENDERS = tuple({p.sender for p in PUSHES})
EXAMPLES = int(os.environ.get("PNRGUARD_FUZZ_EXAMPLES", "150"))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real interchange, then cut, spliced, overwritten or doubled somewhere."""
    body = draw(st.sampled_from(BODIES))
    i = draw(st.integers(0, len(body)))
    j = draw(st.integers(i, min(len(body), i + 64)))
    special = st.sampled_from([b"'", b"+", b":", b"?", b"UNZ+1+1'", b"UNH+", b"\xff"])
    junk = draw(st.binary(max_size=16) | special)
    how = draw(st.sampled_from(["cut", "splice", "replace", "double"]))
    if how == "cut":
        return body[:i]
    if how == "splice":
        return body[:i] + junk + body[i:]
    if how == "replace":
        return body[:i] + junk + body[j:]
    return body[:j] + body[i:]


ANY_BYTES = st.binary(max_size=3000) | mutated()


@settings(max_examples=EXAMPLES, deadline=None)
@given(ANY_BYTES)
def test_read_message_raises_only_parse_error(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        read_message(data)


@settings(max_examples=EXAMPLES, deadline=None)
@given(ANY_BYTES)
def test_envelope_check_returns_or_rejects(data: bytes) -> None:
    import datetime as dt

    try:
        env = check_envelope(
            data,
            recipients=frozenset({RECIPIENT}),
            senders=SENDERS,
            now=dt.datetime.now(dt.UTC),
            replay_window=dt.timedelta(days=7),
            future_skew=dt.timedelta(days=1),
        )
    except GatewayRejection as exc:
        rejection = exc
    else:
        assert env.messages >= 1
        return
    assert rejection.http_status in (400, 403, 409, 413, 415)
    assert len(rejection.detail) <= 200


@pytest.fixture
def sqlite_gw(sqlite_engine: Engine, tmp_path: Path) -> Iterator[GatewayEnv]:
    with gateway_env(sqlite_engine, tmp_path) as env:
        for sender in SENDERS:
            env.token_for(sender)
        yield env


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=ANY_BYTES, sender=st.sampled_from(SENDERS), content_type=st.sampled_from(
    ["application/edifact", "text/plain; charset=utf-8", "application/octet-stream", "text/html", ""]
))  # fmt: skip
def test_push_endpoint_never_fails(
    sqlite_gw: GatewayEnv, body: bytes, sender: str, content_type: str
) -> None:
    r = sqlite_gw.push(body, carrier=sender, **({"Content-Type": content_type} if content_type else {}))
    assert r.status_code in (200, 202, 400, 403, 409, 413, 415), r.text
    ack = r.json()
    assert ack["status"] == ("accepted" if r.status_code in (200, 202) else "rejected")
