"""The WebSockets on a real uvicorn server and real Redis, with the ``websockets`` client.

Every message a test receives is checked against ``cti/schemas/ws_messages.json``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from api_support import agent_status, check, queue_status, seed_board, serving
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from cti.api import ApiServer, create_app
from cti.api.errors import ApiError
from cti.api.ws import Feed
from cti.customers import DatabaseCustomers, customer_for_call, import_csv
from cti.pop import build_pop, pop_for_offer
from cti.ports import ScreenPop, to_message
from cti.schemas import ws_messages_schema
from hotline.auth import TokenStore
from hotline.db import Database
from hotline.store import StateStore

SCHEMA = ws_messages_schema()
NOW = 1_763_800_000.0


class Screen:
    """One WebSocket client; every message it receives must match the schema."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
        assert check(SCHEMA, message) == [], message
        return message

    async def closed_with(self) -> tuple[int, dict[str, Any]]:
        """The error message and the close code of a refused connection."""
        error = await self.next()
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(self.connection.recv(), 5.0)
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code, error


@dataclass
class Live:
    server: ApiServer
    store: StateStore
    tokens: dict[str, str]
    delivered_clock: list[float]
    connections: list[ClientConnection] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.server.url.replace("http://", "ws://") + path

    async def open(self, path: str, who: str | None = None, *, via: str = "header",
                   query: str = "") -> Screen:
        headers = {}
        params = [query] if query else []
        if who is not None and via == "header":
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        elif who is not None:
            params.append(f"token={self.tokens[who]}")
        url = self.url(path) + ("?" + "&".join(params) if params else "")
        connection = await connect(url, additional_headers=headers, open_timeout=5)
        self.connections.append(connection)
        return Screen(connection)

    async def publish(self, *parts_and_message: Any) -> None:
        *parts, message = parts_and_message
        await self.store.publish(self.store.key(*parts), message)


@pytest.fixture
async def live(store: StateStore, database: Database) -> AsyncIterator[Live]:
    token_store = TokenStore(database)
    tokens = {who: token_store.issue(who, role) for who, role in [
        ("a01", "agent"), ("a02", "agent"), ("sup", "supervisor"), ("adm", "admin")]}
    await seed_board(store, ["a01", "a02"], ["billing", "support"])
    ticks = iter(NOW + 100 + i for i in range(1000))
    delivered: list[float] = []

    def clock() -> float:
        delivered.append(next(ticks))
        return delivered[-1]

    async with serving(create_app(store, database, token_store, clock=clock)) as server:
        state = Live(server, store, tokens, delivered)
        try:
            yield state
        finally:
            for connection in state.connections:
                await connection.close()


def pop_for(agent: str, pop_id: str) -> ScreenPop:
    return build_pop(
        pop_id=pop_id, call_id=f"call-{pop_id}", agent=agent, contact=f"c-{pop_id}",
        queue="billing", caller_id="+4930123456", wait_s=12.3456,
        customer={"id": "C-1", "name": "Erika Muster", "tier": "gold", "balance": 42.5},
        ivr_path=["greeting", "reason", "account"], inputs={"reason": "2", "pin": "****"},
        attributes={"reason": "billing"}, now=NOW)


async def test_an_agent_gets_hello_and_their_state_then_only_their_own_pops(live: Live) -> None:
    screen = await live.open("/ws/agent", "a01")
    assert await screen.next() == {"type": "hello", "subject": "a01", "role": "agent"}
    assert await screen.next() == to_message(agent_status("a01"))

    await live.publish("pop", "a02", to_message(pop_for("a02", "p-other")))
    await live.publish("agent", "a02", to_message(agent_status("a02", "ready")))
    await live.publish("pop", "a01", to_message(pop_for("a01", "p-mine")))
    pop = await screen.next()
    assert pop["type"] == "pop" and pop["pop_id"] == "p-mine" and pop["agent"] == "a01"
    assert pop["inputs"]["pin"] == "****"
    await live.publish("agent", "a01", to_message(agent_status("a01", "reserved")))
    assert (await screen.next())["state"] == "reserved"


async def test_a_pop_sent_to_the_screen_is_acknowledged_on_popack(live: Live) -> None:
    async with Feed(live.store, [live.store.key("popack")]) as acks:
        screen = await live.open("/ws/agent", "a01", via="query")
        assert (await screen.next())["type"] == "hello"
        await screen.next()  # the state snapshot
        await live.publish("pop", "a01", to_message(pop_for("a01", "p-1")))
        assert (await screen.next())["pop_id"] == "p-1"
        channel, ack = await asyncio.wait_for(anext(acks.messages()), 5)
    assert channel == live.store.key("popack")
    assert ack == {"type": "pop_ack", "pop_id": "p-1", "agent": "a01",
                   "delivered_at": live.delivered_clock[-1]}


async def test_a_pop_for_someone_else_on_an_agents_channel_is_never_shown(
        live: Live, caplog: pytest.LogCaptureFixture) -> None:
    async with Feed(live.store, [live.store.key("popack")]) as acks:
        screen = await live.open("/ws/agent", "a01")
        await screen.next(), await screen.next()
        await live.publish("pop", "a01", to_message(pop_for("a02", "misrouted")))
        await live.publish("pop", "a01", to_message(pop_for("a01", "right")))
        assert (await screen.next())["pop_id"] == "right"
        _channel, ack = await asyncio.wait_for(anext(acks.messages()), 5)
    assert ack["pop_id"] == "right"
    assert any("dropped" in r.getMessage() for r in caplog.records)


