"""Structured JSON logs that cannot carry personal data.

Why an allow-list and not a scrubber: a scrubber must recognise a name or a passport
number to remove it, and it cannot. So the formatter keeps only what is known to be safe:

- the *template* of the log message (`record.msg`), never the formatted text: arguments
  interpolated into a message are dropped, whatever logger produced them;
- structured fields passed as ``extra={"fields": {...}}`` whose *key* is on `ALLOWED_FIELDS`
  and whose value is a number, a boolean, or a short code (`[A-Za-z0-9._:/+=#-]{0,64}`);
  anything else is replaced by ``"[redacted]"``;
- for an exception, its class name and the stack as file:line:function, never its message
  (driver errors quote SQL parameters, decoder errors quote bytes).

Use: ``log.info("message_accepted", extra={"fields": {"carrier": "LH", "size": 1234}})``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import traceback
from typing import IO, Any

__all__ = ["ALLOWED_FIELDS", "JsonFormatter", "configure_logging"]

#: Field names a log line may carry. Each is an id, a code, a count or a duration.
ALLOWED_FIELDS = frozenset(
    {
        "attempts",
        "batch",
        "bytes",
        "carrier",
        "control_ref",
        "count",
        "credential",
        "duration_ms",
        "error",
        "http_status",
        "message_id",
        "outcome",
        "port",
        "reason",
        "receipt",
        "size",
        "status",
        "threads",
        "worker",
    }
)
_SAFE_VALUE = re.compile(r"[A-Za-z0-9._:/+=#-]{0,64}")
_SAFE_TEMPLATE = re.compile(r"[A-Za-z0-9 _.,:;()\[\]%/+#'=-]{1,200}")
_HANDLER_NAME = "pnrguard-json"


def _safe(value: Any) -> Any:
    if isinstance(value, bool | int | float) and not isinstance(value, complex):
        return value
    if isinstance(value, str) and _SAFE_VALUE.fullmatch(value):
        return value
    return "[redacted]"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, allowed fields."""

    def format(self, record: logging.LogRecord) -> str:
        template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": template if _SAFE_TEMPLATE.fullmatch(template) else "[unsafe message template]",
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if key in ALLOWED_FIELDS:
                    out[key] = _safe(value)
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _exc, tb = record.exc_info
            out["exc_type"] = exc_type.__name__
            frames = traceback.extract_tb(tb)
            out["stack"] = [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in frames]
        return json.dumps(out, separators=(",", ":"))


def configure_logging(*, level: int = logging.INFO, stream: IO[str] | None = None) -> logging.Handler:
    """Send pnrguard's and Uvicorn's logs through the JSON formatter (idempotent).

    Uvicorn's access log is switched off (the URL and client address are not needed for
    operations; our own `push` event says what happened).
    """
    root = logging.getLogger()
    for h in root.handlers:
        if h.get_name() == _HANDLER_NAME:
            if stream is not None and isinstance(h, logging.StreamHandler):
                h.setStream(stream)
            return h
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("pnrguard").setLevel(level)
    return handler
