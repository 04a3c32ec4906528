"""The HTTP API on a real uvicorn server, real Redis (``store``) and a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from api_support import bearer, client, commands, seed_board, serving
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cti.api import create_app
from hotline.auth import TokenStore
from hotline.db import Database, tables
from hotline.store import StateStore

AGENTS = ["a01", "a02", "a03"]
QUEUES = ["billing", "support"]


@dataclass
class Api:
    http: httpx.AsyncClient
    tokens: dict[str, str]
    store: StateStore
    database: Database

    async def call(self, who: str | None, method: str, url: str,
                   **kwargs: object) -> httpx.Response:
        headers = bearer(self.tokens[who]) if who else {}
        return await self.http.request(method, url, headers=headers, **kwargs)


@pytest.fixture
async def api(store: StateStore, database: Database) -> AsyncIterator[Api]:
    token_store = TokenStore(database)
    tokens = {who: token_store.issue(who, role) for who, role in [
        ("a01", "agent"), ("a02", "agent"), ("sup", "supervisor"), ("adm", "admin"),
        ("q1", "qa")]}
    await seed_board(store, AGENTS, QUEUES)
    async with serving(create_app(store, database, token_store)) as server, \
            client(server) as http:
        yield Api(http, tokens, store, database)


def assert_error(response: httpx.Response, status: int, error_id: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_id"] == error_id
    assert set(body) == {"error_id", "message", "details"}
    assert body["message"]
    return body


async def test_an_agent_changes_their_own_state_and_the_commands_keep_order_and_author(
        api: Api) -> None:
    steps = [("login", None), ("ready", None), ("not-ready", {"reason": "lunch"}),
             ("ready", None), ("wrap-up/extend", {"seconds": 30}), ("wrap-up/end", None),
             ("recording/pause", None), ("recording/resume", None), ("logout", None)]
    ids = []
    for path, body in steps:
        response = await api.call("a01", "POST", f"/agents/a01/{path}", json=body)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))
    assert await commands(api.store) == [
        {"type": "agent_login", "agent": "a01", "by": "a01"},
        {"type": "agent_ready", "agent": "a01", "by": "a01"},
        {"type": "agent_not_ready", "agent": "a01", "by": "a01", "reason": "lunch"},
        {"type": "agent_ready", "agent": "a01", "by": "a01"},
        {"type": "wrapup_extend", "agent": "a01", "by": "a01", "seconds": 30.0},
        {"type": "wrapup_end", "agent": "a01", "by": "a01"},
        {"type": "recording_pause", "agent": "a01", "by": "a01"},
        {"type": "recording_resume", "agent": "a01", "by": "a01"},
        {"type": "agent_logout", "agent": "a01", "by": "a01"},
    ]


async def test_an_agent_token_is_refused_for_another_agents_data(api: Api) -> None:
    for method, path in [("GET", "/agents/a02"), ("POST", "/agents/a02/ready"),
                         ("POST", "/agents/a02/logout"), ("POST", "/agents/a99/login"),
                         ("GET", "/agents"), ("GET", "/queues"), ("GET", "/queues/billing")]:
        body = assert_error(await api.call("a01", method, path), 403, "forbidden")
        assert "a01" in body["message"]
    assert await commands(api.store) == []
    own = await api.call("a01", "GET", "/agents/a01")
    assert own.status_code == 200
    assert own.json()["agent"] == "a01" and own.json()["state"] == "logged_out"


async def test_supervisors_act_on_any_agent_and_the_command_names_them(api: Api) -> None:
    response = await api.call("sup", "POST", "/agents/a02/not-ready", json={"reason": "coaching"})
    assert response.status_code == 202
    assert response.json()["by"] == "sup"
    await api.call("adm", "POST", "/agents/a03/login")
    assert await commands(api.store) == [
        {"type": "agent_not_ready", "agent": "a02", "by": "sup", "reason": "coaching"},
        {"type": "agent_login", "agent": "a03", "by": "adm"},
    ]
    agents = (await api.call("sup", "GET", "/agents")).json()
    assert [a["agent"] for a in agents] == AGENTS
    assert_error(await api.call("q1", "GET", "/agents"), 403, "forbidden")
    assert_error(await api.call("q1", "POST", "/agents/a01/ready"), 403, "forbidden")


async def test_unknown_agents_and_queues_are_404_with_their_name(api: Api) -> None:
    body = assert_error(await api.call("sup", "POST", "/agents/zz9/ready"), 404,
                        "agent_not_found")
    assert "zz9" in body["message"] and body["details"] == {"agent": "zz9"}
    assert_error(await api.call("sup", "GET", "/agents/zz9"), 404, "agent_not_found")
    body = assert_error(await api.call("sup", "GET", "/queues/sales"), 404, "queue_not_found")
    assert "sales" in body["message"]
    assert await commands(api.store) == []


async def test_supervisors_see_the_queues_live_figures(api: Api) -> None:
    queues = (await api.call("sup", "GET", "/queues")).json()
    assert [q["queue"] for q in queues] == QUEUES
    await api.store.put_fields(api.store.key("queues"), {"billing": {
        "type": "queue_state", "queue": "billing", "waiting": 4, "longest_wait_s": 63.0,
        "agents_ready": 0, "agents_busy": 3, "metrics": {"service_level": 0.71}}})
    billing = (await api.call("sup", "GET", "/queues/billing")).json()
    assert billing["waiting"] == 4 and billing["metrics"] == {"service_level": 0.71}


async def test_bad_requests_are_422_with_the_field_named(api: Api) -> None:
    body = assert_error(await api.call("a01", "POST", "/agents/a01/not-ready", json={}), 422,
                        "invalid_request")
    assert "reason" in body["message"]
    assert_error(await api.call("a01", "POST", "/agents/a01/not-ready",
                                json={"reason": "Coffee Break!"}), 422, "invalid_request")
    body = assert_error(await api.call("a01", "POST", "/agents/a01/wrap-up/extend",
                                       json={"seconds": -5}), 422, "invalid_request")
    assert "seconds" in body["message"]
    assert_error(await api.call("a01", "POST", "/agents/a01/wrap-up/extend",
                                json={"seconds": 99999}), 422, "invalid_request")
    assert await commands(api.store) == []


async def test_requests_without_a_valid_token_are_401(api: Api) -> None:
    assert_error(await api.call(None, "GET", "/agents/a01"), 401, "unauthorized")
    response = await api.http.get("/agents/a01", headers={"Authorization": "Basic abc"})
    assert_error(response, 401, "unauthorized")
    response = await api.http.get("/agents/a01", headers=bearer("htl_not-a-real-token"))
    assert_error(response, 401, "unauthorized")


async def test_admins_issue_and_revoke_tokens_and_only_hashes_are_stored(api: Api) -> None:
    issued = await api.call("adm", "POST", "/tokens", json={"subject": "a03", "role": "agent"})
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert issued.json()["subject"] == "a03" and issued.json()["role"] == "agent"
    assert (await api.http.get("/agents/a03", headers=bearer(token))).status_code == 200
    with api.database.begin() as conn:
        stored = conn.execute(sa.select(tables.api_tokens)).mappings().all()
    assert all(token not in str(dict(row)) for row in stored)

    revoked = await api.call("adm", "DELETE", "/tokens/a03")
    assert revoked.json() == {"subject": "a03", "revoked": 1}
    assert_error(await api.http.get("/agents/a03", headers=bearer(token)), 401, "unauthorized")
    assert_error(await api.call("adm", "DELETE", "/tokens/nobody"), 404, "token_not_found")


async def test_only_admins_manage_tokens(api: Api) -> None:
    for who in ("a01", "sup", "q1"):
        assert_error(await api.call(who, "POST", "/tokens",
                                    json={"subject": who, "role": "admin"}), 403, "forbidden")
        assert_error(await api.call(who, "DELETE", "/tokens/a02"), 403, "forbidden")
    assert_error(await api.call("adm", "POST", "/tokens",
                                json={"subject": "x", "role": "root"}), 422, "invalid_request")
    assert_error(await api.call("adm", "POST", "/tokens",
                                json={"subject": "bad name", "role": "agent"}), 422,
                 "invalid_request")
    # a02's token still works: nothing was revoked by the refused requests
    assert (await api.call("a02", "GET", "/agents/a02")).status_code == 200


async def test_health_needs_no_token_and_checks_redis_and_the_database(api: Api) -> None:
    response = await api.http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "redis": "ok", "database": "ok"}


async def test_a_lost_redis_is_a_503_with_an_error_id(database: Database) -> None:
    token_store = TokenStore(database)
    token = token_store.issue("sup", "supervisor")
    # nothing listens on port 1: every Redis call is refused
    dead = StateStore(aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5,
                                     retry=Retry(NoBackoff(), 0)))
    async with serving(create_app(dead, database, token_store)) as server, \
            client(server) as http:
        assert_error(await http.get("/agents", headers=bearer(token)), 503,
                     "store_unavailable")
        assert_error(await http.get("/health"), 503, "store_unavailable")
    await dead.redis.aclose()
