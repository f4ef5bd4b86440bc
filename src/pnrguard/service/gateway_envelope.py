"""What the gateway checks before a push is queued: the envelope, and the CONTRL answer.

Pure functions over the raw bytes: a few passes in C, the full tokenizer only to *confirm* a
suspected fault, so a cheap check never rejects what the reader would accept. Reasons are
fixed texts with codes and positions: nothing here raises message content.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pnrguard.errors import EdifactError, InputError
from pnrguard.formats import edifact
from pnrguard.formats.edifact import (
    Delimiters,
    OutgoingMessage,
    Segment,
    parse_interchange,
    tokenize,
    write_interchange,
)
from pnrguard.service import carrier_scope

_SAFE_REF = re.compile(r"[^A-Za-z0-9._-]")

#: Syntax identifiers the gateway accepts, with the codec whose validity it checks.
#: UNOA/UNOB promise a subset of ASCII, but carriers send UTF-8 or Latin-1 under them
#: (REQUIREMENTS §9): those are read leniently by the reader, so the gateway checks only
#: what it can be sure of (no NUL bytes). A declared UTF-8 (UNOW/UNOY) that is not UTF-8
#: is refused: nobody can know what the text says.
SYNTAX_CODECS: dict[str, str] = {
    syntax: "" if codec == "ascii" else codec for syntax, codec in edifact.SYNTAX_CODECS.items()
}
#: Media types carriers use for EDIFACT over HTTP (RFC 1767 registers application/EDIFACT).
MEDIA_TYPES = frozenset({"application/edifact", "text/plain", "application/octet-stream"})
CHARSET_PARAMS = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"})


# --- reasons and the acknowledgement ------------------------------------------------------


class Reason(StrEnum):
    """Why a push was refused. Each has an HTTP status and a CONTRL syntax error code (0085)."""

    UNAUTHENTICATED = "unauthenticated"
    TOO_LARGE = "too_large"
    MEDIA_TYPE = "media_type"
    CHARSET = "charset"
    NOT_EDIFACT = "not_edifact"
    BAD_ENVELOPE = "bad_envelope"
    TRUNCATED = "truncated"
    REFERENCE_MISMATCH = "reference_mismatch"
    COUNT_MISMATCH = "count_mismatch"
    NO_MESSAGE = "no_message"
    WRONG_RECIPIENT = "wrong_recipient"
    SENDER_NOT_ALLOWED = "sender_not_allowed"
    STALE = "stale"
    FUTURE = "prepared_in_future"
    REPLAY = "replay"
    UNAVAILABLE = "unavailable"
    QUEUE_FULL = "queue_full"
    CARRIER_SCOPE = "carrier_out_of_scope"  # names another carrier's bookings
    TOO_MANY_SEGMENTS = "too_many_segments"


#: reason -> (HTTP status, CONTRL 0085 syntax error code, service segment tag)
_REASONS: dict[Reason, tuple[int, str, str]] = {
    Reason.UNAUTHENTICATED: (401, "23", "UNB"),  # unknown interchange sender
    Reason.TOO_LARGE: (413, "18", ""),  # unspecified error
    Reason.MEDIA_TYPE: (415, "18", ""),
    Reason.CHARSET: (415, "2", "UNB"),  # syntax level not supported / invalid characters
    Reason.NOT_EDIFACT: (400, "13", "UNB"),  # missing
    Reason.BAD_ENVELOPE: (400, "12", "UNB"),  # invalid value
    Reason.TRUNCATED: (400, "13", "UNZ"),
    Reason.REFERENCE_MISMATCH: (400, "28", "UNZ"),  # references do not match
    Reason.COUNT_MISMATCH: (400, "29", "UNZ"),  # control count does not match
    Reason.NO_MESSAGE: (400, "32", "UNB"),  # lower level empty
    Reason.WRONG_RECIPIENT: (400, "7", "UNB"),  # interchange recipient not actual recipient
    Reason.SENDER_NOT_ALLOWED: (403, "23", "UNB"),  # unknown interchange sender
    Reason.STALE: (409, "24", "UNB"),  # too old
    Reason.FUTURE: (400, "12", "UNB"),
    Reason.REPLAY: (409, "26", "UNB"),  # duplicate detected
    Reason.UNAVAILABLE: (503, "18", ""),
    Reason.QUEUE_FULL: (503, "18", ""),  # backpressure: 0085 has no capacity code
    Reason.CARRIER_SCOPE: (403, "12", "UNB"),  # invalid value: not this credential's airline
    Reason.TOO_MANY_SEGMENTS: (413, "18", ""),
}


class GatewayRejection(InputError):
    """A push the gateway refuses. `detail` names limits, positions and codes, never content."""

    code = "gateway_rejected"

    def __init__(self, reason: Reason, detail: str, *, envelope: Envelope | None = None) -> None:
        self.reason = reason
        self.detail = detail[:200]
        self.envelope = envelope
        self.http_status, self.contrl_error, self.segment_tag = _REASONS[reason]
        super().__init__(f"{reason.value}: {self.detail}")


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the cheap checks read from an interchange's UNB and UNZ (no content)."""

    syntax: str
    sender: str
    recipient: str
    control_ref: str
    prepared: dt.datetime | None
    messages: int


