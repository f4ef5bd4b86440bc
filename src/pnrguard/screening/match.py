"""Batch matching for `pnrguard match`: a CSV of people in, a CSV of candidate hits out.

Input header `id,name,dob,nationality,document`, optionally `,gender` (M/F as documents
give it). The name may be `SURNAME, Given`,
`SURNAME/GIVENMR` (as carriers write it) or free order `Given Surname`. Output header
`query_id,entity_id,score,explanation`, best first within each query.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from typing import TextIO

from pnrguard.csvsafe import safe_writer
from pnrguard.errors import N_, InputError
from pnrguard.screening.models import Candidate, PersonQuery
from pnrguard.screening.screener import DEFAULT_THRESHOLD, Screener

QUERY_HEADER = ("id", "name", "dob", "nationality", "document")
OUTPUT_HEADER = ("query_id", "entity_id", "score", "explanation")


def query_from_fields(
    query_id: str, name: str, dob: str = "", nationality: str = "", document: str = "", gender: str = ""
) -> PersonQuery:
    """Build a query from the CSV fields. Raises ValueError on a malformed date."""
    name = " ".join(name.split())
    if "/" in name:
        surname, _, given = name.partition("/")
    elif "," in name:
        surname, _, given = name.partition(",")
    else:
        surname, given = name, ""
    return PersonQuery(
        query_id=query_id,
        surname=surname.strip(),
        given_names=given.strip(),
        dob=dt.date.fromisoformat(dob.strip()) if dob.strip() else None,
        nationality=nationality.strip() or None,
        document=document.strip() or None,
        gender=gender.strip() or None,
    )


def read_queries(text: TextIO) -> Iterator[PersonQuery]:
    """Queries from CSV text; InputError names the line, never the content."""
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header[:5]) != QUERY_HEADER:
        raise InputError(N_("line 1: expected header %(header)s"), header=",".join(QUERY_HEADER))
    has_gender = len(header) > 5 and header[5].strip().lower() == "gender"
    for lineno, row in enumerate(reader, start=2):
        if not row or not any(c.strip() for c in row):
            continue
        row = row + [""] * (6 - len(row))
        if not row[0].strip() or not row[1].strip():
            raise InputError(N_("line %(lineno)s: id and name are required"), lineno=lineno)
        try:
            gender = row[5] if has_gender else ""
            yield query_from_fields(row[0].strip(), row[1], row[2], row[3], row[4], gender)
        except ValueError:
            raise InputError(N_("line %(lineno)s: dob must be YYYY-MM-DD or empty"), lineno=lineno) from None


def run(
    screener: Screener, queries: Iterable[PersonQuery], *, threshold: float = DEFAULT_THRESHOLD
) -> Iterator[tuple[PersonQuery, Candidate]]:
    """Screen each query; yields (query, candidate) best first within each query."""
    for query in queries:
        for candidate in screener.screen(query, threshold=threshold):
            yield query, candidate


def write_hits(rows: Iterable[tuple[PersonQuery, Candidate]], out: TextIO) -> int:
    """Write the output CSV; returns the number of hit rows written."""
    writer = safe_writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_HEADER)
    count = 0
    for query, candidate in rows:
        writer.writerow(
            (query.query_id, candidate.entity_id, f"{candidate.score:.4f}", candidate.explanation)
        )
        count += 1
    return count


def match_text(screener: Screener, queries_csv: str, *, threshold: float = DEFAULT_THRESHOLD) -> str:
    """Whole pipeline on strings, for tests and small batches."""
    out = io.StringIO()
    write_hits(run(screener, read_queries(io.StringIO(queries_csv)), threshold=threshold), out)
    return out.getvalue()
