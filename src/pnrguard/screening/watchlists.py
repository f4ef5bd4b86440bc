"""Watchlist importers: file bytes to `WatchlistEntry` objects, and deltas between versions.

Formats: our simple CSV (docs/watchlists.md), OFAC's legacy `sdn.csv`, the UN Security
Council consolidated list XML, the EU financial sanctions export XML and OpenSanctions
FollowTheMoney JSON lines. Only people are imported. Every failure is a
`WatchlistFormatError` naming a line or record number, never a name.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from pnrguard.errors import N_, WatchlistFormatError
from pnrguard.screening.countries import to_alpha3
from pnrguard.screening.models import Gender, IdentityDocument, PartialDate, WatchlistEntry

FORMATS = ("csv", "ofac", "un", "eu", "ftm")

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}


# ---------------------------------------------------------------------- helpers
def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM); Windows-1252 as the fallback lists still use."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_partial_date(text: str) -> PartialDate:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD`. Raises ValueError."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text)
    if m is None:
        raise ValueError("bad date")
    year, month, day = m.groups()
    return PartialDate(int(year), int(month) if month else None, int(day) if day else None)


def _gender(text: str | None) -> Gender | None:
    if not text:
        return None
    t = text.strip().lower()
    if t in {"m", "male", "man"}:
        return Gender.MALE
    if t in {"f", "female", "woman"}:
        return Gender.FEMALE
    return None


def _countries(values: Iterable[str | None]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        code = to_alpha3(v)
        if code and code not in out:
            out.append(code)
    return tuple(out)


def _unique(values: Iterable[str], exclude: str = "") -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        v = " ".join(v.split())
        if v and v != exclude and v not in out:
            out.append(v)
    return tuple(out)


# ---------------------------------------------------------------------- our CSV
_CSV_HEADER = ("entity_id", "name", "aliases", "dob", "nationality", "documents")
_CSV_DOC = re.compile(r"^\s*(?:(?P<kind>[a-z_]+):)?(?P<number>[^()]+?)\s*(?:\((?P<c>[^)]*)\))?\s*$")


def parse_csv(data: bytes, *, list_name: str = "csv") -> list[WatchlistEntry]:
    """Our own CSV (docs/watchlists.md): `entity_id,name,aliases,dob,nationality,documents`
    with `;` between multiple values, an optional `gender` column."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header[:6]) != _CSV_HEADER:
        raise WatchlistFormatError(N_("line 1: expected header %(header)s"), header=",".join(_CSV_HEADER))
    has_gender = len(header) > 6 and header[6].strip().lower() == "gender"
    entries: list[WatchlistEntry] = []
    for lineno, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise WatchlistFormatError(N_("line %(lineno)s: entity_id and name are required"), lineno=lineno)
        row = row + [""] * (7 - len(row))

        def multi(cell: str) -> list[str]:
            return [v.strip() for v in cell.split(";") if v.strip()]

        try:
            dobs = tuple(parse_partial_date(v) for v in multi(row[3]))
        except ValueError:
            raise WatchlistFormatError(
                N_("line %(lineno)s: dob must be YYYY-MM-DD or YYYY"), lineno=lineno
            ) from None
        docs: list[IdentityDocument] = []
        for value in multi(row[5]):
            m = _CSV_DOC.match(value)
            if m is None:
                raise WatchlistFormatError(N_("line %(lineno)s: unreadable document"), lineno=lineno)
            docs.append(
                IdentityDocument(
                    m.group("number").strip(), m.group("kind") or "passport", to_alpha3(m.group("c"))
                )
            )
        name = " ".join(row[1].split())
        entries.append(
            WatchlistEntry(
                entity_id=row[0].strip(),
                list_name=list_name,
                name=name,
                aliases=_unique(multi(row[2]), exclude=name),
                dobs=dobs,
                nationalities=_countries(multi(row[4])),
                documents=tuple(docs),
                gender=_gender(row[6]) if has_gender else None,
            )
        )
    return entries


