"""The WebSockets: one per agent screen (pops and own state), one per supervisor board.

A browser cannot set headers on a WebSocket, so the token comes either in the
``Authorization: Bearer`` header or as ``?token=``. The server accepts the connection first and
then checks it, so a refused client learns why: it gets an ``error`` message (the same
``error_id`` as HTTP) and the close code 4401 (no valid token) or 4403 (not allowed).

After the check the server subscribes to the Redis channels (:mod:`cti.ports`) and, once Redis
has confirmed the subscription, sends ``hello``, then the current state (``agent_state``, and
for supervisors every ``queue_state``), then every update as it comes. Nothing published after
``hello`` is missed. On each ``pop`` sent to an agent's screen the server publishes a
:class:`~cti.ports.PopAck` on ``popack``: the leader waits for it before the phone rings.
Messages from the client are read (to notice the close) and ignored. The message schema is
``cti/schemas/ws_messages.json``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError

from cti.api.services import Board
from cti.ports import PopAck, to_message
from hotline.auth import AuthError, Forbidden, Principal, TokenStore, bearer_token
from hotline.errors import HotlineError
from hotline.store import StateStore, StoreError

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_INTERNAL = 1011
SUBSCRIBE_TIMEOUT_S = 5.0


class Feed:
    """Redis pub/sub for one WebSocket: subscribed (and confirmed) on entry."""

    def __init__(self, store: StateStore, channels: list[str]) -> None:
        self.store = store
        self.channels = channels
        self.pubsub = store.redis.pubsub()

    async def __aenter__(self) -> Feed:
        try:
            await self.pubsub.subscribe(*self.channels)
            confirmed = 0
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                while confirmed < len(self.channels):
                    message = await self.pubsub.get_message(timeout=None)
                    if message is not None and message["type"] == "subscribe":
                        confirmed += 1
        except (RedisError, TimeoutError) as exc:
            await self.pubsub.aclose()
            raise StoreError(f"cannot subscribe to {', '.join(self.channels)}: {exc!r}") from exc
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.pubsub.aclose()

    async def messages(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        try:
            async for message in self.pubsub.listen():
                if message["type"] == "message":
                    yield message["channel"], json.loads(message["data"])
        except RedisError as exc:
            raise StoreError(f"lost the Redis subscription: {exc}") from exc


Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


class Sockets:
    """The WebSocket endpoints, with what they need injected."""

    def __init__(self, store: StateStore, tokens: TokenStore, board: Board,
                 clock: Callable[[], float]) -> None:
        self.store = store
        self.tokens = tokens
        self.board = board
        self.clock = clock

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_websocket_route("/ws/agent", self.agent)
        router.add_api_websocket_route("/ws/supervisor", self.supervisor)
        return router

    async def agent(self, websocket: WebSocket) -> None:
        await websocket.accept()
        who = await self._authorize(websocket, "agent")
        if who is None:
            return
        agent = who.subject
        channels = [self.store.key("pop", agent), self.store.key("agent", agent)]

        async def snapshot() -> None:
            for status in await self.board.agents():
                if status.get("agent") == agent:
                    await websocket.send_json(status)

        async def forward(channel: str, message: dict[str, Any]) -> None:
            if message.get("agent") != agent:  # a publisher bug: never show it to this agent
                log.error("message for agent %r on %s dropped (connection of %r)",
                          message.get("agent"), channel, agent, extra={"agent": agent})
                return
            await websocket.send_json(message)
            if message.get("type") == "pop":
                ack = PopAck("pop_ack", message["pop_id"], agent, self.clock())
                await self.store.publish(self.store.key("popack"), to_message(ack))
                log.debug("pop %s delivered to agent %s", ack.pop_id, agent,
                          extra={"agent": agent, "call_id": message.get("call_id")})

        await self._serve(websocket, who, channels, snapshot, forward)

    async def supervisor(self, websocket: WebSocket) -> None:
        await websocket.accept()
        who = await self._authorize(websocket, "supervisor")
        if who is None:
            return

        async def snapshot() -> None:
            for status in [*await self.board.agents(), *await self.board.queues()]:
                await websocket.send_json(status)

        async def forward(_channel: str, message: dict[str, Any]) -> None:
            await websocket.send_json(message)

        await self._serve(websocket, who, [self.store.key("supervisor")], snapshot, forward)

    # ------------------------------------------------------------------ helpers
    async def _authorize(self, websocket: WebSocket, role: str) -> Principal | None:
        """The caller, or None after telling them why not and closing."""
        try:
            header = websocket.headers.get("authorization")
            token = websocket.query_params.get("token")
            if not header and not token:
                raise AuthError("no token: send 'Authorization: Bearer <token>' or connect "
                                "with ?token=<token>")
            secret = bearer_token(header) if header else token
            who = await asyncio.to_thread(self.tokens.authenticate, secret)
            if role == "agent":
                if who.role != "agent":
                    raise Forbidden(f"{who.role} '{who.subject}' has no agent screen; "
                                    "use /ws/supervisor")
                asked = websocket.query_params.get("agent")
                if asked is not None and asked != who.subject:
                    raise Forbidden(f"agent '{who.subject}' may not see or change agent "
                                    f"'{asked}'")
            else:
                who.ensure_role("supervisor")
        except (AuthError, Forbidden) as exc:
            code = CLOSE_UNAUTHORIZED if isinstance(exc, AuthError) else CLOSE_FORBIDDEN
            await self._refuse(websocket, exc, code)
            return None
        return who

    async def _refuse(self, websocket: WebSocket, exc: HotlineError, code: int) -> None:
        try:
            await websocket.send_json({"type": "error", "error_id": exc.error_id,
                                       "message": exc.message})
            await websocket.close(code, reason=exc.error_id)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client left first; there is nobody to tell

    async def _serve(self, websocket: WebSocket, who: Principal, channels: list[str],
                     snapshot: Callable[[], Awaitable[None]], forward: Handler) -> None:
        try:
            async with Feed(self.store, channels) as feed, asyncio.TaskGroup() as tasks:
                await websocket.send_json({"type": "hello", "subject": who.subject,
                                           "role": who.role})
                await snapshot()
                pump = tasks.create_task(self._pump(feed, forward))
                while (await websocket.receive())["type"] != "websocket.disconnect":
                    pass  # client messages are ignored
                pump.cancel()
        except* WebSocketDisconnect:
            pass  # the client closed while we were sending: nothing left to do
        except* StoreError as failed:
            log.error("WebSocket of %s '%s' closed: %s", who.role, who.subject,
                      failed.exceptions[0], extra={"agent": who.subject})
            await self._refuse(websocket, failed.exceptions[0], CLOSE_INTERNAL)

    async def _pump(self, feed: Feed, forward: Handler) -> None:
        async for channel, message in feed.messages():
            await forward(channel, message)
