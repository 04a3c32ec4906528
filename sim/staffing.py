"""Staffing: the fewest agents that meet a call center's targets.

A planner states what callers should experience — "80% answered within 20 s", "answered in
30 s on average", "at most 5% hang up" — and asks how many agents must be on the phones. The
answer comes from Erlang C (callers never hang up) or, when a mean patience is given, Erlang A.
Any combination of the three targets may be given; the smallest agent count meeting all of them
wins.

Service level and speed of answer improve, and abandonment falls, as agents are added (for
Erlang C only from the first stable count, ``floor(a) + 1``). That monotonicity lets the search
bracket the answer with doubling steps from the offered load and then bisect: about
``2 log2(sqrt(a))`` evaluations instead of a scan from one agent.

*Shrinkage* is the share of paid time agents are not available for calls (breaks, training,
absence). Agents to schedule = ``ceil(agents_needed / (1 - shrinkage))``, computed in exact
decimal arithmetic so that 21 agents at 30% shrinkage is 30, not the 31 that floating point
(``21 / (1 - 0.3) = 30.000000000000004``) would give.

Interval staffing applies the same search to each row of an intraday forecast, treating each
15/30/60-minute interval as a steady state at that interval's rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from sim.erlang import (
    ErlangAResult,
    ErlangCResult,
    check_number,
    erlang_a,
    erlang_c,
    offered_load,
)
from sim.errors import AnalyticsInputError, StaffingError
from sim.intraday_forecast import ForecastInterval

Figures = ErlangCResult | ErlangAResult


@dataclass(frozen=True, slots=True)
class StaffingTargets:
    """What callers should experience; at least one of the three targets must be set.

    ``target_s`` is the answer-time threshold of the service level (and the threshold the
    reported ``service_level`` figure uses even when only ASA or abandonment is targeted).
    """

    target_s: float
    service_level: float | None = None
    asa_s: float | None = None
    max_abandon: float | None = None

    def __post_init__(self) -> None:
        _check_finite("target_s", self.target_s)
        if self.target_s < 0:
            raise AnalyticsInputError(f"target_s must be >= 0 seconds, got {self.target_s!r}")
        if self.service_level is None and self.asa_s is None and self.max_abandon is None:
            raise AnalyticsInputError(
                "no staffing target given: set a service level, an ASA or a maximum abandonment"
            )
        for name in ("service_level", "max_abandon"):
            value = getattr(self, name)
            if value is not None:
                _check_finite(name, value)
                if not 0.0 < value < 1.0:
                    raise AnalyticsInputError(
                        f"{name} must be a fraction strictly between 0 and 1, got {value!r}"
                        " (write 0.8 for 80%)"
                    )
        if self.asa_s is not None:
            _check_finite("asa_s", self.asa_s)
            if self.asa_s <= 0:
                raise AnalyticsInputError(f"asa_s must be > 0 seconds, got {self.asa_s!r}")

    def met_by(self, figures: Figures) -> bool:
        """True if ``figures`` satisfy every target that is set."""
        if self.service_level is not None and figures.service_level < self.service_level:
            return False
        if self.asa_s is not None and not figures.asa_s <= self.asa_s:
            return False
        p_abandon = figures.p_abandon if isinstance(figures, ErlangAResult) else 0.0
        return self.max_abandon is None or p_abandon <= self.max_abandon


@dataclass(frozen=True, slots=True)
class StaffingResult:
    """Agents needed on the phones, agents to schedule, and the figures at ``agents_needed``."""

    agents_needed: int
    agents_scheduled: int
    shrinkage: float
    figures: Figures


@dataclass(frozen=True, slots=True)
class IntervalStaffing:
    """The staffing of one forecast interval."""

    interval: ForecastInterval
    staffing: StaffingResult


def staff(
    *,
    calls_per_hour: float,
    aht_s: float,
    targets: StaffingTargets,
    patience_s: float | None = None,
    shrinkage: float = 0.0,
) -> StaffingResult:
    """The fewest agents meeting ``targets`` (Erlang A if ``patience_s`` is given, else C)."""
    load = offered_load(calls_per_hour, aht_s)
    _keep_fraction(shrinkage)
    if patience_s is None and targets.max_abandon is not None:
        raise AnalyticsInputError(
            f"max_abandon {targets.max_abandon!r} needs a patience: Erlang C has no abandonment"
        )

    def figures_for(agents: int) -> Figures:
        if patience_s is None:
            return erlang_c(
                calls_per_hour=calls_per_hour, aht_s=aht_s, agents=agents, target_s=targets.target_s
            )
        return erlang_a(
            calls_per_hour=calls_per_hour,
            aht_s=aht_s,
            agents=agents,
            target_s=targets.target_s,
            patience_s=patience_s,
        )

    if patience_s is not None:
        # Checked here, not by computing one agent's figures: the search never needs them, and
        # at a heavy load with a long patience they alone would exceed Erlang A's state limit.
        check_number("patience_s", patience_s, minimum=0.0, inclusive=False)
    if load == 0.0:
        idle: Figures = (
            ErlangCResult(0, 0.0, 0.0, 1.0, 0.0, 0.0, True)
            if patience_s is None
            else ErlangAResult(0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        )
        return StaffingResult(0, 0, float(shrinkage), idle)
    # Below this count the target is certainly missed: Erlang C is unstable at n <= a, and no
    # call is answered with zero agents.
    known_short = math.floor(load) if patience_s is None else 0
    needed, figures = _fewest(figures_for, targets.met_by, known_short, load)
    return StaffingResult(needed, scheduled_agents(needed, shrinkage), float(shrinkage), figures)


def scheduled_agents(needed: int, shrinkage: float) -> int:
    """Agents to schedule so that ``needed`` remain on the phones: ``ceil(needed / (1 - s))``."""
    return math.ceil(Fraction(needed) / _keep_fraction(shrinkage))


def staff_intervals(
    intervals: Sequence[ForecastInterval],
    *,
    targets: StaffingTargets,
    patience_s: float | None = None,
    shrinkage: float = 0.0,
) -> list[IntervalStaffing]:
    """Staff every forecast interval independently (steady state at the interval's rate)."""
    rows = []
    for interval in intervals:
        result = staff(
            calls_per_hour=interval.calls_per_hour,
            aht_s=interval.aht_s,
            targets=targets,
            patience_s=patience_s,
            shrinkage=shrinkage,
        )
        rows.append(IntervalStaffing(interval, result))
    return rows


def _fewest(
    figures_for: Callable[[int], Figures],
    good_enough: Callable[[Figures], bool],
    known_short: int,
    load: float,
) -> tuple[int, Figures]:
    """Smallest ``n > known_short`` with ``good_enough(figures_for(n))``, by bracket + bisection."""
    limit = 10 * math.ceil(load) + 1000
    seen: dict[int, Figures] = {}

    def meets(agents: int) -> bool:
        if agents <= known_short:
            return False
        if agents not in seen:
            seen[agents] = figures_for(agents)
        return good_enough(seen[agents])

    start = max(known_short + 1, math.ceil(load))
    step = 1
    if meets(start):
        short, enough = start - 1, start
        while meets(short):
            enough, step = short, step * 2
            short = max(known_short, enough - step)
    else:
        short, enough = start, start + 1
        while not meets(enough):
            short, step = enough, step * 2
            enough = short + step
            if enough > limit:
                raise StaffingError(
                    f"no staffing up to {limit} agents meets the targets at offered load "
                    f"{load:.6g} Erlangs; loosen the targets"
                )
    while enough - short > 1:
        middle = (short + enough) // 2
        if meets(middle):
            enough = middle
        else:
            short = middle
    return enough, seen[enough]


def _keep_fraction(shrinkage: float) -> Fraction:
    """``1 - shrinkage`` as an exact fraction of the decimal the user wrote (0.3 -> 7/10)."""
    _check_finite("shrinkage", shrinkage)
    if not 0.0 <= shrinkage < 1.0:
        raise AnalyticsInputError(
            f"shrinkage must be a fraction in [0, 1), got {shrinkage!r} (write 0.3 for 30%)"
        )
    return 1 - Fraction(repr(float(shrinkage)))


def _check_finite(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AnalyticsInputError(f"{name} must be a finite number, got {value!r}")
