"""``hotline erlang``: Erlang C/A figures and staffing from the command line.

Subcommands: ``c`` and ``a`` evaluate a given number of agents, ``staff`` finds the fewest agents
meeting targets, ``intervals`` staffs every row of an intraday forecast CSV. ``--json`` prints one
JSON object whose keys are a contract (see docs/planning.md); an infinite figure (ASA of an
unstable Erlang C queue) is printed as ``null`` next to ``"stable": false``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence

from hotline.errors import HotlineError
from sim.erlang import ErlangAResult, ErlangCResult, erlang_a, erlang_c
from sim.intraday_forecast import INTERVAL_MINUTES, load_forecast
from sim.staffing import StaffingResult, StaffingTargets, staff, staff_intervals

Figures = ErlangCResult | ErlangAResult


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``erlang`` command group to a ``hotline`` argument parser."""
    erlang = subparsers.add_parser(
        "erlang",
        help="Erlang C/A analytics and staffing",
        description="Queueing formulas for planners: what N agents give callers, and how many "
        "agents a target needs. Erlang C: callers never hang up; Erlang A: exponential patience.",
    )
    commands = erlang.add_subparsers(dest="erlang_command", metavar="COMMAND", required=True)

    c = commands.add_parser("c", help="Erlang C figures for a number of agents")
    _traffic_arguments(c)
    c.add_argument("--agents", type=_agents, required=True, help="agents on the phones")
    c.set_defaults(handler=_run_c)

    a = commands.add_parser("a", help="Erlang A figures (with abandonment) for a number of agents")
    _traffic_arguments(a)
    a.add_argument("--agents", type=_agents, required=True, help="agents on the phones")
    a.add_argument(
        "--patience",
        type=_POSITIVE_SECONDS,
        required=True,
        metavar="SECONDS",
        help="mean time a caller waits before hanging up (exponential)",
    )
    a.set_defaults(handler=_run_a)

    staffing = commands.add_parser("staff", help="fewest agents meeting the targets")
    _traffic_arguments(staffing)
    _target_arguments(staffing)
    staffing.set_defaults(handler=_run_staff)

    intervals = commands.add_parser("intervals", help="staff each interval of a forecast CSV")
    intervals.add_argument(
        "forecast",
        metavar="FORECAST_CSV",
        help="CSV with header interval,calls,aht (calls per interval, AHT s)",
    )
    intervals.add_argument(
        "--interval-minutes",
        type=int,
        required=True,
        choices=INTERVAL_MINUTES,
        help="length of each forecast interval",
    )
    intervals.add_argument(
        "--target",
        type=_SECONDS,
        required=True,
        metavar="SECONDS",
        help="service-level answer time threshold",
    )
    _target_arguments(intervals)
    intervals.add_argument("--json", action="store_true", help="print JSON")
    intervals.set_defaults(handler=_run_intervals)


def _traffic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--calls-per-hour",
        type=_RATE,
        required=True,
        metavar="X",
        help="arrival rate (Poisson), calls per hour",
    )
    parser.add_argument(
        "--aht",
        type=_POSITIVE_SECONDS,
        required=True,
        metavar="SECONDS",
        help="average handle time (talk + hold + wrap-up), seconds",
    )
    parser.add_argument(
        "--target",
        type=_SECONDS,
        required=True,
        metavar="SECONDS",
        help="service-level answer time threshold",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--service-level",
        type=_SHARE,
        metavar="FRACTION",
        help="answered within --target / all calls, e.g. 0.8",
    )
    parser.add_argument(
        "--asa", type=_POSITIVE_SECONDS, metavar="SECONDS", help="maximum average speed of answer"
    )
    parser.add_argument(
        "--max-abandon",
        type=_SHARE,
        metavar="FRACTION",
        help="maximum share of callers hanging up (needs --patience)",
    )
    parser.add_argument(
        "--patience",
        type=_POSITIVE_SECONDS,
        metavar="SECONDS",
        help="mean caller patience: use Erlang A instead of Erlang C",
    )
    parser.add_argument(
        "--shrinkage",
        type=_SHRINKAGE,
        default=0.0,
        metavar="FRACTION",
        help="share of paid time not on the phones, e.g. 0.3 (default 0)",
    )


