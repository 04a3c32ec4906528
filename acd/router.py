"""The Router: skills-based routing as a pure state machine.

Picture the floor of a call centre as two lists pinned to the wall: the agents who are free,
and the callers on hold. Whenever something changes (a caller arrives, an agent finishes, a
caller has waited long enough for the queue to lower its demands) the Router matches the
change against the other list and answers with decisions: offer this caller to that agent,
keep this caller waiting, move her to another queue, offer a callback.

The Router does no I/O and never reads a clock: every call carries its time ``t`` (seconds
since the epoch, never decreasing). Timers (escalation steps, automatic end of wrap-up) are
kept inside; :meth:`Router.next_deadline` says when the driver must call :meth:`Router.tick`
next, so neither the live engine nor the simulator polls. The same events always give the same
decisions, and :meth:`Router.snapshot` / :meth:`Router.restore` carry that across a restart.

Speed comes from indexes, not scans: a set of routable agents per channel, waiting contacts in
:class:`~acd.model.Group` heaps (one per distinct requirement) that know their eligible agents,
and, per agent, the groups it may serve. ``acd.naive.NaiveRouter`` makes the same decisions by
full scans and serves as the oracle in tests and the baseline in the benchmark.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from acd.decisions import (
    AgentStateChanged,
    CallbackOffered,
    ContactDone,
    Decision,
    Escalated,
    Offer,
    OfferCancelled,
    Overflowed,
    Queued,
)
from acd.errors import (
    AcdError,
    DuplicateContact,
    EventFormatError,
    IllegalTransition,
    TimeWentBackwards,
    UnknownAgent,
    UnknownContact,
    UnknownQueue,
    UnknownSkill,
)
from acd.events import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    ContactAbandon,
    ContactArrive,
    ContactEnd,
    Event,
    OfferAccept,
    OfferReject,
    OfferTimeout,
    Tick,
    WrapupEnd,
    WrapupExtend,
)
from acd.metrics import MetricsLog, MetricsReport, build_report
from acd.model import (
    BUSY,
    CONNECTED,
    LOGGED_OUT,
    NOT_READY,
    OFFERED,
    READY,
    RESERVED,
    WAITING,
    WRAP_UP,
    AgentRec,
    ContactRec,
    Group,
    QueuePlan,
    Requirement,
    compile_queues,
    maker,
    meets,
    requirement,
)
from acd.policies import POLICIES, PolicyMemory
from acd.views import AgentView, ContactView
from hotline.config.routing import Routing

CHANNELS = ("voice", "chat", "email", "callback")
_ESCALATION, _WRAP = 0, 1
HELD = math.inf  # wrap-up extended without limit
_INF = math.inf
_NEG_INF = -math.inf
_SINCE = itemgetter(0)

# The decisions made for every contact, built the fast way (see acd.model.maker).
_offer = maker(Offer)
_queued = maker(Queued)
_state_changed = maker(AgentStateChanged)
_contact_done = maker(ContactDone)


class Router:
    """Skills-based routing for one deployment's ``routing.yaml`` (see the module docstring)."""

    def __init__(self, routing: Routing, timezone: ZoneInfo | None = None) -> None:
        settings = routing.settings
        self.routing = routing
        self.timezone = timezone or ZoneInfo("UTC")
        self._ring_timeout = float(settings.ring_timeout_s)
        self._voice_blocks = settings.voice_blocks_other_channels
        self._default_queue = settings.default_queue
        self._queues: dict[str, QueuePlan] = compile_queues(routing)
        self._skills = frozenset(routing.skills)
        self._agents = [
            AgentRec(i, a.id, a.extension, a.skills, dict(a.capacity))
            for i, a in enumerate(routing.agents)
        ]
        self._agent_by_id = {a.id: a for a in self._agents}
        self._by_skill: dict[str, list[AgentRec]] = {}
        for agent in self._agents:
            for skill in agent.skills:
                self._by_skill.setdefault(skill, []).append(agent)
        self._routable: dict[str, set[int]] = {ch: set() for ch in CHANNELS}
        for agent in self._agents:
            agent.routes = tuple((ch, self._routable[ch], agent.capacity[ch])
                                 for ch in agent.channels)
            agent.blocked_by_voice = (self._voice_blocks and "voice" in agent.capacity
                                      and len(agent.channels) > 1)
        self._contacts: dict[str, ContactRec] = {}
        self._groups: dict[tuple[str, str, Requirement], Group] = {}
        self._able: dict[tuple[str, tuple[tuple[str, int], ...]], frozenset[int]] = {}
        self._group_of: dict[tuple[str, str, tuple[tuple[str, int], ...], int], Group] = {}
        self._timers: list[tuple[float, int, int, str, int]] = []
        self._now = -math.inf
        self._seq = 0
        self._tseq = 0
        self._memory = PolicyMemory(rng_state=settings.seed & ((1 << 64) - 1))
        self._metrics = MetricsLog(self.timezone)
        self._handlers = {
            AgentLogin: self._login, AgentReady: self._ready, AgentNotReady: self._not_ready,
            AgentLogout: self._logout, ContactArrive: self._arrive, OfferAccept: self._accept,
            OfferReject: self._reject, OfferTimeout: self._timeout,
            ContactAbandon: self._abandon, ContactEnd: self._end, WrapupEnd: self._wrapup_end,
            WrapupExtend: self._wrapup_extend, Tick: _no_op,
        }
        # Groups for every queue's escalation stages exist from the start, so building one never
        # lands in the middle of a busy minute.
        for queue in self._queues.values():
            for stage in range(len(queue.steps) + 1):
                self._group_for(queue, queue.channel, (), stage)

    @classmethod
    def from_config(cls, routing: Routing, timezone: ZoneInfo | str | None = None) -> Router:
        """A Router for ``routing`` (``Deployment.routing``); ``timezone`` for the metrics'
        'today' window (a ``ZoneInfo`` or a name such as ``'Europe/Berlin'``)."""
        zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        return cls(routing, zone)

    @classmethod
    def restore(cls, routing: Routing, snapshot: dict[str, Any],
                timezone: ZoneInfo | str | None = None) -> Router:
        """A Router in the state :meth:`snapshot` recorded, making the same future decisions."""
        from acd.snapshot import load

        router = cls.from_config(routing, timezone)
        load(router, snapshot)
        return router

    def snapshot(self) -> dict[str, Any]:
        """The complete state as JSON-serialisable data (see :meth:`restore`)."""
        from acd.snapshot import dump

        return dump(self)

    # -- the driver's interface ---------------------------------------------------------------

    @property
    def now(self) -> float:
        """The time of the last event or timer handled (``-inf`` before the first)."""
        return self._now

    def handle(self, event: Event) -> list[Decision]:
        """Apply the timers due by ``event.t``, then the event; return the decisions in order.

        If the event is refused (an :class:`~acd.errors.AcdError`), the Router is left as after
        ``tick(event.t)`` and the decisions of those timers are on the error as ``decisions``.
        """
        t = event.t
        # one chained test in the hot path; it also refuses NaN, which would poison every timer
        if not self._now <= t < _INF or t == _NEG_INF:
            if not math.isfinite(t):
                raise EventFormatError(f"event time {t!r} is not a finite number of seconds")
            raise TimeWentBackwards(t, self._now)
        out: list[Decision] = []
        timers = self._timers
        if timers and timers[0][0] <= t:
            self._advance(t, out)
        self._now = t
        try:
            handler = self._handlers[type(event)]
        except KeyError:
            raise EventFormatError(f"{event!r} is not a Router event; see acd.events") from None
        try:
            handler(event, t, out)
        except AcdError as exc:
            exc.decisions = out  # type: ignore[attr-defined]
            raise
        return out

    def tick(self, now: float) -> list[Decision]:
        """Let time pass to ``now``, applying every timer due by then."""
        return self.handle(Tick(now))

    def next_deadline(self) -> float | None:
        """When the next timer falls due (call :meth:`tick` then), or ``None`` if none is set.

        Any event may change it; ask again after every call.
        """
        timers = self._timers
        while timers and not self._timer_live(timers[0]):
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def metrics(self, now: float | None = None) -> MetricsReport:
        """Service metrics per queue and overall at ``now`` (default: the Router's time)."""
        return build_report(self, self._now if now is None else now)

    def agents(self) -> list[AgentView]:
        return [self._agent_view(a) for a in self._agents]

    def agent(self, agent_id: str) -> AgentView:
        return self._agent_view(self._agent(agent_id))

    def contacts(self) -> list[ContactView]:
        return [self._contact_view(c) for c in self._contacts.values()]

    def contact(self, contact_id: str) -> ContactView:
        contact = self._contacts.get(contact_id)
        if contact is None:
            raise UnknownContact(contact_id, "a lookup")
        return self._contact_view(contact)

    def queue_names(self) -> list[str]:
        return list(self._queues)

    # -- agent events -------------------------------------------------------------------------

    def _login(self, e: AgentLogin, t: float, out: list[Decision]) -> None:
        a = self._agent(e.agent)
        if a.logged_in:
            raise IllegalTransition("agent", a.id, self._state_text(a), "agent_login")
        a.logged_in = True
        a.presence_ready = bool(e.ready)
        a.reason = "" if e.ready else "login"
        self._refresh(a, t, out)
        self._pull(a, t, out)

    def _ready(self, e: AgentReady, t: float, out: list[Decision]) -> None:
        a = self._agent(e.agent)
        if not a.logged_in:
            raise IllegalTransition("agent", a.id, LOGGED_OUT, "agent_ready", "log in first")
        if a.wrap_until is not None:
            self._finish_wrap(a, t)
        a.presence_ready = True
        a.reason = ""
        self._refresh(a, t, out)
        self._pull(a, t, out)

    def _not_ready(self, e: AgentNotReady, t: float, out: list[Decision]) -> None:
        a = self._agent(e.agent)
        if not a.logged_in:
            raise IllegalTransition("agent", a.id, LOGGED_OUT, "agent_not_ready", "log in first")
        a.presence_ready = False
        a.reason = e.reason
        self._refresh(a, t, out)

    def _logout(self, e: AgentLogout, t: float, out: list[Decision]) -> None:
        a = self._agent(e.agent)
        if not a.logged_in:
            raise IllegalTransition("agent", a.id, LOGGED_OUT, "agent_logout")
        if a.slots:
            raise IllegalTransition(
                "agent", a.id, self._state_text(a), "agent_logout",
                f"finish or release contacts {', '.join(sorted(a.slots))} first",
            )
        if a.wrap_until is not None:
            self._finish_wrap(a, t)
        a.logged_in = a.presence_ready = False
        a.reason = ""
        self._refresh(a, t, out)

    def _wrapup_end(self, e: WrapupEnd, t: float, out: list[Decision]) -> None:
        a = self._agent(e.agent)
        if a.wrap_until is None:
            raise IllegalTransition("agent", a.id, self._state_text(a), "wrapup_end")
        self._finish_wrap(a, t)
        self._refresh(a, t, out)
        self._pull(a, t, out)

    def _wrapup_extend(self, e: WrapupExtend, t: float, out: list[Decision]) -> None:
        a = self._agent(e.agent)
        if a.wrap_until is None:
            raise IllegalTransition("agent", a.id, self._state_text(a), "wrapup_extend")
        if e.seconds is not None and not 0 <= e.seconds < math.inf:
            raise EventFormatError(f"wrapup_extend for agent '{a.id}' has seconds {e.seconds}; "
                                   "give a finite number >= 0, or none to hold the wrap-up")
        if e.seconds is None:
            a.wrap_until = HELD
            a.wrap_token = 0
        elif a.wrap_until != HELD:
            a.wrap_until += e.seconds
            self._schedule_wrap(a)

    # -- contact events -----------------------------------------------------------------------

    def _arrive(self, e: ContactArrive, t: float, out: list[Decision]) -> None:
        cid = e.contact
        contacts = self._contacts
        if cid in contacts:
            raise DuplicateContact(cid)
        name = e.queue if e.queue is not None else self._default_queue
        if name is None:
            raise UnknownQueue("(none)", list(self._queues))
        queue = self._queues.get(name)
        if queue is None:
            raise UnknownQueue(name, list(self._queues))
        skills = e.skills
        if skills:
            for skill, level in skills.items():
                if skill not in self._skills:
                    raise UnknownSkill(skill, cid)
                if not isinstance(level, int) or not 1 <= level <= 10:
                    raise EventFormatError(f"contact '{cid}' asks for {skill} level {level!r}; "
                                           "levels run 1 to 10")
            extra = tuple(sorted(skills.items()))
        else:
            extra = ()
        channel = e.channel or queue.channel
        if channel not in CHANNELS:
            raise EventFormatError(f"contact '{cid}' has channel {channel!r}; "
                                   f"use one of {', '.join(CHANNELS)}")
        self._seq += 1
        c = ContactRec(cid, self._seq, channel, queue, extra,
                       int(e.priority), t, dict(e.attributes), e.customer)
        contacts[cid] = c
        self._metrics.arrived(t, name)
        self._place(c, t, out, True)

    def _offered(self, contact_id: str, agent_id: str, event: str) -> tuple[ContactRec, AgentRec]:
        c = self._contact(contact_id, event)
        a = self._agent(agent_id)
        if c.state != OFFERED or c.agent is not a:
            where = f" to agent '{c.agent.id}'" if c.agent is not None else ""
            raise IllegalTransition("contact", c.id, c.state + where, f"{event} by agent '{a.id}'")
        return c, a

    def _accept(self, e: OfferAccept, t: float, out: list[Decision]) -> None:
        c = self._contacts.get(e.contact)
        a = self._agent_by_id.get(e.agent)
        if c is None or a is None or c.state != OFFERED or c.agent is not a:
            c, a = self._offered(e.contact, e.agent, "offer_accept")  # raises the right error
        c.state = CONNECTED
        c.answered_t = t
        slots = a.slots
        slots[c.id] = (c.channel, True)
        self._metrics.answered(t, c.entry_queue, t - c.enqueue_t)
        # _refresh, less the routability: answering changes neither the agent's counts nor its
        # presence, only its state (busy, or still reserved while another offer rings).
        state = BUSY
        for _, connected in slots.values():
            if not connected:
                state = RESERVED
                break
        if state != a.state or a.state_reason:
            self._set_state(a, state, "", t, out)

    def _reject(self, e: OfferReject, t: float, out: list[Decision]) -> None:
        self._failed_offer(*self._offered(e.contact, e.agent, "offer_reject"), "rejected", t, out)

    def _timeout(self, e: OfferTimeout, t: float, out: list[Decision]) -> None:
        self._failed_offer(*self._offered(e.contact, e.agent, "offer_timeout"), "rona", t, out)

    def _failed_offer(self, c: ContactRec, a: AgentRec, reason: str, t: float,
                      out: list[Decision]) -> None:
        self._release(c, a)
        a.presence_ready = False
        a.reason = reason
        self._refresh(a, t, out)
        c.state = WAITING
        c.agent = None
        self._place(c, t, out, announce=True)

    def _abandon(self, e: ContactAbandon, t: float, out: list[Decision]) -> None:
        c = self._contact(e.contact, "contact_abandon")
        if c.state == CONNECTED:
            raise IllegalTransition("contact", c.id, CONNECTED, "contact_abandon",
                                    "a connected contact ends with contact_end")
        agent = c.agent
        if c.state == WAITING:
            if c.group is not None:
                c.group.leave(c)
        elif agent is not None:
            self._release(c, agent)
            out.append(OfferCancelled(t, c.id, agent.id, e.reason))
        del self._contacts[c.id]
        c.timer_token = 0
        wait = t - c.enqueue_t
        outcome = "callback" if e.reason == "callback" else "abandoned"
        self._metrics.left(t, c.entry_queue, wait, outcome)
        out.append(_contact_done(t, c.id, c.queue.name, outcome, wait))
        if agent is not None:
            self._refresh(agent, t, out)
            self._pull(agent, t, out)

    def _end(self, e: ContactEnd, t: float, out: list[Decision]) -> None:
        cid = e.contact
        c = self._contacts.get(cid)
        if c is None:
            raise UnknownContact(cid, "contact_end")
        a = c.agent
        if c.state != CONNECTED or a is None:
            raise IllegalTransition("contact", c.id, c.state, "contact_end",
                                    "a contact that is not connected leaves with contact_abandon")
        del a.slots[cid]
        a.counts[c.channel] -= 1
        del self._contacts[cid]
        answered = c.answered_t
        talk = t - answered
        queue = c.queue
        out.append(_contact_done(t, cid, queue.name, "handled", answered - c.enqueue_t))
        wrap = queue.wrap_up_s
        if wrap > 0:
            a.wrap_contacts.append((c.entry_queue, t, talk))
            if a.wrap_until is None or (a.wrap_until != HELD and t + wrap > a.wrap_until):
                a.wrap_until = t + wrap
                self._schedule_wrap(a)
        else:
            self._metrics.handled(t, c.entry_queue, talk)
        self._refresh(a, t, out)
        self._pull(a, t, out)

    # -- timers -------------------------------------------------------------------------------

    def _advance(self, t: float, out: list[Decision]) -> None:
        timers = self._timers
        while timers and timers[0][0] <= t:
            entry = heapq.heappop(timers)
            if not self._timer_live(entry):
                continue
            due, _, kind, key, _ = entry
            self._now = due
            if kind == _ESCALATION:
                self._escalate(self._contacts[key], due, out)
            else:
                a = self._agent_by_id[key]
                self._finish_wrap(a, due)
                self._refresh(a, due, out)
                self._pull(a, due, out)

    def _escalate(self, c: ContactRec, t: float, out: list[Decision]) -> None:
        old = c.group  # a live escalation timer means the contact is waiting in a group
        queue = c.queue
        self._apply_step(c, t, out)
        if c.queue is queue and self._group_for(queue, c.channel, c.extra, c.stage) is old:
            # Nobody new may take it (a callback offer, or a step that widens nothing): it keeps
            # its heap entry, and no free agent can be eligible, or it would not be waiting.
            self._schedule_escalation(c)
            return
        old.leave(c)  # type: ignore[union-attr]
        self._place(c, t, out, announce=False)

    def _schedule_escalation(self, c: ContactRec) -> None:
        steps = c.queue.steps
        c.timer_token = 0
        if c.stage < len(steps):
            c.timer_token = self._push_timer(c.queue_since + steps[c.stage].after_s, _ESCALATION,
                                             c.id)

    def _timer_live(self, entry: tuple[float, int, int, str, int]) -> bool:
        _, _, kind, key, token = entry
        if kind == _ESCALATION:
            c = self._contacts.get(key)
            return c is not None and c.timer_token == token
        return self._agent_by_id[key].wrap_token == token

    def _push_timer(self, due: float, kind: int, key: str) -> int:
        """Set a timer; its number is also the token that keeps it live (0 is never one), so a
        timer left behind by a finished contact can never fire for a new one with its id."""
        self._tseq += 1
        heapq.heappush(self._timers, (due, self._tseq, kind, key, self._tseq))
        return self._tseq

    def _schedule_wrap(self, a: AgentRec) -> None:
        a.wrap_token = self._push_timer(a.wrap_until, _WRAP, a.id)  # type: ignore[arg-type]

    def _finish_wrap(self, a: AgentRec, t: float) -> None:
        for queue, ended, talk in a.wrap_contacts:
            self._metrics.handled(t, queue, talk + (t - ended))
        a.wrap_contacts.clear()
        a.wrap_until = None
        a.wrap_token = 0

    # -- matching -----------------------------------------------------------------------------

    def _place(self, c: ContactRec, t: float, out: list[Decision], announce: bool) -> None:
        """Offer a waiting contact (in no heap) to an agent, or queue it and set its timer."""
        queue = c.queue
        steps = queue.steps
        if steps:
            while c.stage < len(steps) and c.queue_since + steps[c.stage].after_s <= t:
                self._apply_step(c, t, out)
                steps = c.queue.steps
            queue = c.queue
        group = self._group_of.get((queue.name, c.channel, c.extra, c.stage))
        if group is None:
            group = self._group_for(queue, c.channel, c.extra, c.stage)
        agent = self._find_agent(c, group, t)
        if agent is not None:
            self._reserve(c, agent, t, out)
            return
        group.push(c)
        if announce:
            out.append(_queued(t, c.id, queue.name))
        if c.stage < len(queue.steps):
            self._schedule_escalation(c)
        else:
            c.timer_token = 0

    def _apply_step(self, c: ContactRec, t: float, out: list[Decision]) -> None:
        queue = c.queue
        index = c.stage
        step = queue.steps[index]
        c.stage += 1
        if step.action == "overflow":
            target = self._queues[step.target]
            out.append(Overflowed(t, c.id, queue.name, target.name, index))
            c.queue = target
            c.stage = 0
            c.queue_since = t
        elif step.action == "offer_callback":
            out.append(CallbackOffered(t, c.id, queue.name, index))
        else:
            out.append(Escalated(t, c.id, queue.name, index, step.action))

    def _find_agent(self, c: ContactRec, group: Group, t: float) -> AgentRec | None:
        if group.live:
            # Others with the same needs are waiting, so no agent who could take this one is
            # free: any such agent would have taken them already.
            return None
        candidates = group.eligible & self._routable[c.channel]
        if not candidates:
            return None
        agents = self._agents
        if len(candidates) == 1:
            ordered = [agents[candidates.pop()]]
        else:
            ordered = [agents[i] for i in sorted(candidates)]
        queue = c.queue
        return POLICIES[queue.policy](ordered, group.req, t, queue.name, self._memory)

    def _best_contact(self, a: AgentRec, t: float) -> ContactRec | None:
        best: ContactRec | None = None
        best_key: tuple[int, float, int] | None = None
        routable = self._routable
        for ch in a.channels:
            if a.idx not in routable[ch]:
                continue
            for group in a.groups[ch]:
                if group.live:
                    c = group.head()
                    queue = group.queue
                    key = (c.priority + queue.priority, (t - c.enqueue_t) * queue.weight,  # type: ignore[union-attr]
                           -c.seq)  # type: ignore[union-attr]
                    if best_key is None or key > best_key:
                        best, best_key = c, key
        return best

    def _pull(self, a: AgentRec, t: float, out: list[Decision]) -> None:
        """Give a newly free agent the best waiting contacts it may take, while it has room."""
        while True:
            c = self._best_contact(a, t)
            if c is None:
                return
            if c.group is not None:
                c.group.leave(c)
            self._reserve(c, a, t, out)
            routes = a.routes
            if len(routes) == 1 and a.idx not in routes[0][1]:
                return  # full on its only channel: no need to look for more

    def _reserve(self, c: ContactRec, a: AgentRec, t: float, out: list[Decision]) -> None:
        c.state = OFFERED
        c.agent = a
        c.timer_token = 0  # no escalation while ringing; placed again if the offer fails
        channel = c.channel
        a.slots[c.id] = (channel, False)
        counts = a.counts
        counts[channel] += 1
        out.append(_offer(t, c.id, a.id, c.queue.name, channel, a.extension, self._ring_timeout))
        if len(a.routes) != 1:
            self._refresh(a, t, out)
            return
        # _refresh for the common one-channel agent: it was free to take this contact, so it is
        # logged in and present, reserved now, and still routable only below its capacity.
        if a.state != RESERVED:
            self._set_state(a, RESERVED, "", t, out)
        _, members, capacity = a.routes[0]
        if counts[channel] >= capacity:
            members.discard(a.idx)

    def _release(self, c: ContactRec, a: AgentRec) -> None:
        del a.slots[c.id]
        a.counts[c.channel] -= 1

    def _routable_on(self, a: AgentRec, ch: str) -> bool:
        """May ``a`` be offered one more contact on ``ch``? (``_refresh`` inlines this.)"""
        if not a.presence_ready or not a.logged_in or a.wrap_until is not None:
            return False
        counts = a.counts
        if counts[ch] >= a.capacity[ch]:
            return False
        return not (self._voice_blocks and ch != "voice" and counts.get("voice", 0))

    def _refresh(self, a: AgentRec, t: float, out: list[Decision]) -> None:
        """Recompute the agent's visible state and routability after any change."""
        reason = ""
        present = a.presence_ready and a.logged_in and a.wrap_until is None
        if not a.logged_in:
            state = LOGGED_OUT
        elif a.slots:
            state = BUSY
            for _, connected in a.slots.values():
                if not connected:
                    state = RESERVED
                    break
        elif a.wrap_until is not None:
            state = WRAP_UP
        elif not a.presence_ready:
            state, reason = NOT_READY, a.reason
        else:
            state = READY
        if state != a.state or reason != a.state_reason:
            # _set_state, in line: a change of state is most of what _refresh is called for
            a.state = state
            a.state_reason = reason
            if state == READY:
                a.idle_since = t
            history = a.history
            history.append((t, state))
            if not len(history) & 63:
                self._trim(history)
            out.append(_state_changed(t, a.id, state, reason))
        idx = a.idx
        if not present:
            for _, members, _ in a.routes:
                members.discard(idx)
        elif a.blocked_by_voice and a.counts["voice"]:
            # on a call: no other channel, and voice only within its capacity
            counts = a.counts
            for ch, members, capacity in a.routes:
                if ch == "voice" and counts[ch] < capacity:
                    members.add(idx)
                else:
                    members.discard(idx)
        else:
            counts = a.counts
            for ch, members, capacity in a.routes:
                if counts[ch] < capacity:
                    members.add(idx)
                else:
                    members.discard(idx)

    def _set_state(self, a: AgentRec, state: str, reason: str, t: float,
                   out: list[Decision]) -> None:
        a.state = state
        a.state_reason = reason
        if state == READY:
            a.idle_since = t
        history = a.history
        history.append((t, state))
        if not len(history) & 63:
            self._trim(history)
        out.append(_state_changed(t, a.id, state, reason))

    def _trim(self, history: list[tuple[float, str]]) -> None:
        """Drop what neither the metrics' windows nor least_occupied (an hour back) will read.

        Called every 64 changes of an agent's state (trimming on every change costs more than
        it saves). An entry goes when the next one began at or before the cutoff, so the state
        the agent was in at the cutoff stays; the two latest always stay.
        """
        stale = min(bisect_right(history, self._metrics.cutoff, 1, key=_SINCE) - 1,
                    len(history) - 2)
        if stale > 0:
            del history[:stale]

    # -- groups -------------------------------------------------------------------------------

    def _group_for(self, queue: QueuePlan, channel: str, extra: tuple[tuple[str, int], ...],
                   stage: int) -> Group:
        key = (queue.name, channel, extra, stage)
        group = self._group_of.get(key)
        if group is None:
            req = requirement(queue, extra, stage)
            group = self._groups.get((queue.name, channel, req))
            if group is None:
                group = Group(queue, channel, req, self._eligible(channel, req))
                self._groups[(queue.name, channel, req)] = group
                for idx in sorted(group.eligible):
                    self._agents[idx].groups[channel].append(group)
            self._group_of[key] = group
        return group

    def _eligible(self, channel: str, req: Requirement) -> set[int]:
        found: set[int] = set()
        for need in req:
            able = self._able.get((channel, need))
            if able is None:
                pools = [self._by_skill.get(skill, []) for skill, _ in need]
                pool = min(pools, key=len) if pools else self._agents
                able = frozenset(a.idx for a in pool
                                 if channel in a.capacity and meets(a.skills, need))
                self._able[(channel, need)] = able
            found |= able
        return found

    # -- lookups ------------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> AgentRec:
        agent = self._agent_by_id.get(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        return agent

    def _contact(self, contact_id: str, event: str) -> ContactRec:
        contact = self._contacts.get(contact_id)
        if contact is None:
            raise UnknownContact(contact_id, event)
        return contact

    @staticmethod
    def _state_text(a: AgentRec) -> str:
        return f"{a.state} ({a.state_reason})" if a.state_reason else a.state

    def _agent_view(self, a: AgentRec) -> AgentView:
        since = a.history[-1][0] if a.history else self._now
        wrap = None if a.wrap_until is None else a.wrap_until
        return AgentView(a.id, a.state, a.state_reason, since, tuple(sorted(a.slots)), wrap)

    def _contact_view(self, c: ContactRec) -> ContactView:
        return ContactView(
            c.id, c.state, c.queue.name, c.entry_queue, c.channel, c.priority, c.enqueue_t,
            c.agent.id if c.agent is not None else None, requirement(c.queue, c.extra, c.stage),
        )


def _no_op(event: Event, t: float, out: list[Decision]) -> None:
    return None
