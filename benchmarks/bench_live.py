"""Live engine under load: 500 concurrent calls on the Asterisk stand-in.

500 agents log in through the commands stream, then 500 callers dial in (``--rate`` per real
second, 100 by default: all 500 are in the system together, since every call lasts until the
last caller is in); each is
parked, offered, popped on the agent's screen (a subscriber acknowledging every pop, as the
API's WebSocket does), redirected, answered, talks and hangs up. Everything runs over real
sockets: AMI to the stand-in, Redis (embedded) for state, pops and acks.

Prints one JSON object: ``calls``, ``answered``, ``lost`` (callers not answered, or whose
Router story is not exactly arrive -> accept -> end once), ``pop_lead_p50_ms`` /
``pop_lead_p99_ms`` / ``pop_lead_min_ms`` (pop delivered to the agent's screen -> the agent's
phone starts ringing; positive means the pop came first), ``pops_unacknowledged`` and
``wall_s``. Floors: ``pop_lead_p99_ms`` <= 50 and ``lost`` == 0.

Everything (stand-in, simulated callers and agents, the screen subscriber, the engine) shares
one process and one core, so the figures include the harness's own load.

    .venv/bin/python benchmarks/bench_live.py [--calls 500] [--rate 100] [--scale 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from live_support import Node, Screen, login_ready, wait_until

from acd.codec import event_from_json
from acd.events import ContactAbandon, ContactArrive, ContactEnd, OfferAccept
from cti.live import EngineOptions
from hotline.config.routing import Routing
from hotline.store import RedisServer, StateStore
from sim.asterisk import AgentScript, AsteriskStandin, World


def routing(agents: int) -> Routing:
    return Routing.model_validate({
        "skills": ["general"],
        "queues": {"support": {"skills": {"general": 1}, "wrap_up_s": 5}},
        "agents": [{"id": f"a{i:04d}", "name": f"Agent {i}", "extension": f"{10000 + i}",
                    "skills": {"general": 5}} for i in range(agents)],
        "settings": {"default_queue": "support", "ring_timeout_s": 20},
    })


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def run(calls: int, scale: float, rate: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-live-") as folder:
        redis = RedisServer.start("", Path(folder))
        store = StateStore(redis.client(), namespace="bench")
        try:
            async with AsteriskStandin(time_scale=scale, ring_timeout=20) as standin:
                world = World(standin)
                config = routing(calls)
                for agent in config.agents:
                    # Everyone talks until the last caller is in: 500 calls at once.
                    world.add_agent(agent.extension, script=AgentScript(
                        answer_after=2.0, talk_for=(calls / rate + 3.0) / scale))
                screen = await Screen(store).start()
                node = Node("bench", store, standin.port, config, options=EngineOptions(
                    snapshot_interval_s=30.0)).start()
                engine = await node.ready(timeout=30)
                await login_ready(store, *(a.id for a in config.agents))
                await wait_until(lambda: sum(1 for a in engine.engine.router.agents()
                                             if a.state == "ready") == calls, 60)
                started = time.monotonic()
                callers = [world.add_caller(str(20000 + i)) for i in range(calls)]
                for caller in callers:
                    await world.call(caller)
                    await asyncio.sleep(1.0 / rate)
                peak = sum(1 for c in callers if c.state == "talking")
                await world.wait_for(lambda: all(c.state == "done" for c in callers),
                                     timeout=120)
                await wait_until(lambda: engine.engine.router.contacts() == [], 30)
                wall = time.monotonic() - started
                leads = [p.lead_s * 1000 for p in engine.pop_leads]
                story: dict[str, list[str]] = {}
                for _, data in await store.read_stream(store.key("router", "log"),
                                                       count=10 * calls + 10_000):
                    event = event_from_json(data)
                    if isinstance(event, ContactArrive | OfferAccept | ContactEnd
                                  | ContactAbandon):
                        story.setdefault(event.contact, []).append(data["type"])
                expected = ["contact_arrive", "offer_accept", "contact_end"]
                lost = sum(1 for c in callers if c.outcome != "answered"
                           or story.get(c.uniqueid or "") != expected)
                await node.stop()
                await screen.stop()
                return {
                    "calls": calls,
                    "peak_concurrent_talking": peak,
                    "answered": sum(1 for c in callers if c.outcome == "answered"),
                    "lost": lost,
                    "rings": len(leads),
                    "pop_lead_p50_ms": round(percentile(leads, 0.5), 2),
                    "pop_lead_p99_ms": round(percentile(leads, 0.99), 2),
                    "pop_lead_min_ms": round(min(leads), 2),
                    "pop_lead_max_ms": round(max(leads), 2),
                    "pops_unacknowledged": sum(1 for p in engine.pop_leads
                                               if not p.acknowledged),
                    "wall_s": round(wall, 2),
                    "time_scale": scale,
                    "arrivals_per_s": rate,
                }
        finally:
            await store.redis.aclose()
            redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--scale", type=float, default=0.02,
                        help="real seconds per simulated second on the stand-in")
    parser.add_argument("--rate", type=float, default=100.0,
                        help="callers dialling in per real second (default 100)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(run(args.calls, args.scale, args.rate))))


if __name__ == "__main__":
    main()