@dataclass(frozen=True, slots=True)
class AckInfo:
    """Everything an acknowledgement says, in either representation."""

    accepted: bool
    http_status: int
    receipt: str | None = None
    reason: Reason | None = None
    detail: str = ""
    contrl_error: str = ""
    segment_tag: str = ""
    duplicate: bool = False
    envelope: Envelope | None = None

    @classmethod
    def rejected(cls, exc: GatewayRejection) -> AckInfo:
        return cls(
            accepted=False,
            http_status=exc.http_status,
            reason=exc.reason,
            detail=exc.detail,
            contrl_error=exc.contrl_error,
            segment_tag=exc.segment_tag,
            envelope=exc.envelope,
        )

    def as_json(self) -> dict[str, Any]:
        env = self.envelope
        return {
            "status": "accepted" if self.accepted else "rejected",
            "receipt": self.receipt,
            "duplicate": self.duplicate,
            "reason": self.reason.value if self.reason else None,
            "detail": self.detail,
            "control_ref": env.control_ref if env else None,
            "contrl": {
                "action": "7" if self.accepted else "4",
                "error": self.contrl_error or None,
                "segment": self.segment_tag or None,
            },
        }


def safe_code(value: str, limit: int = 35) -> str:
    """An envelope id fit to echo in an acknowledgement: codes only, bounded."""
    return _SAFE_REF.sub("", value)[:limit]


def contrl_ack(info: AckInfo, *, node_id: str, now: dt.datetime) -> str:
    """The acknowledgement as a UN/EDIFACT CONTRL interchange (syntax 4).

    One UCI segment answers the interchange: its control reference, sender and recipient,
    action 7 (acknowledged) or 4 (rejected), and for a rejection the syntax error code
    (0085) and the service segment it concerns. Our own control reference is random.
    """
    env = info.envelope
    sender = safe_code(env.recipient) if env and env.recipient else node_id
    recipient = safe_code(env.sender) if env and env.sender else "UNKNOWN"
    uci: list[str | list[str]] = [
        safe_code(env.control_ref, 14) if env else "",
        safe_code(env.sender) if env else "",
        safe_code(env.recipient) if env else "",
        "7" if info.accepted else "4",
    ]
    if not info.accepted:
        uci += [info.contrl_error or "18", info.segment_tag]
    return write_interchange(
        [OutgoingMessage("1", ("CONTRL", "4", "1", "UN"), [("UCI", uci)])],
        sender=sender or "PNRGUARD",
        recipient=recipient,
        control_ref=secrets.token_hex(7).upper(),
        prepared=now,
        syntax=("UNOC", "4"),
        line_breaks=False,
    )


# --- envelope checks (pure) -----------------------------------------------------------------

_UNH_OR_UNG = re.compile(r"UN[HG]")


@lru_cache(maxsize=32)
def _service_segments(seg: str, elem: str) -> re.Pattern[str]:
    return re.compile(re.escape(seg) + r"[\r\n\t ]*(UN[HTG])" + re.escape(elem))


