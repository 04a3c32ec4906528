"""Who routes: the routing lease, its renewal, fencing and failover between processes.

Several ``hotline serve`` processes share one Redis; exactly one of them, the *leader*, holds
the routing lease (``lease:routing``, :class:`hotline.store.Lease`) and runs the live engine.
The others keep trying to take the lease every ``retry_s``; when the leader dies its lease
expires after ``ttl_s`` and a follower takes over, restores the Router from Redis and
resynchronises with Asterisk, so no waiting caller is lost.

A leader that stalls (a long GC pause, a frozen VM) may wake up after a follower took over.
Two guards make sure it can never act on stale state:

* **fencing**: every write of the engine goes through :meth:`Leadership.commit`, a Lua script
  that compares the lease's fencing counter with this leader's token and refuses the whole
  batch when a newer leader exists;
* **check before acting**: :meth:`Leadership.check` is called before every AMI action batch
  (the Redirect of an offer); it fails unless this process still holds the lease *and* its
  token is current.

Both raise :class:`hotline.store.LeaseLost`, which stops the engine; the leader then becomes
a follower again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cti.aio import redis_call
from hotline.store import Lease, LeaseLost, StateStore, StoreError

LEASE_NAME = "routing"

# KEYS: fence counter, lease, router:log, router:snapshot, contacts, agents, commands:applied,
#       callbacks:applied
# ARGV: token, holder, payload JSON {log: [json...], contacts: {id: json|false}, agents: {...},
#       applied: id|null, callbacks_applied: id|null, snapshot: json|null, maxlen: n}
_COMMIT = """
if tonumber(redis.call('GET', KEYS[1])) ~= tonumber(ARGV[1]) then return false end
local p = cjson.decode(ARGV[3])
local last = ''
for _, entry in ipairs(p['log']) do
  last = redis.call('XADD', KEYS[3], 'MAXLEN', '~', p['maxlen'], '*', 'json', entry)
end
for id, value in pairs(p['contacts']) do
  if value == false then redis.call('HDEL', KEYS[5], id)
  else redis.call('HSET', KEYS[5], id, value) end
end
for id, value in pairs(p['agents']) do redis.call('HSET', KEYS[6], id, value) end
if p['applied'] ~= cjson.null then redis.call('SET', KEYS[7], p['applied']) end
if p['callbacks_applied'] ~= cjson.null then
  redis.call('SET', KEYS[8], p['callbacks_applied'])
end
if p['snapshot'] ~= cjson.null then
  if last == '' then
    local tail = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
    if #tail > 0 then last = tail[1][1] end
  end
  redis.call('SET', KEYS[4], '{"log_id":"' .. last .. '","router":' .. p['snapshot'] .. '}')
end
return last
"""

_CHECK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(redis.call('GET', KEYS[2])) ~= tonumber(ARGV[2]) then return 0 end
return 1
"""


@dataclass(slots=True)
class Batch:
    """One fenced write: Router events (replay JSON), contacts/agents hash changes, the ids
    of the last applied command and callback request and, now and then, the Router's
    snapshot."""

    log: list[dict[str, Any]] = field(default_factory=list)
    contacts: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    applied: str | None = None
    callbacks_applied: str | None = None
    snapshot: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return bool(self.log or self.contacts or self.agents or self.applied
                    or self.callbacks_applied or self.snapshot is not None)


