"""IVR throughput: the interpreter alone (simulator's view) and 500 concurrent FastAGI calls.

Run: ``.venv/bin/python benchmarks/bench_fastagi.py``; prints one JSON object.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fastagi_fake import FakeCall  # noqa: E402

from ivr.commands import Digits, Lookup, LookupResult, Menu  # noqa: E402
from ivr.fastagi import FastAgiServer  # noqa: E402
from ivr.interpreter import CallSession  # noqa: E402
from ivr.loader import load_flows  # noqa: E402
from ivr.runtime import FlowRegistry  # noqa: E402

CONFIG = ROOT / "config"
NOW = dt.datetime(2026, 11, 23, 10, 0)


def interpreter(callers: int) -> dict[str, float]:
    flows, _ = load_flows(CONFIG)
    answers = {"choose_language": Digits("1"), "reason": Digits("2")}
    customer = LookupResult({"id": "C-1", "tier": "gold"})
    # CPU time of this process: the figure that matters to the simulator, and stable when
    # other processes share the machine
    started = time.process_time()
    steps = 0
    for _ in range(callers):
        call = CallSession(flows, "main", caller_id="0301234567", now=NOW, uniqueid="b")
        command = call.start()
        while call.outcome is None:
            steps += 1
            if type(command) is Menu:
                result = answers[command.node]
            elif type(command) is Lookup:
                result = customer
            else:
                result = None
            command = call.send(result)
    elapsed = time.process_time() - started
    return {"callers": callers, "cpu_seconds": round(elapsed, 3),
            "us_per_caller": round(elapsed / callers * 1e6, 2),
            "commands_per_caller": round(steps / callers, 1)}


async def fastagi(sessions: int) -> dict[str, float]:
    server = FastAgiServer(FlowRegistry(CONFIG), clock=lambda: NOW)
    port = await server.start("127.0.0.1", 0)
    calls = [FakeCall(uniqueid=f"b.{i}", caller=str(i), digits=["1", str(1 + i % 4),
                                                               "0123456789"])
             for i in range(sessions)]
    started = time.perf_counter()
    await asyncio.gather(*(call.run(port) for call in calls))
    elapsed = time.perf_counter() - started
    await server.close()
    commands = sum(len(call.commands) for call in calls)
    return {"sessions": sessions, "completed": server.stats.completed,
            "seconds": round(elapsed, 3), "sessions_per_s": round(sessions / elapsed, 1),
            "agi_commands_per_s": round(commands / elapsed, 1)}


def main() -> None:
    logging.disable(logging.WARNING)
    result = {"interpreter": interpreter(200_000), "fastagi_concurrent": asyncio.run(
        fastagi(500))}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
