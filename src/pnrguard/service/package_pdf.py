"""The printable rendering of a disclosure package: a laid-out PDF made with fpdf2.

Why it works this way:

- **The JSON package is authoritative**; this document renders every value of it, so the
  recipient's reader and the JSON never disagree about what was disclosed. Nothing is
  added that the JSON does not hold.
- **Names keep their script** where a Unicode font is available (DejaVu Sans, Debian's
  `fonts-dejavu-core`, or the TTF named by `PNRGUARD_PDF_FONT`): a transliterated name on
  paper would be a different name for a police officer comparing it with a passport. What
  the font has no glyph for (CJK in DejaVu; anything outside Latin-1 in the core font used
  when no Unicode font is installed) is transliterated rather than printed blank, and the
  first page says so.
- **Right-to-left and joined scripts are shaped** (uharfbuzz, fpdf2's shaping engine), so
  an Arabic name prints as it is written, not as isolated letters in the wrong order.
- **Deterministic**: the creation date is the release time, so the same package renders to
  the same bytes, and a rebuilt copy can be compared with an earlier one.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from anyascii import anyascii
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

__all__ = ["find_unicode_font", "package_lines", "render_package_pdf"]

#: Where Debian and common distributions put DejaVu Sans (tried in order).
_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
)
_SECTIONS = (
    ("approvals", "Approvals"),
    ("hit", "Hit"),
    ("request", "Request"),
    ("booking", "Booking"),
    ("linked_persons", "Linked travellers added from link analysis"),
    ("graph", "Link graph"),
)
_GREY = (90, 90, 90)
_RULE = (200, 200, 200)


def find_unicode_font() -> tuple[Path, Path] | None:
    """(regular, bold) TTF paths of a Unicode font, or None where none is installed."""
    named = os.environ.get("PNRGUARD_PDF_FONT")
    if named:
        path = Path(named)
        bold = path.with_name(path.stem + "-Bold" + path.suffix)
        return (path, bold if bold.is_file() else path) if path.is_file() else None
    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file():
            return regular, bold if bold.is_file() else regular
    return None


class _Document(FPDF):
    def __init__(self, title: str, font: tuple[Path, Path] | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.title_text = title
        self.covered: frozenset[int] = frozenset(range(256))
        if font is not None:
            self.add_font("body", "", str(font[0]))
            self.add_font("body", "B", str(font[1]))
            body = self.fonts["body"]
            assert isinstance(body, TTFFont)
            self.covered = frozenset(body.cmap)
            self.family_name = "body"
            # Right-to-left scripts and joined letters (Arabic, Persian, Urdu) need shaping.
            self.set_text_shaping(use_shaping_engine=True)
        else:
            self.family_name = "helvetica"
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()

    def text_of(self, value: object) -> str:
        """What this document's font can print: a character it has no glyph for (a CJK
        name in DejaVu, any non-Latin-1 one in the core font) is transliterated rather
        than printed blank; the JSON keeps the original."""
        text = str(value)
        if all(ord(ch) in self.covered for ch in text):
            return text
        return "".join(ch if ord(ch) in self.covered else (anyascii(ch) or "?") for ch in text)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family_name, "", 7)
        self.set_text_color(*_GREY)
        self.cell(0, 5, self.text_of(f"{self.title_text} - page {self.page_no()} of {{nb}}"), align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(self.family_name, "B", 12)
        self.cell(0, 7, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*_RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)

    def rows(self, rows: list[tuple[str, str]]) -> None:
        """Label and value side by side; long values wrap within their column."""
        self.set_font(self.family_name, "", 8.5)
        with self.table(
            col_widths=(32, 68),
            first_row_as_headings=False,
            borders_layout="HORIZONTAL_LINES",
            line_height=4.6,
            text_align=("LEFT", "LEFT"),
        ) as table:
            for label, value in rows:
                row = table.row()
                row.cell(self.text_of(label))
                row.cell(self.text_of(value))

    def grid(self, header: list[str], rows: list[list[str]], widths: tuple[int, ...]) -> None:
        self.set_font(self.family_name, "", 8.5)
        with self.table(col_widths=widths, borders_layout="HORIZONTAL_LINES", line_height=4.6) as table:
            head = table.row()
            for h in header:
                head.cell(self.text_of(h))
            for values in rows:
                row = table.row()
                for v in values:
                    row.cell(self.text_of(v))


def _flatten(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Nested JSON as (dotted label, value) rows; empty values are left out, lists of
    scalars joined, lists of objects numbered, so nothing of the package is lost."""
    if isinstance(value, dict):
        for k, v in value.items():
            if v in (None, "", [], {}):
                continue
            yield from _flatten(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            yield path, ", ".join(str(v) for v in value)
            return
        for i, v in enumerate(value, start=1):
            yield from _flatten(v, f"{path} #{i}")
    else:
        yield path, str(value)


def _summary(data: dict[str, Any]) -> list[tuple[str, str]]:
    recipient = data["recipient"]
    return [
        ("Transmission", str(data["transmission_id"])),
        ("From", str(data["node"])),
        ("Released", str(data.get("released_at") or "not released")),
        ("Recipient", f"{recipient['name']} ({recipient['code']}, {recipient['kind']})"),
        ("Purpose", str(data["purpose"]["label"])),
        ("Legal basis", str(data["legal_basis"])),
        ("Conditions", str(data["conditions"])),
        ("Justification", str(data["justification"])),
    ]


def _graph_rows(graph: dict[str, Any]) -> list[tuple[str, str]]:
    """The link graph as printed: what it is, then its table (the SVG stays in the JSON)."""
    rows: list[tuple[str, str]] = [(k, str(graph[k])) for k in ("basis", "depth", "people", "masked_counted")
                                   if k in graph]  # fmt: skip
    lines = str(graph.get("csv", "")).splitlines()
    return rows + [(f"table {i}", line) for i, line in enumerate(lines[1:], start=1)] if lines else rows


def package_lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The package as (style, text) lines, "h" a heading and "t" text: what the PDF prints,
    for the second person's preview of exactly what leaves (issue 11, section 4)."""
    out: list[tuple[str, str]] = [("h", "Transmission")]
    out += [("t", f"{label}: {value}") for label, value in _summary(data)]
    for key, label in _SECTIONS:
        if key not in data:
            continue
        out.append(("h", label))
        if key == "graph":
            out += [("t", f"{k}: {v}") for k, v in _graph_rows(data[key])]
        elif isinstance(data[key], dict | list):
            out += [("t", f"{k}: {v}") for k, v in _flatten(data[key])]
        else:
            out.append(("t", str(data[key])))
    return out


def render_package_pdf(data: dict[str, Any], *, unicode_font: bool = True) -> bytes:
    """The package `data` (as built by service.disclosure) as an A4 PDF document;
    `unicode_font=False` forces the core-font fallback (what a node without fonts does)."""
    font = find_unicode_font() if unicode_font else None
    title = f"Disclosure {data['transmission_id']}"
    pdf = _Document(title, font)
    released = data.get("released_at")
    when = dt.datetime.fromisoformat(released) if released else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    pdf.set_creation_date(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
    pdf.set_title(title)
    pdf.set_creator("pnrguard")
    pdf.set_producer("pnrguard")
    pdf.add_page()

    pdf.set_font(pdf.family_name, "B", 16)
    pdf.cell(0, 9, pdf.text_of("Disclosure package"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.family_name, "", 9)
    pdf.set_text_color(*_GREY)
    pdf.cell(0, 5, pdf.text_of("Directive (EU) 2016/681 - passenger name record data"), new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)  # fmt: skip
    pdf.multi_cell(0, 4.5, pdf.text_of(
        "The JSON package is authoritative; this document is its printable rendering."
        + " Characters the document's font cannot show are transliterated; the JSON holds the original."
    ), new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.set_text_color(0, 0, 0)

    pdf.heading("Transmission")
    pdf.rows(_summary(data))

    for key, label in _SECTIONS:
        if key not in data:
            continue
        pdf.heading(label)
        if key == "approvals":
            pdf.grid(
                ["Step", "By", "At", "Reason"],
                [[a.get("step") or "", a.get("by") or "", a.get("at") or "", a.get("reason") or ""]
                 for a in data["approvals"]],
                (14, 22, 34, 30),
            )  # fmt: skip
        elif key == "graph":
            pdf.rows(_graph_rows(data[key]))
        elif isinstance(data[key], dict | list):
            rows = list(_flatten(data[key]))
            if rows:
                pdf.rows(rows)
        else:
            pdf.rows([(label, str(data[key]))])
    return bytes(pdf.output())
