"""acd.model.maker builds the very objects the dataclass constructors build, only faster."""

from __future__ import annotations

import dataclasses

import pytest

from acd.decisions import DECISION_TYPES
from acd.events import EVENT_TYPES
from acd.model import maker

KINDS = sorted({**DECISION_TYPES, **EVENT_TYPES}.items())


@pytest.mark.parametrize(("name", "cls"), KINDS, ids=[name for name, _ in KINDS])
def test_made_objects_equal_constructed_ones(name: str, cls: type) -> None:
    values = [1.5] + [f"{name}-{i}" for i in range(1, len(dataclasses.fields(cls)))]
    made, built = maker(cls)(*values), cls(*values)
    assert type(made) is cls
    assert made == built
    assert hash(made) == hash(built)
    assert repr(made) == repr(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.t = 2.0  # type: ignore[misc]


def test_keywords_work_and_every_field_is_required() -> None:
    offer_accept = EVENT_TYPES["offer_accept"]
    make = maker(offer_accept)
    assert make(t=1.0, contact="c1", agent="a1") == offer_accept(1.0, "c1", "a1")
    with pytest.raises(TypeError):
        make(1.0, "c1")


def test_refuses_classes_it_cannot_build_faithfully() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        t: float

        def __post_init__(self) -> None:
            if self.t < 0:
                raise ValueError(self.t)

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        t: float

    for cls in (Checked, Unslotted):
        with pytest.raises(TypeError, match="slotted dataclass"):
            maker(cls)
