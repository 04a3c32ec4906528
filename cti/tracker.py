"""The call tracker: typed AMI events in, call-level transitions out (pure, no I/O).

Picture the supervisor's board: each line is a *call* (a customer who rang in), and each call
has *legs* (Asterisk channels: the caller's phone, the agent's phone it was connected to, a
second agent after a transfer) and *bridges* (the mixers that join legs so they hear each
other). Asterisk reports legs one event at a time; :class:`CallTracker` keeps the board and
says what changed for the call (``cti.transitions``).

Feeding::

    tracker = CallTracker(TrackerConfig())
    for transition in tracker.feed(event, at=clock()):
        ...

Legs are grouped into calls by Linkedid. A call starts with the Newchannel of its first leg
(Uniqueid == Linkedid); a leg event for a call the tracker never saw start (Hotline connected
mid-call) is ignored until :meth:`CallTracker.resync` adopts that call from the
CoreShowChannels answer. Who hung up is read from the first ``HangupRequest`` (the phone hung
up) or ``SoftHangupRequest`` (Asterisk or an AMI action did) of the call's teardown.

Resynchronisation after an AMI outage: call :meth:`begin_resync` when the connection drops (or
before asking Asterisk), then :meth:`resync` with a :class:`~cti.resync.ResyncSnapshot` of what
Asterisk has now. Calls whose legs all vanished end once with ``reason='lost during outage'``;
calls still there are kept (no duplicate CallStarted); calls never seen are adopted
(``CallAdopted``). Hang-ups seen while the resync is open win over the (older) snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cti.ami import events as ev
from cti.resync import ResyncSnapshot, parse_duration
from cti.transitions import (
    CAUSE_TEXT,
    REASON_LOST,
    Answered,
    CallAdopted,
    CallPhase,
    CallStarted,
    CallTransition,
    CallView,
    Ended,
    HangupBy,
    Held,
    LegRole,
    LegView,
    NotAnswered,
    Queued,
    Ringing,
    Rona,
    Transferred,
    Unheld,
)

_NOTHING: tuple[CallTransition, ...] = ()
AGENT_TECHNOLOGIES = frozenset({"PJSIP", "SIP", "IAX2"})


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Dialplan names the tracker needs (see config/asterisk and extensions_used.conf).

    ``agent_contexts``: contexts of agent phones (a new leg there is an agent's);
    ``connect_context``: Hotline's context that dials an agent (its dial targets are agents);
    ``wait_context``: where queued callers wait with music on hold;
    ``contact_variable``: the channel variable holding Hotline's contact id.
    """

    agent_contexts: frozenset[str] = frozenset({"from-agents"})
    connect_context: str = "hotline-connect"
    wait_context: str = "hotline-wait"
    contact_variable: str = "HOTLINE_CONTACT"


@dataclass(slots=True, eq=False)
class _Leg:
    uniqueid: str
    channel: str
    call_id: str
    role: LegRole
    agent: str | None
    state: int
    context: str
    caller_id_num: str
    epoch: int
    bridge_id: str | None = None
    held: bool = False
    dialing: bool = False
    request_pending: bool = False
    request_cause: int | None = None
    hangup_cause: int | None = None
    hangup_text: str = ""


@dataclass(slots=True, eq=False)
class _Call:
    call_id: str
    started_at: float
    phase: CallPhase = CallPhase.DIALPLAN
    legs: dict[str, _Leg] = field(default_factory=dict)
    gone: list[_Leg] = field(default_factory=list)
    contact_id: str | None = None
    queue: str | None = None
    agent: str | None = None
    answered: bool = False
    has_caller: bool = False
    phase_before_ring: CallPhase = CallPhase.DIALPLAN
    requester: _Leg | None = None
    requester_soft: bool = False
    phase_at_request: CallPhase | None = None


def _agent_extension(channel: str) -> str | None:
    tech, _, resource = channel.partition("/")
    if tech not in AGENT_TECHNOLOGIES or not resource:
        return None
    base, dash, _ = resource.rpartition("-")
    return base if dash else resource


