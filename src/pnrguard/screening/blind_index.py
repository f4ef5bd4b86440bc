"""Blind-index tokens: keyed HMACs of the normalised values search and linking look up.

Pure: a `Tokeniser` holds a 32-byte key (the node secret "blind-index", loaded by the
service layer) and turns a booking's travellers into (token, field, traveller ref) rows,
and a search term into the tokens to look up. The same normaliser as screening
(`screening.names.normalise`, `screening.index.normalise_document`) so a name found by
screening is found by search.

Why keyed and truncated: a plain hash of a name or a birth date is confirmed by anyone
who guesses it; an HMAC under a key only the key store unwraps is not. 16 bytes keep the
index small and make a collision between two values negligible (2^-64 at 2^32 values).
The field is part of the HMAC input, so a surname token never equals a given-name token.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import hmac
import re

from pnrguard.domain.model import Traveller
from pnrguard.screening.index import normalise_document
from pnrguard.screening.names import normalise, phonetic_key, strip_glued_title

__all__ = [
    "TOKEN_BYTES",
    "Field",
    "Tokeniser",
    "flight_number_variants",
    "name_parts",
    "normalise_contact",
    "parse_flight",
]

TOKEN_BYTES = 16
_CONTEXT = b"pnrguard/blind-index/v1\x00"
#: `hmac.digest` without its Python wrapper (OpenSSL's one-shot HMAC, which `hmac.digest`
#: calls itself; same bytes): the tokens of a message are tens of thousands of calls.
_hmac_digest = getattr(getattr(hmac, "_hashopenssl", None), "hmac_digest", hmac.digest)
_FLIGHT = re.compile(r"([A-Z0-9]{2}[A-Z]?)??0*(\d{1,4})([A-Z]?)")


class Field(enum.IntEnum):
    """What a token stands for (stored in clear beside it: which kind of value, not which)."""

    SURNAME = 1  # one part of a surname (reservation or document)
    GIVEN = 2  # one part of the given names
    SURNAME_SOUND = 3  # phonetic key of a surname part
    GIVEN_SOUND = 4  # phonetic key of a given-name part
    DOB = 5
    DOCUMENT = 6
    CONTACT = 7  # no longer written: contacts are link analysis's PHONE and EMAIL tokens
    PAYMENT = 8  # card number as sent (booking-wide)
    SEAT = 9  # no longer written: seats are link analysis's SEAT_PAIR tokens


#: Fields whose tokens belong to one traveller; the others are booking-wide (ref "").
TRAVELLER_FIELDS = frozenset(
    {
        Field.SURNAME,
        Field.GIVEN,
        Field.SURNAME_SOUND,
        Field.GIVEN_SOUND,
        Field.DOB,
        Field.DOCUMENT,
    }
)
#: Link analysis's contact fields (`links.tokens.LinkField`): search by contact reads them,
#: so a contact is stored once, not once for search and once for links.
PHONE_FIELD, EMAIL_FIELD = 32, 33


@functools.lru_cache(maxsize=65536)
def _parts(text: str, given: bool) -> tuple[str, ...]:
    norm = strip_glued_title(text) if given else normalise(text)
    return tuple(dict.fromkeys(p for p in norm.split() if p))


@functools.lru_cache(maxsize=65536)
def _document(number: str) -> str:
    return normalise_document(number)


def name_parts(text: str, *, given: bool = False) -> list[str]:
    """The normalised parts of a name, in order, without repeats (cached: names repeat)."""
    return list(_parts(text, given))


def normalise_contact(value: str) -> str:
    """An e-mail compares lower-case and trimmed; a telephone number on its last 9 digits
    (country prefixes and trunk zeros vary between carriers)."""
    value = value.strip()
    if "@" in value:
        return "mail:" + value.lower()
    digits = "".join(ch for ch in value if ch.isdigit())
    return "tel:" + digits[-9:] if len(digits) >= 6 else ""


def _card(number: str) -> str:
    cleaned = "".join(ch for ch in number.upper() if ch.isalnum())
    return cleaned if len(cleaned) >= 8 else ""


def parse_flight(text: str) -> tuple[str, str] | None:
    """(carrier or "", number without leading zeros and with its suffix) of what an analyst
    types: `103`, `MU103`, `MU 103`, `MU0103` and `0103` all give ("MU" or "", "103")."""
    cleaned = text.upper().replace(" ", "")
    m = _FLIGHT.fullmatch(cleaned)
    if m is None:
        return None
    return m.group(1) or "", m.group(2) + m.group(3)


def flight_number_variants(number: str) -> list[str]:
    """The spellings a carrier may have stored for a number (`103` -> 103, 0103): carriers
    pad to three or four digits or not at all."""
    m = re.fullmatch(r"0*(\d{1,4})([A-Z]?)", number.upper())
    if m is None:
        return [number]
    digits, suffix = m.group(1), m.group(2)
    return sorted({digits.zfill(n) + suffix for n in range(len(digits), 5)})


def _sources(t: Traveller) -> tuple[list[tuple[str, bool]], list[str], list[str]]:
    """What a traveller's values come from: its names (text, is a given name) from the
    reservation and its documents, its dates of birth (ISO), its document numbers
    (normalised, non-empty)."""
    names = [(t.surname, False), (t.given_names, True)]
    dobs = [t.date_of_birth.isoformat()] if t.date_of_birth is not None else []
    documents: list[str] = []
    for d in t.documents:
        if d.surname:
            names.append((d.surname, False))
        if d.given_names:
            names.append((d.given_names, True))
        if d.date_of_birth is not None:
            dobs.append(d.date_of_birth.isoformat())
        if n := _document(d.number):
            documents.append(n)
    return names, dobs, documents


def _name_values(text: str, given: bool) -> list[tuple[Field, str]]:
    """(field, value) of each normalised part of a surname (or of given names) and of its
    phonetic key."""
    exact, sound = (Field.GIVEN, Field.GIVEN_SOUND) if given else (Field.SURNAME, Field.SURNAME_SOUND)
    out: list[tuple[Field, str]] = []
    for p in name_parts(text, given=given):
        out.append((exact, p))
        if key := phonetic_key(p):
            out.append((sound, key))
    return out


class Tokeniser:
    """Keyed tokens of a booking's travellers and of search terms."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("a blind-index key has at least 32 bytes")
        # HMAC(HMAC(key, context), field || value): the derived key once, then one-shot
        # HMACs (the C fast path; same tokens as the incremental form).
        self._derived = hmac.new(key, _CONTEXT, hashlib.sha256).digest()
        #: Tells two keys apart (a labelled hash, 8 hex digits), says nothing about either:
        #: which key a rebuild of the index ran under.
        self.fingerprint = hashlib.sha256(b"pnrguard/blind-index/fingerprint\x00" + key).hexdigest()[:8]
        # Names, birth dates and phonetic keys repeat across bookings, and a carrier pushes
        # the same booking several times before departure: bounded memos of tokens and of
        # whole travellers' rows save most of the work at ingest. They live in this object,
        # which the service keeps per key (`service.search_index.tokeniser`), so they hold
        # what the process handled recently anyway, and go with a new key.
        self._memo: dict[tuple[int, str], bytes] = {}
        self._people: dict[tuple[object, ...], tuple[tuple[bytes, int], ...]] = {}
        self._names: dict[tuple[str, bool], tuple[tuple[bytes, int], ...]] = {}

    def token(self, field: int, value: str) -> bytes:
        """The keyed token of `value` in `field` (a `Field`, or a link field of
        `links.tokens`: any small int, since it is part of the HMAC input)."""
        # An IntEnum hashes and compares as its int: (Field.DOB, v) and (5, v) are one key.
        found = self._memo.get((field, value))
        if found is None:
            found = _hmac_digest(self._derived, f"{int(field)}\x00{value}".encode(), "sha256")[:TOKEN_BYTES]
            if len(self._memo) > 100_000:
                self._memo.clear()
            self._memo[(int(field), value)] = found
        return found

    # -- values ---------------------------------------------------------------------------
    @staticmethod
    def traveller_values(t: Traveller) -> set[tuple[Field, str]]:
        """The (field, normalised value) pairs of one traveller: reservation and document
        names, dates of birth, document numbers."""
        names, dobs, documents = _sources(t)
        out = {value for text, given in names for value in _name_values(text, given)}
        out |= {(Field.DOB, d) for d in dobs}
        out |= {(Field.DOCUMENT, n) for n in documents}
        return out

    def traveller_tokens(self, t: Traveller) -> tuple[tuple[bytes, int], ...]:
        """(token, field) of one traveller: the tokens of `traveller_values`, memoised on
        what they depend on (a pushed-again booking costs a dictionary look-up per
        traveller) and, for a traveller not seen yet, built from memoised names (a name
        recurs across travellers far more often than a whole traveller does)."""
        key = (
            t.surname,
            t.given_names,
            t.date_of_birth,
            tuple((d.surname, d.given_names, d.date_of_birth, d.number) for d in t.documents),
        )
        found = self._people.get(key)
        if found is None:
            names, dobs, documents = _sources(t)
            rows: set[tuple[bytes, int]] = set()
            for text, given in names:
                rows.update(self._name_tokens(text, given))
            for d in dobs:
                rows.add((self.token(Field.DOB, d), Field.DOB.value))
            for n in documents:
                rows.add((self.token(Field.DOCUMENT, n), Field.DOCUMENT.value))
            found = tuple(sorted(rows))
            if len(self._people) > 50_000:
                self._people.clear()
            self._people[key] = found
        return found

    def _name_tokens(self, text: str, given: bool) -> tuple[tuple[bytes, int], ...]:
        """(token, field) of `_name_values(text, given)`, memoised by name."""
        found = self._names.get((text, given))
        if found is None:
            found = tuple((self.token(f, v), f.value) for f, v in _name_values(text, given))
            if len(self._names) > 50_000:
                self._names.clear()
            self._names[(text, given)] = found
        return found

    # -- search terms ---------------------------------------------------------------------
    def name_terms(
        self, text: str, *, given: bool = False, sounds_like: bool = False
    ) -> list[tuple[Field, bytes]]:
        """Every part of a typed name must match: (field, token) per part."""
        parts = name_parts(text, given=given)
        if sounds_like:
            field = Field.GIVEN_SOUND if given else Field.SURNAME_SOUND
            keys = [phonetic_key(p) or p for p in parts]
            exact = Field.GIVEN if given else Field.SURNAME
            return [
                (field, self.token(field, k)) if phonetic_key(p) else (exact, self.token(exact, p))
                for p, k in zip(parts, keys, strict=True)
            ]
        field = Field.GIVEN if given else Field.SURNAME
        return [(field, self.token(field, p)) for p in parts]

    def dob_term(self, dob: dt.date) -> tuple[Field, bytes]:
        return Field.DOB, self.token(Field.DOB, dob.isoformat())

    def document_term(self, number: str) -> tuple[Field, bytes] | None:
        n = normalise_document(number)
        return (Field.DOCUMENT, self.token(Field.DOCUMENT, n)) if n else None

    def contact_term(self, value: str) -> tuple[int, bytes] | None:
        """An e-mail address or telephone number as link analysis stores it (its EMAIL
        and PHONE tokens, `links.tokens._phone_or_mail`: same normalisation)."""
        v = normalise_contact(value)
        if v.startswith("mail:"):
            return EMAIL_FIELD, self.token(EMAIL_FIELD, v[5:])
        if v.startswith("tel:"):
            return PHONE_FIELD, self.token(PHONE_FIELD, v[4:])
        return None

    def card_term(self, number: str) -> tuple[Field, bytes] | None:
        v = _card(number)
        return (Field.PAYMENT, self.token(Field.PAYMENT, v)) if v else None
