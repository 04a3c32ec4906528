"""A SIP user agent over pjsua2 that keeps pjsua2 to itself.

pjsua is a process-wide singleton written in C: one endpoint per process, objects that must be
created, used and destroyed on threads pjlib knows, callbacks that arrive from inside its event
polling. ``UserAgent`` owns all of that on one *pump thread*: the thread creates the endpoint
with ``threadCnt = 0`` for both SIP and media (so pjsua starts no polling threads of its own;
RTP shares the SIP ioqueue), then loops on ``libHandleEvents``. Every public method is a command
queued to that thread and awaited through a future; every callback becomes a frozen event on
``UserAgent.events`` (a ``queue.Queue``). The rest of Hotline sees integer call handles and
dataclasses, never a pjsua2 object. This module is the thread-safe facade; what runs on the
pump thread (endpoint, accounts, calls, media, callbacks) is ``sim.sip.core.EndpointCore``.

The endpoint runs with the null audio device (no sound card; the conference bridge is clocked by
a timer) at 8 kHz with G.711 only, which keeps a call's media cheap enough for hundreds of calls
on a small machine. Limits of the pjsua2-python build are checked here, because pjsua *aborts the
process* on some of them instead of returning an error.

Media ports and the asynchronous conference bridge of pjsua 2.15: destroying a player or recorder
frees it while the bridge's clock thread may still touch it for one more tick (pjproject issue
4526), a rare use-after-free that crashed about one worker in 200 calls under load. So a WAV
player is created once per file and shared by every call (a tone loops anyway), never destroyed
while the endpoint runs; the received audio level of every call is sampled from its conference
port (``getRxLevel``, no extra port at all) and reported in ``CallEnded``; per-call recorders,
needed only to look at the audio itself, stay optional.

Shutdown order matters to avoid crashes at interpreter exit: hang up calls, finish recorders
(which writes WAV headers), shut accounts down, ``libDestroy`` (which frees the shared players),
then let go of the Python references, disowning the players so their destructors do not call a
destroyed library. ``close()`` does this, and is registered with ``atexit``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from sim.sip.core import EndpointCore, pj_text
from sim.sip.errors import (
    AudioFileError,
    EndpointBusy,
    SipError,
    SipOperationFailed,
    UserAgentStopped,
)
from sim.sip.events import SipEvent, UserAgentFailed
from sim.sip.settings import (  # re-exported: the user agent's vocabulary
    BUILD_MAX_ACCOUNTS,
    BUILD_MAX_CALLS,
    DTMF_DIGITS,
    RTP_PORTS_PER_PROCESS,
    AccountSpec,
    UaSettings,
    parse_headers,
)

__all__ = [
    "BUILD_MAX_ACCOUNTS",
    "BUILD_MAX_CALLS",
    "RTP_PORTS_PER_PROCESS",
    "AccountSpec",
    "UaSettings",
    "UserAgent",
    "parse_headers",
]

log = logging.getLogger("hotline.sip")

T = TypeVar("T")


class UserAgent:
    """One process's SIP user agent. ``start()`` it, drive it, read ``events``, ``close()`` it."""

    _guard: ClassVar[threading.Lock] = threading.Lock()
    # pjsua is a process singleton; this flag mirrors that fact (not state of ours to share).
    _running_in_process: ClassVar[bool] = False

    def __init__(self, settings: UaSettings | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 events: queue.Queue[Any] | None = None) -> None:
        """``events``: the queue to deliver to (default: a new one), so an owner that also
        waits for other things can wait on one queue for everything."""
        self.settings = settings or UaSettings()
        self.events: queue.Queue[Any] = events if events is not None else queue.Queue()
        self._clock = clock
        self._commands: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._waker: socket.socket | None = None
        self._stopping = threading.Event()
        self._failure: BaseException | None = None
        self._core = EndpointCore(self.settings, self.events, clock, self.fault)

    @property
    def udp_port(self) -> int | None:
        """The bound UDP port (None without a UDP transport, or before start)."""
        return self._core.udp_port

    @property
    def tcp_port(self) -> int | None:
        return self._core.tcp_port

    # ----------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 15.0) -> UserAgent:
        with UserAgent._guard:
            if UserAgent._running_in_process:
                raise EndpointBusy(
                    "a SIP user agent already runs in this process (pjsua is a singleton); "
                    "close it first or use another process"
                )
            UserAgent._running_in_process = True
        ready: Future[None] = Future()
        self._waker = socket.socket(socket.AF_INET6 if ":" in self.settings.bind_host
                                    else socket.AF_INET, socket.SOCK_DGRAM)
        self._thread = threading.Thread(target=self._pump, args=(ready,), name="sip-pump",
                                        daemon=True)
        self._thread.start()
        try:
            ready.result(timeout)
        except BaseException:
            self._stopping.set()
            self._thread.join(timeout)
            self._waker.close()
            self._waker = None
            self._release_singleton()
            raise
        atexit.register(self.close)
        return self

    def close(self, timeout: float = 15.0) -> None:
        """Hang everything up and destroy the endpoint. Idempotent."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self._wake()
        if thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        if self._waker is not None:
            self._waker.close()
            self._waker = None
        atexit.unregister(self.close)
        self._release_singleton()

    def __enter__(self) -> UserAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _release_singleton() -> None:
        with UserAgent._guard:
            UserAgent._running_in_process = False

    def next_event(self, timeout: float | None = None) -> SipEvent | None:
        """The next event, or None after ``timeout`` seconds without one."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    # ------------------------------------------------------------------ commands

    def add_account(self, spec: AccountSpec) -> int:
        """Create an account (registering it if ``spec.register``); returns its handle."""
        return self._run(lambda: self._core.add_account(spec))

    def set_caller_id(self, account: int, user: str) -> None:
        """Use ``user`` as the From user of the account's next calls (calls up keep theirs)."""
        self._run(lambda: self._core.set_caller_id(account, user))

    def make_call(self, account: int, uri: str, headers: tuple[tuple[str, str], ...] = (), *,
                  play: Path | None = None, record: Path | None = None) -> int:
        """Send an INVITE to ``uri``; returns the new call's handle at once.

        ``play``/``record`` take effect when media starts; given here rather than by ``play()``
        afterwards, they cannot lose the race with a call that fails at once (486...).
        """
        if play is not None and not play.is_file():
            raise AudioFileError(f"WAV file {play} does not exist")
        return self._run(lambda: self._core.make_call(
            account, uri, headers, None if play is None else str(play),
            None if record is None else str(record)))

    def ring(self, call: int) -> None:
        """Answer an incoming call provisionally with 180 Ringing."""
        self._run(lambda: self._core.respond(call, 180, "answer"))

    def answer(self, call: int) -> None:
        self._run(lambda: self._core.respond(call, 200, "answer"))

    def reject(self, call: int, code: int = 486) -> None:
        """Refuse an incoming call with a final status (486 Busy Here, 603 Decline...)."""
        if not 300 <= code <= 699:
            raise SipError(f"reject code {code} is not a final error status (300-699)")
        self._run(lambda: self._core.respond(call, code, "hangup"))

    def hangup(self, call: int) -> None:
        """BYE an answered call, CANCEL an outgoing one, 603 an unanswered incoming one."""
        self._run(lambda: self._core.respond(call, 0, "hangup"))  # 0: pjsua picks BYE/CANCEL/603

    def send_dtmf(self, call: int, digits: str, duration_ms: int = 160) -> None:
        """Queue ``digits`` as RFC 4733 telephone events on the call's audio stream."""
        bad = sorted(set(digits) - DTMF_DIGITS)
        if bad or not digits:
            raise SipError(f"DTMF digits {digits!r} must be non-empty and use only 0-9 * # A-D")
        self._run(lambda: self._core.send_dtmf(call, digits, duration_ms))

    def play(self, call: int, wav: Path) -> None:
        """Loop a 16-bit mono WAV into the call (from media start, if not up yet)."""
        if not wav.is_file():
            raise AudioFileError(f"WAV file {wav} does not exist")
        self._run(lambda: self._core.set_media(call, play=str(wav)))

    def record(self, call: int, wav: Path) -> None:
        """Record what the far end sends into ``wav`` (finalized when the call ends)."""
        if not wav.parent.is_dir():
            raise AudioFileError(f"cannot record to {wav}: directory {wav.parent} is missing")
        self._run(lambda: self._core.set_media(call, record=str(wav)))

    def echo(self, call: int) -> None:
        """Send the far end's audio straight back to it (mixed with any playback)."""
        self._run(lambda: self._core.set_media(call, echo=True))

    def stop_recording(self, call: int) -> None:
        self._run(lambda: self._core.stop_recording(call))

    def live_calls(self) -> int:
        return self._run(self._core.live_calls)

    def _run(self, action: Callable[[], T], timeout: float = 15.0) -> T:
        if self._failure is not None:
            raise UserAgentStopped(f"the SIP user agent failed: {self._failure}") from (
                self._failure)
        if self._thread is None or self._stopping.is_set():
            raise UserAgentStopped("the SIP user agent is not running; call start() first")
        if threading.current_thread() is self._thread:
            return action()
        done: Future[T] = Future()
        self._commands.put((action, done))
        self._wake()
        try:
            return done.result(timeout)
        except FutureTimeout:
            raise UserAgentStopped(
                f"the SIP user agent did not carry out a command within {timeout:.0f} s; its "
                "pump thread is stuck or overloaded") from None

    def _wake(self) -> None:
        """Cut the pump's libHandleEvents sleep short: send our own UDP transport a CRLF
        keep-alive (RFC 5626 section 4.4.1), which pjsip reads and discards without a word."""
        if self._waker is None or self._core.udp_port is None:
            return
        host = self.settings.bind_host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        with contextlib.suppress(OSError):  # a lost wake-up costs at most one poll_ms
            self._waker.sendto(b"\r\n\r\n", (host, self.udp_port))

    # ------------------------------------------------------- pump thread: main loop

    def _pump(self, ready: Future[None]) -> None:
        core = self._core
        try:
            core.create()
        except BaseException as error:
            ready.set_exception(error)
            core.destroy()
            return
        ready.set_result(None)
        poll_ms = self.settings.poll_ms if core.udp_port is not None else min(
            self.settings.poll_ms, 20)
        try:
            while not self._stopping.is_set() and self._failure is None:
                core.ep.libHandleEvents(poll_ms)
                self._drain_commands()
                core.housekeeping()
        except Exception as error:
            self.fault(error)
        finally:
            self._drain_commands()
            core.shutdown()

    def _drain_commands(self) -> None:
        while True:
            try:
                action, done = self._commands.get_nowait()
            except queue.Empty:
                return
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(action())
            except self._core.pj.Error as error:
                done.set_exception(SipOperationFailed(f"pjsua2 refused: {pj_text(error)}"))
            except Exception as error:  # handed to the caller through the future
                done.set_exception(error)

    def fault(self, error: BaseException) -> None:
        log.error("SIP user agent failed: %r", error)
        if self._failure is None:
            self._failure = error
            self.events.put(UserAgentFailed(repr(error), self._clock()))
