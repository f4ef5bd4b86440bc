"""Terrorist-financing leads from payment links, for a person to review.

Why leads and not hits: a payment pattern is not evidence about a person, it is a reason
to look (Art. 6(2)(a) requires a human review of every automated result, and C-817/19
para 203 forbids decisions on automated processing alone). A lead names the bookings and
the pattern; an analyst confirms or dismisses it like a hit, and only a confirmed lead can
be disclosed (to the financial intelligence unit, through the four-eyes transmission).

The patterns (each documented in docs/links.md with its thresholds):

- `card_many_unrelated`: one card pays for several travellers who share neither a booking
  nor a surname, each booked shortly before departure, within a window;
- `card_of_confirmed`: a card used by a traveller of a confirmed hit also pays for others;
- `cash_on_route`: cash or third-party payments clustered on a route a criterion names.

Everything here works on keyed digests (card, surname parts) and dates: no clear value.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pnrguard.links.tokens import CASH_FORMS

__all__ = [
    "Lead",
    "LeadKind",
    "PaymentUse",
    "card_many_unrelated",
    "card_of_confirmed",
    "cash_on_route",
]


class LeadKind(enum.StrEnum):
    CARD_MANY_UNRELATED = "card_many_unrelated"
    CARD_OF_CONFIRMED = "card_of_confirmed"
    CASH_ON_ROUTE = "cash_on_route"


@dataclass(frozen=True, slots=True)
class PaymentUse:
    """One traveller's booking paid one way (a booking paid by a card yields one use per
    traveller it carries)."""

    person: str
    booking_id: str
    form: str  # CC, CA, MS ...
    card: bytes | None  # keyed digest of the card number, None for cash
    booked: dt.date | None  # reservation date
    departure: dt.date | None
    route: tuple[str, str]  # (origin, destination) airports of the reported flight
    surnames: frozenset[bytes] = frozenset()  # keyed digests of the traveller's surname parts
    third_party: bool = False  # the payer is none of the booking's travellers


@dataclass(frozen=True, slots=True)
class Lead:
    kind: LeadKind
    persons: tuple[str, ...]
    bookings: tuple[str, ...]
    first: dt.date | None
    last: dt.date | None
    card: bytes | None = None
    route: tuple[str, str] | None = None

    @property
    def summary(self) -> str:
        """What the lead says, without any personal data (codes, counts and dates only)."""
        span = f"{self.first} to {self.last}" if self.first else "dates unknown"
        if self.kind is LeadKind.CASH_ON_ROUTE and self.route:
            return (f"{len(self.bookings)} bookings paid in cash or by a third party on "
                    f"{self.route[0]}-{self.route[1]}, {span}")  # fmt: skip
        if self.kind is LeadKind.CARD_OF_CONFIRMED:
            return f"a card of a confirmed hit paid for {len(self.persons)} other travellers, {span}"
        return f"one card paid for {len(self.persons)} unrelated travellers booked late, {span}"


def _late(u: PaymentUse, days: int) -> bool:
    return u.booked is not None and u.departure is not None and (u.departure - u.booked).days <= days


def _unrelated(uses: Sequence[PaymentUse]) -> list[PaymentUse]:
    """One use per person, keeping only people who share no booking and no surname part
    with another kept person (family and group bookings are not a financing pattern)."""
    kept: list[PaymentUse] = []
    for u in sorted(uses, key=lambda u: (u.departure or dt.date.min, u.person)):
        related = (u.person == k.person or u.booking_id == k.booking_id or bool(u.surnames & k.surnames)
                   for k in kept)  # fmt: skip
        if any(related):
            continue
        kept.append(u)
    return kept


def _windows(uses: Sequence[PaymentUse], days: int) -> Iterable[list[PaymentUse]]:
    """For each dated use, the uses departing from its date to `days` later."""
    dated = sorted((u for u in uses if u.departure is not None), key=lambda u: u.departure or dt.date.min)
    for i, u in enumerate(dated):
        assert u.departure is not None
        end = u.departure + dt.timedelta(days=days)
        yield [v for v in dated[i:] if v.departure is not None and v.departure <= end]


def _lead(kind: LeadKind, uses: Sequence[PaymentUse], **extra: object) -> Lead:
    days = [u.departure for u in uses if u.departure is not None]
    return Lead(
        kind, tuple(sorted({u.person for u in uses})), tuple(sorted({u.booking_id for u in uses})),
        min(days) if days else None, max(days) if days else None, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def card_many_unrelated(
    uses: Iterable[PaymentUse], *, min_travellers: int = 3, late_days: int = 3, window_days: int = 30
) -> list[Lead]:
    """Cards that paid, within `window_days`, for at least `min_travellers` unrelated
    travellers each booked at most `late_days` before departure."""
    by_card: dict[bytes, list[PaymentUse]] = defaultdict(list)
    for u in uses:
        if u.card is not None and _late(u, late_days):
            by_card[u.card].append(u)
    leads: list[Lead] = []
    for card, card_uses in sorted(by_card.items()):
        best: list[PaymentUse] = []
        for window in _windows(card_uses, window_days):
            unrelated = _unrelated(window)
            if len(unrelated) > len(best):
                best = unrelated
        if len(best) >= min_travellers:
            leads.append(_lead(LeadKind.CARD_MANY_UNRELATED, best, card=card))
    return leads


def card_of_confirmed(uses: Iterable[PaymentUse], confirmed: Iterable[str]) -> list[Lead]:
    """Cards used by a person of a confirmed hit that also paid for someone else."""
    hit_people = set(confirmed)
    by_card: dict[bytes, list[PaymentUse]] = defaultdict(list)
    for u in uses:
        if u.card is not None:
            by_card[u.card].append(u)
    leads: list[Lead] = []
    for card, card_uses in sorted(by_card.items()):
        if not any(u.person in hit_people for u in card_uses):
            continue
        others = [u for u in card_uses if u.person not in hit_people]
        if others:
            leads.append(_lead(LeadKind.CARD_OF_CONFIRMED, card_uses, card=card))
    return leads


def cash_on_route(
    uses: Iterable[PaymentUse],
    routes: Iterable[tuple[str, str]],
    *,
    min_bookings: int = 5,
    window_days: int = 7,
) -> list[Lead]:
    """Routes named in a criterion on which at least `min_bookings` bookings paid in cash
    or by a third party departed within `window_days`."""
    wanted = set(routes)
    by_route: dict[tuple[str, str], list[PaymentUse]] = defaultdict(list)
    for u in uses:
        if u.route in wanted and (u.form.upper() in CASH_FORMS or u.third_party):
            by_route[u.route].append(u)
    leads: list[Lead] = []
    for route, route_uses in sorted(by_route.items()):
        best: list[PaymentUse] = []
        for window in _windows(route_uses, window_days):
            if len({u.booking_id for u in window}) > len({u.booking_id for u in best}):
                best = window
        if len({u.booking_id for u in best}) >= min_bookings:
            leads.append(_lead(LeadKind.CASH_ON_ROUTE, best, route=route))
    return leads
