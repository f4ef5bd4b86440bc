"""The one error hierarchy of pnrguard.

Every error knows the HTTP status it maps to, so the web shell translates errors in one
handler. Messages never contain personal data: they name positions, codes and ids.

Why messages are ``N_("... %(name)s ...")`` with parameters (issue 15): an error raised in
the service layer reaches people on web pages, in their language. The message is a stable
message id, marked with `N_` so Babel extracts it into the workspace's catalogues
(`web/i18n_catalog.py`); its parameters are kept apart, so the page translates the id and
then fills in the values (`web.i18n.error_text`). `str(exc)` is the English text (logs,
the JSON APIs, the CLI). `tests/web/test_translations.py` fails on an error message that
is not marked or not translated.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a message for translation where it is shown (Babel extracts `N_`)."""
    return message


class PnrguardError(Exception):
    """Base of every error pnrguard raises on purpose."""

    http_status: int = 500
    code: str = "internal"

    def __init__(self, message: str = "", /, *args: object, **params: Any) -> None:
        self.message = message
        self.params = params
        if params:
            try:
                text = message % params
            except (KeyError, TypeError, ValueError):
                text = message
            super().__init__(text, *args)
        else:
            super().__init__(message, *args)


class InputError(PnrguardError):
    """Bad input from outside (a carrier, a peer, an operator)."""

    http_status = 400
    code = "bad_input"


class ParseError(InputError):
    """A message could not be read. `segment_index` is 0-based within the interchange
    (None when the failure is before segmentation, e.g. an undecodable envelope)."""

    code = "parse_error"

    def __init__(self, reason: str, *, segment_index: int | None = None) -> None:
        self.reason = reason
        self.segment_index = segment_index
        where = f"segment {segment_index}: " if segment_index is not None else ""
        super().__init__(f"{where}{reason}")


class EdifactError(ParseError):
    """UN/EDIFACT syntax or envelope error."""

    code = "edifact_syntax"


class MessageError(ParseError):
    """The EDIFACT is well formed but the PNRGOV / PAXLST content cannot be read."""

    code = "message_content"


class UnsupportedMessageError(MessageError):
    """A message in a form pnrguard does not read (e.g. the US/CEDIPAX PAXLST with PDT
    segments, or PNRGOV and PAXLST mixed in one push): refused whole, never half read."""

    code = "message_unsupported"


class NotFoundError(PnrguardError):
    http_status = 404
    code = "not_found"


class ForbiddenError(PnrguardError):
    http_status = 403
    code = "forbidden"


class ConflictError(PnrguardError):
    http_status = 409
    code = "conflict"


class ConfigError(PnrguardError):
    code = "config"


class CryptoError(PnrguardError):
    """A key is missing, destroyed, or a ciphertext failed authentication."""

    code = "crypto"


class WatchlistFormatError(InputError):
    """A watchlist file could not be read; names the line or record, never the content."""

    code = "watchlist_format"


class AuditError(PnrguardError):
    """The audit log refused an entry (e.g. a record id that looks personal) or a checkpoint
    or key could not be read. Messages name fields and positions, never values."""

    code = "audit"


class AuditVerificationError(AuditError):
    """The audit log does not verify: `seq` is the first broken entry (None when the break is
    not tied to one entry, e.g. a bad checkpoint signature), `reason` a stable code."""

    code = "audit_verification"

    def __init__(self, reason: str, *, seq: int | None = None, detail: str = "") -> None:
        self.reason = reason
        self.seq = seq
        self.detail = detail
        where = f"seq {seq}: " if seq is not None else ""
        super().__init__(f"{where}{reason}{': ' + detail if detail else ''}")
