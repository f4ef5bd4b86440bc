"""The PNRGOV reader: messages to bookings, one per SRC group, by a dispatch table from
segment tag to the handler of its group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from pnrguard.domain.model import Booking, Leg
from pnrguard.errors import MessageError
from pnrguard.formats.edifact import (
    MAX_TAG_LEN,
    Interchange,
    Message,
    RawBody,
    Segment,
    gc_paused,
    scan_interchange,
    segment_at,
)
from pnrguard.formats.edifact.splitting import segment_c
from pnrguard.formats.pnrgov import history, itinerary, reservation, ssr, travellers
from pnrguard.formats.pnrgov.documents import _derive_traveller
from pnrguard.formats.pnrgov.fast import FAST
from pnrguard.formats.pnrgov.fast import read as fast_read
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

#: Whether this module runs compiled (mypyc): the fast paths are then reached through
#: `fast.read`'s chain of direct native calls, else through the `fast.FAST` dict.
_COMPILED: Final = not __file__.endswith(".py")

#: Major versions of the PNRGOV message this reader accepts (10.1 ... 21.1).
SUPPORTED_VERSIONS: Final = range(10, 22)


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
_HANDLERS: Final[dict[str, _Handler]] = {
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
_LEAVE_NONAIR: Final = frozenset({"MSG", "ABI", "SAC", "LTS", "EQN", "TIF"})


class _MessageReader:
    """What one message's loop knows: its flight, reporting party, declared and seen PNR
    counts, and the booking being read."""

    __slots__ = (
        "bookings",
        "carriers",
        "ctx",
        "declared",
        "flight",
        "groups",
        "org_seen",
        "reader",
        "reporting",
    )

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.bookings = ctx.result.bookings
        self.flight: Leg | None = None
        self.reporting = ""
        self.org_seen = False
        self.declared: int | None = None
        self.groups = 0
        self.reader: BookingReader | None = None
        self.carriers: set[str] = set()

    def open_booking(self) -> BookingReader:
        self.groups += 1
        reader = BookingReader(self.ctx, self.flight, self.reporting, self.carriers)
        self.reader = reader
        return reader

    def restart(self, seg: Segment) -> None:
        """A segment of the open PNR that starts another (an RCI with a new locator, no SRC)."""
        reader = self.reader
        assert reader is not None
        self.ctx.deviate("src_missing", seg)
        self.bookings.append(finish(reader))
        feed(self.open_booking(), seg)

    def segment(self, seg: Segment) -> None:
        """Place one segment of the message (the general path: every shape, every state)."""
        tag = seg.tag
        reader = self.reader
        if tag == "SRC":
            if reader is not None:
                self.bookings.append(finish(reader))
            self.open_booking()
            return
        ctx = self.ctx
        if reader is not None:
            state = reader.state
            handler = _HANDLERS.get(tag)
            if handler is None or state >= _SPLIT:
                new_pnr = feed(reader, seg)
            else:
                reader.fed += 1
                new_pnr = handler(reader, seg)
            if new_pnr:
                self.restart(seg)
            return
        # message level: before the first SRC
        if tag == "TVL" and self.flight is None:
            flight = _leg_from_tvl(seg)
            self.flight = flight
            if not _moments_ok(seg, 0, 2):
                ctx.deviate("datetime_unreadable", seg)
            self.carriers = {c for c in (flight.carrier, flight.operating_carrier) if c}
            if ctx.result.flight is None:
                ctx.result.flight = flight
        elif tag == "ORG" and not self.org_seen:
            self.org_seen = True
            self.reporting = seg.get(0, 0)
        elif tag == "EQN" and self.declared is None:
            self.declared = _int(seg.get(0, 0))
        elif tag == "MSG":
            pass
        elif tag == "RCI":
            ctx.deviate("src_missing", seg)
            feed(self.open_booking(), seg)
        else:
            if tag in _HANDLERS:
                ctx.deviate("segment_out_of_order", seg)
            ctx.unknown(seg)


def _read_message(msg: Message, ctx: Context) -> tuple[int, int | None]:
    """Read one PNRGOV message into ctx.result; returns (PNR groups seen, EQN count)."""
    version = msg.version.strip()
    if not version.isdigit() or int(version) not in SUPPORTED_VERSIONS:
        ctx.deviate("unsupported_version", msg.header)
    mr = _MessageReader(ctx)
    body = msg.body
    if body is None:
        for seg in msg.segments:
            mr.segment(seg)
    else:
        _read_raw(mr, body)
    if mr.reader is not None:
        mr.bookings.append(finish(mr.reader))
    if mr.declared is not None and mr.declared != mr.groups:
        ctx.deviate("eqn_count_mismatch", msg.header)
    return mr.groups, mr.declared


def _read_raw(mr: _MessageReader, body: RawBody) -> None:
    """The hot loop: a lazily scanned body, each segment split only as it is read, and the
    commonest segments of a PNR in their commonest shape read from the raw text by
    `fast.read` (everything else, and every deviation, goes the general way)."""
    raws, esep, csep, restore = body.raws, body.element, body.component, body.restore
    fast = esep == "+" and csep == ":"  # the fast paths know the default separators only
    chain = fast and _COMPILED
    fast_table = FAST if fast and not _COMPILED else {}
    new_segment = tuple.__new__
    segment = mr.segment
    handlers = _HANDLERS
    # The C accelerator where built (`make compile`), else None: the Segment built in C.
    make_segment = segment_c
    # `str.isascii` has no mypyc primitive: `raw.isascii()` is a method look-up by name at
    # every segment (about 210 instructions, compiled); the descriptor called directly is
    # about a third of that, and no slower interpreted.
    is_ascii = str.isascii
    for a, b in body.ranges:
        index = body.first + a
        for raw in raws[a:b]:
            # The tag (regular: the body is lazy), sliced only where it is looked up; the
            # tag ends the raw segment or an element separator (43, "+") follows it.
            tag3 = ""
            reader = mr.reader
            if reader is not None and reader.state >= _SPLIT:
                reader = None  # split, non-air or history state: the general path (`feed`)
            if (
                reader is not None
                and fast
                and (restore is None or is_ascii(raw))
                and (len(raw) <= 3 or ord(raw[3]) == 43)
            ):
                if chain:
                    placed = fast_read(reader, raw, index)
                else:
                    tag3 = raw[:3]
                    read_fast = fast_table.get(tag3)
                    placed = read_fast is not None and read_fast(reader, raw, index)
                if placed:
                    reader.fed += 1
                    index += 1
                    continue
            if not tag3:
                tag3 = raw[:3]
            if make_segment is not None:
                seg = make_segment(Segment, tag3, raw, esep, csep, restore, index)
            elif restore is not None and not raw.isascii():
                seg = segment_at(raw, index, esep, csep, restore)
            else:
                tag, _, rest = raw.partition(esep)
                if rest:
                    # In place: no frame per segment, a counter rather than enumerate (measured).
                    parts: list[Any] = rest.split(esep)
                    i = 0
                    for e in parts:
                        parts[i] = e.split(csep)
                        i += 1  # noqa: SIM113
                else:
                    parts = []
                seg = new_segment(Segment, (tag if len(tag) == MAX_TAG_LEN else tag[:3], parts, index))
            index += 1
            if reader is not None:
                # `segment(seg)` for a PNR's own segment, inlined: the general hot path.
                handler = handlers.get(seg[0])
                if handler is not None:
                    reader.fed += 1
                    if handler(reader, seg):
                        mr.restart(seg)
                    continue
            segment(seg)


def read_pnrgov(data: bytes | str | Interchange, *, strict: bool = False) -> ReadResult:
    """Read every PNRGOV message of an interchange into bookings, one per SRC group.

    `strict=True` raises `MessageError` (or `EdifactError`) at the first deviation instead
    of recording it. Raises only `ParseError` subclasses, whatever the input.
    """
    # Reading makes many small objects and no cycles: the cyclic collector pauses meanwhile.
    with gc_paused():
        return _read(data, strict)


def _read(data: bytes | str | Interchange, strict: bool) -> ReadResult:
    ichg = data if isinstance(data, Interchange) else scan_interchange(data, strict=strict)
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
        body = first.body
        if body is not None:
            index = body.first + body.ranges[0][0] if body.ranges else first.header.index
        else:
            index = first.segments[0].index if first.segments else first.header.index
        raise MessageError("no PNR (SRC or RCI) in the message", segment_index=index)
    return result
