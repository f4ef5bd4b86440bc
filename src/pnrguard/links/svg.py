"""The neighbourhood as a server-rendered SVG (the workspace runs no script: CSP
`default-src 'none'`), drawn beside a table that says the same for keyboard and
screen-reader users.

Layout: the person at the centre, people one step away on an inner circle, two steps away
on an outer circle near the person that led to them. Deterministic (the same graph draws
the same picture), so a disclosure package can carry it and a reviewer can compare copies.
Labels are given by the caller: a masked person is drawn as a count, never a name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

from pnrguard.links.graph import Graph
from pnrguard.links.model import CO_TRAVEL, LinkKind

__all__ = ["render_svg"]

_SIZE = 640
_C = _SIZE / 2
_RADII = (0.0, 170.0, 285.0)
_IDENTIFIER_COLOUR = "#0b5394"
_CO_TRAVEL_COLOUR = "#1e6b2f"
_MASKED = "#767676"


def _positions(graph: Graph) -> dict[str, tuple[float, float]]:
    pos: dict[str, tuple[float, float]] = {graph.start: (_C, _C)}
    angle: dict[str, float] = {graph.start: 0.0}
    first = [p for p, n in graph.persons.items() if n.depth == 1]
    for i, p in enumerate(sorted(first)):
        a = 2 * math.pi * i / max(len(first), 1) - math.pi / 2
        angle[p] = a
        pos[p] = (_C + _RADII[1] * math.cos(a), _C + _RADII[1] * math.sin(a))
    second = sorted(p for p, n in graph.persons.items() if n.depth == 2)
    parent: dict[str, str] = {}
    for e in graph.edges:
        for x, y in ((e.a, e.b), (e.b, e.a)):
            if x in second and y in first:
                parent.setdefault(x, y)
    by_parent: dict[str, list[str]] = {}
    for p in second:
        by_parent.setdefault(parent.get(p, ""), []).append(p)
    spread = 2 * math.pi / max(len(first), 1)
    for par, kids in sorted(by_parent.items()):
        base = angle.get(par, 0.0)
        for j, k in enumerate(kids):
            a = base + spread * ((j + 1) / (len(kids) + 1) - 0.5) * 0.9
            pos[k] = (_C + _RADII[2] * math.cos(a), _C + _RADII[2] * math.sin(a))
    return pos


def render_svg(graph: Graph, labels: Mapping[str, str], *, title: str = "Linked travellers") -> str:
    """The graph as an SVG document; `labels[person]` is what each node shows."""
    pos = _positions(graph)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_SIZE} {_SIZE}" width="{_SIZE}" '
        f'height="{_SIZE}" role="img" aria-labelledby="links-title">',
        f'<title id="links-title">{escape(title)}: {len(graph.persons) - 1} people, '
        f"{len(graph.edges)} links</title>",
        # Presentation attributes, no <style>: the workspace's CSP admits no inline style.
        '<g font-family="system-ui, sans-serif" font-size="12" fill="#1b1b1b">',
    ]
    for e in graph.edges:
        if e.a not in pos or e.b not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.a], pos[e.b]
        colour = _CO_TRAVEL_COLOUR if e.kind in CO_TRAVEL else _IDENTIFIER_COLOUR
        dash = ' stroke-dasharray="5 3"' if e.kind is LinkKind.JOINT_TRAVEL else ""
        width = min(1.5 + e.count * 0.5, 5.0)
        kind = escape(e.kind.label + (" (unmasked booking)" if e.unmasked else ""))
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                   f'stroke-width="{width:.1f}"{dash}><title>{kind} ×{e.count}</title></line>')  # fmt: skip
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        out.append(f'<text x="{mx:.1f}" y="{my:.1f}" text-anchor="middle" font-size="10" fill="#444" '
                   f'stroke="#fff" stroke-width="3" paint-order="stroke">{kind}</text>')  # fmt: skip
    for person, node in sorted(graph.persons.items(), key=lambda kv: (kv[1].depth, kv[0])):
        if person not in pos:
            continue
        x, y = pos[person]
        fill = _MASKED if node.masked else ("#a4000f" if node.depth == 0 else "#ffffff")
        stroke = "#1b1b1b"
        r = 16 if node.depth == 0 else 11
        label = escape(labels.get(person, "masked" if node.masked else person[-6:]))
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" stroke="{stroke}" '
                   f'stroke-width="1.5"><title>{label}</title></circle>')  # fmt: skip
        out.append(f'<text x="{x:.1f}" y="{y + r + 13:.1f}" text-anchor="middle">{label}</text>')
    out.append("</g></svg>")
    return "\n".join(out)
