"""Scripted callers and answering bots that drive one ``UserAgent``.

A bot is a small state machine: ``handle(event)`` for what the user agent reports, ``tick(now)``
for what is due (digits to press, patience running out, a delayed answer). A worker process
loops ``event = ua.next_event(0.02); bot.handle(event); bot.tick(clock())``. Results are flat
frozen records, one per call, handed to an ``emit`` callback.

``CallerBot`` plays a caller from a ``CallerScript``: it plays a 440 Hz tone, records what it
hears, presses its digits, waits for the human-answer marker within its patience, talks, hangs
up. ``AnswerBot`` is the other side: an agent softphone, or the loopback responder standing in
for a PBX. It rings, answers after a delay, plays a 1000 Hz tone and echoes the caller back, sends
its scripted digits (the answer marker first), optionally hangs up, then wraps up (486 Busy Here
while it does).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sim.sip.audio import ANSWER_TONE_HZ, CALLER_TONE_HZ, check_media
from sim.sip.errors import AudioFileError, SipError, UnknownCall
from sim.sip.events import (
    CallEnded,
    CallPhase,
    CallStateChanged,
    DtmfReceived,
    IncomingCall,
    MediaReady,
    SipEvent,
)
from sim.sip.plan import CallerScript, DtmfStep
from sim.sip.useragent import UserAgent

log = logging.getLogger("hotline.sip.bots")

OUTCOMES = ("completed", "abandoned", "ivr_ended", "failed", "dropped", "not_started", "lost")


@dataclass(frozen=True, slots=True)
class CallResult:
    """What one caller experienced; times in seconds, from the INVITE unless named otherwise."""

    index: int
    caller_id: str
    target: str
    outcome: str  # one of OUTCOMES ("lost": the generator's worker process died mid-call;
    # "ivr_ended": the call ended in the IVR without an agent, as the caller's plan expected)
    sip_code: int
    reason: str
    start_s: float  # planned start, from run start
    late_s: float  # how much later than planned the INVITE left
    pdd_s: float | None  # INVITE -> first 18x (or the answer, if none)
    sip_answer_s: float | None  # INVITE -> 200 OK
    agent_answer_s: float | None  # INVITE -> human answer marker
    talk_s: float | None  # human answer -> hang-up
    held_s: float | None  # INVITE -> end of the call
    digits_sent: str
    digits_heard: str
    rx_level: float | None  # mean received level 0..255 while media was up
    rx_audible_share: float | None  # share of 100 ms samples above silence
    heard_far_tone: bool | None  # recorded only: the answering side's tone reached us
    heard_echo: bool | None  # recorded only: our own tone came back, a full round trip
    ivr_outcome: str = ""  # what the plan's IVR walk expected (queue:billing, hangup...)
    ivr_s: float = 0.0  # the walk's planned duration from the answer


@dataclass(frozen=True, slots=True)
class AnsweredCall:
    """What an answering bot (agent or responder) saw of one incoming call."""

    account: str
    caller: str
    sip_call_id: str
    hotline_call_id: str | None
    invite_at: float  # the bot's clock (monotonic)
    outcome: str  # "answered", "rejected", "missed" (caller gave up while ringing)
    sip_code: int
    digits_heard: str
    rx_level: float | None
    rx_audible_share: float | None
    heard_caller_tone: bool | None  # recorded only
    hung_up_by_bot: bool


class _Timers:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def at(self, due: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), action))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run_due(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, _, action = heapq.heappop(self._heap)
            # UnknownCall: the call ended between scheduling and now, nothing is left to do.
            with contextlib.suppress(UnknownCall):
                action()


@dataclass
class _Outgoing:
    script: CallerScript
    target: str
    slot: int
    invite_at: float
    recording: Path | None
    early_at: float | None = None
    answered_at: float | None = None
    human_at: float | None = None
    ended_by_us: str | None = None  # "abandon", "talk" or "ivr" (left as the walk planned)
    sent: str = ""
    heard: str = ""
    steps: list[DtmfStep] = field(default_factory=list)


class CallerBot:
    """Plays scripted callers on up to ``len(accounts)`` concurrent calls of one user agent."""

    def __init__(self, ua: UserAgent, accounts: list[int], *, tone: Path,
                 answer_marker: str | None, emit: Callable[[CallResult], None],
                 record_dir: Path | None = None, run_start: float = 0.0) -> None:
        """``record_dir``: record every call there and check its tones (costs a recorder per
        call; without it the media check is the received level alone)."""
        self._ua = ua
        self._free = list(accounts)
        self._tone = tone
        self._record_dir = record_dir
        self._marker = answer_marker
        self._emit = emit
        self.run_start = run_start
        self._calls: dict[int, _Outgoing] = {}
        self._timers = _Timers()

    @property
    def busy(self) -> int:
        return len(self._calls)

    def start(self, script: CallerScript, target: str, dial: str, now: float) -> None:
        """INVITE ``sip:dial@target`` as this caller, now."""
        late = max(0.0, now - self.run_start - script.start_s)
        if not self._free:
            self._emit(not_started(script, target, late, "no free call slot in this worker"))
            return
        slot = self._free.pop()
        recording = (self._record_dir / f"caller-{script.index}.wav"
                     if self._record_dir is not None else None)
        try:
            self._ua.set_caller_id(slot, script.caller_id)
            handle = self._ua.make_call(slot, f"sip:{dial}@{target}",
                                        headers=(("X-Hotline-Load", str(script.index)),),
                                        play=self._tone, record=recording)
        except SipError as error:
            self._free.append(slot)
            self._emit(not_started(script, target, late, str(error)))
            return
        call = _Outgoing(script, target, slot, now, recording, steps=list(script.dtmf))
        self._calls[handle] = call
        # Patience runs from the INVITE: the whole wait (IVR included) counts, as for a person.
        self._timers.at(now + script.patience_s, lambda: self._give_up(handle))

    def hang_up_all(self) -> None:
        """Abort: every caller hangs up now (counted as abandoned if no human answered)."""
        for handle in list(self._calls):
            why = "abandon" if self._calls[handle].human_at is None else "talk"
            # UnknownCall: it ended while we looped; its CallEnded event is on the way.
            with contextlib.suppress(UnknownCall):
                self._hang_up(handle, why)

    def handle(self, event: SipEvent) -> None:
        call = self._calls.get(getattr(event, "call", -1))
        if call is None:
            return
        if isinstance(event, CallStateChanged):
            if event.phase is CallPhase.EARLY and call.early_at is None:
                call.early_at = event.at
            elif event.phase is CallPhase.CONFIRMED and call.answered_at is None:
                self._answered(event.call, call, event.at)
        elif isinstance(event, DtmfReceived):
            if event.digit == self._marker and call.human_at is None:
                self._human(event.call, call, event.at)
            else:
                call.heard += event.digit
        elif isinstance(event, CallEnded):
            self._ended(event.call, call, event)

    def tick(self, now: float) -> None:
        self._timers.run_due(now)

    def next_due(self) -> float | None:
        """When ``tick`` next has something to do (a monotonic time), or None."""
        return self._timers.next_due()

    def _answered(self, handle: int, call: _Outgoing, at: float) -> None:
        call.answered_at = at
        for step in call.steps:
            self._timers.at(at + step.after_s, lambda s=step: self._press(handle, s.digits))
        leave = call.script.hangup_after_s
        if leave is not None:  # the walk ends in the IVR: the caller leaves after its last prompt
            self._timers.at(at + leave, lambda: self._leave_ivr(handle))
        if self._marker is None and leave is None:
            self._human(handle, call, at)

    def _press(self, handle: int, digits: str) -> None:
        call = self._calls.get(handle)
        if call is not None and call.ended_by_us is None:
            self._ua.send_dtmf(handle, digits)
            call.sent += digits

    def _human(self, handle: int, call: _Outgoing, at: float) -> None:
        call.human_at = at
        self._timers.at(at + call.script.talk_s, lambda: self._hang_up(handle, "talk"))

    def _leave_ivr(self, handle: int) -> None:
        call = self._calls.get(handle)
        if call is not None and call.human_at is None:
            self._hang_up(handle, "ivr")

    def _give_up(self, handle: int) -> None:
        call = self._calls.get(handle)
        if call is not None and call.human_at is None:
            self._hang_up(handle, "abandon")

    def _hang_up(self, handle: int, why: str) -> None:
        call = self._calls.get(handle)
        if call is not None and call.ended_by_us is None:
            call.ended_by_us = why
            self._ua.hangup(handle)

    def _ended(self, handle: int, call: _Outgoing, event: CallEnded) -> None:
        del self._calls[handle]
        self._free.append(call.slot)
        if call.ended_by_us == "abandon":
            outcome = "abandoned"
        elif call.human_at is not None:
            outcome = "completed"
        elif call.answered_at is not None and call.script.hangup_after_s is not None:
            outcome = "ivr_ended"  # either side hung up in the IVR, as the plan expected
        elif call.answered_at is not None:
            outcome = "dropped"  # the far end hung up after answering, before any human did
        else:
            outcome = "failed"
        far = echo = None
        if call.answered_at is not None and call.recording is not None:
            far, echo = self._tones(call.recording)
        invite = call.invite_at
        first = call.early_at if call.early_at is not None else call.answered_at
        self._emit(CallResult(
            index=call.script.index, caller_id=call.script.caller_id, target=call.target,
            outcome=outcome, sip_code=event.code, reason=event.reason,
            start_s=call.script.start_s,
            late_s=round(max(0.0, invite - self.run_start - call.script.start_s), 4),
            pdd_s=_since(invite, first), sip_answer_s=_since(invite, call.answered_at),
            agent_answer_s=_since(invite, call.human_at),
            talk_s=_since(call.human_at, event.at) if call.human_at is not None else None,
            held_s=_since(invite, event.at),
            digits_sent=call.sent, digits_heard=call.heard,
            rx_level=event.rx_level, rx_audible_share=event.rx_audible_share,
            heard_far_tone=far, heard_echo=echo, ivr_outcome=call.script.ivr_outcome,
            ivr_s=call.script.ivr_s,
        ))

    @staticmethod
    def _tones(recording: Path) -> tuple[bool | None, bool | None]:
        try:
            check = check_media(recording, (CALLER_TONE_HZ, ANSWER_TONE_HZ))
        except AudioFileError as error:
            log.warning("media check impossible: %s", error)
            return None, None
        return ANSWER_TONE_HZ in check.tones_hz, CALLER_TONE_HZ in check.tones_hz


def _since(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round(end - start, 4)


def not_started(script: CallerScript, target: str, late: float, why: str) -> CallResult:
    return CallResult(
        index=script.index, caller_id=script.caller_id, target=target, outcome="not_started",
        sip_code=0, reason=why, start_s=script.start_s, late_s=round(late, 4), pdd_s=None,
        sip_answer_s=None, agent_answer_s=None, talk_s=None, held_s=None, digits_sent="",
        digits_heard="", rx_level=None, rx_audible_share=None, heard_far_tone=None,
        heard_echo=None, ivr_outcome=script.ivr_outcome, ivr_s=script.ivr_s,
    )


@dataclass(frozen=True, slots=True)
class AnswerBehaviour:
    """How an answering bot treats incoming calls."""

    answer_after_s: tuple[float, float] = (0.0, 0.0)  # uniform ring time before answering
    dtmf: tuple[DtmfStep, ...] = ()  # digits to send, seconds after answering
    reject_code: int | None = None  # refuse every call with this status (486, 603...)
    reject_from: tuple[tuple[str, int], ...] = ()  # (regex, code): refuse matching callers
    hangup_after_s: float | None = None  # hang up this long after answering
    wrap_up_s: float = 0.0  # answer 486 Busy Here for this long after a call
    one_call_per_account: bool = False  # a person's phone: busy (486) while on a call
    record: bool = False  # record each call and check the caller's tone (a recorder per call)
    no_answer_probability: float = 0.0  # leave this share of calls ringing (RONA)


@dataclass
class _Incoming:
    account: int
    caller: str
    sip_call_id: str
    hotline_call_id: str | None
    invite_at: float
    recording: Path | None
    answered: bool = False
    hung_up_by_bot: bool = False
    heard: str = ""


class AnswerBot:
    """Answers calls on its accounts (one call per account at a time, like a person)."""

    def __init__(self, ua: UserAgent, accounts: dict[int, str], behaviour: AnswerBehaviour, *,
                 tone: Path, workdir: Path, clock: Callable[[], float],
                 emit: Callable[[AnsweredCall], None], seed: int = 0) -> None:
        self._ua = ua
        self._names = accounts
        self._behaviour = behaviour
        self._tone = tone
        self._workdir = workdir
        self._clock = clock
        self._emit = emit
        self._rng = random.Random(seed)
        self._reject_from = [(re.compile(rx), code) for rx, code in behaviour.reject_from]
        self._calls: dict[int, _Incoming] = {}
        self._busy_until: dict[int, float] = {}
        self._timers = _Timers()

    @property
    def busy(self) -> int:
        return len(self._calls)

    def handle(self, event: SipEvent) -> None:
        if isinstance(event, IncomingCall):
            self._incoming(event)
            return
        call = self._calls.get(getattr(event, "call", -1))
        if call is None:
            return
        if isinstance(event, MediaReady) and call.answered:
            self._send_script(event.call, event.at)
        elif isinstance(event, DtmfReceived):
            call.heard += event.digit
        elif isinstance(event, CallEnded):
            self._ended(event.call, call, event)

    def tick(self, now: float) -> None:
        self._timers.run_due(now)

    def next_due(self) -> float | None:
        """When ``tick`` next has something to do (a monotonic time), or None."""
        return self._timers.next_due()

    def _incoming(self, event: IncomingCall) -> None:
        b = self._behaviour
        caller = _user_of(event.remote_uri)
        busy = b.one_call_per_account and any(
            c.account == event.account for c in self._calls.values())
        code = b.reject_code
        if code is None:
            code = next((c for rx, c in self._reject_from if rx.search(caller)), None)
        if code is None and (busy or self._busy_until.get(event.account, 0.0) > event.at):
            code = 486
        recording = (self._workdir / f"answer-{event.call}.wav") if b.record else None
        call = _Incoming(event.account, caller, event.sip_call_id,
                         event.header("X-Hotline-Call-Id"), event.at, recording)
        if code is not None:
            self._ua.reject(event.call, code)
            self._emit(self._result(call, "rejected", code, None, None))
            return
        self._calls[event.call] = call
        self._ua.ring(event.call)
        if b.no_answer_probability and self._rng.random() < b.no_answer_probability:
            return  # rings until the caller (or Hotline's RONA timer) gives up: "missed"
        low, high = b.answer_after_s
        self._timers.at(event.at + self._rng.uniform(low, high), lambda: self._answer(event.call))

    def _answer(self, handle: int) -> None:
        call = self._calls.get(handle)
        if call is None:
            return
        self._ua.play(handle, self._tone)
        self._ua.echo(handle)
        if call.recording is not None:
            self._ua.record(handle, call.recording)
        call.answered = True
        self._ua.answer(handle)

    def _send_script(self, handle: int, at: float) -> None:
        for step in self._behaviour.dtmf:
            self._timers.at(at + step.after_s,
                            lambda s=step: self._ua.send_dtmf(handle, s.digits))
        if self._behaviour.hangup_after_s is not None:
            self._timers.at(at + self._behaviour.hangup_after_s, lambda: self._hang_up(handle))

    def _hang_up(self, handle: int) -> None:
        call = self._calls.get(handle)
        if call is not None:
            call.hung_up_by_bot = True
            self._ua.hangup(handle)

    def _ended(self, handle: int, call: _Incoming, event: CallEnded) -> None:
        del self._calls[handle]
        self._busy_until[call.account] = event.at + self._behaviour.wrap_up_s
        heard_tone = None
        if call.answered and call.recording is not None:
            try:
                heard_tone = CALLER_TONE_HZ in check_media(call.recording,
                                                           (CALLER_TONE_HZ,)).tones_hz
            except AudioFileError as error:
                log.warning("media check impossible: %s", error)
        if call.recording is not None:
            call.recording.unlink(missing_ok=True)
        outcome = "answered" if call.answered else "missed"
        self._emit(self._result(call, outcome, event.code, event, heard_tone))

    def _result(self, call: _Incoming, outcome: str, code: int, ended: CallEnded | None,
                heard: bool | None) -> AnsweredCall:
        return AnsweredCall(
            account=self._names[call.account], caller=call.caller, sip_call_id=call.sip_call_id,
            hotline_call_id=call.hotline_call_id, invite_at=call.invite_at, outcome=outcome,
            sip_code=code, digits_heard=call.heard,
            rx_level=ended.rx_level if ended else None,
            rx_audible_share=ended.rx_audible_share if ended else None, heard_caller_tone=heard,
            hung_up_by_bot=call.hung_up_by_bot,
        )


def _user_of(uri: str) -> str:
    """``"Name" <sip:0600@host>`` -> ``0600``."""
    match = re.search(r"sips?:([^@;>]+)@", uri)
    return match.group(1) if match else uri
