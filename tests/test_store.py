"""The state store against real Redis servers (embedded always, the machine's in CI)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hotline.store import Lease, LeaseLost, RedisServer, StateStore, StoreError


async def test_json_values_and_ttl(store: StateStore) -> None:
    key = store.key("agent", "a001")
    await store.set_json(key, {"state": "ready", "since": 12.5})
    assert await store.get_json(key) == {"state": "ready", "since": 12.5}
    await store.set_json(store.key("tmp"), [1, 2], ttl_s=0.05)
    await asyncio.sleep(0.15)
    assert await store.get_json(store.key("tmp")) is None


async def test_hash_fields_round_trip_types(store: StateStore) -> None:
    key = store.key("contact", "c1")
    await store.put_fields(key, {"queue": "billing", "priority": 5, "vip": True, "skills": {}})
    assert await store.get_fields(key) == {
        "queue": "billing", "priority": 5, "vip": True, "skills": {},
    }
    await store.remove_fields(key, "vip")
    assert "vip" not in await store.get_fields(key)


async def test_stream_append_and_read_after(store: StateStore) -> None:
    stream = store.key("router", "log")
    ids = [await store.append(stream, {"t": t, "type": "tick"}) for t in range(5)]
    entries = await store.read_stream(stream)
    assert [entry["t"] for _, entry in entries] == [0, 1, 2, 3, 4]
    later = await store.read_stream(stream, after=ids[2])
    assert [entry["t"] for _, entry in later] == [3, 4]


async def test_publish_reaches_subscriber(store: StateStore) -> None:
    channel = store.key("events")
    received: list[tuple[str, object]] = []

    async def listen() -> None:
        async for item in store.subscribe(channel):
            received.append(item)
            return

    task = asyncio.create_task(listen())
    for _ in range(100):  # the subscription is live once publish reaches a receiver
        if await store.publish(channel, {"type": "pop", "agent": "a001"}):
            break
        await asyncio.sleep(0.01)
    await asyncio.wait_for(task, 2)
    assert received == [(channel, {"type": "pop", "agent": "a001"})]


async def test_lease_is_exclusive_and_fenced(store: StateStore) -> None:
    first = Lease(store, "routing", "proc-1", ttl_s=0.2)
    second = Lease(store, "routing", "proc-2", ttl_s=0.2)
    token = await first.acquire()
    assert token > 0
    assert await second.acquire() == 0
    assert await first.acquire() == token  # renewal keeps the token
    await first.guarded_set(store.key("decision"), "offer")
    await asyncio.sleep(0.3)  # first stalls past its lease
    newer = await second.acquire()
    assert newer > token
    with pytest.raises(LeaseLost):
        await first.guarded_set(store.key("decision"), "stale offer")
    assert await store.get_json(store.key("decision")) == "offer"
    await second.release()
    assert await first.acquire() > newer


async def test_unreachable_server_is_a_store_error() -> None:
    server = RedisServer.start("redis://127.0.0.1:1/0", Path("/nonexistent"))
    client = server.client()
    with pytest.raises(StoreError, match="Redis operation failed"):
        await StateStore(client).ping()
    await client.aclose()


async def test_embedded_server_keeps_state_across_restart(tmp_path: Path) -> None:
    first = RedisServer.start("", tmp_path)
    client = first.client()
    await StateStore(client).set_json("hotline:waiting", ["c1", "c2"])
    await client.aclose()
    first.stop()
    second = RedisServer.start("", tmp_path)
    client = second.client()
    assert await StateStore(client).get_json("hotline:waiting") == ["c1", "c2"]
    await client.aclose()
    second.stop()
