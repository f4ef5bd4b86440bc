"""The booking model's written-out constructors take exactly the fields, with the defaults,
that `@dataclass` would have generated (model.py writes them out so that mypyc compiles
them; a field added to a class but not to its `__init__` must fail here)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import typing

import pytest

from pnrguard.domain import model

pytestmark = pytest.mark.unit

CLASSES = [
    v
    for v in vars(model).values()
    if isinstance(v, type) and dataclasses.is_dataclass(v) and v.__module__ == model.__name__
]
COMPILED = not model.__file__.endswith(".py")  # a native __init__ has no inspectable signature


def test_every_model_class_is_covered() -> None:
    assert {c.__name__ for c in CLASSES} >= {"Booking", "Traveller", "Leg", "Document", "Ticket", "Bag"}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_init_takes_the_fields_with_their_defaults(cls: type) -> None:
    fields = dataclasses.fields(cls)
    if not COMPILED:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert [p.name for p in params] == [f.name for f in fields]
    made = cls()
    again = cls()
    for f in fields:
        if f.default_factory is not dataclasses.MISSING:
            assert getattr(made, f.name) == f.default_factory()
            assert getattr(made, f.name) is not getattr(again, f.name)  # a fresh list each time
        else:
            assert getattr(made, f.name) == f.default
    # every field can be given by keyword and is kept as given (values of the field's type:
    # the compiled build checks types)
    values = {f.name: _another(getattr(made, f.name), f.name) for f in fields}
    built = cls(**values)
    assert all(getattr(built, name) is value for name, value in values.items())


def _another(default: object, name: str) -> object:
    """A value of the default's type, distinct from it."""
    if isinstance(default, list):
        return []
    if isinstance(default, str) and not isinstance(default, model.enum.Enum):
        return f"v-{name}"
    return default


def _scalar(hint: object) -> type | None:
    for t in (*typing.get_args(hint), hint):
        if t in (dt.datetime, dt.date, bool, int):
            return t  # type: ignore[return-value]
    return None


@pytest.mark.skipif(COMPILED, reason="the compiled model keeps no usable annotations")
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_scalar_types_follow_the_annotations(cls: type) -> None:
    """`model.scalar_type` (what rectification parses an empty field by) names the type
    every date, time, number and flag field is annotated with, and nothing else."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        assert model.scalar_type(f.name) is _scalar(hints[f.name]), f.name
