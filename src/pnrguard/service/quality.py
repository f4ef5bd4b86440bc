"""Carrier data quality per carrier and day: what each carrier sent, when, and how well.

A PIU can only ask a carrier to resend what it knows was sent badly. The report holds
numbers only (docs/operations.md, "Carrier data quality"):

- messages received (accepted, duplicate, quarantined) and bookings received;
- pushes against the Directive's schedule (Art. 8(3) of Directive (EU) 2016/681: 24 to
  48 hours before scheduled departure, and immediately after flight closure), each push
  classed by how long before the flight's scheduled departure (local time at the origin
  airport, converted to UTC with the airport's time zone) it was received;
- the share of travellers with API data (Annex I element 18) and with each Annex I element;
- deviations by kind (the catalogue in `formats/deviations.py`);
- quarantined messages by reason, and pushes refused at the gateway by reason (carrier
  binding refusals among them): counted from the quarantine rows, so every new reason is
  included without a change here.

Figures that need the message's content are counted at ingest (`counts_of`, added to
`carrier_quality` in the ingest transaction); the rest comes from non-personal columns.
The carrier is the UNB sender of the message (a carrier's code, or the host system that
sends for it); gateway refusals are filed under the credential's carrier code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from pnrguard.domain.annex import FIELD_ELEMENTS, Element
from pnrguard.domain.model import Leg, Traveller
from pnrguard.formats.result import ReadResult
from pnrguard.store.gateway import gateway_quarantine
from pnrguard.store.quality import add_counts, read_counts
from pnrguard.store.tables import message, quarantine

__all__ = [
    "CLOSURE_AFTER",
    "CLOSURE_BEFORE",
    "PUSH_CLASSES",
    "QualityDay",
    "counts_of",
    "push_class",
    "quality_report",
    "record_quality",
]

#: A push "at flight closure" arrives between this long before scheduled departure ...
CLOSURE_BEFORE = dt.timedelta(hours=1)
#: ... and this long after it (boarding closes shortly before departure; the Directive
#: says "immediately after": two hours leaves room for delays, not for a day late).
CLOSURE_AFTER = dt.timedelta(hours=2)
WINDOW_EARLIEST = dt.timedelta(hours=48)
WINDOW_LATEST = dt.timedelta(hours=24)

#: Classes of a push by when it came; the first two are on schedule.
PUSH_CLASSES = ("window_24_48h", "closure", "early", "between", "late", "untimed")
ON_SCHEDULE = frozenset({"window_24_48h", "closure"})

# Fields that say nothing about what the carrier filled in (always set, or derived).
_NOT_CONTENT = frozenset(
    {("Booking", "source"), ("Booking", "reported_flight"), ("Booking", "party_size"),
     ("Booking", "travellers"), ("Traveller", "ref"), ("Traveller", "traveller_type")}
)  # fmt: skip


@functools.lru_cache(maxsize=1)
def _airports() -> dict[str, Any]:
    import airportsdata  # a large table: loaded on first use only

    return dict(airportsdata.load("IATA"))


@functools.lru_cache(maxsize=4096)
def _zone(iata: str) -> ZoneInfo | None:
    entry = _airports().get(iata.strip().upper())
    if not entry or not entry.get("tz"):
        return None
    try:
        return ZoneInfo(entry["tz"])
    except (ZoneInfoNotFoundError, ValueError):
        return None


def push_class(flight: Leg | None, received_at: dt.datetime) -> str:
    """When a push came relative to its flight's scheduled departure (see PUSH_CLASSES).

    `untimed` when the flight has no departure time or its origin airport is unknown (its
    local time cannot be placed on the clock)."""
    if flight is None or flight.departure is None:
        return "untimed"
    zone = _zone(flight.origin)
    if zone is None:
        return "untimed"
    departure = flight.departure.replace(tzinfo=zone).astimezone(dt.UTC)
    lead = departure - received_at.astimezone(dt.UTC)
    if lead > WINDOW_EARLIEST:
        return "early"
    if lead >= WINDOW_LATEST:
        return "window_24_48h"
    if lead > CLOSURE_BEFORE:
        return "between"
    if lead >= -CLOSURE_AFTER:
        return "closure"
    return "late"


def _present(obj: Any, cls: str) -> set[Element]:
    out: set[Element] = set()
    for f in dataclasses.fields(obj):
        key = (cls, f.name)
        if key in _NOT_CONTENT or key not in FIELD_ELEMENTS:
            continue
        value = getattr(obj, f.name)
        if value is None or value == "" or value == []:
            continue
        out.add(FIELD_ELEMENTS[key])
    return out


def _traveller_elements(booking_level: set[Element], t: Traveller) -> set[Element]:
    elements = booking_level | _present(t, "Traveller")
    if t.surname or t.given_names:
        elements.add(Element.NAMES)
    return elements


def counts_of(result: ReadResult, received_at: dt.datetime) -> dict[str, int]:
    """The content figures of one accepted message, for `carrier_quality` (numbers only)."""
    counts: Counter[str] = Counter()
    counts[f"push.{push_class(result.flight, received_at)}"] += 1
    for b in result.bookings:
        booking_level = _present(b, "Booking")
        if any(leg.departure is not None for leg in b.itinerary):
            booking_level.add(Element.DATES_OF_TRAVEL)  # element 3 lives in the itinerary
        for t in b.travellers:
            counts["travellers"] += 1
            for element in _traveller_elements(booking_level, t):
                counts[f"travellers.element.{element.value:02d}"] += 1
    return dict(counts)


def record_quality(conn: Connection, result: ReadResult, *, carrier: str, received_at: dt.datetime) -> None:
    """Add one accepted message's content figures to its carrier's day (in the ingest
    transaction: the figures exist exactly when the bookings do)."""
    add_counts(conn, carrier=carrier, day=_day(received_at), counts=counts_of(result, received_at))


@dataclass(slots=True)
class QualityDay:
    """One carrier's figures for one day (UTC day of receipt). Numbers only."""

    carrier: str
    day: dt.date
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    bookings: int = 0
    travellers: int = 0
    elements: dict[int, int] = field(default_factory=dict)  # Annex I element -> travellers
    pushes: dict[str, int] = field(default_factory=dict)  # push class -> messages
    deviations: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    gateway_refusals: dict[str, int] = field(default_factory=dict)

    @property
    def api_share(self) -> float | None:
        """Share of travellers with API data (element 18), None without travellers."""
        return self.element_share(Element.API_DATA.value)

    def element_share(self, element: int) -> float | None:
        return self.elements.get(element, 0) / self.travellers if self.travellers else None

    @property
    def timed_pushes(self) -> int:
        return sum(n for k, n in self.pushes.items() if k != "untimed")

    @property
    def on_time_share(self) -> float | None:
        """Share of timed pushes that came on the Art. 8(3) schedule."""
        timed = self.timed_pushes
        on_time = sum(self.pushes.get(k, 0) for k in ON_SCHEDULE)
        return on_time / timed if timed else None


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date() if moment.tzinfo else moment.date()


