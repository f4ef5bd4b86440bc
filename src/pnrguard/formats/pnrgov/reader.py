"""The PNRGOV reader: messages to bookings, one per SRC group, by a dispatch table from
segment tag to the handler of its group."""

from __future__ import annotations

from collections.abc import Callable

from pnrguard.domain.model import Booking, Leg
from pnrguard.errors import MessageError
from pnrguard.formats.edifact import Interchange, Message, Segment, gc_paused, parse_interchange
from pnrguard.formats.pnrgov import history, itinerary, reservation, ssr, travellers
from pnrguard.formats.pnrgov.documents import _derive_traveller
from pnrguard.formats.pnrgov.history import history_segment
from pnrguard.formats.pnrgov.itinerary import _leg_from_tvl
from pnrguard.formats.pnrgov.state import (
    _BOOKING,
    _HISTORY,
    _LEG,
    _NONAIR,
    _SPLIT,
    BookingReader,
    Context,
)
from pnrguard.formats.pnrgov.travellers import infant_for, place
from pnrguard.formats.pnrgov.values import _int, _moments_ok
from pnrguard.formats.result import ReadResult

#: Major versions of the PNRGOV message this reader accepts (10.1 ... 21.1).
SUPPORTED_VERSIONS = range(10, 22)


def feed(rd: BookingReader, seg: Segment) -> bool:
    """Place one segment. Returns True when it starts another PNR (an RCI with a new
    locator where no SRC came first): the caller then opens a new booking with it."""
    tag = seg.tag
    state = rd.state
    rd.fed += 1
    if state == _HISTORY and tag != "LTS":
        history_segment(rd, seg)
        return False
    handler = _HANDLERS.get(tag)
    if handler is None:
        rd.ctx.unknown(seg)
        return False
    if state == _SPLIT and tag != "RCI":
        rd.state = _BOOKING if rd.leg is None else _LEG
    elif state == _NONAIR and tag not in _LEAVE_NONAIR:
        rd.ctx.result.unknown_segments[tag] += 1
        return False
    return handler(rd, seg)


def finish(rd: BookingReader) -> Booking:
    rd.flush_fare()
    rd.flush_history()
    b = rd.b
    for item in rd.pending:
        if item.kind == "DOCS" and item.infant:
            infant_for(rd, item)
    for item in rd.pending:
        place(rd, item)
    for t in b.travellers:
        if t.documents or t.addresses:  # else nothing to derive: the fields keep defaults
            _derive_traveller(t)
    b.party_size = len(b.travellers)
    if not rd.rci_seen:
        rd.ctx.deviate("rci_missing", None)
    return b


_Handler = Callable[[BookingReader, Segment], bool]
_HANDLERS: dict[str, _Handler] = {
    "RCI": reservation.rci,
    "SSR": ssr.ssr,
    "DAT": reservation.dat,
    "IFT": reservation.ift,
    "ORG": reservation.org,
    "ADD": reservation.add,
    "EBD": reservation.ebd,
    "TIF": travellers.tif,
    "FTI": travellers.fti,
    "TKT": reservation.tkt,
    "MON": reservation.mon,
    "FOP": reservation.fop,
    "TVL": itinerary.tvl,
    "RPI": itinerary.rpi,
    "APD": itinerary.apd,
    "TRA": itinerary.tra,
    "TRI": itinerary.tri,
    "SSD": itinerary.ssd,
    "TBD": itinerary.tbd,
    "EQN": history.eqn,
    "MSG": history.msg,
    "ABI": history.abi,
    "SAC": history.abi,
    "LTS": history.lts,
    "REF": reservation.count,
    "FAR": reservation.count,
    "TXD": reservation.count,
    "PTK": reservation.count,
    "ERC": reservation.count,
    "CBD": reservation.count,
    "PBD": reservation.count,
}
_LEAVE_NONAIR = frozenset({"MSG", "ABI", "SAC", "LTS", "EQN", "TIF"})


