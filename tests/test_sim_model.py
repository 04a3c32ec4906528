"""The traffic model around the real Router and IVR: what a planner relies on."""

from __future__ import annotations

import shutil
import statistics
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sim.model import Simulation
from sim.plan import compile_scenario
from sim.results import Replication, combine, summarise
from sim.runner import run_replications
from sim.scenario import Scenario, load_scenario

CONFIG = Path(__file__).resolve().parent.parent / "config"


@pytest.fixture(scope="module")
def deployment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deployment") / "config"
    shutil.copytree(CONFIG, root)
    return root


def _scenario(root: Path, name: str, text: str) -> Scenario:
    (root / "sim" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scenario(name, root)


def _run(scenario: Scenario, seed: int = 1, **kwargs: Any) -> Replication:
    return Simulation(compile_scenario(scenario, **kwargs), seed).run()


def test_same_seed_same_run_other_seed_other_run() -> None:
    scenario = load_scenario("mmc-abandon", CONFIG)
    first = _run(scenario, 3, duration_h=5)
    again = _run(scenario, 3, duration_h=5)
    other = _run(scenario, 4, duration_h=5)
    assert first == again
    assert first.waits != other.waits


def test_replications_in_processes_equal_the_same_runs_in_one(tmp_path: Path) -> None:
    plan = compile_scenario(load_scenario("mmc", CONFIG), duration_h=3)
    parallel = run_replications(plan, 2, 3, processes=2)
    serial = run_replications(plan, 2, 3, processes=1)
    assert parallel == serial
    totals = combine(parallel)["totals"]
    low, high = totals["service_level_ci"]
    assert low <= totals["service_level"] <= high


SELF_SERVICE = """\
duration_h: 3
ivr:
  flow: main
  prompt_s: 1
  think_s: 0
  digit_s: 0
  say_s: 0
  lookup_s: 0
  customers: {known: 1.0, phone_match: 1.0, balance_known: 1.0}
  choices:
    choose_language: {"1": 1.0}
    reason: {"5": 1.0}
    account/ask: {valid: 1.0}
    balance_next: {"9": 1.0}
arrivals: {calls_per_hour: 120}
handling:
  default: {distribution: exponential, mean_s: 120}
agents:
  synthetic: {count: 3, skills: {general: 9, billing: 9}}
"""


def test_self_service_completions_never_reach_an_agent(deployment_dir: Path) -> None:
    rep = _run(_scenario(deployment_dir, "selfservice", SELF_SERVICE))
    totals = summarise(rep)
    assert totals["calls"] > 300
    assert totals["offered"] == totals["answered"] == 0
    assert totals["ivr_outcomes"] == {"hangup": totals["calls"]}
    assert totals["ivr_mean_s"] >= 5  # welcome, language, reason, account, balance, menu


def test_ivr_time_is_not_queue_wait(deployment_dir: Path) -> None:
    text = SELF_SERVICE.replace('reason: {"5": 1.0}', 'reason: {"1": 1.0}').replace(
        "count: 3", "count: 40")
    rep = _run(_scenario(deployment_dir, "billing", text))
    totals = summarise(rep)
    assert totals["offered"] > 300 and totals["answered"] == totals["offered"]
    assert totals["ivr_mean_s"] >= 4  # welcome, language, reason, account number
    assert totals["asa_s"] == 0.0 and totals["service_level"] == 1.0


SHIFT = """\
start: "2026-11-02T00:00"
duration_h: 24
interval_minutes: 30
queue: general
arrivals: {calls_per_hour: 0.001}
handling:
  default: {distribution: exponential, mean_s: 60}
agents:
  shifts:
    - {name: early, start: "08:00", hours: 8, agents: [a001-a003],
       breaks: [{after_h: 2, minutes: 30}, {after_h: 4, minutes: 15}]}
"""


def test_agents_follow_shifts_and_breaks(deployment_dir: Path) -> None:
    rep = _run(_scenario(deployment_dir, "shift", SHIFT))
    staffed = [s / rep.interval_s for s in rep.staffed_s]  # half-hour intervals from 00:00
    assert staffed[15] == 0  # 07:30
    assert staffed[16] == staffed[19] == pytest.approx(3)  # 08:00, 09:30
    assert staffed[20] == pytest.approx(0)  # 10:00-10:30: all three on break
    assert staffed[24] == pytest.approx(1.5)  # 12:00-12:30: 15 minutes of break
    assert staffed[31] == pytest.approx(3)  # 15:30
    assert staffed[32] == 0  # 16:00: shift over


def test_ring_no_answer_and_retrials(deployment_dir: Path) -> None:
    base = """\
    duration_h: 4
    queue: general
    arrivals: {calls_per_hour: 60}
    handling:
      default: {distribution: exponential, mean_s: 60}
    patience: {distribution: exponential, mean_s: 60}
    rona_probability: 1.0
    agents:
      synthetic: {count: 2, skills: {general: 5}}
    """
    never = summarise(_run(_scenario(deployment_dir, "rona", base)))
    assert never["answered"] == 0 and never["abandoned"] == never["offered"] > 100
    retrying = base + "retrials: {probability: 1.0, delay: {distribution: constant, mean_s: 30}}\n"
    again = summarise(_run(_scenario(deployment_dir, "retry", retrying)))
    assert again["retrials"] > 100
    assert again["offered"] > never["offered"]


def test_overdispersion_spreads_daily_volumes(deployment_dir: Path) -> None:
    text = """\
    duration_h: 1440
    interval_minutes: 60
    queue: general
    arrivals: {calls_per_hour: 10, daily_cv: 0.3}
    handling:
      default: {distribution: exponential, mean_s: 30}
    agents:
      synthetic: {count: 5, skills: {general: 5}}
    """
    rep = _run(_scenario(deployment_dir, "spread", text))
    days = [sum(rep.calls[d * 24:(d + 1) * 24]) for d in range(60)]
    poisson_sd = statistics.mean(days) ** 0.5
    assert statistics.stdev(days) > 2.5 * poisson_sd


def test_hotline_morning_escalates_through_the_real_router() -> None:
    scenario = load_scenario("hotline-60", CONFIG)
    rep = _run(scenario, duration_h=6)  # Monday 06:00-12:00 after the warm-up
    totals = summarise(rep)
    assert totals["escalations"] > 0
    assert totals["answered"] > 1000
    assert {"hangup", "ivr_abandoned"} <= set(totals["ivr_outcomes"])
    assert totals["offered"] < totals["calls"]
    assert len(rep.offered) == 6 and rep.start == compile_scenario(scenario).measure_start


def test_the_ivr_hands_vip_priority_and_language_skills_to_the_router(
        deployment_dir: Path) -> None:
    text = SELF_SERVICE.replace('reason: {"5": 1.0}', 'reason: {"2": 1.0}').replace(
        'choose_language: {"1": 1.0}', 'choose_language: {"1": 0.5, "2": 0.5}').replace(
        "balance_known: 1.0}", "balance_known: 1.0, tiers: {standard: 0.7, gold: 0.3}}").replace(
        "count: 3, skills: {general: 9, billing: 9}",
        "count: 5, skills: {technical: 9, english: 9}")
    simulation = Simulation(compile_scenario(_scenario(deployment_dir, "vip", text)), 1)
    arrivals = []
    route = simulation._route

    def spy(event: Any) -> Any:
        if type(event).__name__ == "ContactArrive":
            arrivals.append(event)
        return route(event)

    simulation._route = spy
    totals = summarise(simulation.run())
    assert totals["answered"] > 300
    assert {a.queue for a in arrivals} == {"technical"}
    vip = sum(a.priority == 5 for a in arrivals) / len(arrivals)
    english = sum(a.skills == {"english": 5} for a in arrivals) / len(arrivals)
    assert 0.22 < vip < 0.38 and 0.4 < english < 0.6