def _bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    return start, dt.datetime.combine(until, dt.time(), tzinfo=dt.UTC)


def quality_report(
    engine: Engine | Connection,
    *,
    since: dt.date,
    until: dt.date,
    carriers: Collection[str] | None = None,
) -> list[QualityDay]:
    """Figures per carrier and day for days in [since, until), sorted by carrier and day.

    `carriers` limits the report to those sender ids / carrier codes (a carrier's own view
    through the push API); None is every carrier (the operators' view)."""
    if isinstance(engine, Connection):
        return _report(engine, since, until, carriers)
    with engine.connect() as conn:
        return _report(conn, since, until, carriers)


def _report(
    conn: Connection, since: dt.date, until: dt.date, carriers: Collection[str] | None
) -> list[QualityDay]:
    days: dict[tuple[str, dt.date], QualityDay] = {}

    def at(carrier: str, day: dt.date) -> QualityDay:
        key = (carrier, day)
        if key not in days:
            days[key] = QualityDay(carrier=carrier, day=day)
        return days[key]

    start, end = _bounds(since, until)
    wanted = list(carriers) if carriers is not None else None
    m = message.c
    q = select(
        m.sender, m.received_at, m.status, m.bookings_new, m.bookings_new_version,
        m.bookings_duplicate, m.deviations,
    ).where(m.received_at >= start, m.received_at < end)  # fmt: skip
    if wanted is not None:
        q = q.where(m.sender.in_(wanted))
    for row in conn.execute(q):
        d = at(row.sender or "?", _day(row.received_at))
        d.messages += 1
        if row.status == "accepted":
            d.accepted += 1
            d.bookings += row.bookings_new + row.bookings_new_version + row.bookings_duplicate
            for code, n in (row.deviations or {}).items():
                d.deviations[code] = d.deviations.get(code, 0) + int(n)
        elif row.status == "duplicate":
            d.duplicates += 1
        else:  # quarantined, or quarantined and discarded since
            d.quarantined += 1
    qq = (
        select(m.sender, m.received_at, quarantine.c.reason_code)
        .join(quarantine, quarantine.c.message_id == m.id)
        .where(m.received_at >= start, m.received_at < end)
    )
    if wanted is not None:
        qq = qq.where(m.sender.in_(wanted))
    for qrow in conn.execute(qq):
        d = at(qrow.sender or "?", _day(qrow.received_at))
        d.quarantine_reasons[qrow.reason_code] = d.quarantine_reasons.get(qrow.reason_code, 0) + 1
    g = gateway_quarantine.c
    gq = select(g.carrier, g.at, g.reason_code).where(g.at >= start, g.at < end)
    if wanted is not None:
        gq = gq.where(g.carrier.in_(wanted))
    for grow in conn.execute(gq):
        d = at(grow.carrier, _day(grow.at))
        d.gateway_refusals[grow.reason_code] = d.gateway_refusals.get(grow.reason_code, 0) + 1
    for (carrier, day), metrics in read_counts(conn, since=since, until=until, carriers=wanted).items():
        d = at(carrier, day)
        for metric, value in metrics.items():
            if metric == "travellers":
                d.travellers += value
            elif metric.startswith("travellers.element."):
                element = int(metric.rsplit(".", 1)[1])
                d.elements[element] = d.elements.get(element, 0) + value
            elif metric.startswith("push."):
                d.pushes[metric[5:]] = d.pushes.get(metric[5:], 0) + value
    return [days[k] for k in sorted(days)]


