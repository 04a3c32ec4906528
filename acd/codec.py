"""JSON lines for events and decisions: the replay and event-log format.

An event is ``{"t": 12.5, "type": "contact_arrive", "contact": "c1", "queue": "billing"}``;
a decision is ``{"t": 12.5, "type": "offer", "contact": "c1", "agent": "a003", ...}``. Field
names are the dataclass fields; docs/routing.md lists them. Decoding is strict: a missing or
unknown field, or a value of the wrong type, is an :class:`~acd.errors.EventFormatError` that
names the field.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from acd.decisions import DECISION_TYPES, Decision
from acd.errors import EventFormatError
from acd.events import EVENT_TYPES, Event

_EVENT_NAMES = {cls: name for name, cls in EVENT_TYPES.items()}
_DECISION_NAMES = {cls: name for name, cls in DECISION_TYPES.items()}

# field -> (accepted types, description); a field is optional when the dataclass has a default
_FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "t": ((int, float), "a number of seconds"),
    "agent": ((str,), "an agent id"),
    "contact": ((str,), "a contact id"),
    "queue": ((str, type(None)), "a queue name"),
    "reason": ((str,), "a reason such as 'break'"),
    "ready": ((bool,), "true or false"),
    "priority": ((int,), "a whole number"),
    "skills": ((dict,), "a map of skill to minimum level"),
    "attributes": ((dict,), "a map"),
    "customer": ((str, type(None)), "a customer id"),
    "channel": ((str, type(None)), "voice, chat, email or callback"),
    "seconds": ((int, float, type(None)), "a number of seconds"),
}


def _to_json(record: Event | Decision, names: dict[type, str]) -> dict[str, Any]:
    """``t`` and ``type`` first, then the dataclass fields in order."""
    data: dict[str, Any] = {"t": record.t, "type": names[type(record)]}
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        if f.name != "t":
            data[f.name] = getattr(record, f.name)
    return data


def event_to_json(event: Event) -> dict[str, Any]:
    return _to_json(event, _EVENT_NAMES)


def event_from_json(data: Any) -> Event:
    """An event from its JSON object; :class:`EventFormatError` names what is wrong."""
    if not isinstance(data, dict):
        raise EventFormatError(f"an event must be a JSON object, not {type(data).__name__}")
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise EventFormatError(
            f"unknown event type {kind!r}; use one of {', '.join(EVENT_TYPES)}"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key != "type" and key not in fields:
            raise EventFormatError(
                f"{kind} has no field '{key}'; its fields are {', '.join(fields)}"
            )
    values = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise EventFormatError(f"{kind} needs field '{name}'")
            continue
        value = data[name]
        types, what = _FIELD_TYPES[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise EventFormatError(f"{kind} field '{name}' is {value!r}; it must be {what}")
        values[name] = value
    if "skills" in values:
        for skill, level in values["skills"].items():
            if not isinstance(level, int) or isinstance(level, bool):
                raise EventFormatError(f"{kind} skill '{skill}' has level {level!r}; "
                                       "levels are whole numbers 1 to 10")
    return cls(**values)


def decision_to_json(decision: Decision) -> dict[str, Any]:
    return _to_json(decision, _DECISION_NAMES)


def decision_from_json(data: dict[str, Any]) -> Decision:
    values = dict(data)
    cls = DECISION_TYPES.get(values.pop("type", None))  # type: ignore[arg-type]
    if cls is None:
        raise EventFormatError(f"unknown decision type {data.get('type')!r}")
    return cls(**values)
