"""Staffing curves: the same scenario run over a range of agents, handling time or volume.

Every point reuses the run's seeds, so the curve compares the same callers (common random
numbers) and its shape is not blurred by noise between points. :func:`write_curve` draws
service level, ASA and abandon rate against the varied quantity (PNG) and saves the points
(JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from sim.errors import SimError
from sim.plan import compile_scenario
from sim.results import combine
from sim.runner import run_replications
from sim.scenario import Scenario

VARIABLES = {
    "agents": "agents on the phones",
    "aht": "handling time (x scenario)",
    "volume": "call volume (x scenario)",
}


@dataclass(frozen=True, slots=True)
class SweepRange:
    variable: str
    values: tuple[float, ...]


def parse_range(variable: str, text: str) -> SweepRange:
    """``'10:20'`` (step 1) or ``'0.8:1.2:0.05'``, both ends included."""
    parts = text.split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise SimError(f"--{variable} {text!r} must be START:STOP or START:STOP:STEP, "
                       "like 10:20 or 0.8:1.2:0.05") from None
    if len(numbers) not in (2, 3):
        raise SimError(f"--{variable} {text!r} must be START:STOP or START:STOP:STEP")
    start, stop = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 1.0
    if step <= 0 or stop < start or start <= 0:
        raise SimError(f"--{variable} {text!r} needs 0 < START <= STOP and a positive STEP")
    count = round((stop - start) / step + 1e-9) + 1
    if count > 200:
        raise SimError(f"--{variable} {text!r} gives {count} points; 200 at most")
    values = tuple(round(start + i * step, 10) for i in range(count))
    if variable == "agents" and any(v != int(v) for v in values):
        raise SimError(f"--agents {text!r} must give whole numbers of agents")
    return SweepRange(variable, values)


def sweep(scenario: Scenario, sweep_range: SweepRange, *, seed: int, replications: int,
          processes: int | None = None, duration_h: float | None = None,
          progress: Callable[[float], None] | None = None) -> list[dict[str, Any]]:
    """Run the scenario at every value; one row of totals per value."""
    rows = []
    count = len(sweep_range.values)
    for i, value in enumerate(sweep_range.values):
        kwargs: dict[str, Any] = {"duration_h": duration_h}
        if sweep_range.variable == "agents":
            kwargs["agents"] = int(value)
        elif sweep_range.variable == "aht":
            kwargs["aht_factor"] = value
        else:
            kwargs["volume_factor"] = value
        plan = compile_scenario(scenario, **kwargs)
        reps = run_replications(plan, seed, replications, processes=processes)
        rows.append({sweep_range.variable: value, **combine(reps)["totals"]})
        if progress is not None:
            progress((i + 1) / count)
    return rows


def write_curve(out: Path, scenario: str, variable: str, rows: list[dict[str, Any]]) -> Path:
    """``sweep.json`` and ``sweep.png`` in ``out``; returns the PNG's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps({"scenario": scenario, "variable": variable,
                                                "points": rows}, indent=1), encoding="utf-8")
    xs = [r[variable] for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    figure.suptitle(f"Staffing curve: {scenario}", x=0.01, ha="left", fontsize=11)
    for key, label, colour in (("service_level", "service level", "#1f77b4"),
                               ("abandon_rate", "abandon rate", "#d62728"),
                               ("occupancy", "occupancy", "#2ca02c")):
        ys = [(r[key] or 0.0) * 100 for r in rows]
        left.plot(xs, ys, marker="o", color=colour, label=label)
        cis = [r.get(f"{key}_ci") for r in rows]
        if all(cis):
            left.fill_between(xs, [c[0] * 100 for c in cis], [c[1] * 100 for c in cis],
                              color=colour, alpha=0.15)
    left.set_ylabel("%")
    left.set_ylim(0, 102)
    left.set_xlabel(VARIABLES[variable])
    left.grid(True, alpha=0.3)
    left.legend(fontsize=8)
    right.plot(xs, [r["asa_s"] or 0.0 for r in rows], marker="o", color="#ff7f0e")
    right.set_ylabel("average speed of answer (s)")
    right.set_xlabel(VARIABLES[variable])
    right.set_ylim(bottom=0)
    right.grid(True, alpha=0.3)
    path = out / "sweep.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
