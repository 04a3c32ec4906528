"""A scripted world of callers and agents around the stand-in.

Picture a small call centre seen from the switch: callers dial in (optionally through the IVR
over FastAGI), wait with music on hold, hang up when their patience runs out; agents' phones
ring when Hotline redirects a caller to them, are answered after a delay (or never: RONA),
talk, hold and hang up. Hotline's CTI engine, connected over AMI, is the only thing deciding who
talks to whom; the world only plays the humans.

Everything is in simulated seconds on the stand-in's :class:`~sim.asterisk.clock.ScaledClock`,
so ``time_scale=0.001`` runs a 30-second talk in 30 ms. Tests wait with
:meth:`World.wait_for` (a predicate re-checked after every event) instead of sleeping, and read
what happened from :attr:`World.log` (one :class:`WorldEvent` per human-level fact).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cti.ami.protocol import AmiMessage
from sim.asterisk.channels import Channel
from sim.asterisk.errors import WaitTimeout
from sim.asterisk.fastagi import AgiChannelInfo, AgiSessionResult, CallerInput, FastAgiClient
from sim.asterisk.standin import AsteriskStandin


@dataclass(frozen=True, slots=True)
class WorldEvent:
    """A human-level fact: ``kind`` in arrived, queued, ringing, answered, rona, held,
    unheld, hung_up, abandoned, ivr_done, agent_hung_up, ..."""

    time: float
    kind: str
    who: str
    channel: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AgentScript:
    """How an agent behaves on each call (simulated seconds).

    ``answer_after=None`` never answers (every offer ends in RONA). After answering the agent
    talks ``talk_for`` seconds and hangs up, unless ``hangs_up`` is False (then the caller ends
    the call). ``hold_after``/``hold_for`` put the caller on hold once during the talk.
    """

    answer_after: float | None = 1.0
    talk_for: float = 30.0
    hangs_up: bool = True
    hold_after: float | None = None
    hold_for: float = 5.0


@dataclass(frozen=True, slots=True)
class CallerScript:
    """How a caller behaves (simulated seconds).

    ``patience``: hangs up if not answered this long after joining the queue (None: waits
    forever). ``talk_for``: hangs up after talking this long (None: waits for the agent to hang
    up). ``ivr_flow``: run this FastAGI flow first, answering with ``keys``. ``queue``: the
    queue a caller without IVR is queued in (default: the stand-in's ``default_queue``).
    """

    patience: float | None = None
    talk_for: float | None = None
    ivr_flow: str | None = None
    keys: tuple[str, ...] = ()
    queue: str | None = None


@dataclass(slots=True)
class SimulatedAgent:
    """An agent's phone. ``sampler``, when set, draws a fresh script for every ring."""

    extension: str
    name: str
    script: AgentScript
    sampler: Callable[[], AgentScript] | None = None
    calls: list[str] = field(default_factory=list)      # agent channel names, in order
    channel: str | None = None                          # the current call's channel
    state: str = "idle"                                 # idle | ringing | talking | held


@dataclass(slots=True)
class SimulatedCaller:
    number: str
    name: str
    script: CallerScript
    channel: str | None = None
    uniqueid: str | None = None
    state: str = "new"        # new | ivr | waiting | ringing | talking | held | done
    # answered | abandoned_waiting | abandoned_ringing | ivr_hangup | hung_up
    outcome: str | None = None
    agents: list[str] = field(default_factory=list)     # extensions that answered
    agi: AgiSessionResult | None = None
    agi_client: FastAgiClient | None = None


class World:
    """Callers and agents driving an :class:`AsteriskStandin`."""

    def __init__(self, standin: AsteriskStandin, *, agi_url: str | None = None) -> None:
        self.standin = standin
        self.pbx = standin.pbx
        self.clock = standin.clock
        self.agi_url = agi_url
        self.agents: dict[str, SimulatedAgent] = {}
        self.callers: list[SimulatedCaller] = []
        self.log: list[WorldEvent] = []
        self._changed = asyncio.Event()
        self._by_channel: dict[str, SimulatedCaller] = {}
        self._agent_of_channel: dict[str, SimulatedAgent] = {}
        standin.subscribe(self._on_event)

    # ----------------------------------------------------------------- population
    def add_agent(self, extension: str, name: str | None = None,
                  script: AgentScript | None = None,
                  sampler: Callable[[], AgentScript] | None = None) -> SimulatedAgent:
        """Register the agent's phone (PJSIP/<extension>) with its behaviour: a fixed
        ``script``, or a ``sampler`` drawing one per call (random demo traffic)."""
        agent = SimulatedAgent(extension, name or f"Agent {extension}", script or AgentScript(),
                               sampler)
        self.agents[extension] = agent
        self.pbx.register_phone(extension, agent.name, lambda ch: self._ring(agent, ch))
        return agent

    def remove_agent(self, extension: str) -> None:
        """The agent's phone goes offline (unregistered): dialling it is CHANUNAVAIL."""
        self.pbx.unregister_phone(extension)
        self.agents.pop(extension, None)

    def add_caller(self, number: str, name: str | None = None,
                   script: CallerScript | None = None) -> SimulatedCaller:
        caller = SimulatedCaller(number, name or f"Caller {number}", script or CallerScript())
        self.callers.append(caller)
        return caller

    async def call(self, caller: SimulatedCaller) -> SimulatedCaller:
        """The caller dials in; returns once queued (or once the IVR ended otherwise)."""
        script = caller.script
        if script.ivr_flow is None:
            self.pbx.call_in(caller.number, caller.name, script.queue,
                             on_channel=lambda ch: self._bind(caller, ch))
            return caller
        if self.agi_url is None:
            raise ValueError("World(agi_url='agi://127.0.0.1:<port>') is needed for IVR callers")
        url = f"{self.agi_url.rstrip('/')}/{script.ivr_flow}"
        ch = self.pbx.call_in_ivr(caller.number, caller.name, url,
                                  on_channel=lambda c: self._bind(caller, c, "ivr"))
        client = FastAgiClient(
            AgiChannelInfo(ch.name, ch.uniqueid, caller.number, caller.name,
                           self.pbx.inbound_exten, ch.context, ch.exten, ch.priority),
            CallerInput.of(script.keys),
            on_variable=lambda k, v: self._agi_variable(ch.name, k, v),
            pause=self.clock.sleep)
        caller.agi_client = client
        result = await client.run(url)
        caller.agi = result
        self._note("ivr_done", caller.number, ch.name, result.status)
        if ch.alive:
            if result.hung_up_by_script:
                self.pbx.set_variable(ch.name, "HOTLINE_OUTCOME", "hangup")
            self.pbx.finish_ivr(ch.name, result.status)
        return caller

    def start_call(self, caller: SimulatedCaller, after: float = 0.0) -> asyncio.Task[None]:
        """Dial in after ``after`` simulated seconds, in the background."""
        async def go() -> None:
            await self.clock.sleep(after)
            await self.call(caller)
        return self.standin.spawn(go(), name=f"world-call-{caller.number}")

    def _agi_variable(self, channel: str, name: str, value: str) -> None:
        if channel in self.pbx.channels:
            self.pbx.set_variable(channel, name, value)

    def _bind(self, caller: SimulatedCaller, ch: Channel, state: str = "arrived") -> None:
        caller.channel, caller.uniqueid = ch.name, ch.uniqueid
        self._by_channel[ch.name] = caller
        caller.state = state
        self._note("arrived", caller.number, ch.name)

    # ----------------------------------------------------------------- humans acting
    def hang_up(self, who: SimulatedCaller | SimulatedAgent) -> None:
        """Hang up now (a caller's or an agent's current call)."""
        if isinstance(who, SimulatedCaller):
            if who.state == "ivr" and who.agi_client is not None:
                who.agi_client.hang_up()
            if who.channel and who.channel in self.pbx.channels:
                self.pbx.hangup(who.channel)
        elif who.channel and who.channel in self.pbx.channels:
            self.pbx.hangup(who.channel)

    def hold(self, agent: SimulatedAgent) -> None:
        if agent.channel:
            self.pbx.hold(agent.channel)

    def unhold(self, agent: SimulatedAgent) -> None:
        if agent.channel:
            self.pbx.unhold(agent.channel)

    def _ring(self, agent: SimulatedAgent, ch: Channel) -> float:
        agent.channel, agent.state = ch.name, "ringing"
        agent.calls.append(ch.name)
        self._agent_of_channel[ch.name] = agent
        self._note("ringing", agent.extension, ch.name)
        if agent.sampler is not None:
            agent.script = agent.sampler()
        delay = agent.script.answer_after
        return math.inf if delay is None else delay

    async def _agent_talk(self, agent: SimulatedAgent, channel: str) -> None:
        script = agent.script
        talked = 0.0
        if script.hold_after is not None and script.hold_after < script.talk_for:
            await self.clock.sleep(script.hold_after)
            if channel not in self.pbx.channels or agent.channel != channel:
                return
            self.pbx.hold(channel)
            await self.clock.sleep(script.hold_for)
            if channel not in self.pbx.channels or not self.pbx.is_held(channel):
                return
            self.pbx.unhold(channel)
            talked = script.hold_after
        if not script.hangs_up:
            return
        await self.clock.sleep(script.talk_for - talked)
        if channel in self.pbx.channels:
            self.pbx.hangup(channel)

    async def _caller_patience(self, caller: SimulatedCaller, patience: float) -> None:
        await self.clock.sleep(patience)
        if caller.state in ("waiting", "ringing") and caller.channel in self.pbx.channels:
            self.pbx.hangup(caller.channel)

    async def _caller_talk(self, caller: SimulatedCaller, channel: str, talk_for: float) -> None:
        await self.clock.sleep(talk_for)
        if caller.channel == channel and channel in self.pbx.channels:
            self.pbx.hangup(channel)

    # ----------------------------------------------------------------- event feed
    def _on_event(self, m: AmiMessage) -> None:
        name = m.name
        channel = m.get("Channel") or ""
        caller = self._by_channel.get(channel)
        agent = self._agent_of_channel.get(channel)
        if name == "UserEvent" and caller is not None:
            kind = m.get("UserEvent")
            if kind == "HotlineQueued":
                first = caller.state in ("arrived", "ivr")
                caller.state = "waiting"
                self._note("queued", caller.number, channel, m.get("Queue") or "")
                if first and caller.script.patience is not None:
                    self.standin.spawn(self._caller_patience(caller, caller.script.patience),
                                       name=f"world-patience-{channel}")
            elif kind == "HotlineRona":
                caller.state = "waiting"
                self._note("rona", m.get("Agent") or "", channel, m.get("DialStatus") or "")
        elif name == "DialBegin" and caller is not None:
            caller.state = "ringing"
        elif name == "DialEnd" and caller is not None:
            if m.get("DialStatus") == "ANSWER":
                dest = m.get("DestChannel") or ""
                ag = self._agent_of_channel.get(dest)
                caller.state = "talking"
                caller.outcome = "answered"
                if ag is not None:
                    ag.state = "talking"
                    caller.agents.append(ag.extension)
                    self._note("answered", ag.extension, dest, caller.number)
                    self.standin.spawn(self._agent_talk(ag, dest), name=f"world-talk-{dest}")
                if caller.script.talk_for is not None and caller.outcome == "answered" and \
                        len(caller.agents) <= 1:
                    self.standin.spawn(self._caller_talk(caller, channel, caller.script.talk_for),
                                       name=f"world-caller-talk-{channel}")
        elif name == "Hold" and agent is not None:
            agent.state = "held"
            self._note("held", agent.extension, channel)
        elif name == "Unhold" and agent is not None:
            agent.state = "talking"
            self._note("unheld", agent.extension, channel)
        elif name == "Shutdown":
            # An Asterisk restart: every call is gone at once, without Hangup events.
            for lost in self.callers:
                if lost.state not in ("new", "done"):
                    lost.state, lost.outcome = "done", "lost_in_restart"
                    self._note("lost", lost.number, lost.channel or "")
            for ag in self.agents.values():
                ag.channel, ag.state = None, "idle"
        elif name == "Hangup":
            if caller is not None:
                before = caller.state
                caller.state = "done"
                if caller.outcome != "answered":
                    caller.outcome = {"waiting": "abandoned_waiting",
                                      "ringing": "abandoned_ringing",
                                      "ivr": "ivr_hangup"}.get(before, "hung_up")
                self._note("hung_up", caller.number, channel, caller.outcome or "")
            if agent is not None:
                if agent.channel == channel:
                    agent.channel, agent.state = None, "idle"
                self._note("agent_hung_up", agent.extension, channel, m.get("Cause") or "")
        self._changed.set()

    def _note(self, kind: str, who: str, channel: str = "", detail: str = "") -> None:
        self.log.append(WorldEvent(self.clock.now(), kind, who, channel, detail))
        self._changed.set()

    # ----------------------------------------------------------------- waiting
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Return once ``predicate()`` is true, re-checked after every event (``timeout`` in
        real seconds). Raises :class:`WaitTimeout`, or the first failure of a world task."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.standin.raise_failures()
            if predicate():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeout(f"condition not met within {timeout} s (world log tail: "
                                  f"{[(e.kind, e.who) for e in self.log[-5:]]})")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.05))

    async def wait_event(self, kind: str, who: str | None = None,
                         timeout: float = 5.0) -> WorldEvent:
        """The first logged :class:`WorldEvent` of ``kind`` (and ``who``), waiting if needed."""
        def found() -> WorldEvent | None:
            return next((e for e in self.log if e.kind == kind and who in (None, e.who)), None)
        await self.wait_for(lambda: found() is not None, timeout)
        event = found()
        assert event is not None
        return event

    def kinds(self, who: str | None = None) -> list[str]:
        return [e.kind for e in self.log if who in (None, e.who)]

    def done(self, callers: Iterable[SimulatedCaller] | None = None) -> bool:
        return all(c.state == "done" for c in (callers or self.callers))