def _number(
    low: float, high: float = math.inf, *, low_ok: bool = True, high_ok: bool = True, what: str
) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number in a range, refusing others with the value."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        above = value > low or (low_ok and value == low)
        below = value < high or (high_ok and value == high)
        if not (math.isfinite(value) and above and below):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def _agents(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


_RATE = _number(0.0, what="a number of calls per hour >= 0")
_SECONDS = _number(0.0, what="a number of seconds >= 0")
_POSITIVE_SECONDS = _number(0.0, low_ok=False, what="a number of seconds > 0")
_SHARE = _number(0.0, 1.0, low_ok=False, high_ok=False, what="a fraction between 0 and 1, e.g. 0.8")
_SHRINKAGE = _number(0.0, 1.0, high_ok=False, what="a fraction in [0, 1), e.g. 0.3")


def _run_c(args: argparse.Namespace) -> int:
    result = erlang_c(
        calls_per_hour=args.calls_per_hour, aht_s=args.aht, agents=args.agents, target_s=args.target
    )
    _emit(_figures_record(result), args.json, title=_title(result, args.target))
    return 0


def _run_a(args: argparse.Namespace) -> int:
    result = erlang_a(
        calls_per_hour=args.calls_per_hour,
        aht_s=args.aht,
        agents=args.agents,
        target_s=args.target,
        patience_s=args.patience,
    )
    _emit(_figures_record(result), args.json, title=_title(result, args.target))
    return 0


def _run_staff(args: argparse.Namespace) -> int:
    result = staff(
        calls_per_hour=args.calls_per_hour,
        aht_s=args.aht,
        targets=_targets(args),
        patience_s=args.patience,
        shrinkage=args.shrinkage,
    )
    record = _staffing_record(result)
    title = (
        f"{_title(result.figures, args.target)}\nfigures with "
        f"{result.agents_needed} agents on the phones; schedule {result.agents_scheduled} "
        f"at {result.shrinkage:g} shrinkage"
    )
    _emit(record, args.json, title=title)
    return 0


def _run_intervals(args: argparse.Namespace) -> int:
    forecast = load_forecast(args.forecast, interval_minutes=args.interval_minutes)
    rows = staff_intervals(
        forecast, targets=_targets(args), patience_s=args.patience, shrinkage=args.shrinkage
    )
    records = [
        {
            "interval": row.interval.start,
            "calls": row.interval.calls,
            "aht_s": row.interval.aht_s,
            **_staffing_record(row.staffing),
        }
        for row in rows
    ]
    summary = {
        "model": "erlang_c" if args.patience is None else "erlang_a",
        "interval_minutes": args.interval_minutes,
        "shrinkage": args.shrinkage,
        "total_calls": math.fsum(row.interval.calls for row in rows),
        "scheduled_agent_hours": sum(r["agents"] for r in records) * args.interval_minutes / 60,
        "intervals": records,
    }
    if args.json:
        print(json.dumps(_json_safe(summary)))
        return 0
    columns = [
        "interval",
        "calls",
        "aht_s",
        "agents",
        "agents_before_shrinkage",
        "service_level",
        "asa_s",
        "occupancy",
    ]
    if args.patience is not None:
        columns.append("p_abandon")
    table = [[_cell(record[name]) for name in columns] for record in records]
    widths = [max(len(name), *(len(row[i]) for row in table)) for i, name in enumerate(columns)]
    print("  ".join(name.rjust(w) for name, w in zip(columns, widths, strict=True)))
    for row in table:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    print(
        f"total calls {_cell(summary['total_calls'])}, "
        f"scheduled agent-hours {_cell(summary['scheduled_agent_hours'])}"
    )
    return 0


def _targets(args: argparse.Namespace) -> StaffingTargets:
    return StaffingTargets(
        target_s=args.target,
        service_level=args.service_level,
        asa_s=args.asa,
        max_abandon=args.max_abandon,
    )


def _figures_record(figures: Figures) -> dict[str, object]:
    record: dict[str, object] = {
        "model": "erlang_c" if isinstance(figures, ErlangCResult) else "erlang_a",
        "agents": figures.agents,
        "offered_load": figures.offered_load,
        "p_wait": figures.p_wait,
    }
    if isinstance(figures, ErlangAResult):
        record["p_abandon"] = figures.p_abandon
    record.update(
        service_level=figures.service_level, asa_s=figures.asa_s, occupancy=figures.occupancy
    )
    if isinstance(figures, ErlangCResult):
        record["stable"] = figures.stable
    return record


def _staffing_record(result: StaffingResult) -> dict[str, object]:
    record = _figures_record(result.figures)
    record["agents"] = result.agents_scheduled
    record["agents_before_shrinkage"] = result.agents_needed
    record["shrinkage"] = result.shrinkage
    return record


def _title(figures: Figures, target_s: float) -> str:
    model = "Erlang C" if isinstance(figures, ErlangCResult) else "Erlang A"
    title = (
        f"{model}: offered load {figures.offered_load:.4g} Erlangs, "
        f"service level = answered within {target_s:g} s / all calls"
    )
    if isinstance(figures, ErlangCResult) and not figures.stable:
        title += (
            f"\nunstable: load {figures.offered_load:.4g} >= {figures.agents} agents, "
            "the queue grows without bound"
        )
    return title


def _emit(record: dict[str, object], as_json: bool, *, title: str) -> None:
    if as_json:
        print(json.dumps(_json_safe(record)))
        return
    print(title)
    width = max(len(key) for key in record)
    for key, value in record.items():
        print(f"  {key.ljust(width)}  {_cell(value)}")


def _cell(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if math.isinf(value):
        return "inf"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def _json_safe(value: object) -> object:
    """Strict JSON has no infinity: non-finite floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``erlang`` standalone: ``python -m sim.erlang_cli erlang c ...``."""
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except HotlineError as exc:
        print(f"hotline: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