# ---------------------------------------------------------------------- OFAC sdn.csv
_AKA = re.compile(r"^(?:alt\.\s+)?(?:a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s*'(?P<alias>.*)'\s*\.?$")
_DOB_ITEM = re.compile(r"^(?:circa\s+)?(?:(?P<d>\d{1,2})\s+)?(?:(?P<m>[A-Za-z]{3})[a-z]*\s+)?(?P<y>\d{4})$")
_DOC_KINDS = (
    ("passport", "passport"),
    ("national id no.", "national_id"),
    ("cedula no.", "national_id"),
    ("d.n.i.", "national_id"),
    ("identification number", "national_id"),
    ("c.u.r.p.", "national_id"),
)
_DOC_VALUE = re.compile(r"^(?P<number>.+?)\s*(?:\((?P<country>[^)]+)\))?$")


def _ofac_dobs(text: str) -> list[PartialDate]:
    """`08 Nov 1957`, `Nov 1957`, `1957`, `circa 1957`, `1960 to 1962` (each year, year
    only) and `01 Jan 1960 to 31 Dec 1962` (likewise)."""
    text = text.strip().rstrip(".").strip()
    if text.lower().startswith("circa"):
        text = text[5:].strip()
    m = re.fullmatch(r"(\d{4})\s*-\s*(\d{4})", text)  # "circa 1958-1960"
    parts = [m.group(1), m.group(2)] if m else [p.strip() for p in text.split(" to ")]
    dates: list[PartialDate] = []
    for part in parts:
        item = _DOB_ITEM.match(part)
        if item is None:
            raise ValueError("bad DOB")
        month = _MONTHS.get(item.group("m")[:3].upper()) if item.group("m") else None
        if item.group("m") and month is None:
            raise ValueError("bad month")
        day = int(item.group("d")) if item.group("d") else None
        dates.append(PartialDate(int(item.group("y")), month, day if month else None))
    if len(dates) == 2:
        lo, hi = sorted((dates[0].year, dates[1].year))
        if hi - lo > 15:
            raise ValueError("range too wide")
        if dates[0] == dates[1]:
            return [dates[0]]
        return [PartialDate(y) for y in range(lo, hi + 1)]
    return dates


def _ofac_entry(ent_num: str, sdn_name: str, remarks: str, lineno: int) -> WatchlistEntry:
    aliases: list[str] = []
    dobs: list[PartialDate] = []
    nationalities: list[str | None] = []
    docs: list[IdentityDocument] = []
    gender: Gender | None = None
    for raw in remarks.split(";"):
        part = raw.strip()
        low = part.lower()
        if not part:
            continue
        aka = _AKA.match(part)
        if aka is not None:
            aliases.append(aka.group("alias").strip("'").strip())
            continue
        if low.startswith(("dob ", "alt. dob ")):
            # An unreadable date is skipped, not guessed; the name still screens.
            with contextlib.suppress(ValueError, IndexError):
                dobs.extend(_ofac_dobs(part.split("DOB", 1)[1]))
            continue
        for prefix in ("nationality ", "alt. nationality ", "citizen ", "alt. citizen "):
            if low.startswith(prefix):
                nationalities.append(part[len(prefix) :])
                break
        else:
            if low.startswith("gender "):
                gender = _gender(part[7:].rstrip("."))
                continue
            stripped = low.removeprefix("alt. ")
            for label, kind in _DOC_KINDS:
                if stripped.startswith(label + " "):
                    value = part[len(part) - len(stripped) + len(label) :].strip().rstrip(".")
                    m = _DOC_VALUE.match(value)
                    if m is not None:
                        country = m.group("country")
                        docs.append(IdentityDocument(m.group("number"), kind, to_alpha3(country)))
                    break
    name = _ofac_name(sdn_name)
    return WatchlistEntry(
        entity_id=ent_num,
        list_name="ofac-sdn",
        name=name,
        aliases=_unique((_ofac_name(a) for a in aliases), exclude=name),
        dobs=tuple(dict.fromkeys(dobs)),
        nationalities=_countries(nationalities),
        documents=tuple(dict.fromkeys(docs)),
        gender=gender,
    )


def _ofac_name(text: str) -> str:
    """`SURNAME, Given names` -> `Given names SURNAME` (reading order; matching ignores order)."""
    text = " ".join(text.split())
    surname, sep, given = text.partition(", ")
    if sep and given:
        return f"{given} {surname}"
    return text


