"""Helpers for the API tests: a real server on 127.0.0.1, a seeded board, a schema checker.

``check(schema, value)`` validates JSON against the subset of JSON Schema (2020-12) that
``cti/schemas/ws_messages.json`` uses (``jsonschema`` is not a dependency). A keyword it does
not know is an error, never silently ignored, so the checker cannot pass a schema it does not
understand.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI

from cti.api import ApiServer
from cti.ports import AgentStatus, QueueStatus, to_message
from hotline.store import StateStore

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "null": (type(None),), "integer": (int,), "number": (int, float),
}
_ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs", "examples"}
_KNOWN = _ANNOTATIONS | {"$ref", "oneOf", "type", "const", "enum", "required", "properties",
                         "additionalProperties", "items", "minimum", "minLength"}


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[kind])


def check(schema: dict[str, Any], value: Any, *, root: dict[str, Any] | None = None,
          at: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema`` (empty: valid)."""
    root = root if root is not None else schema
    unknown = set(schema) - _KNOWN
    if unknown:
        raise ValueError(f"the checker does not know the keyword(s) {sorted(unknown)} at {at}")
    problems: list[str] = []
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/$defs/"), ref
        problems += check(root["$defs"][ref.removeprefix("#/$defs/")], value, root=root, at=at)
    if "oneOf" in schema:
        passing = [i for i, sub in enumerate(schema["oneOf"])
                   if not check(sub, value, root=root, at=at)]
        if len(passing) != 1:
            problems.append(f"{at}: matches {len(passing)} of the oneOf alternatives, not 1")
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, kind) for kind in kinds):
            return [*problems, f"{at}: {value!r} is not of type {'/'.join(kinds)}"]
    if "const" in schema and value != schema["const"]:
        problems.append(f"{at}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        problems.append(f"{at}: {value} is below {schema['minimum']}")
    if "minLength" in schema and isinstance(value, str) and len(value) < schema["minLength"]:
        problems.append(f"{at}: {value!r} is shorter than {schema['minLength']}")
    if isinstance(value, dict):
        problems += [f"{at}: '{name}' is missing" for name in schema.get("required", [])
                     if name not in value]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                problems += check(properties[name], item, root=root, at=f"{at}.{name}")
            elif extra is False:
                problems.append(f"{at}: unexpected property '{name}'")
            elif isinstance(extra, dict):
                problems += check(extra, item, root=root, at=f"{at}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += check(schema["items"], item, root=root, at=f"{at}[{i}]")
    return problems


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[ApiServer]:
    """``app`` served by uvicorn on a free port of 127.0.0.1 for the block's duration."""
    server = ApiServer(app, "127.0.0.1", 0)
    task = asyncio.create_task(server.serve())
    try:
        yield server
    finally:
        server.stop()
        await task


def agent_status(agent: str, state: str = "logged_out", *, reason: str | None = None,
                 since: float = 1_763_800_000.0) -> AgentStatus:
    return AgentStatus("agent_state", agent, f"Agent {agent}", f"10{agent[-2:]}", state, reason,
                       since, [])


def queue_status(queue: str, waiting: int = 0) -> QueueStatus:
    return QueueStatus("queue_state", queue, waiting, 12.5 if waiting else 0.0, 1, 2,
                       {"offered": 10, "answered": 9, "service_level": 0.9})


async def seed_board(store: StateStore, agents: list[str], queues: list[str]) -> None:
    """The ``agents`` and ``queues`` hashes as the routing leader writes them."""
    await store.put_fields(store.key("agents"),
                           {a: to_message(agent_status(a)) for a in agents})
    await store.put_fields(store.key("queues"),
                           {q: to_message(queue_status(q)) for q in queues})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def commands(store: StateStore) -> list[dict[str, Any]]:
    return [entry for _id, entry in await store.read_stream(store.key("commands"))]


def client(server: ApiServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=5.0)