class CallTracker:
    """Calls, legs and bridges, maintained from typed AMI events."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self._config = config or TrackerConfig()
        self._calls: dict[str, _Call] = {}
        self._legs: dict[str, _Leg] = {}
        self._bridges: dict[str, set[str]] = {}
        self._epoch = 0
        # Resync is open from construction: nothing is known until the first snapshot.
        self._resync_open = True
        self._hung_up_during_resync: set[str] = set()
        self.ignored_events = 0
        self._handlers: dict[type, Callable[[object, float], Sequence[CallTransition]]] = {
            ev.Newchannel: self._on_newchannel,
            ev.Newstate: self._on_newstate,
            ev.DialBegin: self._on_dial_begin,
            ev.DialEnd: self._on_dial_end,
            ev.HangupRequest: self._on_hangup_request,
            ev.SoftHangupRequest: self._on_hangup_request,
            ev.Hangup: self._on_hangup,
            ev.BridgeCreate: self._on_bridge_create,
            ev.BridgeEnter: self._on_bridge_enter,
            ev.BridgeLeave: self._on_bridge_leave,
            ev.BridgeDestroy: self._on_bridge_destroy,
            ev.Hold: self._on_hold,
            ev.Unhold: self._on_unhold,
            ev.BlindTransfer: self._on_blind_transfer,
            ev.AttendedTransfer: self._on_attended_transfer,
            ev.VarSet: self._on_varset,
            ev.HotlineQueued: self._on_queued,
            ev.HotlineRona: self._on_rona,
        }  # type: ignore[dict-item]

    @property
    def config(self) -> TrackerConfig:
        return self._config

    # --- feeding ------------------------------------------------------------------------

    def feed(self, event: ev.AmiEvent, at: float) -> Sequence[CallTransition]:
        """Apply one event; returns the call transitions it caused (often none)."""
        handler = self._handlers.get(type(event))
        if handler is None:
            return _NOTHING
        return handler(event, at)

    def _leg(self, channel: ev.ChannelSnapshot) -> _Leg | None:
        leg = self._legs.get(channel.uniqueid)
        if leg is None:
            self.ignored_events += 1
        else:
            leg.context = channel.context
        return leg

    def _new_leg(self, call: _Call, snap: ev.ChannelSnapshot) -> _Leg:
        if snap.context in self._config.agent_contexts:
            role = LegRole.AGENT
        elif not call.has_caller:
            role = LegRole.CALLER
            call.has_caller = True
        else:
            role = LegRole.OTHER
        leg = _Leg(snap.uniqueid, snap.name, call.call_id, role,
                   _agent_extension(snap.name) if role is LegRole.AGENT else None,
                   snap.state, snap.context, snap.caller_id_num, self._epoch)
        call.legs[leg.uniqueid] = leg
        self._legs[leg.uniqueid] = leg
        return leg

    def _on_newchannel(self, e: ev.Newchannel, at: float) -> Sequence[CallTransition]:
        snap = e.channel
        if snap.uniqueid in self._legs:
            return _NOTHING
        call = self._calls.get(snap.linkedid)
        if call is None:
            if snap.uniqueid != snap.linkedid:
                # A new leg of a call that began before we were connected: resync adopts it.
                self.ignored_events += 1
                return _NOTHING
            call = self._calls[snap.linkedid] = _Call(snap.linkedid, at)
            leg = self._new_leg(call, snap)
            return (CallStarted(call.call_id, at, leg.uniqueid, leg.channel, leg.role,
                                snap.caller_id_num, snap.caller_id_name, snap.context,
                                snap.exten),)
        self._new_leg(call, snap)
        return _NOTHING

    def _on_newstate(self, e: ev.Newstate, at: float) -> Sequence[CallTransition]:
        leg = self._leg(e.channel)
        if leg is None:
            return _NOTHING
        previous, leg.state = leg.state, e.channel.state
        if leg.state != ev.STATE_RINGING or previous == ev.STATE_RINGING:
            return _NOTHING
        call = self._calls[leg.call_id]
        if call.phase in (CallPhase.DIALPLAN, CallPhase.WAITING):
            call.phase_before_ring = call.phase
            call.phase = CallPhase.RINGING
        return (Ringing(call.call_id, at, leg.uniqueid, leg.channel, leg.agent),)

    def _on_dial_begin(self, e: ev.DialBegin, at: float) -> Sequence[CallTransition]:
        dest = self._legs.get(e.dest.uniqueid)
        if dest is None:
            return _NOTHING
        dest.dialing = True
        if (e.channel is not None
                and e.channel.context == self._config.connect_context
                and dest.role is not LegRole.AGENT):
            dest.role = LegRole.AGENT
            dest.agent = _agent_extension(dest.channel)
        return _NOTHING

    def _on_dial_end(self, e: ev.DialEnd, at: float) -> Sequence[CallTransition]:
        leg = self._leg(e.dest)
        if leg is None:
            return _NOTHING
        if not leg.dialing:
            return _NOTHING  # app_queue reports some dial ends twice
        leg.dialing = False
        call = self._calls[leg.call_id]
        if e.dial_status == "ANSWER":
            call.phase = CallPhase.TALKING
            call.answered = True
            if leg.agent is not None:
                call.agent = leg.agent
            return (Answered(call.call_id, at, leg.uniqueid, leg.channel, leg.agent),)
        if call.phase is CallPhase.RINGING:
            call.phase = call.phase_before_ring
        return (NotAnswered(call.call_id, at, leg.uniqueid, leg.channel, leg.agent,
                            e.dial_status),)

    def _on_queued(self, e: ev.HotlineQueued, at: float) -> Sequence[CallTransition]:
        leg = self._leg(e.channel)
        if leg is None:
            return _NOTHING
        call = self._calls[leg.call_id]
        call.contact_id = e.contact_id
        call.queue = e.queue or None
        call.phase = CallPhase.WAITING
        return (Queued(call.call_id, at, leg.uniqueid, leg.channel, e.contact_id, e.queue),)

    def _on_rona(self, e: ev.HotlineRona, at: float) -> Sequence[CallTransition]:
        leg = self._leg(e.channel)
        if leg is None:
            return _NOTHING
        call = self._calls[leg.call_id]
        call.phase = CallPhase.WAITING
        return (Rona(call.call_id, at, e.contact_id, e.agent, e.dial_status),)

    def _on_varset(self, e: ev.VarSet, at: float) -> Sequence[CallTransition]:
        if e.variable != self._config.contact_variable or e.channel is None:
            return _NOTHING
        leg = self._legs.get(e.channel.uniqueid)
        if leg is not None and e.value:
            self._calls[leg.call_id].contact_id = e.value
        return _NOTHING

    def _on_hold(self, e: ev.Hold, at: float) -> Sequence[CallTransition]:
        leg = self._leg(e.channel)
        if leg is None:
            return _NOTHING
        leg.held = True
        call = self._calls[leg.call_id]
        call.phase = CallPhase.HELD
        return (Held(call.call_id, at, leg.uniqueid, leg.channel, leg.agent),)

    def _on_unhold(self, e: ev.Unhold, at: float) -> Sequence[CallTransition]:
        leg = self._leg(e.channel)
        if leg is None:
            return _NOTHING
        leg.held = False
        call = self._calls[leg.call_id]
        if call.phase is CallPhase.HELD:
            call.phase = CallPhase.TALKING
        return (Unheld(call.call_id, at, leg.uniqueid, leg.channel, leg.agent),)

    def _on_blind_transfer(self, e: ev.BlindTransfer, at: float) -> Sequence[CallTransition]:
        leg = self._legs.get(e.transferer.uniqueid)
        if e.result != "Success" or leg is None:
            return _NOTHING
        return (Transferred(leg.call_id, at, "blind", leg.channel, leg.agent,
                            e.transferee.name if e.transferee else None, e.extension,
                            e.context),)

    def _on_attended_transfer(self, e: ev.AttendedTransfer,
                              at: float) -> Sequence[CallTransition]:
        leg = self._legs.get(e.orig_transferer.uniqueid)
        if e.result != "Success" or leg is None:
            return _NOTHING
        target = e.transfer_target
        return (Transferred(leg.call_id, at, "attended", leg.channel, leg.agent,
                            e.transferee.name if e.transferee else None,
                            target.name if target else "", target.context if target else ""),)

    # --- bridges ------------------------------------------------------------------------

    def _on_bridge_create(self, e: ev.BridgeCreate, at: float) -> Sequence[CallTransition]:
        self._bridges.setdefault(e.bridge.uniqueid, set())
        return _NOTHING

    def _on_bridge_enter(self, e: ev.BridgeEnter, at: float) -> Sequence[CallTransition]:
        self._bridges.setdefault(e.bridge.uniqueid, set()).add(e.channel.uniqueid)
        leg = self._legs.get(e.channel.uniqueid)
        if leg is not None:
            leg.bridge_id = e.bridge.uniqueid
        return _NOTHING

    def _on_bridge_leave(self, e: ev.BridgeLeave, at: float) -> Sequence[CallTransition]:
        self._bridges.get(e.bridge.uniqueid, set()).discard(e.channel.uniqueid)
        leg = self._legs.get(e.channel.uniqueid)
        if leg is not None and leg.bridge_id == e.bridge.uniqueid:
            leg.bridge_id = None
        return _NOTHING

    def _on_bridge_destroy(self, e: ev.BridgeDestroy, at: float) -> Sequence[CallTransition]:
        self._bridges.pop(e.bridge.uniqueid, None)
        return _NOTHING

    # --- hang-up ------------------------------------------------------------------------

    def _on_hangup_request(self, e: ev.HangupRequest | ev.SoftHangupRequest,
                           at: float) -> Sequence[CallTransition]:
        leg = self._leg(e.channel)
        if leg is None:
            return _NOTHING
        leg.request_pending = True
        if e.cause:
            leg.request_cause = leg.request_cause or e.cause
        call = self._calls[leg.call_id]
        if call.requester is None:
            call.requester = leg
            call.requester_soft = isinstance(e, ev.SoftHangupRequest)
            call.phase_at_request = call.phase
        return _NOTHING

    def _on_hangup(self, e: ev.Hangup, at: float) -> Sequence[CallTransition]:
        uniqueid = e.channel.uniqueid
        if self._resync_open:
            self._hung_up_during_resync.add(uniqueid)
        leg = self._legs.pop(uniqueid, None)
        if leg is None:
            self.ignored_events += 1
            return _NOTHING
        leg.hangup_cause, leg.hangup_text = e.cause, e.cause_text
        if leg.bridge_id is not None:
            self._bridges.get(leg.bridge_id, set()).discard(uniqueid)
        call = self._calls[leg.call_id]
        del call.legs[uniqueid]
        call.gone.append(leg)
        if call.legs:
            if call.requester is leg and self._still_talking(call):
                # One leg left a conversation that goes on (e.g. a third party left a
                # conference): its hang-up did not start the end of the call.
                call.requester = None
                call.phase_at_request = None
            return _NOTHING
        return (self._end(call, at),)

    @staticmethod
    def _still_talking(call: _Call) -> bool:
        bridges = [x.bridge_id for x in call.legs.values()
                   if x.bridge_id is not None and not x.request_pending]
        return len(bridges) != len(set(bridges))

    def _end(self, call: _Call, at: float) -> Ended:
        del self._calls[call.call_id]
        requester = call.requester
        hangup_by: HangupBy
        if requester is None or call.requester_soft or requester.role is LegRole.OTHER:
            hangup_by = "system"
        else:
            hangup_by = "caller" if requester.role is LegRole.CALLER else "agent"
        cause, text = 0, ""
        if requester is not None and requester.hangup_cause:
            cause, text = requester.hangup_cause, requester.hangup_text
        elif requester is not None and requester.request_cause:
            cause = requester.request_cause
        else:
            for leg in reversed(call.gone):
                if leg.hangup_cause:
                    cause, text = leg.hangup_cause, leg.hangup_text
                    break
        return Ended(call.call_id, at, call.started_at, call.phase_at_request or call.phase,
                     hangup_by, cause, text or CAUSE_TEXT.get(cause, "Unknown"),
                     call.answered, call.agent, call.contact_id)

    # --- resynchronisation --------------------------------------------------------------

    def begin_resync(self) -> None:
        """Call before asking Asterisk for a snapshot (and, ideally, when the link drops).

        Legs known before this call and missing from the snapshot are gone; hang-ups seen
        from the first ``begin_resync`` until ``resync`` override the (older) snapshot.
        """
        self._epoch += 1
        if not self._resync_open:
            self._resync_open = True
            self._hung_up_during_resync.clear()

    def resync(self, snapshot: ResyncSnapshot, at: float) -> list[CallTransition]:
        """Reconcile with what Asterisk reports now; closes the resync window."""
        if not self._resync_open:
            self.begin_resync()
        out: list[CallTransition] = []
        live = {c.channel.uniqueid: c for c in snapshot.channels
                if c.channel.uniqueid not in self._hung_up_during_resync}
        for call in list(self._calls.values()):
            for leg in list(call.legs.values()):
                if leg.epoch < self._epoch and leg.uniqueid not in live:
                    del call.legs[leg.uniqueid]
                    del self._legs[leg.uniqueid]
                    if leg.dialing and call.legs:
                        out.append(NotAnswered(call.call_id, at, leg.uniqueid, leg.channel,
                                               leg.agent, "UNKNOWN"))
            if not call.legs:
                del self._calls[call.call_id]
                out.append(Ended(call.call_id, at, call.started_at, call.phase, "unknown", 0,
                                 REASON_LOST, call.answered, call.agent, call.contact_id,
                                 REASON_LOST))
        self._bridges = {b.bridge.uniqueid: set() for b in snapshot.bridges}
        by_call: dict[str, list[ev.CoreShowChannel]] = {}
        for item in live.values():
            by_call.setdefault(item.channel.linkedid, []).append(item)
            if item.bridge_id:
                self._bridges.setdefault(item.bridge_id, set()).add(item.channel.uniqueid)
        for call_id, items in by_call.items():
            out.extend(self._reconcile_call(call_id, items, snapshot, at))
        self._resync_open = False
        self._hung_up_during_resync.clear()
        return out

    def _reconcile_call(self, call_id: str, items: list[ev.CoreShowChannel],
                        snapshot: ResyncSnapshot, at: float) -> list[CallTransition]:
        # The first leg first, so it becomes the caller.
        items.sort(key=lambda c: (c.channel.uniqueid != call_id, c.channel.uniqueid))
        call = self._calls.get(call_id)
        adopted = call is None
        if call is None:
            first = items[0]
            started = at - (parse_duration(first.duration) or 0.0)
            call = self._calls[call_id] = _Call(call_id, started)
        for item in items:
            leg = self._legs.get(item.channel.uniqueid)
            if leg is None:
                leg = self._new_leg(call, item.channel)
                if item.application == "AppDial" and leg.role is LegRole.OTHER:
                    leg.role, leg.agent = LegRole.AGENT, _agent_extension(leg.channel)
            leg.state, leg.bridge_id = item.channel.state, item.bridge_id
            leg.context = item.channel.context
            contact = snapshot.contacts.get(leg.uniqueid)
            if contact:
                call.contact_id = contact
        caller = next((x for x in call.legs.values() if x.role is LegRole.CALLER), None)
        talking_agent = next(
            (x for x in call.legs.values() if x.role is LegRole.AGENT and x.bridge_id
             and caller is not None and caller.bridge_id == x.bridge_id), None)
        out: list[CallTransition] = []
        if talking_agent is not None:
            if call.phase not in (CallPhase.TALKING, CallPhase.HELD):
                call.phase = CallPhase.TALKING
                call.answered = True
                call.agent = talking_agent.agent
                if not adopted:
                    out.append(Answered(call_id, at, talking_agent.uniqueid,
                                        talking_agent.channel, talking_agent.agent))
        elif any(x.role is LegRole.AGENT and x.state == ev.STATE_RINGING
                 for x in call.legs.values()):
            call.phase = CallPhase.RINGING
        elif caller is not None and (caller.context == self._config.wait_context
                                     or (adopted and call.contact_id)):
            call.phase = CallPhase.WAITING
        if adopted:
            out.append(CallAdopted(
                call_id, at, call.started_at, call.phase,
                caller.uniqueid if caller else None, caller.channel if caller else None,
                caller.caller_id_num if caller else "", call.contact_id, call.agent,
                caller.bridge_id if caller else None))
        return out

    # --- queries ------------------------------------------------------------------------

    def calls(self) -> list[CallView]:
        return [self._view(c) for c in self._calls.values()]

    def call(self, call_id: str) -> CallView | None:
        call = self._calls.get(call_id)
        return None if call is None else self._view(call)

    def call_of_leg(self, uniqueid: str) -> str | None:
        leg = self._legs.get(uniqueid)
        return None if leg is None else leg.call_id

    def call_for_contact(self, contact_id: str) -> CallView | None:
        for call in self._calls.values():
            if call.contact_id == contact_id:
                return self._view(call)
        return None

    def bridge_members(self, bridge_id: str) -> frozenset[str]:
        return frozenset(self._bridges.get(bridge_id, ()))

    def __len__(self) -> int:
        return len(self._calls)

    @staticmethod
    def _view(call: _Call) -> CallView:
        legs = tuple(LegView(x.uniqueid, x.channel, x.role, x.agent, x.state, x.context,
                             x.bridge_id, x.held) for x in call.legs.values())
        return CallView(call.call_id, call.phase, call.started_at, call.contact_id, call.queue,
                        call.agent, call.answered, legs)
