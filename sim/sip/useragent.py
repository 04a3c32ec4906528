"""A SIP user agent over pjsua2 that keeps pjsua2 to itself.

pjsua is a process-wide singleton written in C: one endpoint per process, objects that must be
created, used and destroyed on threads pjlib knows, callbacks that arrive from inside its event
polling. ``UserAgent`` owns all of that on one *pump thread*: the thread creates the endpoint
with ``threadCnt = 0`` for both SIP and media (so pjsua starts no polling threads of its own;
RTP shares the SIP ioqueue), then loops on ``libHandleEvents``. Every public method is a command
queued to that thread and awaited through a future; every callback becomes a frozen event on
``UserAgent.events`` (a ``queue.Queue``). The rest of Hotline sees integer call handles and
dataclasses, never a pjsua2 object.

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
import itertools
import logging
import os
import queue
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from sim.sip.errors import (
    AudioFileError,
    EndpointBusy,
    SipError,
    SipLimitExceeded,
    SipOperationFailed,
    SipUnavailable,
    UnknownCall,
    UserAgentStopped,
)
from sim.sip.events import (
    CallEnded,
    CallPhase,
    CallStateChanged,
    DtmfReceived,
    IncomingCall,
    MediaReady,
    RegistrationChanged,
    SipEvent,
    UserAgentFailed,
)

log = logging.getLogger("hotline.sip")
PJSUA_LOG = logging.getLogger("hotline.sip.pjsua")

# PJSUA_MAX_ACC: every transport also holds one "local account" in the same table.
BUILD_MAX_ACCOUNTS = 8
# PJSUA_MAX_CALLS of pjsua2-python 2.15.1, measured: UaConfig.maxCalls above 4 is clamped to 4.
BUILD_MAX_CALLS = 4
DTMF_DIGITS = frozenset("0123456789*#ABCD")
# Conference port levels run 0..255 (a u-law-like scale of the mean amplitude); digital silence
# is 0, line noise a few units, a tone or speech tens.
AUDIBLE_LEVEL = 8
LEVEL_SAMPLE_S = 0.1
# RTP+RTCP for 4 calls, with room for pjsua to skip ports another program holds.
RTP_PORTS_PER_PROCESS = 40

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class UaSettings:
    """How the endpoint is built. Ports 0 = any free port; ``None`` = no such transport."""

    bind_host: str = "127.0.0.1"
    udp_port: int | None = 0
    tcp_port: int | None = 0
    rtp_port: int = 0  # first RTP port tried (+2 per call); 0: random, retried on collision
    max_calls: int = BUILD_MAX_CALLS
    clock_rate: int = 8000
    codecs: tuple[str, ...] = ("PCMU/8000", "PCMA/8000")
    user_agent: str = "Hotline-SIP/0.1"
    log_level: int = 3
    # How long the pump may sleep in libHandleEvents when nothing happens. Commands wake it at
    # once (see UserAgent._wake), so this only bounds the idle wake-up rate; with TCP only
    # there is no wake-up datagram and commands wait up to 20 ms.
    poll_ms: int = 200
    sound_device: bool = False  # a person's softphone: the default sound card, not the null one

    def __post_init__(self) -> None:
        if not 1 <= self.max_calls <= BUILD_MAX_CALLS:
            raise SipLimitExceeded(
                f"max_calls {self.max_calls} is outside 1..{BUILD_MAX_CALLS}, the limit of this "
                "pjsua2 build per process; run more worker processes instead"
            )
        if self.udp_port is None and self.tcp_port is None:
            raise SipError("a user agent needs at least one transport: set udp_port or tcp_port")


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """A SIP identity. ``domain`` is the PBX (host[:port]) or, for direct calls, our address."""

    user: str
    domain: str
    password: str | None = field(default=None, repr=False)
    register: bool = False
    transport: str = "udp"
    display_name: str = ""

    def id_uri(self, user: str | None = None) -> str:
        uri = f"sip:{user or self.user}@{self.domain}"
        return f'"{self.display_name}" <{uri}>' if self.display_name else uri


def parse_headers(message: str) -> tuple[tuple[str, str], ...]:
    """The header fields of a raw SIP message (folded lines are not used by pjsip)."""
    head = message.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    fields: list[tuple[str, str]] = []
    for line in head.splitlines()[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields.append((name.strip(), value.strip()))
    return tuple(fields)


class _Slot:
    """Pump-thread state of one call: the pjsua2 objects we must keep alive, and intents."""

    __slots__ = (
        "account",
        "audible",
        "audio",
        "call",
        "echo",
        "ended",
        "level_sum",
        "levels",
        "peak",
        "play",
        "playing",
        "record",
        "recorder",
    )

    def __init__(self, account: int) -> None:
        self.account = account
        self.call: Any = None
        self.audio: Any = None
        self.recorder: Any = None
        self.play: str | None = None
        self.playing = False
        self.record: str | None = None
        self.echo = False
        self.ended = False
        self.levels = 0  # received-level samples taken while media was up
        self.level_sum = 0
        self.audible = 0
        self.peak = 0


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
        self._handles = itertools.count(1)
        self.udp_port: int | None = None
        self.tcp_port: int | None = None
        # pump-thread-only state below
        self._pj: Any = None
        self._ep: Any = None
        self._log_bridge: Any = None
        self._transports: dict[str, int] = {}
        self._accounts: dict[int, Any] = {}
        self._specs: dict[int, AccountSpec] = {}
        self._slots: dict[int, _Slot] = {}
        self._closing_recordings: list[tuple[float, Path, CallEnded]] = []
        self._players: dict[str, Any] = {}
        self._unregistering: set[int] = set()
        self._next_sample = 0.0

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
        return self._run(lambda: self._add_account(spec))

    def set_caller_id(self, account: int, user: str) -> None:
        """Use ``user`` as the From user of the account's next calls (calls up keep theirs)."""
        self._run(lambda: self._set_caller_id(account, user))

    def make_call(self, account: int, uri: str, headers: tuple[tuple[str, str], ...] = (), *,
                  play: Path | None = None, record: Path | None = None) -> int:
        """Send an INVITE to ``uri``; returns the new call's handle at once.

        ``play``/``record`` take effect when media starts; given here rather than by ``play()``
        afterwards, they cannot lose the race with a call that fails at once (486...).
        """
        if play is not None and not play.is_file():
            raise AudioFileError(f"WAV file {play} does not exist")
        return self._run(lambda: self._make_call(
            account, uri, headers, None if play is None else str(play),
            None if record is None else str(record)))

    def ring(self, call: int) -> None:
        """Answer an incoming call provisionally with 180 Ringing."""
        self._run(lambda: self._respond(call, 180, "answer"))

    def answer(self, call: int) -> None:
        self._run(lambda: self._respond(call, 200, "answer"))

    def reject(self, call: int, code: int = 486) -> None:
        """Refuse an incoming call with a final status (486 Busy Here, 603 Decline...)."""
        if not 300 <= code <= 699:
            raise SipError(f"reject code {code} is not a final error status (300-699)")
        self._run(lambda: self._respond(call, code, "hangup"))

    def hangup(self, call: int) -> None:
        """BYE an answered call, CANCEL an outgoing one, 603 an unanswered incoming one."""
        self._run(lambda: self._respond(call, 0, "hangup"))  # 0: pjsua picks BYE/CANCEL/603

    def send_dtmf(self, call: int, digits: str, duration_ms: int = 160) -> None:
        """Queue ``digits`` as RFC 4733 telephone events on the call's audio stream."""
        bad = sorted(set(digits) - DTMF_DIGITS)
        if bad or not digits:
            raise SipError(f"DTMF digits {digits!r} must be non-empty and use only 0-9 * # A-D")
        self._run(lambda: self._send_dtmf(call, digits, duration_ms))

    def play(self, call: int, wav: Path) -> None:
        """Loop a 16-bit mono WAV into the call (from media start, if not up yet)."""
        if not wav.is_file():
            raise AudioFileError(f"WAV file {wav} does not exist")
        self._run(lambda: self._set_media(call, play=str(wav)))

    def record(self, call: int, wav: Path) -> None:
        """Record what the far end sends into ``wav`` (finalized when the call ends)."""
        if not wav.parent.is_dir():
            raise AudioFileError(f"cannot record to {wav}: directory {wav.parent} is missing")
        self._run(lambda: self._set_media(call, record=str(wav)))

    def echo(self, call: int) -> None:
        """Send the far end's audio straight back to it (mixed with any playback)."""
        self._run(lambda: self._set_media(call, echo=True))

    def stop_recording(self, call: int) -> None:
        self._run(lambda: self._stop_recording(call))

    def live_calls(self) -> int:
        return self._run(lambda: sum(1 for slot in self._slots.values() if not slot.ended))

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
        if self._waker is None or self.udp_port is None:
            return
        host = self.settings.bind_host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        with contextlib.suppress(OSError):  # a lost wake-up costs at most one poll_ms
            self._waker.sendto(b"\r\n\r\n", (host, self.udp_port))

    # ------------------------------------------------------- pump thread: main loop

    def _pump(self, ready: Future[None]) -> None:
        try:
            self._create_endpoint()
        except BaseException as error:
            ready.set_exception(error)
            self._destroy_endpoint()
            return
        ready.set_result(None)
        poll_ms = self.settings.poll_ms if self.udp_port is not None else min(
            self.settings.poll_ms, 20)
        try:
            while not self._stopping.is_set() and self._failure is None:
                self._ep.libHandleEvents(poll_ms)
                self._drain_commands()
                if (now := time.monotonic()) >= self._next_sample:
                    self._next_sample = now + LEVEL_SAMPLE_S
                    self._sample_levels()
                self._release_ended()
                if self._closing_recordings:
                    self._announce_closed_recordings()
        except Exception as error:
            self.fault(error)
        finally:
            self._drain_commands()
            self._shutdown()

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
            except self._pj.Error as error:
                done.set_exception(SipOperationFailed(f"pjsua2 refused: {_pj_text(error)}"))
            except Exception as error:  # handed to the caller through the future
                done.set_exception(error)

    def fault(self, error: BaseException) -> None:
        log.error("SIP user agent failed: %r", error)
        if self._failure is None:
            self._failure = error
            self.events.put(UserAgentFailed(repr(error), self._clock()))

    def _create_endpoint(self) -> None:
        try:
            from sim.sip import _pjsua
        except ImportError as error:
            raise SipUnavailable(
                f"pjsua2 is not installed ({error}); install the extra: pip install 'hotline[sip]'"
            ) from error
        self._pj = pj = _pjsua.PJ
        s = self.settings
        ep = pj.Endpoint()
        with _stdout_silenced():
            # libCreate logs its banner to stdout before any LogConfig can apply; stdout may
            # carry JSON (benchmarks, --json), so those lines go nowhere.
            ep.libCreate()
        self._ep = ep
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.maxCalls = s.max_calls
        cfg.uaConfig.userAgent = s.user_agent
        cfg.medConfig.threadCnt = 0
        cfg.medConfig.hasIoqueue = False
        cfg.medConfig.clockRate = s.clock_rate
        cfg.medConfig.sndClockRate = s.clock_rate
        cfg.medConfig.channelCount = 1
        cfg.medConfig.ecTailLen = 0
        cfg.medConfig.noVad = True
        self._log_bridge = _pjsua.LogBridge(PJSUA_LOG)
        cfg.logConfig.writer = self._log_bridge
        cfg.logConfig.level = s.log_level
        cfg.logConfig.consoleLevel = s.log_level
        cfg.logConfig.msgLogging = s.log_level >= 4
        cfg.logConfig.decor = 0
        ep.libInit(cfg)
        for name, kind, port in (("udp", pj.PJSIP_TRANSPORT_UDP, s.udp_port),
                                 ("tcp", pj.PJSIP_TRANSPORT_TCP, s.tcp_port)):
            if port is None:
                continue
            tcfg = pj.TransportConfig()
            tcfg.boundAddress = s.bind_host
            tcfg.port = port
            try:
                tid = ep.transportCreate(kind, tcfg)
            except pj.Error as error:
                raise SipOperationFailed(
                    f"cannot open SIP {name} transport on {s.bind_host}:{port}: {_pj_text(error)}"
                ) from error
            self._transports[name] = tid
            bound = int(str(ep.transportGetInfo(tid).localName).rsplit(":", 1)[1])
            setattr(self, f"{name}_port", bound)
        if not s.sound_device:
            ep.audDevManager().setNullDev()
        wanted = {codec: 255 - rank for rank, codec in enumerate(s.codecs)}
        for codec in ep.codecEnum2():
            prio = next((p for name, p in wanted.items() if codec.codecId.startswith(name)), 0)
            ep.codecSetPriority(codec.codecId, prio)
        ep.libStart()
        log.info("SIP user agent up: udp=%s tcp=%s on %s", self.udp_port, self.tcp_port,
                 s.bind_host)

    def _shutdown(self) -> None:
        if self._ep is None:
            return
        try:
            if any(not slot.ended for slot in self._slots.values()):
                self._ep.hangupAllCalls()
            deadline = time.monotonic() + 3.0
            while any(not s.ended for s in self._slots.values()) and time.monotonic() < deadline:
                self._ep.libHandleEvents(20)
            for handle in list(self._slots):
                self._drop_slot(handle)
            self._unregister(deadline=time.monotonic() + 2.0)
            for account in self._accounts.values():
                account.shutdown()
        except self._pj.Error as error:
            log.error("SIP shutdown: pjsua2 refused: %s", _pj_text(error))
        finally:
            self._destroy_endpoint()

    def _unregister(self, deadline: float) -> None:
        # Wait for the answer to each un-REGISTER (a registrar usually challenges it first),
        # not for regIsActive, which drops as soon as the request leaves.
        for handle, account in self._accounts.items():
            if account.getInfo().regIsActive:
                self._unregistering.add(handle)
                account.setRegistration(False)
        while self._unregistering and time.monotonic() < deadline:
            self._ep.libHandleEvents(20)
        self._unregistering.clear()

    def _destroy_endpoint(self) -> None:
        if self._ep is None:
            return
        self._slots.clear()
        self._accounts.clear()
        # We hung up and unregistered ourselves above; without NO_NETWORK pjsua would sleep a
        # further second "to let unregistration complete", in every worker process.
        self._ep.libDestroy(self._pj.PJSUA_DESTROY_NO_NETWORK)
        for player in self._players.values():
            player.thisown = False  # libDestroy freed it; its destructor would assert
        self._players.clear()
        # References go after libDestroy: pjsua may still call into them while destroying.
        self._ep = None
        self._log_bridge = None

    # --------------------------------------------------- pump thread: operations

    def _add_account(self, spec: AccountSpec) -> int:
        used = len(self._transports) + len(self._accounts)
        if used >= BUILD_MAX_ACCOUNTS:
            raise SipLimitExceeded(
                f"account {spec.user!r} would be number {len(self._accounts) + 1}: this process "
                f"holds at most {BUILD_MAX_ACCOUNTS - len(self._transports)} accounts "
                f"(pjsua limit {BUILD_MAX_ACCOUNTS} minus one per transport); use more processes"
            )
        if spec.transport not in self._transports:
            raise SipError(f"account {spec.user!r} wants transport {spec.transport!r}, which is "
                           f"not open (open: {', '.join(sorted(self._transports))})")
        from sim.sip import _pjsua

        handle = next(self._handles)
        account = _pjsua.SipAccount(self, handle)
        account.create(self._account_config(spec, spec.user, spec.register))
        self._accounts[handle] = account
        self._specs[handle] = spec
        return handle

    def _account_config(self, spec: AccountSpec, user: str, register: bool) -> Any:
        pj = self._pj
        cfg = pj.AccountConfig()
        cfg.idUri = spec.id_uri(user)
        suffix = ";transport=tcp" if spec.transport == "tcp" else ""
        if spec.register:
            cfg.regConfig.registrarUri = f"sip:{spec.domain}{suffix}"
        cfg.regConfig.registerOnAdd = register
        if spec.password is not None:
            cfg.sipConfig.authCreds.append(
                pj.AuthCredInfo("digest", "*", spec.user, 0, spec.password))
        cfg.sipConfig.transportId = self._transports[spec.transport]
        cfg.mediaConfig.transportConfig.boundAddress = self.settings.bind_host
        cfg.mediaConfig.transportConfig.port = self.settings.rtp_port
        if self.settings.rtp_port:
            cfg.mediaConfig.transportConfig.portRange = RTP_PORTS_PER_PROCESS
        return cfg

    def _set_caller_id(self, account: int, user: str) -> None:
        acc = self._account(account)
        spec = self._specs[account]
        cfg = self._account_config(spec, user, False)
        # Re-registering on every caller id change would flood the registrar.
        cfg.regConfig.disableRegOnModify = True
        acc.modify(cfg)

    def _make_call(self, account: int, uri: str, headers: tuple[tuple[str, str], ...],
                   play: str | None, record: str | None) -> int:
        pj = self._pj
        from sim.sip import _pjsua

        acc = self._account(account)
        live = sum(1 for slot in self._slots.values() if not slot.ended)
        if live >= self.settings.max_calls:
            raise SipLimitExceeded(
                f"cannot call {uri}: {live} calls are up and this process holds at most "
                f"{self.settings.max_calls}"
            )
        handle = next(self._handles)
        if play is not None:
            self._player(play)  # a bad WAV fails this command, not a later media callback
        slot = _Slot(account)
        slot.play, slot.record = play, record
        self._slots[handle] = slot
        slot.call = _pjsua.SipCall(self, acc, handle, pj.PJSUA_INVALID_ID)
        prm = pj.CallOpParam(True)
        for name, value in headers:
            header = pj.SipHeader()
            header.hName = name
            header.hValue = value
            prm.txOption.headers.append(header)
        try:
            slot.call.makeCall(uri, prm)
        except pj.Error:
            del self._slots[handle]
            raise
        return handle

    def _respond(self, handle: int, code: int, verb: str) -> None:
        pj = self._pj
        slot = self._slot(handle)
        prm = pj.CallOpParam()
        prm.statusCode = code
        getattr(slot.call, verb)(prm)

    def _send_dtmf(self, handle: int, digits: str, duration_ms: int) -> None:
        pj = self._pj
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.duration = duration_ms
        prm.method = pj.PJSUA_DTMF_METHOD_RFC2833
        self._slot(handle).call.sendDtmf(prm)

    def _set_media(self, handle: int, *, play: str | None = None,
                   record: str | None = None, echo: bool = False) -> None:
        slot = self._slot(handle)
        if play is not None:
            self._player(play)  # a bad WAV fails this command, not a later media callback
            slot.play = play
        if record is not None:
            slot.record = record
        slot.echo = slot.echo or echo
        if slot.audio is not None:
            self._attach(slot)

    def _stop_recording(self, handle: int) -> None:
        slot = self._slot(handle)
        slot.record = None
        slot.recorder = None  # destroying the recorder writes the WAV header

    def _attach(self, slot: _Slot) -> None:
        pj = self._pj
        audio = slot.audio
        if slot.play is not None and not slot.playing:
            self._player(slot.play).startTransmit(audio)
            slot.playing = True
        if slot.record is not None and slot.recorder is None:
            recorder = pj.AudioMediaRecorder()
            try:
                recorder.createRecorder(slot.record)
            except pj.Error as error:
                raise AudioFileError(f"cannot record to {slot.record}: {_pj_text(error)}") from (
                    error)
            audio.startTransmit(recorder)
            slot.recorder = recorder
        if slot.echo:
            audio.startTransmit(audio)
        devices = self._ep.audDevManager()
        # The capture port (silence, with the null device) keeps frames flowing to the call
        # even when nothing else is playing; a stream sends its RFC 4733 events in those frames.
        devices.getCaptureDevMedia().startTransmit(audio)
        if self.settings.sound_device:
            audio.startTransmit(devices.getPlaybackDevMedia())

    def _announce_closed_recordings(self) -> None:
        waiting = []
        for deadline, path, ended in self._closing_recordings:
            if wav_complete(path) or time.monotonic() > deadline:
                self.events.put(ended)
            else:
                waiting.append((deadline, path, ended))
        self._closing_recordings = waiting

    def _player(self, path: str) -> Any:
        """The shared, looping player of ``path`` (see the module docstring for why shared)."""
        player = self._players.get(path)
        if player is None:
            pj = self._pj
            player = pj.AudioMediaPlayer()
            try:
                player.createPlayer(path, 0)
            except pj.Error as error:
                player.thisown = False  # never created: nothing for its destructor to free
                raise AudioFileError(f"cannot play {path}: {_pj_text(error)}") from error
            self._players[path] = player
        return player

    def _sample_levels(self) -> None:
        for slot in self._slots.values():
            if slot.audio is None or slot.ended:
                continue
            try:
                level = slot.audio.getRxLevel()
            except self._pj.Error:
                continue  # the stream went away under us (re-INVITE, hang-up): no sample
            slot.levels += 1
            slot.level_sum += level
            slot.audible += level > AUDIBLE_LEVEL
            slot.peak = max(slot.peak, level)

    def _release_ended(self) -> None:
        for handle in [h for h, slot in self._slots.items() if slot.ended]:
            self._drop_slot(handle)

    def _drop_slot(self, handle: int) -> None:
        slot = self._slots.pop(handle)
        # Order: the recorder (finalizing its WAV), then the call. Players are shared.
        slot.recorder = None
        slot.audio = None
        slot.call = None

    def _slot(self, handle: int) -> _Slot:
        slot = self._slots.get(handle)
        if slot is None or slot.ended:
            raise UnknownCall(f"call {handle} is not a live call (it ended, or never existed)")
        return slot

    def _account(self, handle: int) -> Any:
        account = self._accounts.get(handle)
        if account is None:
            raise SipError(f"account {handle} does not exist; create it with add_account()")
        return account

    # ------------------------------------------------ pump thread: callback sinks

    def on_reg_state(self, account: int, code: int, reason: str, expires: int) -> None:
        if expires == 0 or code >= 300:
            self._unregistering.discard(account)
        self.events.put(RegistrationChanged(account, code, reason, expires, self._clock()))

    def on_incoming_call(self, account: int, pj_call_id: int, whole_msg: str) -> None:
        from sim.sip import _pjsua

        at = self._clock()
        handle = next(self._handles)
        slot = _Slot(account)
        slot.call = _pjsua.SipCall(self, self._accounts[account], handle, pj_call_id)
        self._slots[handle] = slot
        headers = parse_headers(whole_msg)
        info = slot.call.getInfo()
        call_id = next((v for k, v in headers if k.lower() in ("call-id", "i")), info.callIdString)
        self.events.put(IncomingCall(handle, account, info.remoteUri, call_id, headers, at))

    def on_call_state(self, handle: int, info: Any) -> None:
        at = self._clock()
        slot = self._slots.get(handle)
        if slot is None or slot.ended:
            return
        from sim.sip import _pjsua

        phase = CallPhase(_pjsua.PHASES[info.state])
        if phase is CallPhase.DISCONNECTED:
            slot.ended = True
            connected = info.connectDuration.sec + info.connectDuration.msec / 1000
            ended = CallEnded(
                handle, info.lastStatusCode, info.lastReason, connected, at,
                rx_level=round(slot.level_sum / slot.levels, 1) if slot.levels else None,
                rx_audible_share=round(slot.audible / slot.levels, 3) if slot.levels else None)
            if slot.recorder is None:
                self.events.put(ended)
                return
            # The conference bridge closes a destroyed recorder's file on its next clock tick;
            # CallEnded waits for that, so its receiver always finds a complete WAV.
            slot.recorder = None
            self._closing_recordings.append((time.monotonic() + 2.0, Path(slot.record or ""),
                                             ended))
        elif phase is not CallPhase.INCOMING:
            self.events.put(
                CallStateChanged(handle, phase, info.lastStatusCode, info.lastReason, at))

    def on_call_media(self, handle: int, call: Any) -> None:
        from sim.sip import _pjsua

        slot = self._slots.get(handle)
        if slot is None or slot.ended:
            return
        audio = _pjsua.active_audio(call)
        if audio is None:
            return
        first = slot.audio is None
        if not first and audio.getPortId() == slot.audio.getPortId():
            return  # a re-INVITE that kept the stream: connections still stand
        slot.audio = audio
        slot.playing = False  # a new stream needs new connections; the recording goes on
        if slot.recorder is not None:
            audio.startTransmit(slot.recorder)
        self._attach(slot)
        if first:
            self.events.put(MediaReady(handle, self._clock()))

    def on_dtmf(self, handle: int, digit: str, method: int) -> None:
        from sim.sip import _pjsua

        self.events.put(DtmfReceived(handle, digit, _pjsua.DTMF_METHODS.get(method, str(method)),
                                     self._clock()))


def wav_complete(path: Path) -> bool:
    """True once a WAV's RIFF header states the file's real size (pjmedia writes it on close)."""
    try:
        with path.open("rb") as wav:
            head = wav.read(8)
            size = os.fstat(wav.fileno()).st_size
    except OSError:
        return False
    return len(head) == 8 and head[:4] == b"RIFF" and int.from_bytes(head[4:], "little") == (
        size - 8)


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _pj_text(error: Any) -> str:
    """A pjsua2.Error as one line: its reason, without the C++ location noise."""
    reason = getattr(error, "reason", "") or str(error)
    return re.sub(r"\s+", " ", str(reason)).strip()
