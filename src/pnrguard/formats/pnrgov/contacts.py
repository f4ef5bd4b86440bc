"""Contacts in free text (`CTCE`, `CTC H`, `CTCM`), and phone numbers and e-mail addresses
cleaned of AIRIMP's escapes and carriers' decorations."""

from __future__ import annotations

import re
from typing import Final

from pnrguard.domain.model import Contact

# Contact kinds <-> the letter after CTC in OSI / free text (IATA: CTCE e-mail, CTCF fax,
# CTCA address, CTCB/H/M/P/R/T/U phones of various kinds).
_CTC_KIND: Final = {"E": "email", "F": "fax", "A": "other"}
_CTC_USE: Final = {"H": "home", "M": "mobile", "B": "business", "T": "agency"}
_USE_CTC: Final = {use: letter for letter, use in _CTC_USE.items()}
_KIND_CTC: Final = {"email": "E", "fax": "F", "other": "A", "phone": "P"}
_CTC_LETTERS: Final = frozenset("ABEFHMPRTU")

_CTC_SSR: Final = frozenset(f"CTC{letter}" for letter in "BEHMPT")


def _contact(text: str) -> tuple[str, str, str] | None:
    """(kind, value, use) if free text is a CTC contact, else None.

    Accepts `CTCE X//Y.COM`, `CTCM 4917...`, `CTC H 0691234`, `AM CTCP 123`, and the SSR
    form of the same (`CTCM` code, number in the text). The value is cleaned: an e-mail
    gets its `@`, `_` and `-` back from the AIRIMP escapes; a phone loses the city code in
    front, the language or kind suffix and its punctuation (`LON 44 (20) 7946-0000/EN` is
    `+4420...` only when a `+` was sent; else digits). Text that is not a number is kept.
    """
    start = 0
    if not text.startswith("CTC"):
        if len(text) > 6 and text[2] == " " and text.startswith("CTC", 3):
            start = 3
        else:
            return None
    rest = text[start + 3 :]
    letter = ""
    if rest[:1] in _CTC_LETTERS and (len(rest) == 1 or rest[1] == " "):
        letter, value = rest[0], rest[2:]
    elif rest[:1] == " " and rest[1:2] in _CTC_LETTERS and (len(rest) == 2 or rest[2] == " "):
        letter, value = rest[1], rest[3:]  # `CTC H 0691234`
    else:
        value = rest[1:] if rest.startswith(" ") else rest
    kind = _CTC_KIND.get(letter, "phone")
    if kind == "email":
        return kind, _clean_email(value), ""
    if kind == "phone":
        number, suffix = _clean_phone(value)
        return kind, number, _CTC_USE.get(letter) or _CTC_USE.get(suffix, "")
    return kind, value.strip(), ""


_CITY_PREFIX: Final = re.compile(r"^[A-Z]{3}\s+(?=[+0-9(])")
_PHONE_SUFFIX: Final = re.compile(r"(?:/[A-Z]{2}|-([A-Z]))\s*$")
_PHONE: Final = re.compile(r"\+?[0-9(][0-9 ().\-/]*")
_NOT_DIGIT: Final = re.compile(r"[^0-9]")


def _clean_phone(value: str) -> tuple[str, str]:
    """(number, kind letter of a `-H` style suffix) from phone free text."""
    v = value.strip()
    number = _plain_number(v)
    if number is not None:
        return number, ""
    return _phone_by_patterns(value, v)


def _plain_number(v: str) -> str | None:
    """The common shape, `+48 778 3157330` or `0691234` (ASCII digits and blanks, a `+` in
    front), read without the four regular expressions of `_phone_by_patterns` (14,000
    instructions a phone, compiled); None for any other shape. Same result where it reads."""
    plus = v.startswith("+")
    body = v[1:] if plus else v
    if body[:1] == " ":
        return None
    compact = body.replace(" ", "") if " " in body else body
    if compact and compact.isascii() and compact.isdigit():
        return "+" + compact if plus else compact
    return None


def _phone_by_patterns(value: str, v: str) -> tuple[str, str]:
    """`_clean_phone` for every shape; `v` is `value` stripped."""
    suffix = ""
    m = _PHONE_SUFFIX.search(v)
    if m is not None:
        suffix = m.group(1) or ""
        v = v[: m.start()].rstrip()
    v = _CITY_PREFIX.sub("", v)
    if _PHONE.fullmatch(v) is None:
        return value.strip(), ""  # not a number: kept as sent
    digits = _NOT_DIGIT.sub("", v)  # `v` matched _PHONE: its digits are ASCII; one C pass
    return ("+" + digits if v.startswith("+") else digits), (suffix if suffix in _CTC_USE else "")


def _clean_email(value: str) -> str:
    """AIRIMP free text cannot carry `@`, `_` or `-`: `//`, `..` and `./` stand for them."""
    v = value.strip()
    if "/" in v:
        head, sep, lang = v.rpartition("/")
        if sep and len(lang) == 2 and lang.isalpha() and "//" in head:
            v = head  # a trailing language code: `X//Y.COM/EN`
        v = v.replace("//", "@").replace("./", "-")
    return v.replace("..", "_")


def _contact_text(c: Contact) -> str:
    letter = _USE_CTC.get(c.use, "P") if c.kind == "phone" else _KIND_CTC.get(c.kind, "P")
    return f"CTC{letter} {c.value}"
