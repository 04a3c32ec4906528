"""Recording control, sans-I/O: call transitions in, AMI requests and metadata writes out.

Think of a studio engineer beside the switchboard: told "agent 1001 answered call X", they
press record on the caller's line; told "the agent needs a pause (card number)", they mute the
tape; told "X was transferred", they close this tape and start a new one for the next agent;
told "X hung up", they stop. :class:`RecordingController` is that engineer. It is fed

* the call tracker's transitions (:mod:`cti.transitions`),
* :class:`FlowEntered` and :class:`CustomerIdentified` from the IVR runtime,
* :class:`PauseRequested` / :class:`ResumeRequested` from the agent API or an IVR node marked
  ``sensitive`` (``source`` says which; the recording stays muted while any source pauses it),
* :class:`ActionSettled` when the live engine got Asterisk's answer to one of its requests,

and returns, in the order the engine must carry them out, :class:`AmiRequest` (a
``cti.ami.actions`` MixMonitor / MixMonitorMute / StopMixMonitor with a ``ref`` to report back)
and metadata writes (:class:`SegmentStarted`, :class:`SegmentPaused`, :class:`SegmentResumed`,
:class:`SegmentStopped`, :class:`RecordingFailed`, :class:`SegmentFlagged`,
:class:`CustomerLinked`) that
:class:`recording.repository.RecordingRepository` applies. It reads no clock (every input
carries ``at``), touches no file and no socket.

MixMonitor runs on the *caller's* channel, which lives through transfers; each agent who talks
to the caller gets their own segment (``segment`` 1, 2, ... of the call). A StopMixMonitor sent
after the caller hung up may be answered with an error; that is expected and ignored (a
channel that is gone stops its MixMonitor by itself).

``record_from: call_start`` does not start MixMonitor when the caller's channel appears: the
IVR flow, which a ``never`` rule may forbid recording, is not known yet. The decision waits for
:class:`FlowEntered` (the IVR's start), or for ``Queued`` / the answer when no IVR runs, so a
``never`` flow leaves no recording at all. A segment started before the customer is known
gets the customer id afterwards (:class:`CustomerLinked`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

from cti.ami import actions
from cti.ami.actions import Action
from cti.transitions import (
    Answered,
    CallAdopted,
    CallStarted,
    CallTransition,
    Ended,
    LegRole,
    Queued,
    Transferred,
)
from recording.policy import RecordingDecision, RecordingPolicy
from recording.storage import leg_paths, segment_path

PauseSource = Literal["agent", "ivr"]
Purpose = Literal["start", "mute", "unmute", "stop"]


# ---- inputs of the controller's own (besides cti transitions) -----------------------------

@dataclass(frozen=True, slots=True)
class FlowEntered:
    call_id: str
    at: float
    flow: str


@dataclass(frozen=True, slots=True)
class CustomerIdentified:
    call_id: str
    at: float
    customer_id: str


@dataclass(frozen=True, slots=True)
class PauseRequested:
    call_id: str
    at: float
    source: PauseSource
    by: str  # agent id, or the IVR node's name


@dataclass(frozen=True, slots=True)
class ResumeRequested:
    call_id: str
    at: float
    source: PauseSource
    by: str


@dataclass(frozen=True, slots=True)
class ActionSettled:
    """Asterisk answered request ``ref``: ``error`` is None on success, else its message."""

    ref: str
    at: float
    error: str | None = None


ControlInput = (CallTransition | FlowEntered | CustomerIdentified | PauseRequested
                | ResumeRequested | ActionSettled)


# ---- outputs ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AmiRequest:
    """Send ``action``; report Asterisk's answer back as ``ActionSettled(ref, ...)``."""

    ref: str
    call_id: str
    segment: int
    purpose: Purpose
    action: Action


@dataclass(frozen=True, slots=True)
class SegmentStarted:
    call_id: str
    segment: int
    at: float
    agent_id: str | None
    queue: str | None
    customer_id: str | None
    path: str  # relative to the recording root
    channel: str
    split_legs: bool
    retention_days: int
    reason: str


@dataclass(frozen=True, slots=True)
class SegmentPaused:
    call_id: str
    segment: int
    at: float
    source: PauseSource
    by: str


@dataclass(frozen=True, slots=True)
class SegmentResumed:
    call_id: str
    segment: int
    at: float


@dataclass(frozen=True, slots=True)
class SegmentStopped:
    """The segment ended; finalise its file once the stop request has been answered."""

    call_id: str
    segment: int
    at: float


@dataclass(frozen=True, slots=True)
class RecordingFailed:
    """Asterisk refused to record the segment; flag it on the call."""

    call_id: str
    segment: int
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class SegmentFlagged:
    call_id: str
    segment: int
    at: float
    flag: str
    reason: str