class Leadership:
    """The routing lease of one process: elections, renewal, fenced commits, checks."""

    def __init__(self, store: StateStore, holder: str, *, ttl_s: float = 3.0,
                 renew_s: float | None = None, retry_s: float | None = None,
                 log_maxlen: int = 1_000_000, logger: logging.Logger | None = None) -> None:
        self.store = store
        self.holder = holder
        self.ttl_s = ttl_s
        self.renew_s = renew_s if renew_s is not None else ttl_s / 3
        self.retry_s = retry_s if retry_s is not None else ttl_s / 3
        self.log_maxlen = log_maxlen
        self.lease = Lease(store, LEASE_NAME, holder, ttl_s)
        self.log = logger or logging.getLogger("cti.leader")
        self.terms = 0  # how many times this process became leader

    @property
    def token(self) -> int:
        return self.lease.token

    @property
    def is_leader(self) -> bool:
        return self.lease.token > 0

    async def run(self, lead: Callable[[int], Awaitable[None]]) -> None:
        """Forever: wait for the lease, then run ``lead(token)`` while the lease is held.

        ``lead`` is cancelled when the lease is lost; a LeaseLost out of ``lead`` (a fenced
        write or a check refused) makes this process a follower again.
        """
        while True:
            try:
                token = await redis_call(self.lease.acquire())
            except StoreError as exc:
                self.log.warning("cannot reach Redis to take the routing lease: %s", exc)
                token = 0
            if not token:
                await asyncio.sleep(self.retry_s)
                continue
            self.terms += 1
            self.log.warning("%s is the routing leader (fencing token %d)", self.holder, token)
            try:
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(self._keep(token), name="lease-renewal")
                    tasks.create_task(self._lead(lead, token), name="routing-leader")
            except* LeaseLost as group:
                self.log.error("%s lost the routing lease: %s; now a follower", self.holder,
                               group.exceptions[0])
            except* StoreError as group:
                # Redis failed under the engine: stop routing (the fenced state in Redis is
                # consistent), give the lease up if Redis lets us, and stand again.
                self.log.error("%s stops routing, Redis failed: %s", self.holder,
                               group.exceptions[0])
                try:
                    await redis_call(self.lease.release())
                except StoreError as exc:
                    self.log.warning("routing lease not released: %s", exc)
            self.lease.token = 0
            await asyncio.sleep(self.retry_s)

    async def _lead(self, lead: Callable[[int], Awaitable[None]], token: int) -> None:
        await lead(token)
        raise LeaseLost(f"the routing engine of {self.holder} stopped")

    async def _keep(self, token: int) -> None:
        loop = asyncio.get_running_loop()
        last_ok = loop.time()
        while True:
            await asyncio.sleep(self.renew_s)
            try:
                renewed = await redis_call(self.lease.acquire())
            except StoreError as exc:
                # Step down before the lease can expire for the others.
                if loop.time() - last_ok > self.ttl_s * 0.8:
                    raise LeaseLost(f"cannot renew the routing lease: {exc}") from exc
                self.log.warning("routing lease renewal failed, retrying: %s", exc)
                self.lease.token = token
                continue
            if renewed != token:
                raise LeaseLost(f"the routing lease moved to another process (token {renewed})")
            last_ok = loop.time()

    async def release(self) -> None:
        """Give the lease up (clean shutdown) so a follower takes over at once."""
        if self.lease.token:
            await redis_call(self.lease.release())

    async def check(self) -> None:
        """Raise LeaseLost unless this process holds the lease with a current token."""
        ok = await self.store.call(self.store.redis.eval(
            _CHECK, 2, self.lease.key, self.lease.counter, self.holder, self.lease.token))
        if not ok:
            raise LeaseLost(f"{self.holder} (token {self.lease.token}) is no longer the "
                            "routing leader; the action is not sent")

    async def commit(self, batch: Batch) -> str:
        """Write ``batch`` atomically if this leader's token is current; returns the last
        ``router:log`` id written (``''`` when none)."""
        store = self.store
        payload = {
            "log": [json.dumps(e) for e in batch.log],
            "contacts": {k: (json.dumps(v) if v is not None else False)
                         for k, v in batch.contacts.items()},
            "agents": {k: json.dumps(v) for k, v in batch.agents.items()},
            "applied": batch.applied,
            "callbacks_applied": batch.callbacks_applied,
            "snapshot": json.dumps(batch.snapshot) if batch.snapshot is not None else None,
            "maxlen": self.log_maxlen,
        }
        keys = [self.lease.counter, self.lease.key, store.key("router", "log"),
                store.key("router", "snapshot"), store.key("contacts"), store.key("agents"),
                store.key("commands", "applied"), store.key("callbacks", "applied")]
        result = await store.call(store.redis.eval(
            _COMMIT, len(keys), *keys, self.lease.token, self.holder, json.dumps(payload)))
        if result is None:
            raise LeaseLost(f"{self.holder} (token {self.lease.token}) is no longer the "
                            "routing leader; its writes are refused")
        return str(result)

