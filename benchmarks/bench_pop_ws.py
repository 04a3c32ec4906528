"""Screen-pop delivery through the API: publish on ``pop:<agent>`` -> WebSocket -> ``popack``.

The leader publishes a pop and waits for its PopAck before it redirects the caller to the
agent's phone, so this round trip is the part of the pop lead time the API adds. The benchmark
runs the real app on uvicorn (127.0.0.1), an embedded Redis and a SQLite token store, opens one
WebSocket per agent (60 by default, the target floor), and publishes pops to random agents at a
steady rate, each timed from publish to the PopAck arriving back on ``popack`` (the leader's
view). Prints one JSON object: pops, lost, p50_ms, p99_ms, max_ms, agents, rate_per_s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from cti.api import ApiServer, create_app
from cti.api.ws import Feed
from cti.pop import build_pop
from cti.ports import AgentStatus, to_message
from hotline.auth import TokenStore
from hotline.db import open_database
from hotline.store import RedisServer, StateStore


async def drain(connection: object) -> None:
    async for _message in connection:  # type: ignore[attr-defined]
        pass


async def run(agents: int, pops: int, rate: float, seed: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="bench_pop_ws"))
    redis = RedisServer.start("", folder / "redis")
    database = open_database("", data_dir=folder / "db")
    client = redis.client()
    store = StateStore(client, namespace="bench")
    tokens = TokenStore(database)
    ids = [f"a{i:03d}" for i in range(agents)]
    secrets = {a: tokens.issue(a, "agent") for a in ids}
    await store.put_fields(store.key("agents"), {
        a: to_message(AgentStatus("agent_state", a, a, a, "ready", None, 0.0, [])) for a in ids})
    server = ApiServer(create_app(store, database, tokens), "127.0.0.1", 0)
    serving = asyncio.create_task(server.serve())
    sent: dict[str, float] = {}
    round_trips: list[float] = []
    rng = random.Random(seed)
    try:
        async with Feed(store, [store.key("popack")]) as acks, asyncio.TaskGroup() as tasks:
            url = server.url.replace("http://", "ws://") + "/ws/agent?token="
            connections = []
            for agent in ids:
                connection = await connect(url + secrets[agent])
                json.loads(await connection.recv())  # hello: the subscription is live
                connections.append(connection)
                tasks.create_task(drain(connection))

            async def collect() -> None:
                async for _channel, ack in acks.messages():
                    round_trips.append(time.perf_counter() - sent.pop(ack["pop_id"]))
                    if len(round_trips) == pops:
                        return

            collector = tasks.create_task(collect())
            for n in range(pops):
                agent = rng.choice(ids)
                pop = build_pop(pop_id=f"p{n}", call_id=f"c{n}", agent=agent, contact=f"k{n}",
                                queue="billing", caller_id="+4930123456", wait_s=12.0,
                                customer={"id": "C-1", "name": "Erika Muster", "tier": "gold"},
                                ivr_path=["greeting", "reason"], inputs={"reason": "2"},
                                attributes={"reason": "invoice"}, now=time.time())
                sent[pop.pop_id] = time.perf_counter()
                await store.publish(store.key("pop", agent), to_message(pop))
                await asyncio.sleep(1 / rate)
            try:
                async with asyncio.timeout(5):
                    await collector
            except TimeoutError:
                collector.cancel()
            for connection in connections:
                await connection.close()
    finally:
        server.stop()
        await serving
        await client.aclose()
        redis.stop()
        database.close()
    ms = sorted(t * 1000 for t in round_trips)
    return {
        "pops": pops, "lost": pops - len(ms), "agents": agents, "rate_per_s": rate,
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
        "max_ms": round(ms[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--pops", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="pops per second")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.agents, args.pops, args.rate, args.seed))))


if __name__ == "__main__":
    main()