def _read_message(msg: Message, ctx: Context) -> tuple[int, int | None]:
    """Read one PNRGOV message into ctx.result; returns (PNR groups seen, EQN count)."""
    result = ctx.result
    version = msg.version.strip()
    if not version.isdigit() or int(version) not in SUPPORTED_VERSIONS:
        ctx.deviate("unsupported_version", msg.header)
    flight: Leg | None = None
    reporting = ""
    org_seen = False
    declared: int | None = None
    groups = 0
    reader: BookingReader | None = None
    carriers: set[str] = set()
    bookings = result.bookings

    def open_booking() -> BookingReader:
        return BookingReader(ctx, flight, reporting, carriers)

    for seg in msg.segments:
        tag = seg.tag
        if tag == "SRC":
            if reader is not None:
                bookings.append(finish(reader))
            reader = open_booking()
            groups += 1
            continue
        if reader is not None:
            # `feed(reader, seg)`, inlined for the common case: this loop is the hot path.
            state = reader.state
            handler = _HANDLERS.get(tag)
            if handler is None or state >= _SPLIT:
                new_pnr = feed(reader, seg)
            else:
                reader.fed += 1
                new_pnr = handler(reader, seg)
            if new_pnr:
                ctx.deviate("src_missing", seg)
                bookings.append(finish(reader))
                reader = open_booking()
                groups += 1
                feed(reader, seg)
            continue
        # message level: before the first SRC
        if tag == "TVL" and flight is None:
            flight = _leg_from_tvl(seg)
            if not _moments_ok(seg, 0, 2):
                ctx.deviate("datetime_unreadable", seg)
            carriers = {c for c in (flight.carrier, flight.operating_carrier) if c}
            if result.flight is None:
                result.flight = flight
        elif tag == "ORG" and not org_seen:
            org_seen = True
            reporting = seg.get(0, 0)
        elif tag == "EQN" and declared is None:
            declared = _int(seg.get(0, 0))
        elif tag == "MSG":
            pass
        elif tag == "RCI":
            ctx.deviate("src_missing", seg)
            reader = open_booking()
            groups += 1
            feed(reader, seg)
        else:
            if tag in _HANDLERS:
                ctx.deviate("segment_out_of_order", seg)
            ctx.unknown(seg)
    if reader is not None:
        bookings.append(finish(reader))
    if declared is not None and declared != groups:
        ctx.deviate("eqn_count_mismatch", msg.header)
    return groups, declared


def read_pnrgov(data: bytes | str | Interchange, *, strict: bool = False) -> ReadResult:
    """Read every PNRGOV message of an interchange into bookings, one per SRC group.

    `strict=True` raises `MessageError` (or `EdifactError`) at the first deviation instead
    of recording it. Raises only `ParseError` subclasses, whatever the input.
    """
    # Reading makes many small objects and no cycles: the cyclic collector pauses meanwhile.
    with gc_paused():
        return _read(data, strict)


def _read(data: bytes | str | Interchange, strict: bool) -> ReadResult:
    ichg = data if isinstance(data, Interchange) else parse_interchange(data, strict=strict)
    result = ReadResult(
        message_type="PNRGOV",
        version="",
        bookings=[],
        sender=ichg.sender,
        recipient=ichg.recipient,
        control_ref=ichg.control_ref,
        deviations=list(ichg.deviations),
    )
    ctx = Context(result, strict)
    pnr_messages = [m for m in ichg.messages if m.type.strip().upper() == "PNRGOV"]
    if not pnr_messages:
        raise MessageError("not a PNRGOV message", segment_index=ichg.messages[0].header.index)
    groups = 0
    empty_declared = True
    for msg in ichg.messages:
        result.deviations.extend(msg.deviations)
        if msg.type.strip().upper() != "PNRGOV":
            ctx.deviate("message_type_skipped", msg.header)
            continue
        if not result.version:
            result.version = f"{msg.version.strip()}.{msg.release.strip()}"
        result.message_refs.append(msg.reference)
        found, declared = _read_message(msg, ctx)
        groups += found
        if declared != 0:
            empty_declared = False
    if groups == 0 and not empty_declared:
        first = pnr_messages[0]
        index = first.segments[0].index if first.segments else first.header.index
        raise MessageError("no PNR (SRC or RCI) in the message", segment_index=index)
    return result
