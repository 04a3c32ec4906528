"""The pump-thread side of a user agent: the pjsua2 endpoint, its accounts, calls and media.

Everything here runs on the ``UserAgent``'s pump thread and nowhere else: ``EndpointCore``
creates and destroys the endpoint, carries out the commands the ``UserAgent`` queues, receives
the pjsua2 callbacks (through ``sim.sip._pjsua``) and turns them into events. It holds the
pjsua2 objects that must stay referenced while pjsua uses them (accounts, calls, the shared
players, recorders) and lets go of them in the order the library needs; see ``useragent`` for
the threading model and the media choices.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sim.sip.errors import (
    AudioFileError,
    SipError,
    SipLimitExceeded,
    SipOperationFailed,
    SipUnavailable,
    UnknownCall,
)
from sim.sip.events import (
    CallEnded,
    CallPhase,
    CallStateChanged,
    DtmfReceived,
    IncomingCall,
    MediaReady,
    RegistrationChanged,
)
from sim.sip.settings import (
    AUDIBLE_LEVEL,
    BUILD_MAX_ACCOUNTS,
    LEVEL_SAMPLE_S,
    RTP_PORTS_PER_PROCESS,
    AccountSpec,
    UaSettings,
    parse_headers,
)

log = logging.getLogger("hotline.sip")
PJSUA_LOG = logging.getLogger("hotline.sip.pjsua")


class Slot:
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


class EndpointCore:
    """The endpoint and everything pjsua2 in it. Pump thread only."""

    def __init__(self, settings: UaSettings, events: queue.Queue[Any],
                 clock: Callable[[], float], on_fault: Callable[[BaseException], None]) -> None:
        self.settings = settings
        self.events = events
        self._clock = clock
        self._on_fault = on_fault
        self._handles = itertools.count(1)
        self.udp_port: int | None = None
        self.tcp_port: int | None = None
        self.pj: Any = None
        self.ep: Any = None
        self.log_bridge: Any = None
        self._transports: dict[str, int] = {}
        self._accounts: dict[int, Any] = {}
        self._specs: dict[int, AccountSpec] = {}
        self._slots: dict[int, Slot] = {}
        self._closing_recordings: list[tuple[float, Path, CallEnded]] = []
        self._players: dict[str, Any] = {}
        self._unregistering: set[int] = set()
        self._next_sample = 0.0

    def fault(self, error: BaseException) -> None:
        """A callback failed: the user agent stops (the callbacks' ``Core`` protocol)."""
        self._on_fault(error)

    def housekeeping(self) -> None:
        """Work due after each round of events: level samples, ended calls, finished WAVs."""
        if (now := time.monotonic()) >= self._next_sample:
            self._next_sample = now + LEVEL_SAMPLE_S
            self._sample_levels()
        self._release_ended()
        if self._closing_recordings:
            self._announce_closed_recordings()

    def live_calls(self) -> int:
        return sum(1 for slot in self._slots.values() if not slot.ended)

    def create(self) -> None:
        try:
            from sim.sip import _pjsua
        except ImportError as error:
            raise SipUnavailable(
                f"pjsua2 is not installed ({error}); install the extra: pip install 'hotline[sip]'"
            ) from error
        self.pj = pj = _pjsua.PJ
        s = self.settings
        ep = pj.Endpoint()
        with stdout_silenced():
            # libCreate logs its banner to stdout before any LogConfig can apply; stdout may
            # carry JSON (benchmarks, --json), so those lines go nowhere.
            ep.libCreate()
        self.ep = ep
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
        self.log_bridge = _pjsua.LogBridge(PJSUA_LOG)
        cfg.logConfig.writer = self.log_bridge
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
                    f"cannot open SIP {name} transport on {s.bind_host}:{port}: {pj_text(error)}"
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

    def shutdown(self) -> None:
        if self.ep is None:
            return
        try:
            if any(not slot.ended for slot in self._slots.values()):
                self.ep.hangupAllCalls()
            deadline = time.monotonic() + 3.0
            while any(not s.ended for s in self._slots.values()) and time.monotonic() < deadline:
                self.ep.libHandleEvents(20)
            for handle in list(self._slots):
                self._drop_slot(handle)
            self._unregister(deadline=time.monotonic() + 2.0)
            for account in self._accounts.values():
                account.shutdown()
        except self.pj.Error as error:
            log.error("SIP shutdown: pjsua2 refused: %s", pj_text(error))
        finally:
            self.destroy()

    def _unregister(self, deadline: float) -> None:
        # Wait for the answer to each un-REGISTER (a registrar usually challenges it first),
        # not for regIsActive, which drops as soon as the request leaves.
        for handle, account in self._accounts.items():
            if account.getInfo().regIsActive:
                self._unregistering.add(handle)
                account.setRegistration(False)
        while self._unregistering and time.monotonic() < deadline:
            self.ep.libHandleEvents(20)
        self._unregistering.clear()

    def destroy(self) -> None:
        if self.ep is None:
            return
        self._slots.clear()
        self._accounts.clear()
        # We hung up and unregistered ourselves above; without NO_NETWORK pjsua would sleep a
        # further second "to let unregistration complete", in every worker process.
        self.ep.libDestroy(self.pj.PJSUA_DESTROY_NO_NETWORK)
        for player in self._players.values():
            player.thisown = False  # libDestroy freed it; its destructor would assert
        self._players.clear()
        # References go after libDestroy: pjsua may still call into them while destroying.
        self.ep = None
        self.log_bridge = None

    # --------------------------------------------------- pump thread: operations

    def add_account(self, spec: AccountSpec) -> int:
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
        pj = self.pj
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

    def set_caller_id(self, account: int, user: str) -> None:
        acc = self._account(account)
        spec = self._specs[account]
        cfg = self._account_config(spec, user, False)
        # Re-registering on every caller id change would flood the registrar.
        cfg.regConfig.disableRegOnModify = True
        acc.modify(cfg)

    def make_call(self, account: int, uri: str, headers: tuple[tuple[str, str], ...],
                   play: str | None, record: str | None) -> int:
        pj = self.pj
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
        slot = Slot(account)
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

    def respond(self, handle: int, code: int, verb: str) -> None:
        pj = self.pj
        slot = self._slot(handle)
        prm = pj.CallOpParam()
        prm.statusCode = code
        getattr(slot.call, verb)(prm)

    def send_dtmf(self, handle: int, digits: str, duration_ms: int) -> None:
        pj = self.pj
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.duration = duration_ms
        prm.method = pj.PJSUA_DTMF_METHOD_RFC2833
        self._slot(handle).call.sendDtmf(prm)

    def set_media(self, handle: int, *, play: str | None = None,
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

    def stop_recording(self, handle: int) -> None:
        slot = self._slot(handle)
        slot.record = None
        slot.recorder = None  # destroying the recorder writes the WAV header

    def _attach(self, slot: Slot) -> None:
        pj = self.pj
        audio = slot.audio
        if slot.play is not None and not slot.playing:
            self._player(slot.play).startTransmit(audio)
            slot.playing = True
        if slot.record is not None and slot.recorder is None:
            recorder = pj.AudioMediaRecorder()
            try:
                recorder.createRecorder(slot.record)
            except pj.Error as error:
                raise AudioFileError(f"cannot record to {slot.record}: {pj_text(error)}") from (
                    error)
            audio.startTransmit(recorder)
            slot.recorder = recorder
        if slot.echo:
            audio.startTransmit(audio)
        devices = self.ep.audDevManager()
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
            pj = self.pj
            player = pj.AudioMediaPlayer()
            try:
                player.createPlayer(path, 0)
            except pj.Error as error:
                player.thisown = False  # never created: nothing for its destructor to free
                raise AudioFileError(f"cannot play {path}: {pj_text(error)}") from error
            self._players[path] = player
        return player

    def _sample_levels(self) -> None:
        for slot in self._slots.values():
            if slot.audio is None or slot.ended:
                continue
            try:
                level = slot.audio.getRxLevel()
            except self.pj.Error:
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

    def _slot(self, handle: int) -> Slot:
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
        slot = Slot(account)
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
def stdout_silenced() -> Iterator[None]:
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


def pj_text(error: Any) -> str:
    """A pjsua2.Error as one line: its reason, without the C++ location noise."""
    reason = getattr(error, "reason", "") or str(error)
    return re.sub(r"\s+", " ", str(reason)).strip()
