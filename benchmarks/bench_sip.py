"""How many concurrent SIP calls with media the load generator sustains on this machine.

Starts a farm of loopback responders (4 calls each, the pjsua2 build limit), then runs a plan
whose calls all overlap: ``--calls`` callers arrive over ``--ramp`` seconds and talk for
``--talk`` seconds, each playing a tone (the responder plays another and echoes) and pressing a
digit. A call counts towards ``concurrent_calls`` only while it is answered *and* its media
check passed both ways (received audio above silence for at least half of the call at the
caller and at the responder); the figure is the peak overlap of those calls' answered
intervals. ``cpu_percent`` is the machine-wide CPU use (psutil, 100 = every core busy) averaged
over the plateau when all calls are up; ``cpu_percent_own_processes`` is this benchmark's
process tree alone (100 = one core), since other work may share the machine.

    .venv/bin/python benchmarks/bench_sip.py [--calls 220] [--ramp 10] [--talk 25]

Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time

import psutil

from sim.sip.bots import AnswerBehaviour, AnsweredCall, CallResult
from sim.sip.generator import LoadOptions, Progress, run_load
from sim.sip.plan import CallerScript, CallPlan, DtmfStep, peak_overlap
from sim.sip.report import AUDIBLE_SHARE
from sim.sip.responder import ResponderFarm
from sim.sip.useragent import BUILD_MAX_CALLS


def media_both_ways(calls: tuple[CallResult, ...], answered: list[AnsweredCall]) -> set[str]:
    """Caller ids whose audio was above silence for most of the call on both sides."""
    far = {a.caller for a in answered if (a.rx_audible_share or 0) >= AUDIBLE_SHARE}
    return {c.caller_id for c in calls
            if (c.rx_audible_share or 0) >= AUDIBLE_SHARE and c.caller_id in far}


def peak_media_overlap(calls: tuple[CallResult, ...], with_media: set[str]) -> int:
    spans: list[tuple[float, float]] = []
    for call in calls:
        if call.sip_answer_s is None or call.held_s is None or call.caller_id not in with_media:
            continue
        invite = call.start_s + call.late_s
        spans.append((invite + call.sip_answer_s, invite + call.held_s))
    return peak_overlap(spans)


class CpuSampler:
    """CPU percent sampled every second on a thread: machine-wide (100 = every core busy), and
    of this process tree alone (100 = one core), since other work may share the machine."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self.own: list[tuple[float, float]] = []
        self._me = psutil.Process()
        self._last: tuple[float, float] | None = None
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        psutil.cpu_percent(None)
        while not self._stop.wait(1.0):
            now = time.monotonic()
            self.samples.append((now, psutil.cpu_percent(None)))
            spent, rss = self._tree_usage()
            self.peak_rss_mb = max(self.peak_rss_mb, rss / 2**20)
            if self._last is not None:
                self.own.append((now, 100 * (spent - self._last[1]) / (now - self._last[0])))
            self._last = (now, spent)

    def _tree_usage(self) -> tuple[float, int]:
        """CPU seconds and resident bytes of this process and all its children."""
        total, rss = 0.0, 0
        for process in [self._me, *self._me.children(recursive=True)]:
            try:
                times = process.cpu_times()
                rss += process.memory_info().rss
            except psutil.Error:
                continue  # a worker that just exited
            total += times.user + times.system
        return total, rss

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mean_between(self, start: float, end: float, *, own: bool = False) -> float | None:
        window = [p for t, p in (self.own if own else self.samples) if start <= t <= end]
        return round(sum(window) / len(window), 1) if window else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=220)
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which calls start")
    parser.add_argument("--talk", type=float, default=25.0, help="talk time of every call, s")
    args = parser.parse_args()

    slots = math.ceil(args.calls / BUILD_MAX_CALLS)
    behaviour = AnswerBehaviour(dtmf=(DtmfStep(0.3, "D"),))
    callers = tuple(
        CallerScript(index=i, start_s=round(i * args.ramp / args.calls, 3),
                     caller_id=f"0611{i:06d}", dtmf=(DtmfStep(0.1, "1"),), patience_s=60.0,
                     talk_s=args.talk)
        for i in range(args.calls))
    plan = CallPlan(dial="100", duration_s=args.ramp, callers=callers)

    def progress(p: Progress) -> None:
        print(f"t={p.elapsed_s:5.1f}s up {p.up:4d} done {p.done:4d} {p.outcomes}",
              file=sys.stderr, flush=True)

    started = time.monotonic()
    with ResponderFarm(slots + 2, behaviour, startup_timeout_s=180) as farm, \
            CpuSampler() as cpu:
        farm_ready = time.monotonic()
        result = run_load(plan, LoadOptions(targets=tuple(farm.targets),
                                            per_target_calls=BUILD_MAX_CALLS,
                                            workers=slots + 2, startup_timeout_s=180,
                                            drain_timeout_s=60), progress)
        answered = farm.collect(timeout=5.0)
    with_media = media_both_ways(result.calls, answered)
    # The plateau: every call answered, none hung up yet.
    up = [c for c in result.calls if c.sip_answer_s is not None and c.held_s is not None]
    plateau_start = result.run_start + max(c.start_s + c.late_s + c.sip_answer_s for c in up)
    plateau_end = result.run_start + min(c.start_s + c.late_s + c.held_s for c in up)
    failed = sum(1 for c in result.calls if c.outcome != "completed")
    print(json.dumps({
        "concurrent_calls": peak_media_overlap(result.calls, with_media),
        "failed": failed,
        "cpu_percent": cpu.mean_between(plateau_start, plateau_end),
        "cpu_percent_own_processes": cpu.mean_between(plateau_start, plateau_end, own=True),
        "cpu_count": psutil.cpu_count(),
        "peak_rss_mb": round(cpu.peak_rss_mb),
        "worker_failures": list(result.worker_failures),
        "planned_calls": args.calls,
        "completed": sum(1 for c in result.calls if c.outcome == "completed"),
        "processes": {"responders": slots + 2, "callers": result.workers},
        "media_both_ways": len(with_media),
        "invite_to_answer_p95_s": _p95([c.sip_answer_s for c in result.calls]),
        "startup_s": round(farm_ready - started, 1),
        "run_wall_s": result.wall_s,
    }))
    return 0


def _p95(values: list[float | None]) -> float | None:
    data = sorted(v for v in values if v is not None)
    return data[min(len(data) - 1, int(0.95 * len(data)))] if data else None


if __name__ == "__main__":
    sys.exit(main())
