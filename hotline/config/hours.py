"""``hours.yaml``: named business-hours calendars with weekly hours, holidays and a time zone.

::

    calendars:
      support:
        timezone: Europe/Berlin
        weekly:
          mon-fri: "08:00-20:00"
          sat: ["09:00-12:00", "13:00-16:00"]
          sun: closed
        holidays: [de-public]
    holidays:
      de-public:
        - {date: 2026-12-25, name: Christmas Day}
        - {date: 2026-12-24, name: Christmas Eve, hours: "08:00-12:00"}

A day not named under ``weekly`` is closed. ``24:00`` ends a day. A holiday closes the whole
day unless it gives its own ``hours``. :class:`Calendar` answers ``is_open(when)`` for the IVR
and the simulator; it reads no clock: the time is always an argument.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator

from hotline.config.validation import StrictModel

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

Span = tuple[int, int]  # minutes from midnight, [start, end)


def parse_days(spec: str) -> list[int]:
    """``"mon-fri"`` -> [0..4]; ``"sat,sun"`` -> [5, 6]; ``"daily"`` -> all seven."""
    if spec.strip() == "daily":
        return list(range(7))
    days: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"{part!r} is not a day range such as 'mon-fri'")
            start, end = DAYS.index(first), DAYS.index(last)
            span = range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)]
            days.extend(span)
        elif part in DAYS:
            days.append(DAYS.index(part))
        else:
            raise ValueError(f"{part!r} is not a day; use mon, tue, wed, thu, fri, sat or sun")
    return days


def parse_spans(value: str | list[str]) -> list[Span]:
    """``"08:00-12:00"``, a list of them, or ``"closed"`` -> sorted minute spans."""
    items = [value] if isinstance(value, str) else value
    spans: list[Span] = []
    for item in items:
        if item.strip() == "closed":
            continue
        match = _RANGE.match(item.strip())
        if not match:
            raise ValueError(f"{item!r} is not a time range such as '08:00-18:00' or 'closed'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
            raise ValueError(f"{item!r} has an impossible time; hours run 00:00 to 24:00")
        if end <= start:
            raise ValueError(f"{item!r} ends before it starts; split a night shift at 24:00")
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise ValueError(f"the time ranges {items!r} overlap")
    return spans


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a known time zone; use a name like 'Europe/Berlin' or 'UTC'"
        ) from None
    return value


class Holiday(StrictModel):
    date: dt.date
    name: str
    hours: str | list[str] | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None:
            parse_spans(value)
        return value


class CalendarSpec(StrictModel):
    timezone: str
    weekly: dict[str, str | list[str]]
    holidays: list[str] = []

    _zone = field_validator("timezone")(lambda v: _check_zone(v))

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        seen: dict[int, str] = {}
        for days, hours in value.items():
            for day in parse_days(days):
                if day in seen:
                    raise ValueError(f"{DAYS[day]} is given twice, in '{seen[day]}' and '{days}'")
                seen[day] = days
            parse_spans(hours)
        return value


class Hours(StrictModel):
    """The whole of ``hours.yaml``."""

    calendars: dict[str, CalendarSpec]
    holidays: dict[str, list[Holiday]] = {}


@dataclass(frozen=True, slots=True)
class Calendar:
    """A compiled calendar: open or closed at any moment, with no clock of its own."""

    name: str
    zone: ZoneInfo
    weekly: tuple[tuple[Span, ...], ...]  # index 0 = Monday
    holidays: dict[dt.date, tuple[str, tuple[Span, ...]]]

    @classmethod
    def build(cls, name: str, spec: CalendarSpec, holidays: dict[str, list[Holiday]]) -> Calendar:
        weekly: list[list[Span]] = [[] for _ in DAYS]
        for days, hours in spec.weekly.items():
            for day in parse_days(days):
                weekly[day] = parse_spans(hours)
        closed: dict[dt.date, tuple[str, tuple[Span, ...]]] = {}
        for list_name in spec.holidays:
            for holiday in holidays.get(list_name, []):
                spans = tuple(parse_spans(holiday.hours)) if holiday.hours else ()
                closed[holiday.date] = (holiday.name, spans)
        return cls(name, ZoneInfo(spec.timezone), tuple(tuple(w) for w in weekly), closed)

    def local(self, when: dt.datetime) -> dt.datetime:
        """``when`` in the calendar's zone (a naive time is taken as already local)."""
        return when.replace(tzinfo=self.zone) if when.tzinfo is None else when.astimezone(self.zone)

    def holiday(self, when: dt.datetime) -> str | None:
        """The holiday's name when ``when`` falls on one, else None."""
        entry = self.holidays.get(self.local(when).date())
        return entry[0] if entry else None

    def is_open(self, when: dt.datetime) -> bool:
        local = self.local(when)
        minute = local.hour * 60 + local.minute
        entry = self.holidays.get(local.date())
        spans = entry[1] if entry else self.weekly[local.weekday()]
        return any(start <= minute < end for start, end in spans)
