"""Intraday forecasts: expected calls and handle time per 15, 30 or 60-minute interval.

A forecast is a CSV file (UTF-8, a byte-order mark is tolerated) whose first line names the
three columns, in any order::

    interval,calls,aht
    08:00,120,240
    08:30,135,235
    2026-11-23T09:00,150,230

``interval``
    Start of the interval: ``HH:MM`` (a typical day) or an ISO 8601 date-time
    ``YYYY-MM-DDTHH:MM`` (a space instead of ``T`` works too); one kind per file. Starts must be
    aligned to the interval length (08:15 is not a 30-minute boundary) and strictly increasing.
    Gaps are allowed (the center is closed).
``calls``
    Calls expected to arrive during the interval, a number >= 0 (fractions are fine).
``aht``
    Average handle time of those calls in seconds, a number > 0.

Blank lines and lines starting with ``#`` are ignored. Any other problem is a
:class:`~sim.errors.ForecastError` whose message starts with ``file:line:``.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path

from sim.errors import ForecastError

INTERVAL_MINUTES = (15, 30, 60)
_COLUMNS = ("interval", "calls", "aht")


@dataclass(frozen=True, slots=True)
class ForecastInterval:
    """One row of a forecast: ``calls`` arriving during ``minutes`` from ``start``."""

    start: str
    minutes: int
    calls: float
    aht_s: float
    line: int

    @property
    def calls_per_hour(self) -> float:
        return self.calls * 60.0 / self.minutes


def load_forecast(path: str | Path, *, interval_minutes: int) -> list[ForecastInterval]:
    """Read and parse the forecast file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ForecastError(f"{path}: cannot read the forecast: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ForecastError(f"{path}: the forecast is not UTF-8 text ({exc.reason})") from exc
    return parse_forecast(text, source=str(path), interval_minutes=interval_minutes)


def parse_forecast(text: str, *, source: str, interval_minutes: int) -> list[ForecastInterval]:
    """Parse forecast CSV ``text``; ``source`` names it in error messages."""
    if interval_minutes not in INTERVAL_MINUTES:
        raise ForecastError(
            f"{source}: interval length must be one of 15, 30, 60 minutes, got {interval_minutes!r}"
        )
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header: dict[str, int] | None = None
    rows: list[ForecastInterval] = []
    previous: tuple[datetime | time, str] | None = None
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = _header(cells, source, line)
                continue
            row = _row(cells, header, source, line, interval_minutes)
            moment = _start(row.start, source, line, interval_minutes)
            if previous is not None:
                if type(moment) is not type(previous[0]):
                    raise ForecastError(
                        f"{source}:{line}: interval {row.start!r} mixes HH:MM and date-time "
                        "starts; use one kind in a file"
                    )
                if moment <= previous[0]:  # type: ignore[operator]
                    raise ForecastError(
                        f"{source}:{line}: interval {row.start!r} does not come after "
                        f"{previous[1]!r}; list intervals once each, in time order"
                    )
            previous = (moment, row.start)
            rows.append(row)
    except csv.Error as exc:
        raise ForecastError(f"{source}:{reader.line_num}: malformed CSV: {exc}") from exc
    if header is None or not rows:
        raise ForecastError(
            f"{source}: no intervals; expected a header line 'interval,calls,aht' and one row "
            "per interval"
        )
    return rows


def _header(cells: list[str], source: str, line: int) -> dict[str, int]:
    names = [cell.strip().lower() for cell in cells]
    if sorted(names) != sorted(_COLUMNS):
        raise ForecastError(
            f"{source}:{line}: header must name the columns interval,calls,aht, "
            f"got {','.join(cells)!r}"
        )
    return {name: index for index, name in enumerate(names)}


def _row(
    cells: list[str], header: dict[str, int], source: str, line: int, minutes: int
) -> ForecastInterval:
    if len(cells) != len(_COLUMNS):
        raise ForecastError(
            f"{source}:{line}: expected 3 fields (interval,calls,aht), got {len(cells)}: "
            f"{','.join(cells)!r}"
        )
    start = cells[header["interval"]].strip()
    calls = _number(cells[header["calls"]], "calls", source, line)
    aht = _number(cells[header["aht"]], "aht", source, line)
    if calls < 0:
        raise ForecastError(f"{source}:{line}: calls must be >= 0, got {calls:g}")
    if aht <= 0:
        raise ForecastError(f"{source}:{line}: aht must be > 0 seconds, got {aht:g}")
    return ForecastInterval(start, minutes, calls, aht, line)


def _number(cell: str, name: str, source: str, line: int) -> float:
    try:
        value = float(cell.strip())
    except ValueError:
        raise ForecastError(f"{source}:{line}: {name} must be a number, got {cell!r}") from None
    if not math.isfinite(value):
        raise ForecastError(f"{source}:{line}: {name} must be a finite number, got {cell!r}")
    return value


def _start(text: str, source: str, line: int, minutes: int) -> datetime | time:
    moment: datetime | time
    try:
        moment = time.fromisoformat(text) if len(text) <= 5 else datetime.fromisoformat(text)
    except ValueError:
        raise ForecastError(
            f"{source}:{line}: interval must be HH:MM or YYYY-MM-DDTHH:MM, got {text!r}"
        ) from None
    if moment.tzinfo is not None:
        raise ForecastError(
            f"{source}:{line}: interval {text!r} has a UTC offset; write local times without one"
        )
    if moment.second or moment.microsecond or moment.minute % minutes:
        raise ForecastError(
            f"{source}:{line}: interval {text!r} does not start on a {minutes}-minute boundary"
        )
    return moment
