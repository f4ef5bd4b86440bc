"""A traveller's neighbourhood: breadth-first over shared keyed digests, depth at most 2.

Why bounded so: C-817/19 (paras 189-192) allows the analysis of stored PNR data only for
a specific purpose and only as far as it is strictly necessary; a depth-2 neighbourhood
(the people linked to the person, and the people linked to those) answers "who travels
or pays with this person" and nothing wider. Each expansion is one step the service logs
as a consultation with its purpose, so the log shows exactly who was looked at.

Why a fan-out cap: some digests are shared by thousands (a large agency office, a
carrier's call-centre phone). Linking everyone who shares them would bury the real links
under noise and reach people with no connection to the case; such a digest is reported as
a hub (its kind and how many share it), not expanded.

Joint travel (same flight and date) counts only when repeated (`joint_travel_min`
distinct flights): everyone on a plane shares one flight, which links no one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pnrguard.links.model import Crowd, Edge, LinkKind, Occurrence, Person

__all__ = [
    "JOINT_TRAVEL_MIN",
    "MAX_DEPTH",
    "MAX_FANOUT",
    "Graph",
    "Hub",
    "LinkSource",
    "links_of",
    "neighbourhood",
]

MAX_DEPTH = 2
#: Distinct flights two people must share before joint travel links them.
JOINT_TRAVEL_MIN = 2
#: People sharing one digest beyond which it is a hub, not a link.
MAX_FANOUT = 50


class LinkSource(Protocol):
    """The port the service implements over the blind index (purpose checks are its job)."""

    def occurrences_of(self, persons: Sequence[str]) -> list[Occurrence]:
        """Every occurrence of these people within the retention window."""
        ...

    def sharing(self, keys: Sequence[tuple[LinkKind, bytes]]) -> Sequence[Occurrence | Crowd]:
        """Every occurrence carrying one of these (kind, token) pairs; for a pair carried by
        more people than the fan-out, the source may give a `Crowd` instead (a hub)."""
        ...

    def masked(self, persons: Sequence[str]) -> set[str]:
        """Those of `persons` whose records may not be shown (masked, no decided unmasking)."""
        ...


@dataclass(frozen=True, slots=True)
class Hub:
    """A digest of `kind` shared by `count` people: too common to link through."""

    person: str
    kind: LinkKind
    count: int


@dataclass(slots=True)
class Graph:
    start: str
    persons: dict[str, Person] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    hubs: list[Hub] = field(default_factory=list)
    #: people whose links were looked up, in order: what the service logs, one entry each
    expanded: list[str] = field(default_factory=list)
    #: people linked but left out because the picture holds `max_people` (counted, not shown)
    omitted: int = 0

    def neighbours(self, person: str) -> list[tuple[str, Edge]]:
        return [(e.other(person), e) for e in self.edges if person in (e.a, e.b)]


def _span(days: Iterable[dt.date | None]) -> tuple[dt.date | None, dt.date | None]:
    known = [d for d in days if d is not None]
    return (min(known), max(known)) if known else (None, None)


def links_of(
    person: str,
    own: Sequence[Occurrence],
    shared: Sequence[Occurrence | Crowd],
    *,
    max_fanout: int = MAX_FANOUT,
    joint_travel_min: int = JOINT_TRAVEL_MIN,
) -> tuple[list[Edge], list[Hub]]:
    """The edges from `person` to everyone who shares one of its digests.

    `own` are the person's occurrences, `shared` every occurrence of the same (kind, token)
    pairs (the person's own may be among them), or a `Crowd` for a pair too common to
    read (a hub, as if that many other people shared it). One edge per (other person, kind),
    counting distinct bookings (distinct flights for joint travel) and spanning their
    flight dates."""
    mine: dict[tuple[LinkKind, bytes], set[str]] = defaultdict(set)
    for o in own:
        if o.person == person:
            mine[(o.kind, o.token)].add(o.booking_id)
    by_key: dict[tuple[LinkKind, bytes], list[Occurrence]] = defaultdict(list)
    crowds: dict[tuple[LinkKind, bytes], int] = {}
    for item in shared:
        key = (item.kind, item.token)
        if isinstance(item, Crowd):
            if key in mine:
                crowds[key] = item.people
            continue
        o = item
        if key not in mine or o.person == person:
            continue
        # A phone or card on one booking reaches all its travellers: that is the same-booking
        # link, not a shared identifier. Identifiers link across bookings only.
        if o.kind is not LinkKind.SAME_BOOKING and o.booking_id in mine[key]:
            continue
        by_key[key].append(o)
    hubs: list[Hub] = []
    grouped: dict[tuple[str, LinkKind], list[tuple[bytes, Occurrence]]] = defaultdict(list)
    for kind, token in sorted(set(by_key) | set(crowds), key=lambda k: (k[0].value, k[1])):
        if (kind, token) in crowds:
            # Joint travel is never a hub (it counts repeats): an unread crowded flight
            # links no one, as would its passengers seen once each.
            if kind is not LinkKind.JOINT_TRAVEL and crowds[(kind, token)] > max_fanout:
                hubs.append(Hub(person, kind, crowds[(kind, token)]))
            continue
        occs = by_key[(kind, token)]
        others = {o.person for o in occs}
        if kind is not LinkKind.JOINT_TRAVEL and len(others) > max_fanout:
            hubs.append(Hub(person, kind, len(others)))
            continue
        for o in occs:
            grouped[(o.person, kind)].append((token, o))
    mine_days = defaultdict(list)
    mine_unmasked: dict[tuple[LinkKind, bytes], bool] = {}  # every own occurrence of it unmasked
    for o in own:
        if o.person == person:
            mine_days[(o.kind, o.token)].append(o.day)
            key = (o.kind, o.token)
            mine_unmasked[key] = mine_unmasked.get(key, True) and o.unmasked
    edges: list[Edge] = []
    for (other, kind), pairs in sorted(grouped.items(), key=lambda kv: (kv[0][1].value, kv[0][0])):
        if kind is LinkKind.JOINT_TRAVEL:
            # Occasions, not legs: the two legs of one connection on one day are one trip.
            count = len({o.day for _, o in pairs})
            if count < joint_travel_min:
                continue
        else:
            count = len({o.booking_id for _, o in pairs})
        first, last = _span([o.day for _, o in pairs] + [d for t, _ in pairs for d in mine_days[(kind, t)]])
        a, b = sorted((person, other))
        # Marked when either side holds the digest only on a booking opened under an unmasking.
        unmasked = any(o.unmasked or mine_unmasked.get((kind, t), False) for t, o in pairs)
        edges.append(Edge(a, b, kind, first, last, count, frozenset(o.source for _, o in pairs), unmasked))
    return edges, hubs


def neighbourhood(
    start: str,
    source: LinkSource,
    *,
    depth: int = 1,
    kinds: frozenset[LinkKind] | None = None,
    max_fanout: int = MAX_FANOUT,
    joint_travel_min: int = JOINT_TRAVEL_MIN,
    max_people: int = 60,
) -> Graph:
    """The people linked to `start` up to `depth` steps (1 or 2). A masked person is a
    node (counted) but never expanded: going through masked data needs an unmasking.
    At most `max_people` are kept (nearest first, strongest links first): a bigger picture
    helps no analyst, and each person shown is a name decrypted; the rest are counted."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"link depth is 1 to {MAX_DEPTH}")
    graph = Graph(start)
    graph.persons[start] = Person(start, start in source.masked([start]), 0)
    frontier = [start] if not graph.persons[start].masked else []
    seen_edges: set[tuple[str, str, LinkKind]] = set()
    for level in range(1, depth + 1):
        if not frontier:
            break
        own = [o for o in source.occurrences_of(frontier) if kinds is None or o.kind in kinds]
        # Repeated joint travel needs `joint_travel_min` distinct flight days of the person's
        # own: with fewer, a flight's passengers (hundreds) cannot make an edge, so they are
        # not read at all (the bulk of a depth-2 query otherwise).
        flight_days: dict[str, set[dt.date | None]] = defaultdict(set)
        for o in own:
            if o.kind is LinkKind.JOINT_TRAVEL:
                flight_days[o.person].add(o.day)
        own = [o for o in own if o.kind is not LinkKind.JOINT_TRAVEL
               or len(flight_days[o.person]) >= joint_travel_min]  # fmt: skip
        keys = sorted({(o.kind, o.token) for o in own}, key=lambda k: (k[0].value, k[1]))
        shared = source.sharing(keys) if keys else []
        # Index once per level, so each person reads only the occurrences of its own digests.
        by_key: dict[tuple[LinkKind, bytes], list[Occurrence | Crowd]] = defaultdict(list)
        for item in shared:
            by_key[(item.kind, item.token)].append(item)
        own_of: dict[str, list[Occurrence]] = defaultdict(list)
        for o in own:
            own_of[o.person].append(o)
        found: list[str] = []
        candidates: list[Edge] = []
        for person in frontier:
            graph.expanded.append(person)
            mine = own_of.get(person, [])
            relevant = [o for k in {(o.kind, o.token) for o in mine} for o in by_key.get(k, [])]
            edges, hubs = links_of(
                person, mine, relevant, max_fanout=max_fanout, joint_travel_min=joint_travel_min
            )
            graph.hubs += hubs
            candidates += edges
        # Strongest links first, so the cap keeps the people most tied to the start.
        candidates.sort(key=lambda e: (-e.count, e.kind.value, e.a, e.b))
        left_out: set[str] = set()
        for e in candidates:
            if (e.a, e.b, e.kind) in seen_edges:
                continue
            new = [p for p in (e.a, e.b) if p not in graph.persons and p not in found]
            if new and len(graph.persons) + len(found) >= max_people:
                left_out.update(new)
                continue
            seen_edges.add((e.a, e.b, e.kind))
            graph.edges.append(e)
            found += new
        graph.omitted += len(left_out - set(found))
        masked = source.masked(found) if found else set()
        for p in found:
            graph.persons[p] = Person(p, p in masked, level)
        frontier = [p for p in found if p not in masked]
    return graph