@dataclass(frozen=True, slots=True)
class CustomerLinked:
    """The customer became known: segments 1..``segment`` of the call that were started
    without a customer (the IVR and wait, open or stopped) get ``customer_id``."""

    call_id: str
    segment: int
    at: float
    customer_id: str


MetadataWrite = (SegmentStarted | SegmentPaused | SegmentResumed | SegmentStopped
                 | RecordingFailed | SegmentFlagged | CustomerLinked)
ControlOutput = AmiRequest | MetadataWrite


@dataclass(frozen=True, slots=True)
class SegmentView:
    call_id: str
    segment: int
    agent_id: str | None
    path: str
    paused: bool
    failed: bool


@dataclass(slots=True)
class _Segment:
    number: int
    agent: str | None
    channel: str
    path: PurePosixPath
    failed: bool = False
    muted: bool = False


@dataclass(slots=True)
class _Call:
    call_id: str
    caller_channel: str | None = None
    queue: str | None = None
    flow: str | None = None
    customer_id: str | None = None
    pauses: dict[PauseSource, str] = field(default_factory=dict)
    segment: _Segment | None = None
    segments: int = 0
    # the last segment started while the customer was unknown (0: none waits for one)
    anonymous_upto: int = 0
    # an agent who answered while another agent's segment runs (attended transfer consult)
    pending: tuple[str, str] | None = None


