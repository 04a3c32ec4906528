"""The traffic model: simulated callers and agents around the real Router and IVR.

Picture the control room of a model railway. The layout is the real thing (the deployment's
``acd.Router`` and IVR flows); the simulator only runs the trains: it makes callers appear,
walks each through the IVR with :class:`ivr.interpreter.CallSession`, hands the outcome to the
Router as a ``ContactArrive``, and does whatever the Router decides (an ``Offer`` rings an agent
who answers, or does not; a handled contact ends after its handling time; a waiting caller whose
patience runs out abandons). Agents log in, take breaks and leave as their shifts say.

The clock is a SimPy :class:`simpy.Environment` used as an *event calendar*: every future
happening is one timeout whose callback does the work, with no SimPy process per caller or
agent (a process costs a generator and several events per step; a callback costs one event).
The Router's own timers (escalation, end of wrap-up) are honoured by a tick scheduled exactly at
:meth:`acd.router.Router.next_deadline`. Every kind of random draw has its own stream, so a run
is reproducible from its seed and two scenarios differing in one part share the other draws.

Measurement: contacts are counted in the interval of their queue entry when it falls after the
warm-up and before the end; arrivals stop at the end and the calls in the building are allowed
to finish (for up to :data:`sim.plan.DRAIN_H` hours), so every counted contact has an outcome.
Time-averaged quantities (agents staffed, agents working, callers waiting) are integrated over
the measurement window only.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import random
from array import array
from bisect import bisect_right
from collections.abc import Callable
from heapq import heappush
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL

from acd.decisions import AgentStateChanged, CallbackOffered, ContactDone, Offer, Queued
from acd.events import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    ContactAbandon,
    ContactArrive,
    ContactEnd,
    OfferAccept,
    OfferTimeout,
)
from acd.model import maker
from acd.router import Router
from ivr.commands import Digits, Gather, Lookup, LookupResult, Menu, Play, Say
from ivr.commands import Queue as QueueOutcome
from ivr.interpreter import CallSession
from sim.plan import BREAK, DRAIN_H, LOGIN, Plan
from sim.results import Replication

_NEW, _WAITING, _RINGING, _CONNECTED = -1, 0, 1, 2
_LOGGED_IN = frozenset(("ready", "reserved", "busy", "wrap_up", "not_ready"))
# A seat's level: off (not staffed), idle (staffed), working (staffed and working).
_OFF, _IDLE, _WORK = 0, 1, 2
_LEVELS = {"logged_out": _OFF, "not_ready": _OFF, "ready": _IDLE, "reserved": _WORK,
           "busy": _WORK, "wrap_up": _WORK}
# What a logged change does to (staffed, working, waiting): kinds 0-8 are a seat going from
# level ``kind // 3`` to level ``kind % 3``, kinds 9 and 10 a caller starting or ending a wait.
_WAIT_UP, _WAIT_DOWN = 9, 10
_STEPS = np.array(
    [((now > 0) - (was > 0), (now == _WORK) - (was == _WORK), 0)
     for was in (_OFF, _IDLE, _WORK) for now in (_OFF, _IDLE, _WORK)]
    + [(0, 0, 1), (0, 0, -1)], dtype=np.int64)


_NOBODY = LookupResult(None)

# The events of every contact, built the fast way (see acd.model.maker).
_contact_arrive = maker(ContactArrive)
_offer_accept = maker(OfferAccept)
_contact_end = maker(ContactEnd)
_contact_abandon = maker(ContactAbandon)


class _Due:
    """A calendar entry: the least SimPy needs of an event (``callbacks``, ``_ok``, ``_value``).

    :class:`simpy.Timeout` validates its delay and goes through ``Environment.schedule`` on
    every construction; the simulator books tens of thousands of these per simulated day, so it
    pushes this lighter object onto the environment's queue itself (see :meth:`Simulation._at`),
    filling its two slots without an ``__init__`` call. Nothing waits on it, so its callbacks
    are a tuple that is never appended to, and it always succeeds.
    """

    __slots__ = ("_value", "callbacks")
    _ok = True


_new = object.__new__


class _Contact:
    __slots__ = ("caller", "counted", "enqueue_t", "id", "ivr_s", "offer", "queue", "state")

    def __init__(self, cid: str, caller: _Caller, t: float, ivr_s: float, counted: bool) -> None:
        self.id = cid
        self.caller = caller
        self.enqueue_t = t
        self.ivr_s = ivr_s
        self.counted = counted
        self.state = _NEW
        self.offer = 0
        self.queue = ""


class _Caller:
    __slots__ = ("customer", "phone", "retrials")

    def __init__(self, phone: str, customer: dict[str, Any] | None) -> None:
        self.phone = phone
        self.customer = customer
        self.retrials = 0


class _AgentSeat:
    __slots__ = ("breaks", "leaving", "level", "state")

    def __init__(self) -> None:
        self.state = "logged_out"
        self.level = _OFF  # _LEVELS[state]
        self.leaving = False
        self.breaks: list[float] = []  # minutes of breaks asked for and not yet begun


class Simulation:
    """One replication of a :class:`~sim.plan.Plan` with one seed."""

    def __init__(self, plan: Plan, seed: int, *,
                 progress: Callable[[float], None] | None = None) -> None:
        self.plan = plan
        self.seed = seed
        self.progress = progress
        self.env = simpy.Environment(initial_time=plan.start)
        self.router = Router.from_config(plan.routing, plan.timezone)
        self._route = self.router.handle

        def stream(name: str) -> random.Random:
            return random.Random(f"{seed}:{name}")

        self.r_arrival = stream("arrivals")
        self.r_handle = stream("handling")
        self.r_patience = stream("patience")
        self.r_ivr = stream("ivr")
        self.r_caller = stream("callers")
        self.r_rona = stream("rona")
        self.r_retrial = stream("retrials")
        self.r_callback = stream("callback")

        self.contacts: dict[str, _Contact] = {}
        self.agents: dict[str, _AgentSeat] = {a.id: _AgentSeat() for a in plan.routing.agents}
        self._tick_pending: set[float] = set()
        queues = plan.routing.queues
        self._uses_timers = any(queues[name].escalation or queues[name].wrap_up_s > 0
                                for name in _reachable(plan))
        self._rona = plan.rona_probability
        self._answer_s = plan.answer_s
        self._seq = 0
        self._choices = _compile_choices(plan)
        self._digits: dict[str, Digits] = {}  # results are immutable: one per distinct input
        self._talk = {name: plan.handling.get(name, plan.default_handling).sample
                      for name in plan.routing.queues}
        self._anonymous = _Caller("", None)  # callers straight to a queue need no identity
        self._tiers = _table(plan.ivr.customers.tiers) if plan.ivr is not None else ((), ())

        # -- measurement ---------------------------------------------------------------------
        self.m0 = plan.measure_start
        self.m1 = plan.measure_end
        self.iv = plan.interval_s
        bins = max(1, math.ceil(plan.duration_s / plan.interval_s - 1e-9))
        self.bins = bins
        self.c_calls = [0] * bins
        self.c_offered = [0] * bins
        self.c_answered = [0] * bins
        self.c_in_target = [0] * bins
        self.c_abandoned = [0] * bins
        self.c_callback = [0] * bins
        self.s_wait = [0.0] * bins
        # Time-averaged levels (agents staffed, agents working, callers waiting): every change
        # is logged as a time and a kind (see _STEPS), two appends, and :meth:`_levels` folds
        # the log into the intervals once, at the end.
        self.log_t = array("d")
        self.log_kind = array("b")
        self.waits = array("d")
        self.ivr_outcomes: dict[str, int] = {}
        self.escalations = 0
        self.overflows = 0
        self.retrials = 0
        self.ivr_time = 0.0
        self.ivr_counted = 0
        self.n_waiting = 0
        self._in_target = plan.target_s

        # -- daily overdispersion ------------------------------------------------------------
        cv = plan.daily_cv
        days = int(len(plan.rates) * plan.slot_s // 86400) + 1
        if cv > 0:
            shape = 1.0 / (cv * cv)
            self._day_factor = [self.r_arrival.gammavariate(shape, 1.0 / shape)
                                for _ in range(days)]
        else:
            self._day_factor = [1.0] * days

    # -- the calendar ------------------------------------------------------------------------
    def _at(self, t: float, callback: Callable[[Any], None], value: Any) -> None:
        """Call ``callback(entry)`` at time ``t`` (now if ``t`` has passed)."""
        env = self.env
        now = env._now
        due = _new(_Due)
        due.callbacks = (callback,)
        due._value = value
        heappush(env._queue, (t if t > now else now, NORMAL, next(env._eid), due))

    def run(self) -> Replication:
        """Simulate the plan once; the result is the replication's counts and time averages.

        The run makes a few small objects per contact and almost none in reference cycles, so
        Python's cycle collector, which by default scans the young objects after every 700 net
        allocations (every 20 or so contacts here), finds nothing to free and costs about 8 % of
        the run. It scans 30 times less often during the run and as usual again afterwards.
        """
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], 20000), *threshold[1:])
        try:
            return self._run()
        finally:
            gc.set_threshold(*threshold)

    def _run(self) -> Replication:
        plan = self.plan
        for sid in plan.synthetic:
            self._handle(AgentLogin(plan.start, sid, ready=True))
        for event in plan.shift_events:
            self._at(max(event.t, plan.start), self._shift_event, event)
        self._at(plan.start, self._slot, 0)
        end = self.m1
        env = self.env
        if self.progress is None:
            env.run(until=end)
        else:
            step = (end - plan.start) / 100.0
            for i in range(1, 101):
                env.run(until=plan.start + step * i)
                self.progress(i / 100.0)
        out = self.router.tick(end)  # timers due by the end of the window, applied on time
        if out:
            self._apply(out)
        cap = end + DRAIN_H * 3600.0
        while self.contacts and env.peek() < cap:
            env.step()
        return self._result()

    # -- arrivals ----------------------------------------------------------------------------
    def _slot(self, event: Any) -> None:
        """At the start of profile slot ``k``: draw the slot's arrivals and schedule the next slot.

        Within a slot the rate is constant, so the arrivals are a homogeneous Poisson process;
        drawing them all at once (and walking their IVR at once, see :meth:`_walk_ivr`) saves
        an event per caller.
        """
        plan = self.plan
        k = event._value
        begin = plan.start + k * plan.slot_s
        end = begin + plan.slot_s
        if k + 1 < len(plan.rates) and end < self.m1:
            self._at(end, self._slot, k + 1)
        if end > self.m1:
            end = self.m1
        rate = plan.rates[k] * self._day_factor[int(k * plan.slot_s // 86400)]
        if rate <= 0:
            return
        draw = self.r_arrival.expovariate
        t = begin + draw(rate)
        if plan.ivr is None:  # straight to the queue: the common part of _call, in line
            caller, m0, m1, iv = self._anonymous, self.m0, self.m1, self.iv
            calls, enqueue = self.c_calls, self._enqueue_direct
            while t < end:
                if m0 <= t < m1:
                    calls[int((t - m0) // iv)] += 1
                self._at(t, enqueue, caller)
                t += draw(rate)
            return
        while t < end:
            self._call(t, self._new_caller())
            t += draw(rate)

    def _new_caller(self) -> _Caller:
        ivr = self.plan.ivr
        if ivr is None:
            return self._anonymous
        self._seq += 1
        customer = None
        spec = ivr.customers
        rng = self.r_caller
        if rng.random() < spec.known:
            customer = {"id": f"C-{self._seq}", "tier": _pick(self._tiers, rng.random()),
                        "balance": round(rng.uniform(5, 300), 2)
                        if rng.random() < spec.balance_known else None}
        return _Caller(f"0301{self._seq:07d}", customer)

    def _call(self, t: float, caller: _Caller) -> None:
        """A call that starts at ``t`` (now or later in this slot)."""
        plan = self.plan
        counted = self.m0 <= t < self.m1
        if counted:
            self.c_calls[int((t - self.m0) // self.iv)] += 1
        if plan.ivr is None:
            self._at(t, self._enqueue_direct, caller)
            return
        outcome, ivr_s = self._walk_ivr(t, caller)
        if counted:
            self.ivr_time += ivr_s
            self.ivr_counted += 1
        if type(outcome) is QueueOutcome:
            self._at(t + ivr_s, self._enqueue, (caller, outcome, ivr_s))
        elif counted:
            kind = outcome if type(outcome) is str else type(outcome).__name__.lower()
            self.ivr_outcomes[kind] = self.ivr_outcomes.get(kind, 0) + 1

    def _enqueue_direct(self, event: Any) -> None:
        self._enqueue_now(self.env._now, event._value, self.plan.queue, 0, {}, None, 0.0)

    def _enqueue(self, event: Any) -> None:
        caller, outcome, ivr_s = event._value
        self._enqueue_now(self.env._now, caller, outcome.queue, outcome.priority,
                          dict(outcome.skills), outcome.customer_id, ivr_s)

    def _enqueue_now(self, t: float, caller: _Caller, queue: str | None, priority: int,
                     skills: dict[str, int], customer: str | None, ivr_s: float) -> None:
        self._seq += 1
        cid = f"c{self._seq}"
        counted = self.m0 <= t < self.m1
        contact = _Contact(cid, caller, t, ivr_s, counted)
        self.contacts[cid] = contact
        if counted:
            self.c_offered[int((t - self.m0) // self.iv)] += 1
        out = self._route(_contact_arrive(t, cid, queue, priority, skills, {}, customer, None))
        if out:
            self._apply(out)
        if contact.state == _NEW:
            contact.state = _WAITING
            self._waiting(t, +1)
        if self.n_waiting and self._uses_timers:
            self._watch_deadline()
        if contact.state != _CONNECTED and self.plan.patience is not None:
            # also when ringing: a caller whose offer is not answered waits on
            self._at(t + self.plan.patience.sample(self.r_patience), self._patience_over, contact)

    # -- the IVR -----------------------------------------------------------------------------
    def _walk_ivr(self, t: float, caller: _Caller) -> tuple[Any, float]:
        """Run the caller through the real flow at once; return the outcome and its duration.

        The interpreter needs no time to pass between commands (time matters to it only as
        ``now`` for business hours, fixed at the call's start), so the whole walk happens at the
        arrival and the caller reaches the queue after the walk's total duration.
        """
        ivr = self.plan.ivr
        assert ivr is not None
        session = CallSession(self.plan.flows, ivr.flow, caller_id=caller.phone,
                              now=dt.datetime.fromtimestamp(t, dt.UTC),
                              uniqueid=f"call{self._seq}")
        prompt_s, think_s, digit_s = ivr.prompt_s, ivr.think_s, ivr.digit_s
        draw = self.r_ivr.random
        choices = self._choices
        digits = self._digits
        path = session.path
        duration = 0.0
        command: Any = session.start()
        while session.outcome is None:
            kind = type(command)
            result: Any = None
            if kind is Play:
                duration += prompt_s * len(command.prompts)
            elif kind is Menu:
                duration += prompt_s * len(command.prompts)
                table = choices.get(path[-1])
                if table is None:
                    choice = command.options[int(draw() * len(command.options))]
                else:
                    choice = _pick(table, draw())
                if choice == "hangup":
                    session.hang_up()
                    return "ivr_abandoned", duration + think_s
                if choice == "timeout":
                    duration += command.timeout_s
                    choice = ""
                else:
                    duration += think_s
                    if choice == "invalid":
                        choice = _invalid(command.options)
                result = digits.get(choice) or digits.setdefault(choice, Digits(choice))
            elif kind is Gather:
                duration += prompt_s * len(command.prompts)
                table = choices.get(path[-1])
                choice = "valid" if table is None else _pick(table, draw())
                if choice == "hangup":
                    session.hang_up()
                    return "ivr_abandoned", duration + think_s
                if choice == "timeout":
                    duration += command.timeout_s
                    typed = ""
                else:
                    count = command.min_digits if choice == "valid" else max(
                        0, command.min_digits - 1) or command.max_digits + 1
                    duration += think_s + digit_s * count
                    typed = ("0123456789" * (count // 10 + 1))[:count]
                result = digits.get(typed) or digits.setdefault(typed, Digits(typed))
            elif kind is Say:
                duration += ivr.say_s
            elif kind is Lookup:
                duration += ivr.lookup_s
                found = caller.customer
                if found is not None and command.by == "phone" and \
                        draw() >= ivr.customers.phone_match:
                    found = None
                result = _NOBODY if found is None else LookupResult(found)
            command = session.send(result)
        return session.outcome, duration

    # -- the Router --------------------------------------------------------------------------
    def _handle(self, event: Any) -> None:
        out = self._route(event)
        if out:
            self._apply(out)
        if self.n_waiting and self._uses_timers:
            self._watch_deadline()

    def _watch_deadline(self) -> None:
        """Tick the Router at its next deadline, but only while callers wait.

        With nobody waiting, a due timer (an agent's wrap-up ending, no escalation pending) can
        change nothing but that agent's state; the Router applies it, with its own due time, at
        the next event anyway. That saves an event and a Router call for most contacts;
        the state change is logged with its due time (see :meth:`_levels`).
        """
        due = self.router.next_deadline()
        if due is not None and due not in self._tick_pending:
            self._tick_pending.add(due)
            self._at(due, self._tick, due)

    def _tick(self, event: Any) -> None:
        self._tick_pending.discard(event._value)
        due = self.router.next_deadline()
        if due is not None and due <= self.env._now:
            out = self.router.tick(self.env._now)
            if out:
                self._apply(out)
        if self.n_waiting:
            self._watch_deadline()

    def _apply(self, decisions: list[Any]) -> None:
        agents = self.agents
        for d in decisions:
            kind = type(d)
            if kind is AgentStateChanged:  # the commonest decision, handled in line
                seat = agents[d.agent]
                new = seat.state = d.state
                was = seat.level
                now = _LEVELS[new]
                if was != now:
                    seat.level = now
                    self.log_t.append(d.t)
                    self.log_kind.append(was * 3 + now)
                if new == "not_ready":
                    self._not_ready(seat, d)
            elif kind is Offer:
                self._offer(d)
            elif kind is ContactDone:
                self._done(d)
            elif kind is Queued:  # nothing to do: _enqueue_now books the wait
                pass
            elif kind is CallbackOffered:
                if self.r_callback.random() < self.plan.callback_accept:
                    self._at(d.t, self._take_callback, d.contact)
            else:
                name = kind.__name__
                if name == "Escalated":
                    self.escalations += 1
                elif name == "Overflowed":
                    self.overflows += 1

    def _offer(self, d: Offer) -> None:
        contact = self.contacts[d.contact]
        t = d.t
        if contact.state == _WAITING:
            self._waiting(t, -1)
        contact.offer += 1
        contact.queue = d.queue
        if self._rona and self.r_rona.random() < self._rona:
            contact.state = _RINGING
            self._at(t + d.ring_timeout_s, self._ring_out, (contact, contact.offer, d.agent))
        elif self._answer_s > 0:
            contact.state = _RINGING
            self._at(t + self._answer_s, self._answer, (contact, contact.offer, d.agent))
        else:
            self._accept(t, contact, d.agent)

    def _answer(self, event: Any) -> None:
        contact, offer, agent = event._value
        if contact.state == _RINGING and contact.offer == offer and contact.id in self.contacts:
            self._accept(self.env._now, contact, agent)

    def _accept(self, t: float, contact: _Contact, agent: str) -> None:
        contact.state = _CONNECTED
        out = self._route(_offer_accept(t, contact.id, agent))  # _handle, in line
        if out:
            self._apply(out)
        if self.n_waiting and self._uses_timers:
            self._watch_deadline()
        talk = self._talk[contact.queue](self.r_handle)
        self._at(t + talk, self._hang_up, contact)

    def _ring_out(self, event: Any) -> None:
        contact, offer, agent = event._value
        if contact.state == _RINGING and contact.offer == offer and contact.id in self.contacts:
            contact.state = _WAITING
            self._waiting(self.env._now, +1)
            self._handle(OfferTimeout(self.env._now, contact.id, agent))

    def _hang_up(self, event: Any) -> None:
        out = self._route(_contact_end(self.env._now, event._value.id))  # _handle, in line
        if out:
            self._apply(out)
        if self.n_waiting and self._uses_timers:
            self._watch_deadline()

    def _patience_over(self, event: Any) -> None:
        contact = event._value
        if contact.state != _CONNECTED and contact.id in self.contacts:
            self._handle(_contact_abandon(self.env._now, contact.id, "hangup"))

    def _take_callback(self, event: Any) -> None:
        contact = self.contacts.get(event._value)
        if contact is not None and contact.state != _CONNECTED:
            self._handle(ContactAbandon(self.env._now, contact.id, "callback"))

    def _done(self, d: ContactDone) -> None:
        contact = self.contacts.pop(d.contact)
        outcome = d.outcome
        if contact.state == _WAITING and outcome != "handled":
            self._waiting(d.t, -1)
        if contact.counted:
            i = int((contact.enqueue_t - self.m0) // self.iv)
            if outcome == "handled":
                wait = d.wait_s
                self.c_answered[i] += 1
                self.s_wait[i] += wait
                self.waits.append(wait)
                if wait <= self._in_target:
                    self.c_in_target[i] += 1
            elif outcome == "abandoned":
                self.c_abandoned[i] += 1
            else:
                self.c_callback[i] += 1
        if outcome == "abandoned" and self.plan.retrial_probability:
            caller = contact.caller
            if self.r_retrial.random() < self.plan.retrial_probability:
                caller.retrials += 1
                if contact.counted:
                    self.retrials += 1
                delay = self.plan.retrial_delay.sample(self.r_retrial)  # type: ignore[union-attr]
                if d.t + delay < self.m1:
                    self._at(d.t + delay, self._redial, caller)

    def _redial(self, event: Any) -> None:
        self._call(self.env._now, event._value)

    # -- agents ------------------------------------------------------------------------------
    def _shift_event(self, event: Any) -> None:
        e = event._value
        seat = self.agents[e.agent]
        t = self.env._now
        if e.kind == LOGIN:
            seat.leaving = False
            seat.breaks.clear()
            if seat.state == "logged_out":
                self._handle(AgentLogin(t, e.agent, ready=True))
        elif e.kind == BREAK:
            if seat.state in _LOGGED_IN and not seat.leaving:
                seat.breaks.append(e.minutes)
                if seat.state != "not_ready":
                    self._handle(AgentNotReady(t, e.agent, "break"))
        else:
            if seat.state in _LOGGED_IN:
                seat.leaving = True
                seat.breaks.clear()
                if seat.state == "not_ready" or seat.state == "ready":
                    self._handle(AgentLogout(t, e.agent))
                else:
                    self._handle(AgentNotReady(t, e.agent, "end_of_shift"))

    def _not_ready(self, seat: _AgentSeat, d: AgentStateChanged) -> None:
        if seat.leaving:
            self._at(d.t, self._logout, d.agent)
        elif d.reason == "break" and seat.breaks:
            self._at(d.t + seat.breaks.pop(0) * 60.0, self._back, d.agent)
        elif d.reason in ("rona", "rejected"):
            self._at(d.t + self.plan.rona_ready_after_s, self._back, d.agent)

    def _logout(self, event: Any) -> None:
        seat = self.agents[event._value]
        if seat.leaving and seat.state == "not_ready":
            self._handle(AgentLogout(self.env._now, event._value))

    def _back(self, event: Any) -> None:
        seat = self.agents[event._value]
        if seat.state == "not_ready" and not seat.leaving:
            if seat.breaks:  # another break fell due during this one: take it now
                self._at(self.env._now + seat.breaks.pop(0) * 60.0, self._back, event._value)
            else:
                self._handle(AgentReady(self.env._now, event._value))

    # -- time averages -----------------------------------------------------------------------
    def _waiting(self, t: float, change: int) -> None:
        self.n_waiting += change
        self.log_t.append(t)
        self.log_kind.append(_WAIT_UP if change > 0 else _WAIT_DOWN)

    def _levels(self) -> list[list[float]]:
        """Each interval's area under the staffed, working and waiting levels (level-seconds).

        A change of ``d`` at ``t`` in interval ``i`` adds ``d * (end of i - t)`` to interval
        i's area and ``d`` to the level every later interval starts with; changes before the
        window set the level the first one starts with, changes after it do not count.
        ``bincount`` adds in the log's order, so the sums are those a running total would keep.
        """
        t = np.frombuffer(self.log_t, dtype=np.float64)  # views of the log, no copies
        kinds = np.frombuffer(self.log_kind, dtype=np.int8)
        m0, iv = self.m0, self.iv
        before = np.bincount(kinds[t < m0], minlength=len(_STEPS)) @ _STEPS
        inside = (t >= m0) & (t < self.m1)
        kinds = kinds[inside]
        t = t[inside]
        i = ((t - m0) // iv).astype(np.int32)
        span = m0 + (i + 1) * iv - t  # the rest of the interval after each change
        del t, inside  # a month logs about 600,000 changes: keep the temporaries few
        areas = []
        for column in range(3):
            change = _STEPS[:, column].astype(np.int8)[kinds]
            moved = np.flatnonzero(change)  # as the running sums did, skip the zeros
            change, where = change[moved], i[moved]
            partial = np.bincount(where, weights=change * span[moved], minlength=self.bins)
            delta = np.bincount(where, weights=change, minlength=self.bins)
            level = int(before[column])
            out = []
            for p, d in zip(partial.tolist(), delta.tolist(), strict=True):
                out.append(level * iv + p)
                level += int(d)
            areas.append(out)
        return areas

    # -- results -----------------------------------------------------------------------------
    def _result(self) -> Replication:
        staffed, working, waiting = self._levels()
        return Replication(
            seed=self.seed, start=self.m0, interval_s=self.iv, target_s=self.plan.target_s,
            calls=self.c_calls, offered=self.c_offered, answered=self.c_answered,
            in_target=self.c_in_target, abandoned=self.c_abandoned, callbacks=self.c_callback,
            wait_sum=self.s_wait,
            staffed_s=staffed, working_s=working, waiting_s=waiting,
            waits=self.waits.tolist(), ivr_outcomes=self.ivr_outcomes,
            retrials=self.retrials, escalations=self.escalations, overflows=self.overflows,
            ivr_time_s=self.ivr_time, ivr_calls=self.ivr_counted,
            still_waiting=len(self.contacts),
        )


def _reachable(plan: Plan) -> set[str]:
    """The queues a contact of ``plan`` may be in: all of them behind an IVR, otherwise the
    scenario's queue and the queues it overflows to. Router timers come only from these."""
    queues = plan.routing.queues
    entry = plan.queue or plan.routing.settings.default_queue
    if plan.ivr is not None or entry not in queues:
        return set(queues)
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(step.overflow for step in queues[name].escalation if step.overflow)
    return seen


def _table(probabilities: dict[Any, float]) -> tuple[tuple[float, ...], tuple[str, ...]]:
    total = 0.0
    cumulative = []
    labels = []
    for label, p in probabilities.items():
        total += p
        cumulative.append(total)
        labels.append(str(label))
    cumulative[-1] = math.inf  # rounding never lets a draw fall off the end
    return tuple(cumulative), tuple(labels)


def _pick(table: tuple[tuple[float, ...], tuple[str, ...]], u: float) -> str:
    """The first label whose cumulative probability exceeds ``u`` (the last bound is inf)."""
    cumulative, labels = table
    return labels[bisect_right(cumulative, u)]


def _invalid(options: tuple[str, ...]) -> str:
    for digit in "9876543210*":
        if digit not in options:
            return digit
    return "#"


def _compile_choices(plan: Plan) -> dict[str, tuple[tuple[float, ...], tuple[str, ...]]]:
    if plan.ivr is None:
        return {}
    out = {}
    for key, options in plan.ivr.choices.items():
        flow, _, node = key.rpartition("/")
        path = key if flow else node
        out[path] = _table({k: v for k, v in options.items() if v > 0})
    return out
