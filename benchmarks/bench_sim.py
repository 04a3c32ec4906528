"""Simulator speed: one month of hotline-60 through the real Router and IVR, and M/M/c vs Ciw.

Run: ``.venv/bin/python benchmarks/bench_sim.py`` (from the repository root). Prints one JSON
object:

* ``month_seconds``: wall time of one replication of ``config/sim/hotline-60.yaml`` (30 days,
  about 200,000 calls, every call through the IVR flow ``main`` and the Router) on one core;
  ``month_cpu_seconds`` the process CPU time of the same run (steadier on a busy machine);
* ``month_peak_mb``: peak resident memory of the process after that run;
* ``hotline_contacts_per_s``: contacts simulated per second on an M/M/c model (10 agents,
  180 calls/h, exponential service of mean 180 s, 4 h warm-up then 400 h), with replications on
  every core as ``hotline sim run --replications`` does (``cores`` says how many);
  ``hotline_contacts_per_s_one_core`` the same in one process, best of five runs;
* ``ciw_contacts_per_s``: Ciw on the same model in this process, best of five runs (Ciw runs
  one simulation per process); ``speedup_vs_ciw`` = hotline_contacts_per_s / ciw_contacts_per_s
  and ``speedup_vs_ciw_one_core`` the single-core ratio. Both sides simulate the warm-up and the
  400 h, count the contacts that arrive after the warm-up and are served, and are timed in
  process CPU time from building the simulation to its end, alternating run by run so that a
  busy machine slows both alike. Each runs as its library ships: Hotline's ``Simulation.run``
  makes the cycle collector scan less often while it runs (see its docstring), Ciw leaves it be;
* ``router_us_per_contact`` / ``driver_us_per_contact``: where an M/M/c contact's time goes,
  inside ``Router.handle`` (three calls: arrive, accept, end) and in the simulator around it
  (measured with a timer around each Router call, so a little slower than the runs above).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import ciw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.model import Simulation  # noqa: E402
from sim.plan import Plan, compile_scenario  # noqa: E402
from sim.results import summarise  # noqa: E402
from sim.runner import run_replications  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

MMC_AGENTS = 10
MMC_RATE_PER_H = 180.0
MMC_AHT_S = 180.0
MMC_HOURS = 400.0  # about 72,000 contacts per run
RUNS = 5


def month() -> dict[str, float]:
    scenario = load_scenario("hotline-60", ROOT / "config")
    plan = compile_scenario(scenario)
    wall, cpu = time.perf_counter(), time.process_time()
    rep = Simulation(plan, seed=1).run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    totals = summarise(rep)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "month_seconds": round(wall, 2),
        "month_cpu_seconds": round(cpu, 2),
        "month_peak_mb": round(peak_mb, 1),
        "month_calls": totals["calls"],
        "month_offered": totals["offered"],
        "month_service_level": round(totals["service_level"], 4),
        "month_abandon_rate": round(totals["abandon_rate"], 4),
    }


def _mmc_plan(hours: float) -> Plan:
    scenario = load_scenario("mmc", ROOT / "config")
    return compile_scenario(scenario, agents=MMC_AGENTS,
                            volume_factor=MMC_RATE_PER_H / scenario.spec.arrivals.calls_per_hour,
                            duration_h=hours)


def hotline_mmc_all_cores(cores: int) -> float:
    plan = _mmc_plan(MMC_HOURS)
    start = time.perf_counter()
    reps = run_replications(plan, seed=5, replications=2 * cores, processes=cores)
    elapsed = time.perf_counter() - start
    return sum(sum(rep.answered) for rep in reps) / elapsed


def hotline_mmc(seed: int) -> tuple[float, int]:
    """CPU seconds of one M/M/c run and the contacts it served after the warm-up."""
    plan = _mmc_plan(MMC_HOURS)
    start = time.process_time()
    rep = Simulation(plan, seed=seed).run()
    return time.process_time() - start, sum(rep.answered)


def router_share() -> dict[str, float]:
    """Microseconds per M/M/c contact inside ``Router.handle`` and in the simulator around it."""
    plan = _mmc_plan(MMC_HOURS / 2)
    simulation = Simulation(plan, seed=9)
    handle = simulation.router.handle
    spent = [0.0]

    def timed(event: object) -> object:
        start = time.perf_counter()
        try:
            return handle(event)
        finally:
            spent[0] += time.perf_counter() - start

    simulation._route = timed  # the simulator calls the Router through this one attribute
    start = time.perf_counter()
    rep = simulation.run()
    total = time.perf_counter() - start
    contacts = sum(rep.answered)
    return {"router_us_per_contact": round(spent[0] / contacts * 1e6, 2),
            "driver_us_per_contact": round((total - spent[0]) / contacts * 1e6, 2)}


def ciw_mmc(seed: int) -> tuple[float, int]:
    """The same for Ciw: the warm-up plus 400 h, counting services of arrivals after the warm-up."""
    warmup = _mmc_plan(MMC_HOURS).warmup_s
    network = ciw.create_network(  # like the plan on Hotline's side, built before the clock starts
        arrival_distributions=[ciw.dists.Exponential(rate=MMC_RATE_PER_H / 3600.0)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / MMC_AHT_S)],
        number_of_servers=[MMC_AGENTS],
    )
    ciw.seed(seed)
    start = time.process_time()
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(warmup + MMC_HOURS * 3600.0)
    elapsed = time.process_time() - start
    return elapsed, sum(1 for r in simulation.get_all_records() if r.arrival_date >= warmup)


def side_by_side() -> tuple[float, int, float, int]:
    """Best-of-``RUNS`` contacts per CPU second for Hotline and Ciw, run alternately."""
    best_h = best_c = 0.0
    contacts_h = contacts_c = 0
    for seed in range(RUNS):
        elapsed, contacts_h = hotline_mmc(seed)
        best_h = max(best_h, contacts_h / elapsed)
        elapsed, contacts_c = ciw_mmc(seed)
        best_c = max(best_c, contacts_c / elapsed)
    return best_h, contacts_h, best_c, contacts_c


def main() -> None:
    figures = month()
    cores = len(os.sched_getaffinity(0))
    hotline_rate, hotline_contacts, ciw_rate, ciw_contacts = side_by_side()
    parallel_rate = hotline_mmc_all_cores(cores)
    figures.update({
        "cores": cores,
        "hotline_contacts_per_s": round(parallel_rate),
        "hotline_contacts_per_s_one_core": round(hotline_rate),
        "ciw_contacts_per_s": round(ciw_rate),
        "speedup_vs_ciw": round(parallel_rate / ciw_rate, 2),
        "speedup_vs_ciw_one_core": round(hotline_rate / ciw_rate, 2),
        "mmc_contacts_per_run": {"hotline": hotline_contacts, "ciw": ciw_contacts},
        **router_share(),
    })
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
