"""``hotline route replay EVENTS.jsonl``: feed a recorded event stream to the Router and print
every decision, to see exactly what routing did (or would do with another routing.yaml)."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from acd.codec import decision_to_json, event_from_json
from acd.decisions import Decision
from acd.errors import AcdError, ReplayError
from acd.events import Event
from acd.router import Router


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("route", help="routing: replay recorded events")
    commands = group.add_subparsers(dest="route_command", required=True, metavar="COMMAND")
    replay = commands.add_parser(
        "replay",
        help="feed an event stream (JSON lines) to the Router and print every decision",
        description="Feed EVENTS.jsonl (one event per line, see docs/routing.md) to a Router "
        "built from the deployment's routing.yaml and print every decision in order. A bad "
        "line stops the replay with file:line and the problem.",
    )
    replay.add_argument("events", metavar="EVENTS.jsonl", help="recorded events, one per line")
    replay.add_argument("--config", default="config", metavar="DIR",
                        help="deployment folder with routing.yaml (default: config)")
    replay.add_argument("--json", action="store_true",
                        help="print decisions as JSON lines instead of text")
    replay.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    from hotline.config.loader import load_deployment

    deployment = load_deployment(args.config)
    assert deployment.routing is not None and deployment.settings is not None
    zone = deployment.zone
    router = Router.from_config(deployment.routing, zone)
    counts: Counter[str] = Counter()
    events = 0
    for where, event in read_events(Path(args.events)):
        try:
            decisions = router.handle(event)
        except AcdError as exc:
            _print(getattr(exc, "decisions", []), args.json, zone, counts)
            raise ReplayError(f"{where}: {exc}") from exc
        events += 1
        _print(decisions, args.json, zone, counts)
    if not args.json:
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        print(f"{events} events, {sum(counts.values())} decisions ({summary or 'none'})")
    return 0


def read_events(path: Path) -> Iterator[tuple[str, Event]]:
    """The events of a JSON-lines file with their ``file:line``; blank lines are skipped."""
    try:
        handle: TextIO = path.open(encoding="utf-8")
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read the event file ({exc.strerror})") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReplayError(
                    f"{where}: not valid JSON ({exc.msg} at column {exc.colno})"
                ) from exc
            try:
                yield where, event_from_json(data)
            except AcdError as exc:
                raise ReplayError(f"{where}: {exc}") from exc


def _print(decisions: list[Decision], as_json: bool, zone: ZoneInfo, counts: Counter[str]) -> None:
    for decision in decisions:
        data = decision_to_json(decision)
        counts[data["type"]] += 1
        if as_json:
            print(json.dumps(data))
        else:
            print(f"{_when(decision.t, zone)}  {data['type']:<16} {describe(data)}")


def _when(t: float, zone: ZoneInfo) -> str:
    if t >= 1e8:  # an epoch time: show it on the deployment's clock
        return datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return f"{t:12.3f}"


def describe(data: dict[str, object]) -> str:
    """One decision in words."""
    kind = data["type"]
    if kind == "offer":
        return (f"{data['contact']} -> {data['agent']} (queue {data['queue']}, {data['channel']}, "
                f"extension {data['extension']})")
    if kind == "offer_cancelled":
        return f"{data['contact']} no longer for {data['agent']} ({data['reason']})"
    if kind == "queued":
        return f"{data['contact']} waits in {data['queue']}"
    if kind == "escalated":
        return f"{data['contact']} in {data['queue']}: step {data['step']} {data['action']}"
    if kind == "overflowed":
        return f"{data['contact']} {data['from_queue']} -> {data['to_queue']}"
    if kind == "callback_offered":
        return f"{data['contact']} in {data['queue']} is offered a callback"
    if kind == "agent_state":
        reason = f" ({data['reason']})" if data["reason"] else ""
        return f"{data['agent']} {data['state']}{reason}"
    return f"{data['contact']} {data['outcome']} in {data['queue']}, waited {data['wait_s']:.1f} s"
