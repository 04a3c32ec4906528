"""Screen-pop lead time, measured from the outside.

Hotline promises that an agent's screen shows the caller *before* the phone rings. An agent bot
checks that promise end to end: it holds the agent's WebSocket open like the agent's browser
would, notes when each pop arrives, and compares with the moment the INVITE reached its
softphone. Lead time = ``invite_at - pop_at``: positive is good; a pop after the ring, or no
pop at all, is a failure. Both clocks are ``time.monotonic`` of the same machine.

The socket is Hotline's agent WebSocket, ``ws[s]://HOST:PORT/ws/agent`` (docs/api.md): the
agent's API token goes in ``Authorization: Bearer``; the server answers ``hello`` once it
listens for the agent's updates (only then is the bot ready), then ``agent_state`` messages and
the agent's pops (:class:`cti.ports.ScreenPop`)::

    {"type": "pop", "pop_id": "6f1c...", "call_id": "1763800000.40", "contact": "...",
     "agent": "a001", "queue": "billing", "caller_id": "+4930123456", "customer": {...}, ...}

A refused token gets one ``error`` message and the close code 4401 (not a valid token) or 4403
(not an agent's): that is a setup error, reported at once, never retried. Any other loss of the
socket is retried every second; pops missed meanwhile count as missing.

A pop is matched to an INVITE by the INVITE's ``X-Hotline-Call-Id`` header when the dialplan
adds one (equal to the pop's ``call_id`` or ``contact``), else to the INVITE at the same
softphone from the same number (digits compared, so ``+49 611 000`` and ``0611000`` agree),
nearest in time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import websockets

from sim.sip.bots import AnsweredCall
from sim.sip.errors import PopListenerError

log = logging.getLogger("hotline.sip.pop")

MATCH_WINDOW_S = 30.0
REFUSED = {4401: "not a valid token", 4403: "not allowed"}
_SHORTEST_NUMBER = 6  # fewer digits than this must match exactly


@dataclass(frozen=True, slots=True)
class PopSeen:
    """A pop as the bot of SIP user ``account`` received it (``agent``: Hotline's agent id)."""

    worker: str
    account: str
    agent: str
    pop_id: str
    call_id: str
    contact: str
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


def decode(text: str | bytes, account: str) -> dict[str, Any]:
    """One WebSocket message as a JSON object with a ``type``."""
    try:
        message = json.loads(text)
    except ValueError as error:
        raise PopListenerError(f"agent {account}: WebSocket message is not JSON: {error}") \
            from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise PopListenerError(f"agent {account}: WebSocket message without a type: {text!r}")
    return message


def parse_pop(message: dict[str, Any], account: str, worker: str, at: float) -> PopSeen:
    """A ``pop`` message (already decoded) as a ``PopSeen``."""
    fields = {}
    for name in ("pop_id", "call_id"):
        value = message.get(name)
        if not isinstance(value, str) or not value:
            raise PopListenerError(f"agent {account}: pop without a string {name}: {message!r}")
        fields[name] = value
    caller = message.get("caller_id")
    return PopSeen(worker, account, str(message.get("agent") or ""), fields["pop_id"],
                   fields["call_id"], str(message.get("contact") or ""),
                   str(caller) if caller is not None else None, at)


def same_number(one: str | None, other: str | None) -> bool:
    """Two renderings of one phone number: equal digits, or one national form ending the
    other (``0611000001`` and ``+49611000001``)."""
    if one is None or other is None:
        return False
    a, b = re.sub(r"\D", "", one).lstrip("0"), re.sub(r"\D", "", other).lstrip("0")
    if a == b:
        return bool(a)
    short, long = sorted((a, b), key=len)
    return len(short) >= _SHORTEST_NUMBER and long.endswith(short)


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
        return next((p for p in pops if invite.hotline_call_id in (p.call_id, p.contact)), None)
    candidates = [p for p in pops if p.account == invite.account
                  and same_number(p.caller_id, invite.caller)
                  and abs(invite.invite_at - p.at) <= MATCH_WINDOW_S]
    return min(candidates, key=lambda p: abs(invite.invite_at - p.at), default=None)


class PopListener:
    """One agent WebSocket per softphone account, on a private thread and event loop.

    ``agents`` pairs each SIP account with the API token of the Hotline agent who uses it.
    ``start`` connects them all; ``wait_ready`` blocks until every socket said ``hello`` and
    raises :class:`PopListenerError` for a refused one. Pops go to ``emit`` as ``PopSeen``.
    """

    def __init__(self, url: str, agents: Sequence[tuple[str, str]], *,
                 emit: Callable[[PopSeen], None], worker: str = "",
                 clock: Callable[[], float] = time.monotonic,
                 retry_s: float = 1.0) -> None:
        self._url = url
        self._agents = tuple(agents)
        self._emit = emit
        self._worker = worker
        self._clock = clock
        self._retry_s = retry_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._settled = {account: threading.Event() for account, _ in self._agents}
        self.subjects: dict[str, str] = {}  # SIP account -> Hotline agent id (from hello)
        self.refused: dict[str, str] = {}  # SIP account -> why the server refused it
        self.errors: list[str] = []  # connection problems that were retried

    def start(self) -> PopListener:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pop-listener",
                                        daemon=True)
        self._thread.start()
        for account, token in self._agents:
            asyncio.run_coroutine_threadsafe(self._listen(account, token), self._loop)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Every socket has said hello; raises PopListenerError naming the first that did not."""
        deadline = time.monotonic() + timeout
        for account, event in self._settled.items():
            event.wait(max(0.0, deadline - time.monotonic()))
            if account in self.refused:
                raise PopListenerError(f"agent {account}: Hotline refused the screen-pop "
                                       f"socket: {self.refused[account]}; check the token in "
                                       "the agents file")
            if not event.is_set():
                last = f" (last error: {self.errors[-1]})" if self.errors else ""
                raise PopListenerError(f"agent {account}: no hello on {self._url} within "
                                       f"{timeout:g} s{last}")

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

    async def _listen(self, account: str, token: str) -> None:
        url = self._url.replace("{agent}", account)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        while True:
            refusal = ""
            try:
                async with websockets.connect(url, additional_headers=headers,
                                              open_timeout=10) as socket:
                    try:
                        async for raw in socket:
                            try:
                                refusal = self._receive(account, decode(raw, account)) or refusal
                            except PopListenerError as error:  # one bad message, not the socket
                                self.errors.append(str(error))
                                log.error("%s", error)
                    except websockets.ConnectionClosed:
                        pass  # the close code below says whether to come back
                    code = socket.close_code
                if code in REFUSED:
                    self.refused[account] = f"{refusal or REFUSED[code]} (close code {code})"
                    self._settled[account].set()
                    return
                raise PopListenerError(f"agent {account}: the server closed the socket "
                                       f"(code {code})")
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, websockets.WebSocketException,
                    PopListenerError) as error:
                # The run goes on without pops from this agent; the report counts them missing.
                self.errors.append(f"agent {account}: {error}")
                log.warning("screen-pop socket for agent %s: %s; retrying in %g s", account,
                            error, self._retry_s)
                await asyncio.sleep(self._retry_s)

    def _receive(self, account: str, message: dict[str, Any]) -> str | None:
        """Handle one message; returns the text of an ``error`` message."""
        kind = message["type"]
        if kind == "pop":
            self._emit(parse_pop(message, account, self._worker, self._clock()))
        elif kind == "hello":
            self.subjects[account] = str(message.get("subject"))
            self._settled[account].set()
        elif kind == "error":
            return f"{message.get('message')} ({message.get('error_id')})"
        return None