def _parse_prepared(comps: list[str]) -> dt.datetime | None:
    date = comps[0].strip() if comps else ""
    time_ = comps[1].strip() if len(comps) > 1 else "0000"
    try:
        if len(date) == 6:
            day = dt.datetime.strptime(date, "%y%m%d")
        elif len(date) == 8:
            day = dt.datetime.strptime(date, "%Y%m%d")
        else:
            return None
        hhmm = dt.datetime.strptime(time_[:4] or "0000", "%H%M")
    except ValueError:
        return None
    return day.replace(hour=hhmm.hour, minute=hhmm.minute, tzinfo=dt.UTC)


def _decode(raw: bytes) -> tuple[str, str]:
    """(text, syntax id) or a CHARSET / NOT_EDIFACT rejection."""
    if b"\x00" in raw:
        raise GatewayRejection(Reason.CHARSET, "NUL bytes: binary data or a UTF-16/32 text")
    m = re.search(rb"UNB.(UNO[A-Z])", raw[:4096])
    if m is None:
        if b"UNB" not in raw[:4096]:
            raise GatewayRejection(Reason.NOT_EDIFACT, "no UNB segment at the start")
        raise GatewayRejection(Reason.CHARSET, "UNB has no UNOx syntax identifier")
    syntax = m.group(1).decode("ascii")
    if syntax not in SYNTAX_CODECS:
        raise GatewayRejection(Reason.CHARSET, f"syntax identifier {syntax} is not supported")
    codec = SYNTAX_CODECS[syntax]
    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        if codec:
            return data.decode(codec), syntax
        try:
            return data.decode("utf-8"), syntax
        except UnicodeDecodeError:
            return data.decode("latin-1"), syntax  # tolerated under UNOA/UNOB, see SYNTAX_CODECS
    except UnicodeDecodeError as exc:
        raise GatewayRejection(
            Reason.CHARSET, f"bytes are not valid {syntax} ({codec}) at byte {exc.start}"
        ) from None


def _head(text: str) -> tuple[Delimiters, Segment]:
    """The delimiters and the UNB segment, from the start of the interchange only."""
    start = text.find("UNB", 0, 4096)
    stop = _UNH_OR_UNG.search(text, start + 3 if start >= 0 else 0, 16384)
    head = text[: stop.start()] if stop else text[:16384]
    try:
        delims, segments, _ = tokenize(head)
    except EdifactError as exc:
        raise GatewayRejection(Reason.NOT_EDIFACT, str(exc)) from None
    unb = next((s for s in segments[:2] if s.tag == "UNB"), None)
    if unb is None:
        raise GatewayRejection(Reason.NOT_EDIFACT, "interchange does not start with UNB")
    return delims, unb


def _full_check(raw: bytes, envelope: Envelope, suspicion: GatewayRejection) -> None:
    """Confirm a fault the cheap checks suspect with the full (lenient) envelope reader.

    Raises the rejection the reader's findings justify; returns if the reader sees no
    interchange-level fault (the cheap count was fooled, e.g. by a released terminator).
    """
    try:
        ichg = parse_interchange(raw, strict=False)
    except EdifactError as exc:
        text = str(exc)
        reason = Reason.NO_MESSAGE if "no message" in text else Reason.TRUNCATED
        if "truncated" not in text and reason is Reason.TRUNCATED:
            reason = Reason.BAD_ENVELOPE
        raise GatewayRejection(reason, text, envelope=envelope) from None
    codes = {d.code for d in ichg.deviations}
    if "unz_reference_mismatch" in codes:
        raise GatewayRejection(Reason.REFERENCE_MISMATCH, "UNZ reference differs from UNB", envelope=envelope)
    if "unz_count_mismatch" in codes or "une_count_mismatch" in codes:
        raise GatewayRejection(
            Reason.COUNT_MISMATCH, "UNZ count differs from messages or groups", envelope=envelope
        )
    del suspicion  # the reader found the interchange whole: accept it


