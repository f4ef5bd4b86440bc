"""protect(): the one entry point ingest calls before the first write."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest

from pnrguard.domain.model import Booking, HistoryEntry, Remark, ServiceRequest, Traveller
from pnrguard.protection.minimise import AnnexViolation
from pnrguard.protection.protect import ProtectedBooking, protect
from pnrguard.protection.sensitive import SensitiveFilter
from pure_build import NO_SUBCLASS, compiled

pytestmark = pytest.mark.unit

FILTER = SensitiveFilter.load()


def _booking() -> Booking:
    return Booking(
        carrier="XX",
        locator="ABC123",
        travellers=[Traveller(ref="1", surname="DOE")],
        service_requests=[ServiceRequest("MOML", "HK"), ServiceRequest("VGML", "HK")],
        remarks=[Remark("RMK", "PAX DEAF"), Remark("RMK", "UMNR 09YRS MET BY AUNT")],
        history=[HistoryEntry("SEAT CHG")],
    )


def test_protect_deletes_sensitive_data_and_reports_counts() -> None:
    booking = _booking()
    before = copy.deepcopy(booking)
    result = protect(booking, sensitive_filter=FILTER)
    assert isinstance(result, ProtectedBooking)
    assert [s.code for s in result.booking.service_requests] == ["VGML"]
    assert [r.text for r in result.booking.remarks] == ["UMNR 09YRS MET BY AUNT"]  # heading 12: UM only
    assert result.report.by_category == {"religious_or_philosophical_beliefs": 1, "health": 1}
    assert result.report.by_field["ssr_code"] == 1
    assert booking == before


@pytest.mark.skipif(compiled("pnrguard.domain.model"), reason=NO_SUBCLASS)
def test_protect_refuses_a_booking_outside_the_model() -> None:
    @dataclass(slots=True)
    class _Extra(Booking):
        raw_segments: str = ""

    with pytest.raises(AnnexViolation):
        protect(_Extra(raw_segments="IFT+4:28+..."), sensitive_filter=FILTER)


def test_reports_merge_over_a_message() -> None:
    reports = [protect(_booking(), sensitive_filter=FILTER).report for _ in range(3)]
    total = reports[0].merged(reports[1]).merged(reports[2])
    assert total.by_category["health"] == 3
    assert total.deleted == 6