def csv_rows(report: Iterable[QualityDay]) -> tuple[list[str], list[list[str]]]:
    """A header and rows for CSV: fixed columns, then one per element, push class,
    deviation kind and quarantine / refusal reason present in the report."""
    days = list(report)
    kinds = sorted({k for d in days for k in d.deviations})
    reasons = sorted({k for d in days for k in d.quarantine_reasons})
    refusals = sorted({k for d in days for k in d.gateway_refusals})
    header = [
        "carrier", "day", "messages", "accepted", "duplicates", "quarantined", "bookings",
        "travellers", "api_share", "on_time_share",
        *[f"push.{c}" for c in PUSH_CLASSES],
        *[f"element.{e.value:02d}" for e in Element],
        *[f"deviation.{k}" for k in kinds],
        *[f"quarantine.{r}" for r in reasons],
        *[f"refused.{r}" for r in refusals],
    ]  # fmt: skip

    def share(x: float | None) -> str:
        return "" if x is None else f"{x:.3f}"

    rows = [
        [
            d.carrier, d.day.isoformat(), str(d.messages), str(d.accepted), str(d.duplicates),
            str(d.quarantined), str(d.bookings), str(d.travellers), share(d.api_share),
            share(d.on_time_share),
            *[str(d.pushes.get(c, 0)) for c in PUSH_CLASSES],
            *[share(d.element_share(e.value)) for e in Element],
            *[str(d.deviations.get(k, 0)) for k in kinds],
            *[str(d.quarantine_reasons.get(r, 0)) for r in reasons],
            *[str(d.gateway_refusals.get(r, 0)) for r in refusals],
        ]
        for d in days
    ]
    return header, rows