def check_envelope(
    raw: bytes,
    *,
    recipients: frozenset[str],
    senders: Sequence[str],
    now: dt.datetime,
    replay_window: dt.timedelta,
    future_skew: dt.timedelta,
    scope: Collection[str] | None = None,
    max_segments: int | None = None,
) -> Envelope:
    """Check an interchange's envelope cheaply; return what it says or raise `GatewayRejection`.

    Not checked here, on purpose: UNT segment counts and anything inside messages. Real
    traffic has stray lines before UNT (REQUIREMENTS §9) and the reader tolerates them;
    refusing a flight's data for that would lose it.
    """
    if not raw.strip():
        raise GatewayRejection(Reason.NOT_EDIFACT, "empty body")
    text, syntax = _decode(raw)
    delims, unb = _head(text)
    sender, recipient, control_ref = unb.get(1).strip(), unb.get(2).strip(), unb.get(4).strip()
    prepared = _parse_prepared(unb.element(3))
    partial = Envelope(syntax, sender, recipient, control_ref, prepared, 0)
    if not control_ref or not sender or not recipient:
        raise GatewayRejection(
            Reason.BAD_ENVELOPE, "UNB lacks sender, recipient or control reference", envelope=partial
        )
    if len(control_ref) > 35 or _SAFE_REF.search(control_ref):
        raise GatewayRejection(Reason.BAD_ENVELOPE, "UNB control reference is not a code", envelope=partial)
    if recipient not in recipients:
        raise GatewayRejection(Reason.WRONG_RECIPIENT, "UNB recipient is not this node", envelope=partial)
    if sender not in senders:
        raise GatewayRejection(
            Reason.SENDER_NOT_ALLOWED, "UNB sender is not allowed for this credential", envelope=partial
        )
    if prepared is None:
        raise GatewayRejection(Reason.BAD_ENVELOPE, "UNB preparation date/time unreadable", envelope=partial)
    if prepared < now - replay_window:
        raise GatewayRejection(
            Reason.STALE,
            f"prepared more than {replay_window.total_seconds() / 3600:g} h ago (replay window)",
            envelope=partial,
        )
    if prepared > now + future_skew:
        raise GatewayRejection(Reason.FUTURE, "UNB preparation time lies in the future", envelope=partial)
    # Tail: the last segment must be UNZ with the UNB reference and the right count.
    seg, elem = delims.segment, delims.element
    body = text.rstrip("\r\n\t ")
    end = len(body) - 1 if body.endswith(seg) else len(body)
    last = body[body.rfind(seg, 0, end) + 1 : end].lstrip("\r\n\t ")
    counts = {"UNH": 0, "UNT": 0, "UNG": 0}
    for m in _service_segments(seg, elem).finditer(text):
        counts[m.group(1)] += 1
    envelope = Envelope(syntax, sender, recipient, control_ref, prepared, counts["UNH"])
    suspicion: GatewayRejection | None = None
    if not last.startswith("UNZ" + elem):
        suspicion = GatewayRejection(Reason.TRUNCATED, "last segment is not UNZ", envelope=envelope)
    else:
        parts = last.split(elem)
        unz_count = parts[1].split(delims.component)[0].strip() if len(parts) > 1 else ""
        unz_ref = parts[2].split(delims.component)[0].strip() if len(parts) > 2 else ""
        expected = counts["UNG"] or counts["UNH"]
        if counts["UNH"] == 0:
            suspicion = GatewayRejection(Reason.NO_MESSAGE, "interchange holds no message", envelope=envelope)
        elif unz_ref != control_ref:
            suspicion = GatewayRejection(
                Reason.REFERENCE_MISMATCH, "UNZ reference differs from UNB", envelope=envelope
            )
        elif not unz_count.isdigit() or int(unz_count) != expected or counts["UNT"] != counts["UNH"]:
            suspicion = GatewayRejection(
                Reason.COUNT_MISMATCH, "UNZ count differs from messages or groups", envelope=envelope
            )
    if suspicion is not None:
        _full_check(raw, envelope, suspicion)
    if max_segments is not None and text.count(seg) > max_segments:
        raise GatewayRejection(
            Reason.TOO_MANY_SEGMENTS, f"more than {max_segments} segments (the limit)", envelope=envelope
        )
    if scope is not None:
        bad = carrier_scope.outside(carrier_scope.scan(text), scope)
        if bad:
            raise GatewayRejection(
                Reason.CARRIER_SCOPE,
                f"carrier codes {','.join(bad)[:60]} are outside this credential's designators",
                envelope=envelope,
            )
    return envelope
