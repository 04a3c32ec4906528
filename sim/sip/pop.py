"""Screen-pop lead time, measured from the outside.

Hotline promises that an agent's screen shows the caller *before* the phone rings. An agent bot
can check that promise end to end: it listens on the agent's WebSocket, notes when each pop
arrives, and compares with the moment the INVITE reached its softphone. Lead time =
``invite_at - pop_at``: positive is good; a pop after the ring, or no pop at all, is a failure.

The message this listener expects (the API is not written yet; this is the contract proposed)::

    {"type": "pop", "call_id": "<hotline call id>", "agent": "1001",
     "caller_id": "0612345678", "customer": {...}, ...}

Other message types are ignored. The socket URL may contain ``{agent}``; the agent's token is
sent as ``Authorization: Bearer <token>``. A pop is matched to an INVITE by the INVITE's
``X-Hotline-Call-Id`` header when the dialplan adds it, else by agent and caller id, nearest
in time. Both clocks are ``time.monotonic`` of the same machine, hence comparable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import websockets

from sim.sip.bots import AnsweredCall
from sim.sip.errors import PopListenerError

log = logging.getLogger("hotline.sip.pop")

MATCH_WINDOW_S = 30.0


@dataclass(frozen=True, slots=True)
class PopSeen:
    worker: str
    agent: str
    call_id: str
    caller_id: str | None
    at: float


@dataclass(frozen=True, slots=True)
class PopLead:
    """One INVITE at an agent and its pop. ``lead_s`` None: no pop seen for it."""

    agent: str
    caller: str
    call_id: str | None
    lead_s: float | None

    @property
    def ok(self) -> bool:
        return self.lead_s is not None and self.lead_s >= 0


def parse_pop(text: str | bytes, agent: str, worker: str, at: float) -> PopSeen | None:
    """A pop message as a ``PopSeen``; None for other message types."""
    try:
        message = json.loads(text)
    except ValueError as error:
        raise PopListenerError(f"agent {agent}: WebSocket message is not JSON: {error}") from None
    if not isinstance(message, dict) or message.get("type") != "pop":
        return None
    call_id = message.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise PopListenerError(f"agent {agent}: pop without a string call_id: {message!r}")
    caller = message.get("caller_id")
    return PopSeen(worker, str(message.get("agent") or agent), call_id,
                   str(caller) if caller is not None else None, at)


def match_pops(pops: Iterable[PopSeen], invites: Iterable[AnsweredCall]) -> list[PopLead]:
    """Pair every INVITE with its pop (see module docstring); each pop is used once."""
    unused = sorted(pops, key=lambda pop: pop.at)
    leads: list[PopLead] = []
    for invite in sorted(invites, key=lambda call: call.invite_at):
        pop = _find(unused, invite)
        if pop is not None:
            unused.remove(pop)
        leads.append(PopLead(invite.account, invite.caller,
                             pop.call_id if pop else invite.hotline_call_id,
                             round(invite.invite_at - pop.at, 4) if pop else None))
    return leads


def _find(pops: Sequence[PopSeen], invite: AnsweredCall) -> PopSeen | None:
    if invite.hotline_call_id:
        return next((p for p in pops if p.call_id == invite.hotline_call_id), None)
    candidates = [p for p in pops if p.agent == invite.account
                  and p.caller_id == invite.caller
                  and abs(invite.invite_at - p.at) <= MATCH_WINDOW_S]
    return min(candidates, key=lambda p: abs(invite.invite_at - p.at), default=None)


class PopListener:
    """One WebSocket per agent, on a private thread and event loop; reports ``PopSeen``."""

    def __init__(self, url: str, agents: Sequence[tuple[str, str]], *,
                 emit: Callable[[PopSeen], None], worker: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._url = url
        self._agents = tuple(agents)
        self._emit = emit
        self._worker = worker
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connected: dict[str, threading.Event] = {
            agent: threading.Event() for agent, _ in self._agents}
        self.errors: list[str] = []

    def start(self) -> PopListener:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pop-listener",
                                        daemon=True)
        self._thread.start()
        for agent, token in self._agents:
            asyncio.run_coroutine_threadsafe(self._listen(agent, token), self._loop)
        return self

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(event.wait(max(0.0, deadline - time.monotonic()))
                   for event in self._connected.values())

    def close(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        self._loop = self._thread = None

    async def _listen(self, agent: str, token: str) -> None:
        url = self._url.replace("{agent}", agent)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        while True:
            try:
                async with websockets.connect(url, additional_headers=headers) as socket:
                    self._connected[agent].set()
                    async for message in socket:
                        pop = parse_pop(message, agent, self._worker, self._clock())
                        if pop is not None:
                            self._emit(pop)
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.WebSocketException, PopListenerError) as error:
                # The run goes on without pops from this agent; the report counts them missing.
                self.errors.append(f"agent {agent}: {error}")
                log.warning("screen-pop socket for agent %s: %s; retrying in 1 s", agent, error)
                await asyncio.sleep(1.0)
