"""Helpers for the live engine's end-to-end tests on the Asterisk stand-in.

A *node* is what one ``hotline serve`` process runs for routing: a :class:`Leadership` on the
shared Redis and, while it leads, a :class:`LiveEngine` connected to the stand-in. A *screen*
plays the agents' browsers: it receives every pop published for them and acknowledges it, as
the API's WebSocket does, noting the real time of delivery.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cti.ami.client import AmiSettings
from cti.clock import ScaledClock
from cti.commands import submit
from cti.leader import Leadership
from cti.live import EngineOptions, LiveEngine
from cti.ports import Command
from hotline.config.routing import Routing
from hotline.store import StateStore

SCALE = 0.01  # 1 simulated second = 10 ms


def routing(**settings: Any) -> Routing:
    return Routing.model_validate({
        "skills": ["general", "english"],
        "queues": {
            "support": {"skills": {"general": 1}, "wrap_up_s": 20, "policy": "longest_idle"},
            "general": {"skills": {"general": 1}, "wrap_up_s": 0, "policy": "longest_idle"},
        },
        "agents": [
            {"id": f"a{i}", "name": f"Agent {i}", "extension": f"100{i}",
             "skills": {"general": 5}} for i in range(1, 5)
        ],
        "settings": {"default_queue": "general", "ring_timeout_s": 10, **settings},
    })


@dataclass
class Node:
    """One process's routing side: leadership plus, while leading, the live engine."""

    name: str
    store: StateStore
    port: int
    routing: Routing
    ttl_s: float = 3.0
    options: EngineOptions = field(default_factory=lambda: EngineOptions(
        snapshot_interval_s=5.0, queue_status_interval_s=0.05, command_block_ms=20))
    observers: Callable[[], list[Any]] = list
    scale: float = SCALE  # the engine's clock: equal to the stand-in's time_scale
    engines: list[LiveEngine] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    leadership: Leadership | None = None

    def start(self) -> Node:
        self.leadership = Leadership(self.store, self.name, ttl_s=self.ttl_s)
        self.task = asyncio.get_running_loop().create_task(self.leadership.run(self._lead),
                                                           name=f"node-{self.name}")
        return self

    async def _lead(self, token: int) -> None:
        assert self.leadership is not None
        engine = LiveEngine(
            self.routing, store=self.store, leadership=self.leadership,
            ami=AmiSettings(port=self.port, username="cti", secret="cti-secret",
                            backoff_initial=0.01, backoff_max=0.05, ping_interval=5.0),
            clock=ScaledClock(self.scale), options=self.options, observers=self.observers())
        self.engines.append(engine)
        await engine.run()

    @property
    def engine(self) -> LiveEngine:
        return self.engines[-1]

    async def ready(self, timeout: float = 5.0) -> LiveEngine:
        await wait_until(lambda: bool(self.engines) and self.engine.ready.is_set(), timeout)
        return self.engine

    async def crash(self) -> None:
        """The process dies: everything stops, the lease is *not* released."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def stop(self) -> None:
        await self.crash()
        if self.leadership is not None and self.leadership.is_leader:
            await self.leadership.release()


class Screen:
    """Every agent's browser: receives pops (pattern ``pop:*``) and acknowledges them."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.pops: list[dict[str, Any]] = []
        self.delivered: dict[str, float] = {}  # contact -> real time the pop arrived
        self.task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> Screen:
        self.task = asyncio.get_running_loop().create_task(self._run(), name="screen")
        await asyncio.wait_for(self._subscribed.wait(), 5)
        return self

    async def _run(self) -> None:
        pubsub = self.store.redis.pubsub()
        await pubsub.psubscribe(self.store.key("pop", "*"))
        self._subscribed.set()
        try:
            async for message in pubsub.listen():
                if message["type"] != "pmessage":
                    continue
                pop = json.loads(message["data"])
                now = time.time()
                self.pops.append(pop)
                self.delivered[pop["contact"]] = now
                await self.store.publish(self.store.key("popack"), {
                    "type": "pop_ack", "pop_id": pop["pop_id"], "agent": pop["agent"],
                    "delivered_at": now})
        finally:
            await pubsub.aclose()

    def for_agent(self, agent: str) -> list[dict[str, Any]]:
        return [p for p in self.pops if p["agent"] == agent]

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


async def command(store: StateStore, kind: str, agent: str, **extra: Any) -> None:
    await submit(store, Command(kind, agent, "test", **extra))  # type: ignore[arg-type]


async def login_ready(store: StateStore, *agents: str) -> None:
    for agent in agents:
        await command(store, "agent_login", agent)
        await command(store, "agent_ready", agent)


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.005)


def agent_state(engine: LiveEngine, agent: str) -> tuple[str, str]:
    assert engine.engine is not None
    view = engine.engine.router.agent(agent)
    return view.state, view.reason
