"""``hotline sim``: run a scenario through the real Router and IVR, or sweep a staffing curve.

``run`` prints the totals and per-interval rows (``--json``: one JSON object, see
docs/planning.md) or, without ``--json``, shows a progress bar and writes an HTML report with
plots to ``--out``. ``sweep`` varies agents, handling time or volume and draws the curve.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import SimError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sim`` command group to a ``hotline`` argument parser."""
    sim = subparsers.add_parser(
        "sim", help="simulate a scenario with the real routing and IVR",
        description="Discrete-event simulation of a config/sim/*.yaml scenario: simulated "
        "callers walk the deployment's IVR and are routed by its Router.")
    commands = sim.add_subparsers(dest="sim_command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="simulate a scenario; totals, intervals, report")
    _common(run)
    run.add_argument("--out", type=Path, default=None, metavar="DIR",
                     help="report folder (default: sim-report-SCENARIO)")
    run.set_defaults(handler=_run)

    sweep = commands.add_parser("sweep", help="staffing curve over agents, AHT or volume")
    _common(sweep)
    group = sweep.add_mutually_exclusive_group(required=True)
    group.add_argument("--agents", metavar="START:STOP",
                       help="synthetic agent counts, e.g. 10:20")
    group.add_argument("--aht", metavar="START:STOP:STEP",
                       help="handling-time factor, e.g. 0.8:1.2:0.1")
    group.add_argument("--volume", metavar="START:STOP:STEP",
                       help="call-volume factor, e.g. 0.8:1.2:0.05")
    sweep.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="folder for sweep.png and sweep.json (default: sim-sweep-SCENARIO)")
    sweep.set_defaults(handler=_sweep)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO",
                        help="a scenario name in CONFIG/sim/ (hotline-60) or a YAML file")
    parser.add_argument("--config", type=Path, default=None, metavar="DIR",
                        help="deployment folder (default: the scenario's, else ./config)")
    parser.add_argument("--seed", type=_non_negative, default=1, help="random seed (default 1)")
    parser.add_argument("--replications", type=_positive, default=1, metavar="R",
                        help="independent runs; R > 1 gives 95%% confidence intervals")
    parser.add_argument("--processes", type=_positive, default=None, metavar="P",
                        help="worker processes (default: every core)")
    parser.add_argument("--duration-h", type=float, default=None, metavar="HOURS",
                        help="simulate this many hours instead of the scenario's duration_h")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}")
        return value

    return parse


_positive = _whole(1)
_non_negative = _whole(0)


def _progress(enabled: bool, label: str) -> tuple[Callable[[float], None] | None,
                                                  Callable[[], None]]:
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=100, desc=label, unit="%", file=sys.stderr, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")

    def update(fraction: float) -> None:
        bar.n = round(fraction * 100)
        bar.refresh()

    return update, bar.close


def _run(args: argparse.Namespace) -> int:
    from sim.plan import compile_scenario
    from sim.results import combine
    from sim.runner import run_replications
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, args.config)
    plan = compile_scenario(scenario, duration_h=_duration(args))
    update, close = _progress(not args.json, f"sim {scenario.name}")
    try:
        reps = run_replications(plan, args.seed, args.replications, processes=args.processes,
                                progress=update)
    finally:
        close()
    result = combine(reps)
    if args.json:
        rows = [{**row, "start": dt.datetime.fromtimestamp(row["start"], plan.timezone)
                 .isoformat()} for row in result["intervals"]]
        print(json.dumps({"scenario": scenario.name, "seed": args.seed,
                          "totals": result["totals"], "intervals": rows}, allow_nan=False))
        return 0
    from sim.report import write_report

    out = args.out or Path(f"sim-report-{scenario.name}")
    waits = [w for rep in reps for w in rep.waits]
    page = write_report(out, f"Simulation: {scenario.name}", result, waits, plan.timezone)
    _print_totals(result["totals"])
    print(f"report: {page}")
    return 0


def _duration(args: argparse.Namespace) -> float | None:
    if args.duration_h is not None and not args.duration_h > 0:
        raise SimError(f"--duration-h {args.duration_h} must be more than 0")
    return args.duration_h


def _print_totals(totals: dict[str, Any]) -> None:
    for key in ("calls", "offered", "answered", "abandoned", "service_level", "asa_s",
                "abandon_rate", "occupancy"):
        value = totals.get(key)
        ci = totals.get(f"{key}_ci")
        text = "-" if value is None else f"{value:.4f}" if value < 2 else f"{value:.1f}"
        if ci:
            text += f"  [{ci[0]:.4f}, {ci[1]:.4f}]" if value < 2 else \
                f"  [{ci[0]:.1f}, {ci[1]:.1f}]"
        print(f"  {key:<14} {text}")


def _sweep(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario
    from sim.sweep import parse_range, sweep, write_curve

    variable = "agents" if args.agents else "aht" if args.aht else "volume"
    sweep_range = parse_range(variable, getattr(args, variable))
    scenario = load_scenario(args.scenario, args.config)
    update, close = _progress(not args.json, f"sweep {scenario.name}")
    try:
        rows = sweep(scenario, sweep_range, seed=args.seed, replications=args.replications,
                     processes=args.processes, duration_h=_duration(args), progress=update)
    finally:
        close()
    out = args.out or Path(f"sim-sweep-{scenario.name}")
    png = write_curve(out, scenario.name, variable, rows)
    if args.json:
        print(json.dumps({"scenario": scenario.name, "variable": variable, "points": rows,
                          "plot": str(png)}, allow_nan=False))
        return 0
    print(f"{variable:>8}  service_level  asa_s  abandon_rate  occupancy")
    for row in rows:
        print(f"{row[variable]:>8g}  {row['service_level'] or 0:13.4f}  "
              f"{row['asa_s'] or 0:5.1f}  {row['abandon_rate'] or 0:12.4f}  "
              f"{row['occupancy'] or 0:9.4f}")
    print(f"curve: {png}")
    return 0