class RecordingController:
    """Decides and drives the recordings of every live call (see the module docstring)."""

    def __init__(self, policy: RecordingPolicy, *, asterisk_root: PurePosixPath | str,
                 tz: dt.tzinfo) -> None:
        self.policy = policy
        self.asterisk_root = PurePosixPath(str(asterisk_root))
        self.tz = tz
        self._calls: dict[str, _Call] = {}
        self._refs: dict[str, tuple[str, int, Purpose]] = {}
        self._next_ref = 0

    # ---- queries ----
    def active_segment(self, call_id: str) -> SegmentView | None:
        call = self._calls.get(call_id)
        if call is None or call.segment is None:
            return None
        seg = call.segment
        return SegmentView(call_id, seg.number, seg.agent, seg.path.as_posix(), seg.muted,
                           seg.failed)

    def pending_requests(self) -> int:
        return len(self._refs)

    # ---- the one entry point ----
    def feed(self, item: ControlInput) -> list[ControlOutput]:
        """Apply one input; return what to do, in order."""
        if isinstance(item, ActionSettled):
            return self._settled(item)
        if isinstance(item, Ended):
            call = self._calls.pop(item.call_id, None)
            return self._stop(call, item.at) if call is not None else []
        if isinstance(item, (FlowEntered, CustomerIdentified, PauseRequested, ResumeRequested)):
            # only the tracker's transitions make a call known; a request naming a call that
            # is not live (a stale API call, a typo) must not create state that never ends
            known = self._calls.get(item.call_id)
            if known is None:
                return []
            call = known
        else:
            call = self._calls.setdefault(item.call_id, _Call(item.call_id))
        match item:
            case CallStarted(role=LegRole.CALLER):
                # call_start waits for the flow (FlowEntered), or Queued / the answer when no
                # IVR runs: a `never` flow must not leave even a stub of a recording
                call.caller_channel = call.caller_channel or item.channel
                return []
            case CallAdopted():
                # After an AMI outage we cannot know whether a MixMonitor still runs; the
                # call is tracked from here (pauses, stop) but not restarted.
                call.caller_channel = call.caller_channel or item.caller_channel
                return []
            case FlowEntered():
                call.flow = item.flow
                if not self._decision(call).record and call.segment is not None:
                    return self._stop(call, item.at)
                return self._maybe_start_early(call, item.at, "call_start")
            case CustomerIdentified():
                call.customer_id = item.customer_id
                upto, call.anonymous_upto = call.anonymous_upto, 0
                return [CustomerLinked(call.call_id, upto, item.at, item.customer_id)] \
                    if upto else []
            case Queued():
                call.queue = item.queue
                call.caller_channel = call.caller_channel or item.channel
                return self._maybe_start_early(call, item.at, "call_start", "queued")
            case Answered(agent=str() as agent):
                return self._answered(call, item.at, agent, item.channel)
            case Transferred():
                call.caller_channel = call.caller_channel or item.transferee_channel
                out = self._stop(call, item.at)
                # the agent's own pause belonged to their conversation
                call.pauses.pop("agent", None)
                pending, call.pending = call.pending, None
                # an attended transfer joins the caller to the consulted agent now; a blind one
                # waits for the next Answered (a consultation that was abandoned is dropped)
                if pending is not None and item.kind == "attended" and item.target == pending[1]:
                    out += self._answered(call, item.at, *pending)
                return out
            case PauseRequested():
                return self._pause(call, item)
            case ResumeRequested():
                return self._resume(call, item)
        return []

    # ---- transitions ----
    def _decision(self, call: _Call) -> RecordingDecision:
        return self.policy.decide(call.call_id, call.queue, call.flow)

    def _maybe_start_early(self, call: _Call, at: float, *phases: str) -> list[ControlOutput]:
        if call.segment is not None or call.caller_channel is None:
            return []
        decision = self._decision(call)
        if not decision.record or decision.record_from not in phases:
            return []
        return self._start(call, at, None, call.caller_channel, decision)

    def _answered(self, call: _Call, at: float, agent: str, channel: str) -> list[ControlOutput]:
        current = call.segment
        if current is not None and current.agent == agent:
            return []
        if current is not None and current.agent is not None:
            call.pending = (agent, channel)
            return []
        decision = self._decision(call)
        out = self._stop(call, at)
        if decision.record:
            out += self._start(call, at, agent, call.caller_channel or channel, decision)
        return out

    def _start(self, call: _Call, at: float, agent: str | None, channel: str,
               decision: RecordingDecision) -> list[ControlOutput]:
        call.segments += 1
        number = call.segments
        local = dt.datetime.fromtimestamp(at, self.tz)
        relative = segment_path(local, call.queue, agent, call.call_id, number)
        call.segment = _Segment(number, agent, channel, relative)
        if call.customer_id is None:
            call.anonymous_upto = number
        options = None
        if decision.split_legs:
            first, second = (self.asterisk_root / p for p in leg_paths(relative))
            if channel != call.caller_channel:  # recording the agent's leg: feeds swap
                first, second = second, first
            options = f"r({first})t({second})"
        out: list[ControlOutput] = [
            SegmentStarted(call.call_id, number, at, agent, call.queue, call.customer_id,
                           relative.as_posix(), channel, decision.split_legs,
                           decision.retention_days, decision.reason),
            self._request(call, "start",
                          actions.mixmonitor(channel, str(self.asterisk_root / relative),
                                             options)),
        ]
        if call.pauses:
            source, by = next(iter(call.pauses.items()))
            out += self._mute(call, at, source, by)
        return out

    def _stop(self, call: _Call, at: float) -> list[ControlOutput]:
        seg = call.segment
        if seg is None:
            return []
        call.segment = None
        if seg.failed:
            return []
        return [self._request(call, "stop", actions.stop_mixmonitor(seg.channel), seg.number),
                SegmentStopped(call.call_id, seg.number, at)]

    def _pause(self, call: _Call, item: PauseRequested) -> list[ControlOutput]:
        if item.source in call.pauses:
            return []
        call.pauses[item.source] = item.by
        return self._mute(call, item.at, item.source, item.by)

    def _mute(self, call: _Call, at: float, source: PauseSource, by: str) -> list[ControlOutput]:
        seg = call.segment
        if seg is None or seg.failed or seg.muted:
            return []
        seg.muted = True
        return [self._request(call, "mute", actions.mixmonitor_mute(seg.channel, True)),
                SegmentPaused(call.call_id, seg.number, at, source, by)]

    def _resume(self, call: _Call, item: ResumeRequested) -> list[ControlOutput]:
        if call.pauses.pop(item.source, None) is None or call.pauses:
            return []
        seg = call.segment
        if seg is None or seg.failed or not seg.muted:
            return []
        seg.muted = False
        return [self._request(call, "unmute", actions.mixmonitor_mute(seg.channel, False)),
                SegmentResumed(call.call_id, seg.number, item.at)]

    def _request(self, call: _Call, purpose: Purpose, action: Action,
                 segment: int | None = None) -> AmiRequest:
        number = segment if segment is not None else call.segment.number  # type: ignore[union-attr]
        self._next_ref += 1
        ref = f"rec-{self._next_ref}"
        self._refs[ref] = (call.call_id, number, purpose)
        return AmiRequest(ref, call.call_id, number, purpose, action)

    def _settled(self, item: ActionSettled) -> list[ControlOutput]:
        known = self._refs.pop(item.ref, None)
        if known is None or item.error is None:
            return []
        call_id, number, purpose = known
        call = self._calls.get(call_id)
        seg = call.segment if call is not None else None
        if purpose == "start":
            if seg is not None and seg.number == number:
                seg.failed = True
            return [RecordingFailed(call_id, number, item.at,
                                    f"Asterisk refused MixMonitor: {item.error}")]
        if purpose in ("mute", "unmute"):
            flag = "pause_failed" if purpose == "mute" else "resume_failed"
            return [SegmentFlagged(call_id, number, item.at, flag,
                                   f"MixMonitorMute failed: {item.error}")]
        return []  # a stop on a channel that already hung up
