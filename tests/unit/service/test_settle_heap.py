"""`service.worker.settle_heap`: what the process holds at start leaves the collector's
generations (full passes no longer walk it), and objects made afterwards are collected."""

from __future__ import annotations

import gc
import weakref

import pytest

from pnrguard.service.worker import settle_heap

pytestmark = pytest.mark.unit


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_start_up_heap_is_frozen_and_later_cycles_still_collected() -> None:
    before = gc.get_freeze_count()
    try:
        settle_heap()
        assert gc.get_freeze_count() > before + 1000  # this process's imports
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle made after start
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
