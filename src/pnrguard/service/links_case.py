"""From a neighbourhood to the disclosure: add a linked person, carry the graph (issue 16).

**Add from a hit** (`add_linked_to_hit`). From a request's neighbourhood a shown person's
bookings join the request's results and are transmitted under it one by one
(`links.add_linked_to_request`). A confirmed hit has no results list: what leaves for it is
its transmission package. So from a hit's neighbourhood the analyst adds a shown person's
*active* bookings to **the hit's disclosure package** as additional records. Why this is
the lawful reading (Directive 2016/681 Art. 6(2)(a), 6(6); C-817/19 paras 218-221): the
hit was confirmed by a person, the link analysis ran under the hit's purpose, the person
was shown by it (recomputed here, so logged again), and nothing leaves until a transmission
of the hit is proposed and, with four eyes, approved by a second person who sees the
package with these records in it (`disclosure.preview_transmission`). A masked booking is
never added (an unmasked person is shown, but adding needs the booking's own transmission
under its unmasking); a booking masked or deleted after the addition is left out of the
package and counted.

**The graph with the package** (`package_links`). A transmission prepared from a graph (a
hit's with additions, or a request's of a booking added from its neighbourhood) carries
that graph: the picture (SVG) and its table (CSV), recomputed when the package is built,
for the person building it, under the transmission's purpose, and logged like any look at
the graph. It holds only what that person may see for that purpose: masked people are
counts unless a decided unmasking for the case lets *that* person see them.

Released packages are rebuilt with the additions made up to their release, so a rebuilt
package differs from the released one only where the data changed since (the SHA-256 at
release tells which is which).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.links.svg import render_svg
from pnrguard.protection.keystore import KeyStore
from pnrguard.service.accounts import Account
from pnrguard.service.links import addable, graph_on, links_for_hit, table_csv
from pnrguard.service.review import booking_view, consultation_purpose, log_unmasking
from pnrguard.store import screening as hits_store
from pnrguard.store import workspace as store
from pnrguard.store.tables import booking
from pnrguard.store.workspace import TransmissionRecord

__all__ = ["add_linked_to_hit", "package_links"]

AuditFactory = Callable[[Connection], AuditLog]
Clock = Callable[[], dt.datetime]


def add_linked_to_hit(
    hit_id: str,
    person: str,
    *,
    depth: int,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
) -> list[str]:
    """Add a person of a confirmed hit's neighbourhood to the hit's disclosure package
    (module docstring): their active bookings, logged as an alteration with ``hit:<id>``."""
    view = links_for_hit(hit_id, depth=depth, user=user, engine=engine, keystore=keystore, audit=audit,
                         clock=clock)  # fmt: skip
    row = addable(view, person)
    now = clock()
    with engine.begin() as conn:
        h = hits_store.get_hit(conn, hit_id)
        store.add_links(conn, view.basis, row.booking_ids, start=(h.booking_id, h.traveller_ref), depth=depth,
                        by=user.username, at=now)  # fmt: skip
        audit(conn).append(
            actor=user.username, role=user.role.value, operation=Operation.ALTERATION,
            purpose=consultation_purpose(user, view.purpose), record_ids=[*row.booking_ids, view.basis],
            reference=view.basis, counts={"links.added_to_disclosure": len(row.booking_ids)},
        )  # fmt: skip
    return list(row.booking_ids)


def package_links(
    conn: Connection,
    keystore: KeyStore,
    rec: TransmissionRecord,
    *,
    user: Account,
    log: AuditLog,
    now: dt.datetime,
) -> dict[str, Any]:
    """What link analysis adds to a transmission's package: for a hit, the records added
    from its neighbourhood (``linked_persons``, active bookings only, the others counted);
    for either, the graph it was prepared from (``graph``). Empty when it was not."""
    purpose = Purpose(rec.purpose)
    until = rec.released_at or now
    if rec.hit_id is not None:
        basis = f"hit:{rec.hit_id}"
        added = store.links_added(conn, basis, until=until)
    else:
        basis = f"request:{rec.request_id}"
        added = [a for a in store.links_added(conn, basis, until=until) if a.booking_id == rec.booking_id]
    if not added:
        return {}
    out: dict[str, Any] = {}
    if rec.hit_id is not None:
        ids = [a.booking_id for a in added if a.booking_id != rec.booking_id]
        states = dict(conn.execute(select(booking.c.id, booking.c.state).where(booking.c.id.in_(ids))).all())
        people: list[dict[str, Any]] = []
        for bid in ids:
            if states.get(bid) != "active":
                continue
            view = booking_view(conn, keystore, bid, user=user, purpose=purpose)
            log_unmasking(log, view, user=user, purpose=purpose)
            people.append(view.to_json())
        out["linked_persons"] = people
        withheld = len(ids) - len(people)
        if withheld:
            out["linked_persons_withheld"] = {"bookings_masked_or_deleted": withheld}
    last = added[-1]
    depth = max(a.depth for a in added)
    start = (last.start_booking_id, last.start_ref)
    graph = graph_on(conn, keystore, basis=basis, purpose=purpose, start=start, depth=depth, user=user,
                     log=log, now=now)  # fmt: skip
    out["graph"] = {
        "basis": basis,
        "depth": depth,
        "people": len(graph.graph.persons),
        "masked_counted": sum(1 for r in graph.rows if r.masked),
        "svg": render_svg(graph.graph, graph.labels),
        "csv": table_csv(graph).decode("utf-8"),
    }
    return out