async def test_an_agent_token_is_refused_for_another_agents_screen(live: Live) -> None:
    screen = await live.open("/ws/agent", "a01", query="agent=a02")
    code, error = await screen.closed_with()
    assert code == 4403 and error["error_id"] == "forbidden" and "a02" in error["message"]
    # the same token for its own agent is fine, by header or by query
    own = await live.open("/ws/agent", "a01", query="agent=a01")
    assert (await own.next())["type"] == "hello"


async def test_refused_websockets_say_why(live: Live) -> None:
    live.tokens["ghost"] = "htl_nothing"
    for path, who, via, code, error_id in [
        ("/ws/agent", None, "header", 4401, "unauthorized"),
        ("/ws/agent", "ghost", "query", 4401, "unauthorized"),
        ("/ws/agent", "sup", "header", 4403, "forbidden"),
        ("/ws/supervisor", "a01", "query", 4403, "forbidden"),
        ("/ws/supervisor", None, "header", 4401, "unauthorized"),
    ]:
        screen = await live.open(path, who, via=via)
        closed, error = await screen.closed_with()
        assert (closed, error["error_id"]) == (code, error_id), (path, who)
        assert error["message"]


async def test_supervisors_get_the_board_then_queue_and_agent_updates(live: Live) -> None:
    screen = await live.open("/ws/supervisor", "sup")
    assert await screen.next() == {"type": "hello", "subject": "sup", "role": "supervisor"}
    snapshot = [await screen.next() for _ in range(4)]
    assert [(m["type"], m.get("agent") or m.get("queue")) for m in snapshot] == [
        ("agent_state", "a01"), ("agent_state", "a02"),
        ("queue_state", "billing"), ("queue_state", "support")]
    update = to_message(replace(queue_status("billing", waiting=3), longest_wait_s=41.0))
    await live.publish("supervisor", update)
    await live.publish("supervisor", to_message(agent_status("a02", "not_ready",
                                                             reason="lunch")))
    assert await screen.next() == update
    assert (await screen.next())["reason"] == "lunch"
    admin = await live.open("/ws/supervisor", "adm")
    assert (await admin.next())["role"] == "admin"


async def test_a_disconnected_screen_releases_its_subscription(live: Live) -> None:
    screen = await live.open("/ws/agent", "a02")
    await screen.next()
    await screen.connection.close()
    channel = live.store.key("pop", "a02")
    deadline = time.monotonic() + 5
    while True:  # the server notices the close asynchronously: wait for Redis to agree
        numsub = dict(await live.store.redis.pubsub_numsub(channel))
        if numsub.get(channel, 0) == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    assert numsub.get(channel, 0) == 0



async def test_a_pop_for_an_imported_customer_reaches_the_screen_before_its_ack(
        live: Live, database: Database, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("id,name,phone,account,tier,balance\n"
                    "C-7,Erika Muster,+49 30 123456,0042,gold,42.50\n", encoding="utf-8")
    import_csv(database, path, now=dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    offer = {"contact": "k-7", "queue": "billing", "caller_id": "+4930123456", "wait_s": 8.0,
             "customer_id": None, "ivr_path": ["greeting", "pin"], "inputs": {"pin": "****"},
             "attributes": {}}
    customer = await customer_for_call(DatabaseCustomers(database), None, offer["caller_id"])
    pop = pop_for_offer(offer, pop_id="p-7", call_id="call-7", agent="a01", customer=customer,
                        now=NOW)
    async with Feed(live.store, [live.store.key("popack")]) as acks:
        screen = await live.open("/ws/agent", "a01")
        await screen.next(), await screen.next()
        await live.publish("pop", "a01", to_message(pop))
        shown = await screen.next()
        _channel, ack = await asyncio.wait_for(anext(acks.messages()), 5)
    assert shown["customer"]["name"] == "Erika Muster" and shown["customer"]["balance"] == 42.5
    assert shown["inputs"] == {"pin": "****"}
    assert ack["pop_id"] == "p-7" and ack["delivered_at"] >= shown["sent_at"]


async def test_a_screen_is_told_when_redis_is_unavailable(database: Database) -> None:
    token_store = TokenStore(database)
    token = token_store.issue("a01", "agent")
    dead = StateStore(aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5,
                                     retry=Retry(NoBackoff(), 0)))
    async with serving(create_app(dead, database, token_store)) as server:
        url = server.url.replace("http://", "ws://") + f"/ws/agent?token={token}"
        async with connect(url, open_timeout=5) as connection:
            screen = Screen(connection)
            code, error = await screen.closed_with()
    await dead.redis.aclose()
    assert code == 1011 and error["error_id"] == "store_unavailable"


def test_a_port_in_use_is_a_plain_error(database: Database) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = create_app(cast(Any, None), database, TokenStore(database))
        with pytest.raises(ApiError, match=rf"127.0.0.1:{port}: .*http.bind"):
            ApiServer(app, "127.0.0.1", port)
