"""Results of simulation runs: one replication's counts, and figures with confidence intervals.

A :class:`Replication` holds flat per-interval counts (arrays indexed by reporting interval)
plus the waits of answered contacts; :func:`summarise` turns one into the contract figures and
:func:`combine` turns several independent replications into means with 95% confidence
intervals from the Student t distribution across replications (each replication is one
observation of each figure, so the interval is honest even though contacts within a run are
correlated).

Definitions (the same as the Erlang analytics, see docs/planning.md):

* ``offered``: contacts that reached a queue (left the IVR for the Router) in the window;
* ``service_level``: answered within ``target_s`` / offered (abandoned and callback contacts
  count as not answered in time, whenever they left);
* ``asa_s``: mean wait of answered contacts; ``abandon_rate``: abandoned / offered;
* ``occupancy``: agent time on contacts (ringing, talking, wrap-up) / agent time available
  (ready or on contacts), which excludes breaks and other not-ready time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

TOTAL_KEYS = ("offered", "answered", "abandoned", "service_level", "asa_s", "abandon_rate",
              "occupancy")


@dataclass(slots=True)
class Replication:
    seed: int
    start: float
    interval_s: float
    target_s: float
    calls: list[int]
    offered: list[int]
    answered: list[int]
    in_target: list[int]
    abandoned: list[int]
    callbacks: list[int]
    wait_sum: list[float]
    staffed_s: list[float]
    working_s: list[float]
    waiting_s: list[float]
    waits: list[float]
    ivr_outcomes: dict[str, int] = field(default_factory=dict)
    retrials: int = 0
    escalations: int = 0
    overflows: int = 0
    ivr_time_s: float = 0.0
    ivr_calls: int = 0
    still_waiting: int = 0


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def summarise(rep: Replication) -> dict[str, Any]:
    """The totals of one replication (``None`` where a ratio has no denominator)."""
    offered = sum(rep.offered)
    answered = sum(rep.answered)
    abandoned = sum(rep.abandoned)
    staffed = math.fsum(rep.staffed_s)
    return {
        "calls": sum(rep.calls),
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "callbacks": sum(rep.callbacks),
        "service_level": _ratio(sum(rep.in_target), offered),
        "asa_s": _ratio(math.fsum(rep.wait_sum), answered),
        "abandon_rate": _ratio(abandoned, offered),
        "occupancy": _ratio(math.fsum(rep.working_s), staffed),
        "retrials": rep.retrials,
        "escalations": rep.escalations,
        "overflows": rep.overflows,
        "ivr_mean_s": _ratio(rep.ivr_time_s, rep.ivr_calls),
        "ivr_outcomes": dict(sorted(rep.ivr_outcomes.items())),
        "agents_staffed_mean": staffed / (rep.interval_s * len(rep.staffed_s)),
    }


def interval_rows(rep: Replication) -> list[dict[str, Any]]:
    rows = []
    for i in range(len(rep.offered)):
        offered = rep.offered[i]
        rows.append({
            "start": rep.start + i * rep.interval_s,
            "calls": rep.calls[i],
            "offered": offered,
            "answered": rep.answered[i],
            "abandoned": rep.abandoned[i],
            "service_level": _ratio(rep.in_target[i], offered),
            "asa_s": _ratio(rep.wait_sum[i], rep.answered[i]),
            "agents_staffed": rep.staffed_s[i] / rep.interval_s,
            "agents_working": rep.working_s[i] / rep.interval_s,
            "occupancy": _ratio(rep.working_s[i], rep.staffed_s[i]),
            "queue_length": rep.waiting_s[i] / rep.interval_s,
        })
    return rows


def combine(reps: list[Replication]) -> dict[str, Any]:
    """Totals and interval rows over replications: each figure's mean, and for R > 1 its
    95% confidence interval as ``{key}_ci: [low, high]``."""
    summaries = [summarise(r) for r in reps]
    totals: dict[str, Any] = {"replications": len(reps)}
    for key in (*TOTAL_KEYS, "calls", "callbacks", "retrials", "ivr_mean_s",
                "agents_staffed_mean"):
        values = [s[key] for s in summaries if s[key] is not None]
        if not values:
            totals[key] = None
            continue
        mean, half = mean_ci(values)
        totals[key] = mean
        if len(reps) > 1 and key in TOTAL_KEYS:
            totals[f"{key}_ci"] = [mean - half, mean + half] if half is not None else None
    outcomes: dict[str, float] = {}
    for s in summaries:
        for kind, count in s["ivr_outcomes"].items():
            outcomes[kind] = outcomes.get(kind, 0) + count / len(reps)
    totals["ivr_outcomes"] = outcomes
    totals["target_s"] = reps[0].target_s
    rows_by_rep = [interval_rows(r) for r in reps]
    rows = []
    for i, first in enumerate(rows_by_rep[0]):
        row: dict[str, Any] = {"start": first["start"]}
        for key in first:
            if key == "start":
                continue
            values = [rr[i][key] for rr in rows_by_rep if rr[i][key] is not None]
            row[key] = sum(values) / len(values) if values else None
        rows.append(row)
    return {"totals": totals, "intervals": rows}


def mean_ci(values: list[float], confidence: float = 0.95) -> tuple[float, float | None]:
    """Mean and half-width of its two-sided confidence interval (``None`` for one value)."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, t_quantile(0.5 + confidence / 2, n - 1) * math.sqrt(variance / n)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (bisection on the CDF)."""
    if not 0.5 <= p < 1 or df < 1:
        raise ValueError(f"t_quantile needs 0.5 <= p < 1 and df >= 1, got p={p}, df={df}")
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(100):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def t_cdf(x: float, df: int) -> float:
    """P(T <= x) for Student's t: ``1 - I_{df/(df+x^2)}(df/2, 1/2) / 2`` for x >= 0."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + x * x))
    return 1.0 - tail if x >= 0 else tail


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) by its continued fraction (modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _betainc(b, a, 1.0 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return math.exp(log_front) * h / a
