"""Random durations for the simulator: handling times, patience, retrial delays.

A distribution is a small object with a ``sample(rng)`` method drawing one value in seconds
from a :class:`random.Random` stream. The simulator gives every kind of draw its own stream
(arrivals, handling, patience, IVR choices, ...), so changing one part of a scenario leaves the
other draws where they were (common random numbers: a sweep over agent counts compares the same
callers).

``random.Random`` rather than numpy: the simulator draws one value at a time, where a numpy call
costs ten times more than ``expovariate``.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import ScenarioError


@dataclass(frozen=True, slots=True)
class Exponential:
    mean_s: float

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean_s)

    @property
    def mean(self) -> float:
        return self.mean_s


@dataclass(frozen=True, slots=True)
class Lognormal:
    """Lognormal with the given mean and standard deviation of the duration itself."""

    mean_s: float
    sd_s: float

    def __post_init__(self) -> None:
        sigma2 = math.log1p((self.sd_s / self.mean_s) ** 2)
        object.__setattr__(self, "_mu", math.log(self.mean_s) - sigma2 / 2.0)
        object.__setattr__(self, "_sigma", math.sqrt(sigma2))

    _mu: float = field(init=False, default=0.0, repr=False)
    _sigma: float = field(init=False, default=0.0, repr=False)

    def sample(self, rng: random.Random) -> float:
        return rng.lognormvariate(self._mu, self._sigma)

    @property
    def mean(self) -> float:
        return self.mean_s


@dataclass(frozen=True, slots=True)
class Constant:
    value_s: float

    def sample(self, rng: random.Random) -> float:
        return self.value_s

    @property
    def mean(self) -> float:
        return self.value_s


@dataclass(frozen=True, slots=True)
class Empirical:
    """Resample recorded durations uniformly (a bootstrap of real handling times)."""

    values: tuple[float, ...]
    source: str

    def sample(self, rng: random.Random) -> float:
        return self.values[int(rng.random() * len(self.values))]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)


Distribution = Exponential | Lognormal | Constant | Empirical


def read_samples(path: Path, column: str | None) -> tuple[float, ...]:
    """Durations in seconds from a CSV file: ``column`` (default: the first) of every row.

    Raises :class:`ScenarioError` naming ``file:line`` for a missing file, column or a value
    that is not a positive number.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the handling-time sample ({exc.strerror})") \
            from exc
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise ScenarioError(f"{path}: the handling-time sample is empty")
    header = [cell.strip() for cell in rows[0]]
    index = 0
    if column is not None:
        if column not in header:
            raise ScenarioError(f"{path}:1: no column '{column}' (columns: {', '.join(header)})")
        index = header.index(column)
    values: list[float] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        cell = row[index].strip() if index < len(row) else ""
        try:
            value = float(cell)
        except ValueError:
            raise ScenarioError(f"{path}:{line}: {cell!r} is not a number of seconds") from None
        if not math.isfinite(value) or value <= 0:
            raise ScenarioError(f"{path}:{line}: a duration must be positive, not {cell}")
        values.append(value)
    if not values:
        raise ScenarioError(f"{path}: the handling-time sample has no rows after the header")
    return tuple(values)
