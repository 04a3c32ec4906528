"""The switch: channels, bridges and Hotline's dialplan, emitting Asterisk's event sequences.

:class:`Pbx` is the stand-in's model of one Asterisk running the Hotline dialplan
(``tests/fixtures/asterisk/extensions_used.conf`` and ``config/asterisk/extensions_hotline.conf``):

* a caller dials in (:meth:`call_in`), is answered, gets ``HOTLINE_CONTACT`` and
  ``UserEvent HotlineQueued`` and waits in ``hotline-wait`` with music on hold; or, with an IVR,
  runs ``AGI(agi://...)`` first (:meth:`call_in_ivr` / :meth:`finish_ivr`);
* ``Redirect`` to ``hotline-connect,<agent>,1`` dials the agent's phone for the ring timeout:
  answer -> bridge; no answer -> ``UserEvent HotlineRona`` and back to waiting;
* either side hangs up, the agent holds, a blind transfer dials another agent.

Each step emits the events, in the order and with the fields, of the recorded transcripts (see
``docs/standin.md`` for what is left out: RTCP, RTP QoS variables and the periodic
``BRIDGEPEER`` updates). Emission is synchronous through the ``emit`` callable; only ringing
waits (for the phone's answer or the ring timeout) in an asyncio task.

Phones are registered with :meth:`register_phone`; a phone is told when it rings and answers by
calling :meth:`answer`. The world (``sim.asterisk.world``) does that for simulated agents.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sim.asterisk import messages as msg
from sim.asterisk.channels import Bridge, Channel, Fields
from sim.asterisk.clock import ScaledClock
from sim.asterisk.errors import ActionFailed, UnknownChannelError
from sim.asterisk.mixmonitor import AGENT_TONE_HZ, CALLER_TONE_HZ, Recording, RecordingDesk

DIAL_VARIABLES = ("DIALSTATUS", "DIALEDPEERNUMBER", "DIALEDPEERNAME", "ANSWEREDTIME",
                  "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "RINGTIME", "RINGTIME_MS",
                  "PROGRESSTIME", "PROGRESSTIME_MS")

# A phone told it rings returns when it will pick up: seconds from now, ``math.inf`` for never,
# or None when it will call Pbx.answer()/reject() itself.
RingHandler = Callable[[Channel], float | None]


@dataclass(slots=True)
class Phone:
    """An agent's registered SIP phone: ``on_ring`` is called with the ringing channel."""

    extension: str
    name: str
    on_ring: RingHandler | None = None


@dataclass(slots=True)
class Dialing:
    """A ``Dial(PJSIP/<ext>,<timeout>,g)`` in progress for one caller."""

    caller: Channel
    agent: Channel | None
    extension: str
    started_at: float
    answered: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    task: asyncio.Task[None] | None = None
    answered_at: float | None = None
    app_data: str = ""