def parse_ofac(data: bytes) -> list[WatchlistEntry]:
    """OFAC legacy `sdn.csv` (no header, 12 columns, `-0-` for empty); individuals only."""
    text = _decode(data).replace("\x1a", "")
    entries: list[WatchlistEntry] = []
    for lineno, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != 12:
            raise WatchlistFormatError(
                N_("line %(lineno)s: expected 12 columns, found %(n)s"), lineno=lineno, n=len(row)
            )
        cells = ["" if c.strip() == "-0-" else c.strip() for c in row]
        if cells[2].lower() != "individual":
            continue
        if not cells[0].isdigit() or not cells[1]:
            raise WatchlistFormatError(N_("line %(lineno)s: missing entry number or name"), lineno=lineno)
        entries.append(_ofac_entry(cells[0], cells[1], cells[11], lineno))
    return entries


# ---------------------------------------------------------------------- XML
def _safe_xml(data: bytes, record: str) -> ET.Element:
    """Parse XML refusing DTDs and entities: no billion laughs, no external entities."""
    head = data.lstrip()[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise WatchlistFormatError(N_("%(record)s: DTDs and entities are refused"), record=record)
    try:
        return ET.fromstring(data)  # noqa: S314 -- DTDs/entities refused above, so this is safe
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        raise WatchlistFormatError(N_("line %(line)s: XML is not well formed"), line=line) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> Iterator[ET.Element]:
    return (c for c in el if _local(c.tag) == name)


def _text(el: ET.Element, name: str) -> str:
    for c in _children(el, name):
        if c.text and c.text.strip():
            return " ".join(c.text.split())
    return ""


def parse_un(data: bytes) -> list[WatchlistEntry]:
    """UN Security Council consolidated list XML: INDIVIDUAL elements."""
    root = _safe_xml(data, "UN list")
    entries: list[WatchlistEntry] = []
    for n, ind in enumerate(root.iter("INDIVIDUAL"), start=1):
        entity_id = _text(ind, "REFERENCE_NUMBER") or _text(ind, "DATAID")
        parts = (_text(ind, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"))
        name = " ".join(p for p in parts if p)
        if not entity_id or not name:
            raise WatchlistFormatError(N_("individual %(n)s: missing reference number or name"), n=n)
        aliases = [_text(a, "ALIAS_NAME") for a in _children(ind, "INDIVIDUAL_ALIAS")]
        dobs: list[PartialDate] = []
        for d in _children(ind, "INDIVIDUAL_DATE_OF_BIRTH"):
            try:
                if _text(d, "DATE"):
                    dobs.append(parse_partial_date(_text(d, "DATE")[:10]))
                elif _text(d, "YEAR"):
                    dobs.append(PartialDate(int(_text(d, "YEAR"))))
                elif _text(d, "FROM_YEAR") and _text(d, "TO_YEAR"):
                    lo, hi = int(_text(d, "FROM_YEAR")), int(_text(d, "TO_YEAR"))
                    if 0 <= hi - lo <= 15:
                        dobs.extend(PartialDate(y) for y in range(lo, hi + 1))
            except ValueError:
                raise WatchlistFormatError(N_("individual %(n)s: unreadable date of birth"), n=n) from None
        nats = [v.text for nat in _children(ind, "NATIONALITY") for v in _children(nat, "VALUE")]
        docs = [
            IdentityDocument(
                _text(d, "NUMBER"),
                (_text(d, "TYPE_OF_DOCUMENT") or "document").lower().replace(" ", "_"),
                to_alpha3(_text(d, "ISSUING_COUNTRY") or _text(d, "COUNTRY_OF_ISSUE")),
            )
            for d in _children(ind, "INDIVIDUAL_DOCUMENT")
            if _text(d, "NUMBER")
        ]
        entries.append(
            WatchlistEntry(
                entity_id=entity_id,
                list_name="un-sc",
                name=name,
                aliases=_unique(aliases, exclude=name),
                dobs=tuple(dict.fromkeys(dobs)),
                nationalities=_countries(nats),
                documents=tuple(docs),
                gender=_gender(_text(ind, "GENDER")),
            )
        )
    return entries


EU_NAMESPACE = "http://eu.europa.eu/fsd/fsd-export"


def parse_eu(data: bytes) -> list[WatchlistEntry]:
    """EU financial sanctions export XML: sanctionEntity elements whose subjectType is person."""
    root = _safe_xml(data, "EU list")
    ns = {"e": EU_NAMESPACE}
    entries: list[WatchlistEntry] = []
    for n, ent in enumerate(root.iterfind("e:sanctionEntity", ns), start=1):
        subject = ent.find("e:subjectType", ns)
        if subject is None or subject.get("code") != "person":
            continue
        entity_id = ent.get("logicalId") or ent.get("euReferenceNumber") or ""
        names: list[str] = []
        gender: Gender | None = None
        for alias in ent.iterfind("e:nameAlias", ns):
            whole = alias.get("wholeName") or " ".join(
                p for p in (alias.get("firstName"), alias.get("middleName"), alias.get("lastName")) if p
            )
            if whole.strip():
                names.append(whole)
            gender = gender or _gender(alias.get("gender"))
        if not entity_id or not names:
            raise WatchlistFormatError(N_("sanctionEntity %(n)s: missing logicalId or name"), n=n)
        dobs: list[PartialDate] = []
        for b in ent.iterfind("e:birthdate", ns):
            try:
                if b.get("birthdate"):
                    dobs.append(parse_partial_date(b.get("birthdate", "")[:10]))
                elif b.get("year"):
                    month = b.get("monthOfYear")
                    day = b.get("dayOfMonth")
                    dobs.append(
                        PartialDate(
                            int(b.get("year", "")),
                            int(month) if month else None,
                            int(day) if month and day else None,
                        )
                    )
            except ValueError:
                raise WatchlistFormatError(N_("sanctionEntity %(n)s: unreadable birthdate"), n=n) from None
        nats = [
            c.get("countryIso2Code") or c.get("countryDescription")
            for tag in ("citizen", "citizenship")
            for c in ent.iterfind(f"e:{tag}", ns)
        ]
        docs = [
            IdentityDocument(
                i.get("number", ""),
                i.get("identificationTypeCode") or "document",
                to_alpha3(i.get("countryIso2Code") or i.get("countryDescription")),
            )
            for i in ent.iterfind("e:identification", ns)
            if i.get("number")
        ]
        entries.append(
            WatchlistEntry(
                entity_id=entity_id,
                list_name="eu-fsf",
                name=" ".join(names[0].split()),
                aliases=_unique(names[1:], exclude=" ".join(names[0].split())),
                dobs=tuple(dict.fromkeys(dobs)),
                nationalities=_countries(nats),
                documents=tuple(docs),
                gender=gender,
            )
        )
    return entries


# ---------------------------------------------------------------------- FollowTheMoney
def parse_ftm(data: bytes) -> list[WatchlistEntry]:
    """OpenSanctions FollowTheMoney JSON lines; entities of schema Person only."""
    entries: list[WatchlistEntry] = []
    for lineno, line in enumerate(_decode(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise WatchlistFormatError(N_("line %(lineno)s: not JSON"), lineno=lineno) from None
        if not isinstance(obj, dict):
            raise WatchlistFormatError(N_("line %(lineno)s: not a JSON object"), lineno=lineno)
        if obj.get("schema") != "Person":
            continue
        props = obj.get("properties")
        if not isinstance(props, dict) or not isinstance(obj.get("id"), str):
            raise WatchlistFormatError(N_("line %(lineno)s: missing id or properties"), lineno=lineno)

        def values(key: str, props: dict[str, object] = props) -> list[str]:
            v = props.get(key, [])
            return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []

        names = values("name")
        if not names:
            raise WatchlistFormatError(N_("line %(lineno)s: person without a name"), lineno=lineno)
        dobs: list[PartialDate] = []
        for value in values("birthDate"):
            try:
                dobs.append(parse_partial_date(value[:10]))
            except ValueError:
                raise WatchlistFormatError(
                    N_("line %(lineno)s: unreadable birthDate"), lineno=lineno
                ) from None
        docs = [IdentityDocument(v, "passport") for v in values("passportNumber")]
        docs += [IdentityDocument(v, "national_id") for v in values("idNumber")]
        datasets = obj.get("datasets")
        list_name = (
            datasets[0]
            if isinstance(datasets, list) and datasets and isinstance(datasets[0], str)
            else "opensanctions"
        )
        name = " ".join(names[0].split())
        genders = values("gender")
        entries.append(
            WatchlistEntry(
                entity_id=obj["id"],
                list_name=list_name,
                name=name,
                aliases=_unique(names[1:] + values("alias") + values("weakAlias"), exclude=name),
                dobs=tuple(dict.fromkeys(dobs)),
                nationalities=_countries(values("nationality") + values("citizenship")),
                documents=tuple(docs),
                gender=_gender(genders[0]) if genders else None,
            )
        )
    return entries


# ---------------------------------------------------------------------- dispatch
def detect_format(data: bytes, filename: str = "") -> str:
    """Guess the format from the content (the name only breaks ties)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "ftm"
    if head.startswith(b"<"):
        if EU_NAMESPACE.encode() in data[:8192]:
            return "eu"
        if b"CONSOLIDATED_LIST" in data[:8192] or b"<INDIVIDUAL" in data[:65536]:
            return "un"
        raise WatchlistFormatError(N_("record 1: unknown XML watchlist"))
    first = head.split(b"\n", 1)[0].lower()
    if first.startswith(b"entity_id,"):
        return "csv"
    if re.match(rb"^\d+,\"", head):
        return "ofac"
    if filename.lower().endswith((".jsonl", ".ftm.json")):
        return "ftm"
    raise WatchlistFormatError(N_("line 1: unknown watchlist format"))


def parse_watchlist(data: bytes, fmt: str = "auto", *, filename: str = "") -> list[WatchlistEntry]:
    """Parse any supported format; `fmt` is one of FORMATS or `auto`."""
    if fmt == "auto":
        fmt = detect_format(data, filename)
    if fmt == "csv":
        return parse_csv(data)
    if fmt == "ofac":
        return parse_ofac(data)
    if fmt == "un":
        return parse_un(data)
    if fmt == "eu":
        return parse_eu(data)
    if fmt == "ftm":
        return parse_ftm(data)
    raise WatchlistFormatError(
        N_("unknown format %(fmt)r; expected auto or one of %(FORMATS)s"), fmt=fmt, FORMATS=FORMATS
    )


def load_watchlist(path: Path, fmt: str = "auto") -> list[WatchlistEntry]:
    """Read and parse a watchlist file."""
    return parse_watchlist(path.read_bytes(), fmt, filename=path.name)


# ---------------------------------------------------------------------- versions
def entry_fingerprint(entry: WatchlistEntry) -> str:
    """A content hash of everything matching uses, insensitive to the order of
    multi-valued fields, so a re-published list with no real change yields no delta."""
    canonical = {
        "id": entry.entity_id,
        "list": entry.list_name,
        "name": entry.name,
        "aliases": sorted(entry.aliases),
        "dobs": sorted(d.isoformat() for d in entry.dobs),
        "nat": sorted(entry.nationalities),
        "docs": sorted([d.number, d.kind, d.country or ""] for d in entry.documents),
        "gender": entry.gender.value if entry.gender else None,
    }
    blob = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Delta:
    """What changed between two versions of a list, as sorted entity ids."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff(old: Mapping[str, str], new: Mapping[str, str]) -> Delta:
    """Compare two versions given as {entity_id: fingerprint}."""
    return Delta(
        added=tuple(sorted(new.keys() - old.keys())),
        removed=tuple(sorted(old.keys() - new.keys())),
        changed=tuple(sorted(k for k in old.keys() & new.keys() if old[k] != new[k])),
    )


def fingerprints(entries: Iterable[WatchlistEntry]) -> dict[str, str]:
    """{entity_id: fingerprint} for a whole list version."""
    return {e.entity_id: entry_fingerprint(e) for e in entries}


__all__ = [
    "FORMATS",
    "Delta",
    "detect_format",
    "diff",
    "entry_fingerprint",
    "fingerprints",
    "load_watchlist",
    "parse_csv",
    "parse_eu",
    "parse_ftm",
    "parse_ofac",
    "parse_partial_date",
    "parse_un",
    "parse_watchlist",
]
