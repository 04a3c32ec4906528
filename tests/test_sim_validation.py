"""The simulator against the closed formulas: Erlang C on M/M/c, Erlang A on M/M/c+M.

Each case runs independent replications of config/sim/mmc*.yaml through the real Router
(synthetic agents, no wrap-up) and asserts that the formula's value lies inside the 95%
confidence interval of the simulated figure, at light, normal and heavy load (occupancy of at
least 0.95). Seeds are fixed, so the outcome is reproducible.
"""

from __future__ import annotations

from functools import cache

import pytest

from hotline.config.loader import load_deployment
from hotline.deployment import section_loaders
from sim.erlang import erlang_a, erlang_c
from sim.plan import compile_scenario
from sim.results import combine
from sim.runner import run_replications
from sim.scenario import Scenario, load_section

REPLICATIONS = 8


@cache
def _scenarios() -> dict[str, Scenario]:
    deployment = load_deployment("config", {**section_loaders(), "sim": load_section})
    return deployment.sections["sim"]


def _simulate(name: str, *, agents: int, calls_per_hour: float, hours: float,
              seed: int) -> dict:
    scenario = _scenarios()[name]
    base = scenario.spec.arrivals.calls_per_hour
    plan = compile_scenario(scenario, agents=agents, volume_factor=calls_per_hour / base,
                            duration_h=hours)
    return combine(run_replications(plan, seed, REPLICATIONS))["totals"]


def _inside(totals: dict, key: str, expected: float) -> None:
    low, high = totals[f"{key}_ci"]
    assert low <= expected <= high, (
        f"{key}: Erlang {expected:.4f} outside the simulated 95% CI [{low:.4f}, {high:.4f}] "
        f"(mean {totals[key]:.4f})")


# (agents, calls per hour, hours per replication): AHT 180 s
ERLANG_C_CASES = [
    pytest.param(12, 180.0, 40, id="occupancy-0.75"),
    pytest.param(10, 180.0, 60, id="occupancy-0.90"),
    pytest.param(10, 192.0, 150, id="occupancy-0.96"),
]


@pytest.mark.parametrize(("agents", "rate", "hours"), ERLANG_C_CASES)
def test_mmc_agrees_with_erlang_c(agents: int, rate: float, hours: float) -> None:
    totals = _simulate("mmc", agents=agents, calls_per_hour=rate, hours=hours, seed=11)
    formula = erlang_c(calls_per_hour=rate, aht_s=180, agents=agents, target_s=20)
    assert totals["abandoned"] == 0
    _inside(totals, "service_level", formula.service_level)
    _inside(totals, "asa_s", formula.asa_s)
    _inside(totals, "occupancy", formula.occupancy)
    if formula.occupancy >= 0.95:
        assert totals["occupancy"] >= 0.94  # the heavy case is really heavy


# (agents, calls per hour, hours per replication): AHT 180 s, mean patience 120 s
ERLANG_A_CASES = [
    pytest.param(12, 200.0, 40, id="load-10-on-12"),
    pytest.param(10, 200.0, 40, id="load-10-on-10"),
    pytest.param(10, 300.0, 30, id="load-15-on-10"),
]


@pytest.mark.parametrize(("agents", "rate", "hours"), ERLANG_A_CASES)
def test_mmc_abandon_agrees_with_erlang_a(agents: int, rate: float, hours: float) -> None:
    totals = _simulate("mmc-abandon", agents=agents, calls_per_hour=rate, hours=hours, seed=7)
    formula = erlang_a(calls_per_hour=rate, aht_s=180, agents=agents, target_s=20,
                       patience_s=120)
    _inside(totals, "abandon_rate", formula.p_abandon)
    _inside(totals, "service_level", formula.service_level)
    _inside(totals, "asa_s", formula.asa_s)
    _inside(totals, "occupancy", formula.occupancy)
    if rate == 300.0:
        assert formula.occupancy >= 0.95 and totals["occupancy"] >= 0.95