class Pbx:
    """Channels, bridges and the Hotline dialplan of one emulated Asterisk."""

    def __init__(self, clock: ScaledClock, emit: Callable[[Fields], None], *,
                 ring_timeout: float = 10.0, default_queue: str = "support",
                 inbound_exten: str = "400") -> None:
        self.clock = clock
        self._emit = emit
        self.ring_timeout = ring_timeout
        self.default_queue = default_queue
        self.inbound_exten = inbound_exten
        self.channels: dict[str, Channel] = {}
        self.phones: dict[str, Phone] = {}
        self.desk = RecordingDesk()
        self._sequence = 0
        self._dials: dict[str, Dialing] = {}        # caller Uniqueid -> dial
        self._answered: dict[str, Dialing] = {}     # caller Uniqueid -> answered dial
        self._held: set[str] = set()                # agent channel names holding their caller
        self._originating: dict[str, asyncio.Future[str]] = {}
        self._callbacks: dict[str, Channel] = {}   # agent channel -> customer channel

    # ----------------------------------------------------------------- bookkeeping
    def _new_channel(self, endpoint: str, num: str, name: str, context: str, exten: str,
                     state: int, role: str, linkedid: str | None = None) -> Channel:
        self._sequence += 1
        seq = self._sequence
        uid = f"{int(self.clock.now())}.{seq}"
        ch = Channel(name=f"PJSIP/{endpoint}-{seq:08x}", uniqueid=uid, linkedid=linkedid or uid,
                     endpoint=endpoint, caller_num=num, caller_name=name, context=context,
                     exten=exten, state=state, role=role, created_at=self.clock.now())
        self.channels[ch.name] = ch
        return ch

    def find(self, name_or_uid: str) -> Channel:
        """A live channel by name (``PJSIP/2001-00000001``) or Uniqueid."""
        ch = self.channels.get(name_or_uid)
        if ch is None:
            ch = next((c for c in self.channels.values() if c.uniqueid == name_or_uid), None)
        if ch is None:
            raise UnknownChannelError(f"no live channel {name_or_uid!r} on the stand-in")
        return ch

    def emit(self, fields: Fields) -> None:
        self._emit(fields)

    def _set(self, ch: Channel, variable: str, value: str) -> None:
        ch.variables[variable] = value
        self.emit(msg.var_set(ch, variable, value))

    def _exten(self, ch: Channel, priority: int, application: str, data: str) -> None:
        ch.priority = priority
        self.emit(msg.new_exten(ch, application, data))

    def register_phone(self, extension: str, name: str,
                       on_ring: RingHandler | None = None) -> Phone:
        phone = Phone(extension, name, on_ring)
        self.phones[extension] = phone
        return phone

    def unregister_phone(self, extension: str) -> None:
        """The phone goes offline: dialling it now fails with CHANUNAVAIL."""
        self.phones.pop(extension, None)

    def reset(self) -> None:
        """An Asterisk restart: every channel and bridge vanishes without events."""
        for dial in self._dials.values():
            if dial.task is not None:
                dial.task.cancel()
        for ch in self.channels.values():
            ch.alive = False
        self._close_recordings(list(self.channels.values()))
        self.channels.clear()
        self._dials.clear()
        self._answered.clear()
        self._held.clear()

    # ----------------------------------------------------------------- callers
    def _arrive(self, num: str, name: str, context: str, exten: str,
                on_channel: Callable[[Channel], None] | None) -> Channel:
        ch = self._new_channel(num, num, name, context, exten, 4, "caller")
        if on_channel is not None:
            on_channel(ch)
        self.emit(msg.on_channel("Newchannel", "call,all", ch))
        self._set(ch, "SIPDOMAIN", "127.0.0.1")
        return ch

    def _answer_caller(self, ch: Channel, priority: int) -> None:
        self._exten(ch, priority, "Answer", "")
        ch.state = 6
        ch.answered_at = self.clock.now()
        self.emit(msg.on_channel("Newstate", "call,all", ch))
        self.emit(msg.device_state(ch.device, "INUSE"))

    def call_in(self, num: str, name: str | None = None, queue: str | None = None, *,
                on_channel: Callable[[Channel], None] | None = None) -> Channel:
        """A caller dials the Hotline number: from-callers,400 -> hotline-inbound -> waiting.

        ``on_channel`` is called with the new channel before its first event is emitted."""
        name = name or f"Caller {num}"
        exten = self.inbound_exten
        ch = self._arrive(num, name, "from-callers", exten, on_channel)
        self._exten(ch, 1, "Goto", f"hotline-inbound,{exten},1")
        ch.goto("hotline-inbound", exten, 1)
        self._exten(ch, 1, "NoOp", f"Hotline call from {num}")
        self._answer_caller(ch, 2)
        self._exten(ch, 3, "Set", f"HOTLINE_CONTACT={ch.uniqueid}")
        self._set(ch, "HOTLINE_CONTACT", ch.uniqueid)
        self._queue(ch, 4, queue or self.default_queue)
        return ch

    def _queue(self, ch: Channel, priority: int, queue: str) -> None:
        contact = ch.variables.get("HOTLINE_CONTACT", ch.uniqueid)
        self._exten(ch, priority, "UserEvent", f"HotlineQueued,Contact: {contact},Queue: {queue}")
        self.emit(msg.user_event(ch, "HotlineQueued", [("Contact", contact), ("Queue", queue)]))
        self._exten(ch, priority + 1, "Goto", "hotline-wait,s,1")
        self._enter_wait(ch)

    def _enter_wait(self, ch: Channel) -> None:
        ch.goto("hotline-wait", "s", 1)
        self.emit(msg.new_exten(ch, "MusicOnHold", "default"))
        ch.in_moh = True
        self.emit(msg.moh("MusicOnHoldStart", ch))

    def call_in_ivr(self, num: str, name: str | None, agi_url: str,
                    exten: str | None = None, *,
                    on_channel: Callable[[Channel], None] | None = None) -> Channel:
        """A caller reaches hotline-inbound of the production dialplan and starts the IVR."""
        name = name or f"Caller {num}"
        exten = exten or self.inbound_exten
        ch = self._arrive(num, name, "hotline-inbound", exten, on_channel)
        self._exten(ch, 1, "NoOp", f"Hotline call from {num} to {exten}")
        self._answer_caller(ch, 2)
        self._exten(ch, 3, "Set", f"HOTLINE_CONTACT={ch.uniqueid}")
        self._set(ch, "HOTLINE_CONTACT", ch.uniqueid)
        self._exten(ch, 4, "AGI", agi_url)
        return ch

    def set_variable(self, channel: str, variable: str, value: str) -> None:
        self._set(self.find(channel), variable, value)

    def finish_ivr(self, channel: str, agi_status: str) -> None:
        """The AGI returned (``SUCCESS``, ``FAILURE`` or ``HANGUP``): continue the dialplan.

        Mirrors ``[hotline-inbound]`` of config/asterisk/extensions_hotline.conf after the AGI
        (priorities 5-15) and reads the variables ivr/fastagi.py sets: ``HOTLINE_OUTCOME``
        (queue, transfer, voicemail, callback, hangup), ``HOTLINE_QUEUE`` and
        ``HOTLINE_TRANSFER``. A voicemail or a callback was carried out by the IVR itself, so
        they end at ``bye`` like a hang-up.
        """
        ch = self.find(channel)
        self._set(ch, "AGISTATUS", agi_status)
        outcome = ch.variables.get("HOTLINE_OUTCOME", "queue")
        failed = agi_status == "FAILURE"
        self._exten(ch, 5, "GotoIf", f"{int(failed)}?fallback")
        if failed:
            self._fallback(ch)
            return
        branches = ((6, "transfer", "transfer"), (7, "voicemail", "bye"),
                    (8, "callback", "bye"), (9, "hangup", "bye"))
        for priority, kind, label in branches:
            self._exten(ch, priority, "GotoIf", f"{int(outcome == kind)}?{label}")
            if outcome != kind:
                continue
            if label == "bye":
                self._exten(ch, 15, "Hangup", "")
                self.hangup(ch.name, cause=16, by_dialplan=True)
            else:
                self._transfer_from_ivr(ch, ch.variables.get("HOTLINE_TRANSFER", ""))
            return
        self._queue(ch, 10, ch.variables.get("HOTLINE_QUEUE", self.default_queue))

    def _fallback(self, ch: Channel) -> None:
        self._exten(ch, 12, "Set", "HOTLINE_QUEUE=general")
        self._set(ch, "HOTLINE_QUEUE", "general")
        self._exten(ch, 13, "Goto", "queue")
        self._queue(ch, 10, "general")

    def _transfer_from_ivr(self, ch: Channel, destination: str) -> None:
        """``[hotline-transfer]``: numbers outside the stand-in are not emulated, so the Dial
        fails and the caller is queued in ``general``, as the context's no-answer path does."""
        self._exten(ch, 14, "Goto", f"hotline-transfer,{destination},1")
        ch.goto("hotline-transfer", destination, 1)
        self._exten(ch, 1, "Dial", f"PJSIP/{destination},30")
        self._exten(ch, 2, "Set", "HOTLINE_QUEUE=general")
        self._set(ch, "HOTLINE_QUEUE", "general")
        self._queue(ch, 3, "general")

    # ----------------------------------------------------------------- redirect and dial
    def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        ch = self.find(channel)
        self._leave_current(ch)
        if context == "hotline-connect":
            ch.goto(context, exten, priority)
            self._start_dial(ch, exten)
        elif context == "hotline-wait":
            self._enter_wait(ch)
        else:
            # Other contexts are not emulated: the channel sits there until hung up.
            ch.goto(context, exten, priority)
            self.emit(msg.new_exten(ch, "NoOp", f"stand-in: {context},{exten},{priority}"))

    def _leave_current(self, ch: Channel) -> None:
        self._stop_moh(ch)
        if ch.bridge is not None:
            # Pulled out of its call: the other party is left alone and hung up.
            bridge, peer = ch.bridge, ch.bridge.peer_of(ch)
            self._answered.pop(ch.uniqueid, None)
            if peer is not None:
                self._held.discard(peer.name)
            self._leave_bridge(ch)
            if peer is not None:
                self._leave_bridge(peer)
            self.emit(msg.bridge_event("BridgeDestroy", bridge))
            if peer is not None:
                self._drop(peer, 16)
        dial = self._dials.pop(ch.uniqueid, None)
        if dial is not None and dial.agent is not None:
            self._cancel_dial(ch, dial, dial.agent)
            self._drop(dial.agent, 16)

    def _stop_moh(self, ch: Channel) -> None:
        if ch.in_moh:
            ch.in_moh = False
            self.emit(msg.moh("MusicOnHoldStop", ch))

    def _cancel_dial(self, caller: Channel, dial: Dialing, agent: Channel) -> None:
        """The caller leaves while the agent's phone rings: Dial ends CANCEL."""
        if dial.task is not None:
            dial.task.cancel()
        self.emit(msg.dial("DialEnd", caller, agent, "CANCEL"))
        self._set(caller, "DIALSTATUS", "CANCEL")

    def _start_dial(self, caller: Channel, exten: str, *, after_transfer: bool = False,
                    before_agent: Callable[[], None] | None = None) -> None:
        caller.goto("hotline-connect", exten, 1)
        if after_transfer:
            self._set(caller, "HOTLINE_AGENT", exten)
        else:
            self._exten(caller, 1, "Set", f"HOTLINE_AGENT={exten}")
            self._set(caller, "HOTLINE_AGENT", exten)
        app_data = f"PJSIP/{exten},{int(self.ring_timeout)},g"
        self._exten(caller, 2, "Dial", app_data)
        for name in DIAL_VARIABLES:
            self._set(caller, name, "")
        dial = Dialing(caller, None, exten, self.clock.now(), app_data=app_data)
        phone = self.phones.get(exten)
        if before_agent is not None:
            before_agent()
        if phone is None:
            self._set(caller, "DIALSTATUS", "CHANUNAVAIL")
            self._rona(caller, exten, "CHANUNAVAIL")
            return
        agent = self._new_channel(exten, exten, phone.name, "from-agents", "s", 0, "agent",
                                  linkedid=caller.linkedid)
        dial.agent = agent
        self._dials[caller.uniqueid] = dial
        self.emit(msg.on_channel("Newchannel", "call,all", agent))
        self._set(agent, "DIALEDPEERNUMBER", exten)
        agent.connected_num, agent.connected_name = caller.caller_num, caller.caller_name
        agent.exten = exten
        self.emit(msg.new_exten(agent, "AppDial", "(Outgoing Line)"))
        self.emit(msg.on_channel("NewConnectedLine", "call,all", agent))
        self.emit(msg.dial("DialBegin", caller, agent, None))
        caller.connected_num, caller.connected_name = exten, phone.name
        self.emit(msg.on_channel("NewConnectedLine", "call,all", caller))
        agent.state = 5
        self.emit(msg.on_channel("Newstate", "call,all", agent))
        self._set(caller, "RINGTIME", "0")
        self._set(caller, "RINGTIME_MS", "3")
        self.emit(msg.device_state(agent.device, "RINGING"))
        self.emit(msg.dial("DialState", caller, agent, "RINGING"))
        answer_after = phone.on_ring(agent) if phone.on_ring is not None else None
        dial.task = asyncio.get_running_loop().create_task(
            self._ring(dial, answer_after), name=f"standin-dial-{caller.uniqueid}")

    async def _await_answer(self, answered: asyncio.Future[str], answer_after: float | None,
                            timeout: float) -> str:
        """``ANSWER`` (or the phone's own verdict) or ``NOANSWER`` after ``timeout``.

        A phone that said when it answers is decided by one logical timer, so the outcome
        never depends on which of two real timers the loop happens to run first."""
        started = self.clock.elapsed()
        if answer_after is not None and answer_after < timeout:
            wait, verdict = answer_after, "ANSWER"
        else:
            wait, verdict = timeout, "NOANSWER"
        sleeper = asyncio.ensure_future(asyncio.sleep(self.clock.real(wait)))
        try:
            await asyncio.wait({answered, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
        if answered.done():
            return answered.result()
        self.clock.advance_to(started + wait)
        return verdict

    async def _ring(self, dial: Dialing, answer_after: float | None) -> None:
        outcome = await self._await_answer(dial.answered, answer_after, self.ring_timeout)
        if self._dials.get(dial.caller.uniqueid) is not dial:
            return
        if outcome == "ANSWER":
            self._connect(dial)
        else:
            self._no_answer(dial, outcome)

    def answer(self, agent_channel: str) -> None:
        """The agent's phone picks up (no-op if it is no longer ringing)."""
        dial = self._dial_of_agent(agent_channel)
        if dial is not None and not dial.answered.done():
            dial.answered.set_result("ANSWER")
        pending = self._originating.get(agent_channel)
        if pending is not None and not pending.done():
            pending.set_result("ANSWER")

    def reject(self, agent_channel: str) -> None:
        """The agent's phone declines the call (Dial ends BUSY, the caller goes back to wait)."""
        dial = self._dial_of_agent(agent_channel)
        if dial is not None and not dial.answered.done():
            dial.answered.set_result("BUSY")

    def _dial_of_agent(self, agent_channel: str) -> Dialing | None:
        return next((d for d in self._dials.values()
                     if d.agent is not None and agent_channel in (d.agent.name, d.agent.uniqueid)),
                    None)

    def _connect(self, dial: Dialing) -> None:
        caller, agent = dial.caller, dial.agent
        assert agent is not None
        del self._dials[caller.uniqueid]
        dial.answered_at = self.clock.now()
        self._answered[caller.uniqueid] = dial
        agent.state = 6
        agent.answered_at = dial.answered_at
        self.emit(msg.on_channel("Newstate", "call,all", agent))
        self._set(caller, "DIALSTATUS", "ANSWER")
        self._set(caller, "DIALEDPEERNAME", agent.name)
        self._set(caller, "DIALEDPEERNUMBER", dial.extension)
        self.emit(msg.dial("DialEnd", caller, agent, "ANSWER"))
        bridge = Bridge(str(uuid.UUID(int=self._sequence * 7919 + 1, version=4)))
        self.emit(msg.bridge_event("BridgeCreate", bridge))
        self.emit(msg.device_state(agent.device, "INUSE"))
        agent.exten = ""
        self.emit(msg.new_exten(agent, "AppDial", "(Outgoing Line)"))
        for ch in (agent, caller):
            bridge.channels.append(ch)
            ch.bridge = bridge
            self.emit(msg.bridge_event("BridgeEnter", bridge, ch))
        bridge.technology = "native_rtp"
        if "BLINDTRANSFER" in caller.variables:
            self._set(caller, "BLINDTRANSFER", "")
        self._update_recordings(caller, agent)

    def _no_answer(self, dial: Dialing, status: str) -> None:
        caller, agent = dial.caller, dial.agent
        assert agent is not None
        del self._dials[caller.uniqueid]
        self.emit(msg.dial("DialEnd", caller, agent, status))
        self._set(caller, "DIALSTATUS", status)
        self._rona(caller, dial.extension, status)
        self._drop(agent, 0 if status == "NOANSWER" else 17)

    def _rona(self, caller: Channel, exten: str, status: str) -> None:
        self._exten(caller, 3, "GotoIf", "0?done")
        contact = caller.variables.get("HOTLINE_CONTACT", "")
        self._exten(caller, 4, "UserEvent",
                    f"HotlineRona,Contact: {contact},Agent: {exten},DialStatus: {status}")
        self.emit(msg.user_event(caller, "HotlineRona", [
            ("Contact", contact), ("Agent", exten), ("DialStatus", status)]))
        self._exten(caller, 5, "Goto", "hotline-wait,s,1")
        self._enter_wait(caller)

    def _drop(self, ch: Channel, cause: int) -> None:
        """A channel goes away as a side effect (not its own hang-up)."""
        self._finish(ch)
        self.emit(msg.hangup(ch, cause))
        self.emit(msg.device_state(ch.device, "NOT_INUSE"))

    def _finish(self, ch: Channel) -> None:
        ch.alive = False
        self.channels.pop(ch.name, None)
        self._held.discard(ch.name)
        self._close_recordings([ch])

    # ----------------------------------------------------------------- hang-up stories
    def hangup(self, channel: str, cause: int = 16, *, by_dialplan: bool = False,
               requested: bool = False) -> None:
        """``channel``'s party hangs up (``requested``: an AMI Hangup, which carries a Cause)."""
        ch = self.find(channel)
        if any(ch.name in (a, c.name) for a, c in self._callbacks.items()):
            self._end_callback(ch, cause)
        elif ch.role == "caller":
            self._caller_hangs_up(ch, cause, by_dialplan=by_dialplan, requested=requested)
        else:
            self._agent_hangs_up(ch, cause)

    def _caller_hangs_up(self, ch: Channel, cause: int, *, by_dialplan: bool,
                         requested: bool) -> None:
        dial = self._dials.pop(ch.uniqueid, None)
        answered = self._answered.pop(ch.uniqueid, None)
        if by_dialplan:
            self.emit(msg.soft_hangup_request(ch, 16))
            self._end_caller(ch, None, 16)
            return
        if ch.bridge is not None:
            agent = ch.bridge.peer_of(ch)
            bridge = ch.bridge
            self.emit(msg.hangup_request(ch, cause))
            self._stop_moh(ch)  # hung up while the agent held the call
            self._leave_bridge(ch)
            if answered is not None:
                self._after_bridge_variables(ch, answered)
            self.emit(msg.soft_hangup_request(ch, 16))
            if agent is not None:
                self._leave_bridge(agent)
            self.emit(msg.bridge_event("BridgeDestroy", bridge))
            if agent is not None:
                self._finish(agent)
                self.emit(msg.hangup(agent, 16))
            self._end_caller(ch, agent, cause, answered=answered, devices=[agent])
            return
        self.emit(msg.hangup_request(ch, cause if requested else None))
        if dial is not None and dial.agent is not None:
            self._cancel_dial(ch, dial, dial.agent)
            self.emit(msg.soft_hangup_request(ch, 16))
            self._emit_cdr(ch, dial.agent, answered=None)
            self._finish(dial.agent)
            self.emit(msg.hangup(dial.agent, 16))
            self._finish(ch)
            self.emit(msg.hangup(ch, 0))
            self.emit(msg.device_state(dial.agent.device, "NOT_INUSE"))
            self.emit(msg.device_state(ch.device, "NOT_INUSE"))
            return
        self._stop_moh(ch)
        self.emit(msg.soft_hangup_request(ch, 16))
        self._end_caller(ch, None, 0)

    def _end_caller(self, ch: Channel, agent: Channel | None, cause: int, *,
                    answered: Dialing | None = None, devices: list[Channel | None] = ()) -> None:
        self._emit_cdr(ch, agent, answered)
        self._finish(ch)
        self.emit(msg.hangup(ch, cause))
        for other in devices:
            if other is not None:
                self.emit(msg.device_state(other.device, "NOT_INUSE"))
        self.emit(msg.device_state(ch.device, "NOT_INUSE"))

    def _emit_cdr(self, ch: Channel, agent: Channel | None, answered: Dialing | None) -> None:
        dial_data = answered.app_data if answered else ch.app_data
        self.emit(msg.cdr(ch, agent, ch.created_at, ch.answered_at, self.clock.now(),
                          "Dial" if agent else ch.application or "Hangup",
                          dial_data if agent else ch.app_data, ch.exten))

    def _after_bridge_variables(self, caller: Channel, answered: Dialing) -> None:
        now = self.clock.now()
        talk = now - (answered.answered_at or now)
        dialed = now - answered.started_at
        self._set(caller, "ANSWEREDTIME", str(int(talk)))
        self._set(caller, "ANSWEREDTIME_MS", str(int(talk * 1000)))
        self._set(caller, "DIALEDTIME", str(int(dialed)))
        self._set(caller, "DIALEDTIME_MS", str(int(dialed * 1000)))
        self._set(caller, "DIALSTATUS", "ANSWER")

    def _leave_bridge(self, ch: Channel) -> None:
        bridge = ch.bridge
        if bridge is None:
            return
        bridge.channels.remove(ch)
        ch.bridge = None
        self.emit(msg.bridge_event("BridgeLeave", bridge, ch))
        for other in bridge.channels:
            self._update_recordings(other, None)
        self._update_recordings(ch, None)

    def _agent_hangs_up(self, ch: Channel, cause: int) -> None:
        dial = self._dial_of_agent(ch.name)
        if dial is not None:
            self.reject(ch.name)
            return
        caller = ch.bridge.peer_of(ch) if ch.bridge is not None else None
        answered = self._answered.pop(caller.uniqueid, None) if caller is not None else None
        if caller is None or answered is None:
            self.emit(msg.hangup_request(ch, cause))
            if ch.bridge is not None:
                bridge = ch.bridge
                self._leave_bridge(ch)
                if not bridge.channels:
                    self.emit(msg.bridge_event("BridgeDestroy", bridge))
            self._drop(ch, cause)
            return
        bridge = ch.bridge
        assert bridge is not None
        if ch.name in self._held:
            self._unhold(ch, caller)
        self.emit(msg.hangup_request(ch, cause))
        self._leave_bridge(ch)
        self._leave_bridge(caller)
        self.emit(msg.bridge_event("BridgeDestroy", bridge))
        self._after_bridge_variables(caller, answered)
        self._exten(caller, 3, "GotoIf", "1?done")
        self._exten(caller, 6, "Hangup", "")
        self.emit(msg.soft_hangup_request(caller, 16))
        self._finish(ch)
        self.emit(msg.hangup(ch, cause))
        self.emit(msg.device_state(ch.device, "NOT_INUSE"))
        self._emit_cdr(caller, ch, answered)
        self._finish(caller)
        self.emit(msg.hangup(caller, 16))
        self.emit(msg.device_state(caller.device, "NOT_INUSE"))

    # ----------------------------------------------------------------- hold and transfer
    def hold(self, agent_channel: str) -> None:
        """The agent presses hold: the caller hears music on hold."""
        ch = self.find(agent_channel)
        caller = ch.bridge.peer_of(ch) if ch.bridge is not None else None
        if caller is None or ch.name in self._held:
            raise ActionFailed(f"{ch.name} is not in a call it can hold")
        self._held.add(ch.name)
        self.emit(msg.on_channel("Hold", "call,all", ch, [("MusicClass", "default")]))
        caller.in_moh = True
        self.emit(msg.moh("MusicOnHoldStart", caller))
        self.emit(msg.device_state(caller.device, "ONHOLD"))
        self._update_recordings(caller, ch)

    def unhold(self, agent_channel: str) -> None:
        ch = self.find(agent_channel)
        caller = ch.bridge.peer_of(ch) if ch.bridge is not None else None
        if caller is None or ch.name not in self._held:
            raise ActionFailed(f"{ch.name} is not holding a call")
        self._unhold(ch, caller)
        self.emit(msg.device_state(caller.device, "INUSE"))

    def _unhold(self, ch: Channel, caller: Channel) -> None:
        self._held.discard(ch.name)
        self.emit(msg.on_channel("Unhold", "call,all", ch))
        self._stop_moh(caller)
        self._update_recordings(caller, ch)

    def is_held(self, agent_channel: str) -> bool:
        return agent_channel in self._held

    def check_transfer(self, channel: str) -> Channel:
        ch = self.find(channel)
        if ch.bridge is None or ch.bridge.peer_of(ch) is None:
            raise ActionFailed("No such channel")
        return ch

    def blind_transfer(self, channel: str, context: str, exten: str) -> None:
        """``channel`` (in a bridge) transfers its peer to ``context,exten``."""
        ch = self.check_transfer(channel)
        bridge = ch.bridge
        assert bridge is not None
        peer = bridge.peer_of(ch)
        assert peer is not None
        if ch.role == "agent":
            agent, caller = ch, peer
        else:
            agent, caller = peer, ch
        was_held = agent.name in self._held
        if was_held:
            self._held.discard(agent.name)
            self.emit(msg.on_channel("Unhold", "call,all", agent))
        self._set(peer, "BLINDTRANSFER", ch.name)
        self._set(ch, "BLINDTRANSFER", peer.name)
        self.emit(msg.blind_transfer(ch, peer, bridge, context, exten))
        self._stop_moh(peer)
        answered = self._answered.pop(caller.uniqueid, None)
        peer.goto(context, exten, 1)
        # Asterisk reports the transferee's new position with the application it was running.
        self.emit(msg.new_exten(peer, peer.application or "Dial", peer.app_data))
        if was_held:
            self.emit(msg.device_state(peer.device, "INUSE"))
        self._leave_bridge(peer)
        self._leave_bridge(ch)
        if answered is not None:
            self._set(peer, "DIALSTATUS", "ANSWER")
        if context == "hotline-connect":
            self._start_dial_after_transfer(peer, exten, bridge, ch)
        else:
            self.emit(msg.bridge_event("BridgeDestroy", bridge))
            self._drop(ch, 16)
            if context == "hotline-wait":
                self._enter_wait(peer)

    def _start_dial_after_transfer(self, caller: Channel, exten: str, bridge: Bridge,
                                   transferer: Channel) -> None:
        # The dial's preamble runs before the old bridge is torn down, as in the transcript.
        def tear_down() -> None:
            self.emit(msg.bridge_event("BridgeDestroy", bridge))
            self._drop(transferer, 16)
        self._start_dial(caller, exten, after_transfer=True, before_agent=tear_down)

    # ----------------------------------------------------------------- Bridge and Originate
    def bridges(self) -> list[Bridge]:
        seen: dict[str, Bridge] = {}
        for ch in self.channels.values():
            if ch.bridge is not None:
                seen.setdefault(ch.bridge.uniqueid, ch.bridge)
        return list(seen.values())

    def bridge_channels(self, first: str, second: str) -> Bridge:
        """AMI ``Bridge``: pull both channels out of what they run and bridge them."""
        a, b = self.find(first), self.find(second)
        for ch in (a, b):
            self._leave_current(ch)
            if ch.bridge is not None:
                self._leave_bridge(ch)
        bridge = Bridge(str(uuid.UUID(int=self._sequence * 7919 + 2, version=4)))
        self.emit(msg.bridge_event("BridgeCreate", bridge))
        for ch in (a, b):
            bridge.channels.append(ch)
            ch.bridge = bridge
            self.emit(msg.bridge_event("BridgeEnter", bridge, ch))
        a.connected_num, a.connected_name = b.caller_num, b.caller_name
        b.connected_num, b.connected_name = a.caller_num, a.caller_name
        self._update_recordings(a, b)
        return bridge

    async def originate(self, action_id: str | None, channel: str, context: str, exten: str,
                        priority: int, caller_id: tuple[str, str] | None,
                        timeout: float) -> None:
        """Async Originate of ``PJSIP/<ext>``: ring the phone, then OriginateResponse."""
        endpoint = channel.partition("/")[2]
        phone = self.phones.get(endpoint)

        def response(result: str, reason: str, ch: object | None) -> Fields:
            fields: Fields = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
            if action_id is not None:
                fields.append(("ActionID", action_id))
            if isinstance(ch, Channel):
                ident = [("Channel", ch.name), ("Context", context), ("Exten", exten),
                         ("Reason", reason), ("Uniqueid", ch.uniqueid),
                         ("CallerIDNum", ch.caller_num), ("CallerIDName", ch.caller_name)]
            else:
                ident = [("Channel", channel), ("Context", context), ("Exten", exten),
                         ("Reason", reason), ("Uniqueid", "<unknown>"),
                         ("CallerIDNum", "<unknown>"), ("CallerIDName", "<unknown>")]
            return [*fields, ("Response", result), *ident]

        if phone is None or not channel.startswith("PJSIP/"):
            self.emit(response("Failure", "0", None))
            return
        ch = self._new_channel(endpoint, endpoint, phone.name, "from-agents", "s", 0,
                               "originated")
        self.emit(msg.on_channel("Newchannel", "call,all", ch))
        if caller_id is not None:
            ch.caller_name = caller_id[0]
            self.emit(msg.on_channel("NewCallerid", "call,all", ch, [
                ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]))
            ch.connected_name, ch.connected_num = caller_id
        ch.state = 5
        self.emit(msg.on_channel("Newstate", "call,all", ch))
        pending: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._originating[ch.name] = pending
        answer_after = phone.on_ring(ch) if phone.on_ring is not None else None
        outcome = await self._await_answer(pending, answer_after, timeout)
        if outcome != "ANSWER":
            self._originating.pop(ch.name, None)
            self.emit(response("Failure", "3", ch))
            if ch.alive:
                self._drop(ch, 19)
            return
        self._originating.pop(ch.name, None)
        ch.answered_at = self.clock.now()
        self.emit(response("Success", "4", ch))
        ch.state = 6
        self.emit(msg.on_channel("Newstate", "call,all", ch))
        ch.goto(context, exten, priority)
        if context == "hotline-callback":
            await self._call_back(ch, exten)

    # ----------------------------------------------------------------- [hotline-callback]
    async def _call_back(self, agent: Channel, number: str) -> None:
        """The agent answered a callback Originate: dial the customer's phone (a phone
        registered under ``number``; anything else is CHANUNAVAIL), bridge on answer, and on
        the end run the context's ``h`` extension (``UserEvent HotlineCallback``)."""
        self._exten(agent, 1, "Set", f"HOTLINE_CALLBACK={number}")
        self._set(agent, "HOTLINE_CALLBACK", number)
        self._exten(agent, 2, "Dial", f"PJSIP/{number},30")
        phone = self.phones.get(number)
        if phone is None:
            self._set(agent, "DIALSTATUS", "CHANUNAVAIL")
            self._callback_over(agent, "CHANUNAVAIL")
            return
        customer = self._new_channel(number, number, phone.name, "from-callers", "s", 0,
                                     "callee", linkedid=agent.linkedid)
        self.emit(msg.on_channel("Newchannel", "call,all", customer))
        self.emit(msg.dial("DialBegin", agent, customer, None))
        customer.state = 5
        self.emit(msg.on_channel("Newstate", "call,all", customer))
        pending: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._originating[customer.name] = pending
        answer_after = phone.on_ring(customer) if phone.on_ring is not None else None
        outcome = await self._await_answer(pending, answer_after, 30.0)
        self._originating.pop(customer.name, None)
        if not agent.alive:  # the agent gave up while the customer's phone rang
            self.emit(msg.dial("DialEnd", agent, customer, "CANCEL"))
            self._drop(customer, 16)
            return
        if outcome != "ANSWER":
            self.emit(msg.dial("DialEnd", agent, customer, outcome))
            self._set(agent, "DIALSTATUS", outcome)
            self._drop(customer, 19 if outcome == "NOANSWER" else 17)
            self._callback_over(agent, outcome)
            return
        customer.state = 6
        customer.answered_at = self.clock.now()
        self.emit(msg.on_channel("Newstate", "call,all", customer))
        self.emit(msg.dial("DialEnd", agent, customer, "ANSWER"))
        self._set(agent, "DIALSTATUS", "ANSWER")
        self.bridge_channels(agent.name, customer.name)
        self._callbacks[agent.name] = customer

    def _end_callback(self, ch: Channel, cause: int) -> None:
        """Either party of a bridged callback hangs up: both legs go, ``h`` reports ANSWER."""
        agent_name = next(a for a, c in self._callbacks.items() if ch.name in (a, c.name))
        customer = self._callbacks.pop(agent_name)
        agent = self.channels[agent_name]
        self.emit(msg.hangup_request(ch, cause))
        bridge = agent.bridge
        for leg in (agent, customer):
            self._leave_bridge(leg)
        if bridge is not None:
            self.emit(msg.bridge_event("BridgeDestroy", bridge))
        self._drop(customer, cause)
        self._callback_over(agent, "ANSWER")

    def _callback_over(self, agent: Channel, status: str) -> None:
        number = agent.variables.get("HOTLINE_CALLBACK", "")
        contact = agent.variables.get("HOTLINE_CONTACT", "")
        agent.goto("hotline-callback", "h", 1)
        self._exten(agent, 1, "UserEvent", f"HotlineCallback,Contact: {contact},Number: "
                                           f"{number},DialStatus: {status}")
        self.emit(msg.user_event(agent, "HotlineCallback", [
            ("Contact", contact), ("Number", number), ("DialStatus", status)]))
        if agent.alive:
            self._drop(agent, 16)

    # ----------------------------------------------------------------- MixMonitor
    @property
    def recordings(self) -> list[Recording]:
        return self.desk.all

    def mixmonitor(self, channel: str, path: str, options: str = "",
                   write_to: str | None = None) -> Recording:
        """Start recording ``channel``; the WAV goes to ``write_to`` (default ``path``), while
        ``MIXMONITOR_FILENAME`` reports ``path`` as the client asked for it."""
        ch = self.find(channel)
        peer = ch.bridge.peer_of(ch) if ch.bridge is not None else None
        own, other = ((CALLER_TONE_HZ, AGENT_TONE_HZ) if ch.role == "caller"
                      else (AGENT_TONE_HZ, CALLER_TONE_HZ))
        rec = self.desk.start(ch.name, Path(write_to or path), "D" in options, self.clock.now(),
                              own, other)
        self._set(ch, "MIXMONITOR_FILENAME", path)
        self.emit(msg.on_channel("MixMonitorStart", "call,all", ch))
        self._update_recordings(ch, peer)
        return rec

    def mixmonitor_mute(self, channel: str, direction: str, state: bool) -> None:
        ch = self.find(channel)
        self.desk.mute(ch.name, direction, state)
        self.emit(msg.on_channel("MixMonitorMute", "call,all", ch, [
            ("Direction", direction), ("State", "1" if state else "0")]))
        self._update_recordings(ch, ch.bridge.peer_of(ch) if ch.bridge else None)

    def is_recording(self, channel: str) -> bool:
        return self.desk.is_active(channel)

    def stop_mixmonitor(self, channel: str) -> None:
        ch = self.find(channel)
        if not self.desk.close(ch.name, self.clock.now()):
            raise ActionFailed("Could not stop monitoring channel")
        self.emit(msg.on_channel("MixMonitorStop", "call,all", ch))

    def _update_recordings(self, ch: Channel, peer: Channel | None) -> None:
        now = self.clock.now()
        for c in (ch, peer):
            if c is None:
                continue
            other = c.bridge.peer_of(c) if c.bridge is not None else None
            held = any(name in self._held for name in (c.name, other.name if other else ""))
            self.desk.refresh(c.name, now, alive=c.alive,
                              hears_peer=other is not None and not held)

    def _close_recordings(self, channels: list[Channel]) -> None:
        for ch in channels:
            self.desk.close(ch.name, self.clock.now())
