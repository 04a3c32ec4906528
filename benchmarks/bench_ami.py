"""AMI ingest benchmark: bytes -> messages -> ActionID correlation -> typed events -> call tracker.

Replays what Asterisk sent in every recorded AMI transcript (tests/fixtures/asterisk), one
stream after the other, ``--repeat`` times, in 64 KiB reads as a socket would deliver them, on
one core. Prints one JSON object: ``events_per_s`` (the issue's floor is 30,000 events/s for
parse + track + route) over the process's CPU time, so that other work on a shared machine does
not distort it (``events_per_wall_s`` is the wall-clock figure; equal on an idle machine),
``p50_us``/``p99_us`` per event (measured in a second, timed pass so the timing does not slow
the throughput pass), and counts.

The router step (:func:`build_router_step`) is the live engine's routing core applied to every
call transition; its cost is included in the figures.

    .venv/bin/python benchmarks/bench_ami.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

from cti.ami.correlate import ActionTracker
from cti.ami.events import parse_event
from cti.ami.protocol import AmiMessage, AmiParser
from cti.ami.transcript import server_bytes
from cti.tracker import CallTracker
from cti.transitions import CallTransition

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "asterisk"
READ_SIZE = 65536

RouterStep = Callable[[CallTransition, float], object]


def build_router_step() -> RouterStep | None:
    """The routing step of the ingest path: the live engine's :class:`cti.engine.RoutingEngine`
    (transition -> Router event -> decisions -> effects) on a Router with the transcripts'
    agents (1001-1003) logged in and ready.

    ``Queued`` becomes a contact arriving (and an offer), ``Answered`` an accepted offer,
    ``Rona`` a timeout and re-offer, ``Ended`` an abandon or an end; the effects the driver
    would carry out (Redis writes, pops, Redirects) are produced but not executed.
    """
    import logging

    from acd.router import Router
    from cti.engine import RoutingEngine
    from cti.ports import Command
    from hotline.config.routing import Routing

    routing = Routing.model_validate({
        "skills": ["general"],
        "queues": {"support": {"skills": {"general": 1}, "wrap_up_s": 0}},
        "agents": [{"id": f"a{ext}", "name": f"Agent {ext}", "extension": str(ext),
                    "skills": {"general": 5}} for ext in (1001, 1002, 1003)],
        "settings": {"default_queue": "support"},
    })
    quiet = logging.getLogger("bench.engine")
    quiet.setLevel(logging.CRITICAL)  # offers to another agent than the transcript's are noted
    engine = RoutingEngine(Router.from_config(routing), logger=quiet)
    for agent in routing.agents:
        engine.command(Command("agent_login", agent.id, "bench"), 0.0)
        engine.command(Command("agent_ready", agent.id, "bench"), 0.0)

    def step(transition: CallTransition, at: float) -> object:
        return engine.transition(transition, at)

    return step


def load_streams() -> list[bytes]:
    names = sorted(p for p in FIXTURES.glob("*.txt") if not p.name.startswith("fastagi"))
    return [server_bytes(p) for p in names]


def ingest(streams: list[bytes], repeat: int, route: RouterStep | None) -> tuple[int, int, int]:
    """The hot path; returns (messages, events, transitions)."""
    messages = events = transitions = 0
    tracker = CallTracker()
    actions = ActionTracker()
    for _ in range(repeat):
        for stream in streams:
            parser = AmiParser()
            for start in range(0, len(stream), READ_SIZE):
                parser.receive_data(stream[start:start + READ_SIZE])
                for message in parser.messages():
                    messages += 1
                    if not isinstance(message, AmiMessage) or message.kind != "event":
                        continue
                    claimed, _ = actions.receive(message)
                    if claimed:
                        continue
                    events += 1
                    out = tracker.feed(parse_event(message), 0.0)
                    transitions += len(out)
                    if route is not None:
                        for transition in out:
                            route(transition, 0.0)
    return messages, events, transitions


def per_event_latency(streams: list[bytes], repeat: int, route: RouterStep | None) -> list[int]:
    """Nanoseconds per event from message extraction to tracker (and router) done."""
    samples: list[int] = []
    tracker = CallTracker()
    clock = time.perf_counter_ns
    for _ in range(repeat):
        for stream in streams:
            parser = AmiParser()
            parser.receive_data(stream)
            while True:
                start = clock()
                message = parser.next_message()
                if message is None:
                    break
                if not isinstance(message, AmiMessage) or message.kind != "event":
                    continue
                out = tracker.feed(parse_event(message), 0.0)
                if route is not None:
                    for transition in out:
                        route(transition, 0.0)
                samples.append(clock() - start)
    return samples


def percentile(sorted_values: list[int], fraction: float) -> float:
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index] / 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="times the streams are replayed")
    args = parser.parse_args()
    streams = load_streams()
    route = build_router_step()
    ingest(streams, 2, route)  # warm-up
    started, cpu_started = time.perf_counter(), time.process_time()
    messages, events, transitions = ingest(streams, args.repeat, route)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    samples = sorted(per_event_latency(streams, max(1, args.repeat // 10), route))
    print(json.dumps({
        "benchmark": "ami_ingest",
        "events_per_s": round(events / cpu),
        "messages_per_s": round(messages / cpu),
        "events_per_wall_s": round(events / elapsed),
        "events": events,
        "messages": messages,
        "transitions": transitions,
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(elapsed, 3),
        "repeat": args.repeat,
        "bytes_per_pass": sum(len(s) for s in streams),
        "p50_us": round(percentile(samples, 0.50), 2),
        "p99_us": round(percentile(samples, 0.99), 2),
        "router_step": route is not None,
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
