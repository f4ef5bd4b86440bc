"""A carrier writes only its own bookings, and no message is too big to read safely.

Why (docs/security.md, "Rogue carrier"): a carrier's credential is bound to the airline
designators it may report for (`Credential.scope`: its own code, plus designators an
operator adds for a shared reservation system). Without that binding, carrier XX could push a
PNR naming LH's locator and reservation time and overwrite LH's booking. Two checks, on
different data, refuse it:

- **At the gateway, before the acknowledgement** (`scan`): a cheap pass over the segments
  reads the carrier codes a message *asserts* (every RCI locator's airline, the
  message-level ORG originator, PAXLST's TDT carrier) and refuses a push naming a code
  outside the scope with a CONTRL rejection (``carrier_out_of_scope``), quarantined and
  counted like every rejection.
- **At ingest, on the parsed bookings** (`out_of_scope`): each booking's carrier and its
  reported flight's carrier must be in scope, else the whole message is quarantined with
  the reason. The worker passes the pushing credential's scope; file ingest passes
  ``--carrier`` or the scope of the credentials registered for the UNB sender.

The same pass bounds each message (`Limits`): bytes and segments are counted on the raw
bytes *before* anything is parsed, so a valid 20 MB message of 2 million segments is
refused with a clear reason instead of building millions of objects in a worker.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pnrguard.domain.model import Booking, Source

__all__ = ["OUT_OF_SCOPE", "TOO_LARGE", "TOO_MANY_SEGMENTS", "Limits", "out_of_scope", "over_limits", "scan"]

OUT_OF_SCOPE = "carrier_out_of_scope"
TOO_LARGE = "message_too_large"
TOO_MANY_SEGMENTS = "too_many_segments"


class Limits(BaseSettings):
    """Per-message bounds, from PNRGUARD_MESSAGE_* (docs/operations.md). A flight's PNRGOV
    of 853 passengers (an A380) is about 1.5 MB and 40,000 segments: the defaults leave a
    wide margin and stop a message from costing a worker gigabytes."""

    model_config = SettingsConfigDict(env_prefix="PNRGUARD_MESSAGE_", env_file=None, extra="ignore")

    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)  # = the push limit
    max_segments: int = Field(default=400_000, ge=100)


def _delimiters(text: str) -> tuple[str, str, str, str]:
    """(component, element, release, segment) from UNA, or the defaults."""
    if text.startswith("UNA") and len(text) >= 9:
        return text[3], text[4], text[6] if text[6] != " " else "", text[8]
    return ":", "+", "?", "'"


def _segments(text: str, seg: str, release: str) -> Iterable[str]:
    if not release:
        yield from text.split(seg)
        return
    # Split on the terminator unless released (an even run of release characters before it).
    start = 0
    i = text.find(seg)
    while i != -1:
        j = i - 1
        while j >= start and text[j] == release:
            j -= 1
        if (i - 1 - j) % 2 == 0:
            yield text[start:i]
            start = i + 1
        i = text.find(seg, i + 1)
    yield text[start:]


def _component(element: str, comp: str) -> str:
    return element.split(comp, 1)[0].strip().upper()


def scan(text: str) -> set[str]:
    """The carrier designators a PNRGOV or PAXLST interchange asserts (RCI airlines, the
    message-level ORG, TDT carriers). Cheap: no parsing into objects."""
    comp, elem, release, seg = _delimiters(text)
    found: set[str] = set()
    org_seen = False
    for raw in _segments(text, seg, release):
        s = raw.lstrip("\r\n\t ")
        tag = s[:3]
        if tag == "UNH":
            org_seen = False
        elif tag == "RCI":
            for element in s.split(elem)[1:]:
                code = _component(element, comp)
                if code:
                    found.add(code)
        elif tag == "ORG" and not org_seen:
            org_seen = True
            parts = s.split(elem)
            code = _component(parts[1], comp) if len(parts) > 1 else ""
            if code:
                found.add(code)
        elif tag == "TDT":
            parts = s.split(elem)
            code = _component(parts[5], comp) if len(parts) > 5 else ""
            if code:
                found.add(code)
    return found


def unb_sender(raw: bytes) -> str:
    """The UNB sender id of an interchange ("" if there is none in the first 4 KiB)."""
    text = raw[:4096].decode("latin-1")
    comp, elem, release, seg = _delimiters(text)
    for s in _segments(text, seg, release):
        s = s.lstrip("\r\n\t ")
        if s.startswith("UNB"):
            parts = s.split(elem)
            return _component(parts[2], comp) if len(parts) > 2 else ""
    return ""


def outside(codes: Iterable[str], scope: Collection[str]) -> list[str]:
    allowed = {s.upper() for s in scope}
    return sorted({c for c in codes if c.upper() not in allowed})


def out_of_scope(bookings: Iterable[Booking], scope: Collection[str]) -> list[str]:
    """Carrier codes of parsed bookings outside `scope` (empty: all in scope): a PNR's own
    carrier (its identity), and for API data also the reported flight's carrier (the TDT).
    A PNR's flight may be another airline's (code-share), so it is not checked."""
    codes: set[str] = set()
    for b in bookings:
        if b.carrier:
            codes.add(b.carrier)
        if b.source is not Source.PNR and b.reported_flight is not None and b.reported_flight.carrier:
            codes.add(b.reported_flight.carrier)
    return outside(codes, scope)


@dataclass(frozen=True, slots=True)
class Breach:
    code: str
    detail: str


def over_limits(raw: bytes, limits: Limits) -> Breach | None:
    """Bytes and segments of one message against `limits`, counted on the raw bytes."""
    if len(raw) > limits.max_bytes:
        return Breach(TOO_LARGE, f"{len(raw)} bytes; the limit is {limits.max_bytes}")
    head = raw[:9]
    terminator = head[8:9] if head.startswith(b"UNA") and len(head) == 9 else b"'"
    segments = raw.count(terminator)
    if segments > limits.max_segments:
        return Breach(TOO_MANY_SEGMENTS, f"about {segments} segments; the limit is {limits.max_segments}")
    return None
