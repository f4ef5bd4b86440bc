"""The link graph: who is linked, through what, how far, and what is never expanded."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.links.graph import MAX_DEPTH, neighbourhood
from pnrguard.links.model import LinkKind, Occurrence
from pnrguard.links.svg import render_svg

pytestmark = pytest.mark.unit

D = dt.date(2026, 5, 1)


class Source:
    """An in-memory blind index: the port the service implements over the database."""

    def __init__(self, occurrences: Sequence[Occurrence], masked: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.occ = list(occurrences)
        self._masked = set(masked)
        self.asked: list[list[str]] = []

    def occurrences_of(self, persons: Sequence[str]) -> list[Occurrence]:
        self.asked.append(list(persons))
        return [o for o in self.occ if o.person in persons]

    def sharing(self, keys: Sequence[tuple[LinkKind, bytes]]) -> list[Occurrence]:
        wanted = set(keys)
        return [o for o in self.occ if (o.kind, o.token) in wanted]

    def masked(self, persons: Sequence[str]) -> set[str]:
        return {p for p in persons if p in self._masked}


def occ(
    person: str, kind: LinkKind, token: str, booking: str = "", day: dt.date = D, source: str = "PNR"
) -> Occurrence:
    return Occurrence(person, booking or f"b-{person}", kind, token.encode(), day, source)


def test_a_shared_phone_links_two_people_with_dates_and_count() -> None:
    src = Source([
        occ("ana", LinkKind.PHONE, "tel1", "b1", D),
        occ("ana", LinkKind.PHONE, "tel1", "b2", D + dt.timedelta(days=9)),
        occ("ben", LinkKind.PHONE, "tel1", "b3", D + dt.timedelta(days=3), "API"),
        occ("cid", LinkKind.EMAIL, "mail9", "b4"),
    ])  # fmt: skip
    g = neighbourhood("ana", src)
    [edge] = g.edges
    assert (edge.a, edge.b, edge.kind) == ("ana", "ben", LinkKind.PHONE)
    assert edge.count == 1  # ben's bookings carrying it
    assert (edge.first, edge.last) == (D, D + dt.timedelta(days=9))
    assert edge.sources == frozenset({"API"})
    assert set(g.persons) == {"ana", "ben"}


def test_joint_travel_counts_only_when_repeated() -> None:
    once = Source([occ("ana", LinkKind.JOINT_TRAVEL, "LH1/1"), occ("ben", LinkKind.JOINT_TRAVEL, "LH1/1")])
    assert neighbourhood("ana", once).edges == []
    twice = Source([
        occ("ana", LinkKind.JOINT_TRAVEL, "LH1/1", "b1"), occ("ben", LinkKind.JOINT_TRAVEL, "LH1/1", "b2"),
        occ("ana", LinkKind.JOINT_TRAVEL, "LH7/9", "b5", D + dt.timedelta(days=8)),
        occ("ben", LinkKind.JOINT_TRAVEL, "LH7/9", "b6", D + dt.timedelta(days=8)),
    ])  # fmt: skip
    [edge] = neighbourhood("ana", twice).edges
    assert (edge.kind, edge.count) == (LinkKind.JOINT_TRAVEL, 2)
    # Two legs of one connection on one day are one trip together, not two.
    connection = Source([
        occ("ana", LinkKind.JOINT_TRAVEL, "LH1/1"), occ("ben", LinkKind.JOINT_TRAVEL, "LH1/1"),
        occ("ana", LinkKind.JOINT_TRAVEL, "LH2/1"), occ("ben", LinkKind.JOINT_TRAVEL, "LH2/1"),
    ])  # fmt: skip
    assert neighbourhood("ana", connection).edges == []


def test_a_digest_shared_by_too_many_is_a_hub_not_links() -> None:
    crowd = [occ(f"p{i}", LinkKind.AGENCY_OFFICE, "office") for i in range(60)]
    g = neighbourhood("p0", Source(crowd), max_fanout=50)
    assert g.edges == []
    assert [(h.kind, h.count) for h in g.hubs] == [(LinkKind.AGENCY_OFFICE, 59)]


def test_depth_two_reaches_the_links_of_links_and_no_further() -> None:
    chain = [
        occ("a", LinkKind.CARD, "c1"), occ("b", LinkKind.CARD, "c1"),
        occ("b", LinkKind.EMAIL, "e1"), occ("c", LinkKind.EMAIL, "e1"),
        occ("c", LinkKind.ADDRESS, "x1"), occ("d", LinkKind.ADDRESS, "x1"),
    ]  # fmt: skip
    assert set(neighbourhood("a", Source(chain), depth=1).persons) == {"a", "b"}
    g = neighbourhood("a", Source(chain), depth=2)
    assert {p: n.depth for p, n in g.persons.items()} == {"a": 0, "b": 1, "c": 2}
    assert g.expanded == ["a", "b"]  # each expansion is one logged consultation
    with pytest.raises(ValueError, match="depth"):
        neighbourhood("a", Source(chain), depth=MAX_DEPTH + 1)


def test_a_masked_person_is_counted_but_never_expanded() -> None:
    src = Source([
        occ("a", LinkKind.PHONE, "t"), occ("m", LinkKind.PHONE, "t"),
        occ("m", LinkKind.CARD, "c"), occ("z", LinkKind.CARD, "c"),
    ], masked={"m"})  # fmt: skip
    g = neighbourhood("a", src, depth=2)
    assert g.persons["m"].masked
    assert "z" not in g.persons
    assert g.expanded == ["a"]
    assert all("m" not in asked for asked in src.asked)
    assert neighbourhood("m", src, depth=2).expanded == []  # nor is a masked start


people = st.sampled_from(["a", "b", "c", "d", "e", "f"])
kinds = st.sampled_from([LinkKind.PHONE, LinkKind.CARD, LinkKind.SAME_BOOKING, LinkKind.JOINT_TRAVEL])
occurrences = st.lists(
    st.builds(lambda p, k, t, b: occ(p, k, t, b), people, kinds, st.sampled_from(["t1", "t2", "t3"]),
              st.sampled_from(["b1", "b2", "b3", "b4"])),
    max_size=30,
)  # fmt: skip


@given(occurrences, st.integers(min_value=1, max_value=2))
def test_every_edge_is_two_people_who_share_a_digest(occ_list: list[Occurrence], depth: int) -> None:
    g = neighbourhood("a", Source(occ_list), depth=depth)
    tokens: dict[str, set[tuple[LinkKind, bytes]]] = {}
    for o in occ_list:
        tokens.setdefault(o.person, set()).add((o.kind, o.token))
    assert len({(e.a, e.b, e.kind) for e in g.edges}) == len(g.edges)
    for e in g.edges:
        assert e.a < e.b
        assert e.a in g.persons
        assert e.b in g.persons
        assert any(k == e.kind for k, _ in tokens[e.a] & tokens[e.b])
    assert all(n.depth <= depth for n in g.persons.values())


def test_the_picture_says_what_the_graph_says_and_no_more() -> None:
    src = Source([occ("a", LinkKind.PHONE, "t"), occ("b", LinkKind.PHONE, "t"), occ("m", LinkKind.CARD, "c"),
                  occ("a", LinkKind.CARD, "c")], masked={"m"})  # fmt: skip
    g = neighbourhood("a", src)
    svg = render_svg(g, {"a": "KOWALSKA, Anna", "b": "NOWAK, Jan <x>", "m": "1 masked traveller"})
    root = ET.fromstring(svg)  # noqa: S314 — our own output: well-formed, labels escaped
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "NOWAK, Jan <x>" in text
    assert "1 masked traveller" in text
    assert "shared phone" in text
    assert "shared payment card" in text
    assert render_svg(g, {"a": "A"}) == render_svg(g, {"a": "A"})


def test_the_picture_keeps_the_strongest_links_and_counts_the_rest() -> None:
    many = [occ("a", LinkKind.EMAIL, "e")] + [occ(f"p{i:02d}", LinkKind.EMAIL, "e") for i in range(30)]
    strong = [occ("a", LinkKind.CARD, "c", f"b{i}") for i in range(3)]
    strong += [occ("zz", LinkKind.CARD, "c", f"z{i}") for i in range(3)]
    g = neighbourhood("a", Source(many + strong), max_people=10)
    assert len(g.persons) == 10
    assert "zz" in g.persons  # its link is the strongest (three bookings)
    assert g.omitted == 31 - 9
