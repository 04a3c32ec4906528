"""The Asterisk stand-in: an AMI server on 127.0.0.1 in front of the emulated switch.

::

    async with AsteriskStandin(time_scale=0.001) as asterisk:   # listens on 127.0.0.1:<port>
        engine = connect_cti("127.0.0.1", asterisk.port, "cti", "cti-secret")
        caller = asterisk.pbx.call_in("2001")     # or drive it with sim.asterisk.World

It is a test and demo harness, not a PBX (ARCHITECTURE.md, decision 4): it speaks AMI like
Asterisk 22 for the Hotline dialplan and nothing else. Tests also use it to break things on
purpose: :meth:`drop_connections` closes every AMI socket from the server side, and
:meth:`restart` is an Asterisk restart (every channel gone without events, clients disconnected,
a new uptime and ``FullyBooted`` on the next login).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Callable, Coroutine
from pathlib import Path

from cti.ami.protocol import AmiMessage
from sim.asterisk.ami_server import AmiSession, encode
from sim.asterisk.channels import Fields
from sim.asterisk.clock import DEFAULT_EPOCH, ScaledClock
from sim.asterisk.errors import StandinError
from sim.asterisk.mixmonitor import Recording
from sim.asterisk.pbx import Pbx

log = logging.getLogger(__name__)
EventListener = Callable[[AmiMessage], None]
_CALLER_ID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')


class AsteriskStandin:
    """AMI server + emulated switch; see the module docstring and docs/standin.md."""

    def __init__(self, *, username: str = "cti", secret: str = "cti-secret",
                 host: str = "127.0.0.1", port: int = 0, time_scale: float = 1.0,
                 ring_timeout: float = 10.0, default_queue: str = "support",
                 recordings_root: str | Path | None = None,
                 epoch: float = DEFAULT_EPOCH, event_log: int | None = 100_000) -> None:
        self.username = username
        self.secret = secret
        self.host = host
        self.port = port
        self.clock = ScaledClock(time_scale, epoch)
        self.recordings_root = Path(recordings_root) if recordings_root is not None else None
        self.pbx = Pbx(self.clock, self.broadcast, ring_timeout=ring_timeout,
                       default_queue=default_queue)
        # The last ``event_log`` events sent (all of them with None), for tests and traces.
        self.events: deque[AmiMessage] = deque(maxlen=event_log)
        self.globals: dict[str, str] = {}
        self.dtmf_played: list[tuple[str, str]] = []
        self.sessions: list[AmiSession] = []
        self.logins = 0
        self._listeners: list[EventListener] = []
        self._server: asyncio.Server | None = None
        self._booted_at = 0.0
        self._session_count = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures: list[BaseException] = []
        self._serving: set[asyncio.Task[object]] = set()

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Listen on ``host:port`` (port 0 picks a free one; read it from ``.port``)."""
        self._booted_at = self.clock.now()
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every session and stop listening; pending work is cancelled."""
        await self._close_listener()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self.pbx.reset()
        self.raise_failures()

    async def __aenter__(self) -> AsteriskStandin:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            for session in list(self.sessions):
                session.close()
            # Let every session see its closed socket and finish before the loop ends.
            await asyncio.gather(*self._serving, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def drop_connections(self) -> int:
        """Close every AMI client socket from the server side (channels live on)."""
        sessions = list(self.sessions)
        for session in sessions:
            session.close()
        await asyncio.sleep(0)
        return len(sessions)

    async def restart(self, downtime: float = 0.0) -> None:
        """An Asterisk restart: Shutdown event, sockets closed, all channels gone, and after
        ``downtime`` simulated seconds the same port listens again (FullyBooted on login)."""
        self.broadcast([("Event", "Shutdown"), ("Privilege", "system,all"),
                        ("Shutdown", "Cleanly"), ("Restart", "True")])
        await self._close_listener()
        self.pbx.reset()
        await self.clock.sleep(downtime)
        await self.start()

    def uptime(self) -> int:
        return int(self.clock.now() - self._booted_at)

    # ----------------------------------------------------------------- sessions and events
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._session_count += 1
        session = AmiSession(self, reader, writer, self._session_count)
        self.sessions.append(session)
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
        try:
            await session.serve()
        finally:
            if task is not None:
                self._serving.discard(task)

    def _forget(self, session: AmiSession) -> None:
        if session in self.sessions:
            self.sessions.remove(session)

    def broadcast(self, fields: Fields) -> None:
        """Send one event to every logged-in session with events on, log it, notify listeners."""
        data = encode(fields)
        for session in list(self.sessions):
            session.send_event(data)
        message = AmiMessage(tuple(fields))
        self.events.append(message)
        for listener in list(self._listeners):
            listener(message)

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener`` with every event emitted from now on; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def spawn(self, coro: Coroutine[object, object, None], name: str) -> asyncio.Task[None]:
        """Run a stand-in coroutine. A failure is kept in ``failures`` and re-raised by
        :meth:`stop` (and :meth:`World.wait_for`), never silently dropped."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            log.error("stand-in task %s failed", task.get_name(), exc_info=exc)
            self.failures.append(exc)

    def raise_failures(self) -> None:
        """Re-raise the first failure of a stand-in or world task, if any."""
        if self.failures:
            first = self.failures[0]
            raise StandinError(f"a stand-in task failed: {first!r}") from first

    # ----------------------------------------------------------------- actions needing the host
    def recording_path(self, path: str) -> str:
        """Where a MixMonitor ``File`` lands: re-rooted under ``recordings_root`` when set."""
        if self.recordings_root is None:
            return path
        return str(self.recordings_root / path.lstrip("/"))

    @property
    def recordings(self) -> list[Recording]:
        return self.pbx.recordings

    def originate(self, action_id: str | None, channel: str, m: AmiMessage) -> None:
        caller_id = None
        raw = m.get("CallerID")
        if raw:
            match = _CALLER_ID.match(raw)
            caller_id = (match.group(1), match.group(2)) if match else (raw, raw)
        timeout_ms = int(m.get("Timeout") or "30000")
        self.spawn(self.pbx.originate(
            action_id, channel, m.get("Context") or "", m.get("Exten") or "",
            int(m.get("Priority") or "1"), caller_id, timeout_ms / 1000.0),
            name=f"standin-originate-{action_id}")
