"""A call plan from a scenario file: the load test replays what the simulation predicts.

A scenario (``config/sim/*.yaml``, see :mod:`sim.scenario`) describes a day of traffic; a load
test replays a *window* of it with real calls. Think of a flight simulator's replay of one
leg of a recorded flight: same route, same weather, played at the speed the lab asks for.

* Arrivals: Poisson within each profile slot at that slot's rate (the scenario's mean rate
  times its normalised intraday and weekly factors, as :func:`sim.plan.compile_scenario`
  computes them, times ``rate_factor``), from ``window_start`` for ``window_s`` scenario
  seconds. The day-to-day factor ``daily_cv`` and retrials are not replayed.
* IVR: each caller walks the deployment's real flow with :class:`ivr.interpreter.CallSession`;
  at every menu and gather node a choice is drawn from the scenario's ``ivr.choices`` (uniform
  among the options when the node has none), and the digits are what the interpreter accepts
  (or rejects, for an ``invalid`` draw), timed like the simulator times them: a prompt takes
  ``prompt_s``, a key ``think_s`` after the menu, each further digit ``digit_s``. The walk's
  path and outcome are recorded with the caller.
* Patience (from the queue, in the scenario) becomes patience from the INVITE: IVR time plus
  the draw. A scenario without patience has callers wait up to ``max_wait_s``.
* Talk time: the handling-time distribution of the queue the walk ends in.
* Caller ids: a share ``ivr.customers.known`` of callers are real customers from a customer
  CSV (their lookups then find a record, and pops show it), the others numbers from a pool.

``scale`` compresses time for a lab: arrival times, patience and talk are divided by it, so a
scenario hour with ``scale`` 60 runs in a minute with the same number of calls in the building.
The IVR's own timing is not scaled: the PBX plays its prompts and runs its timeouts in real
time. Every draw comes from a stream of ``seed``, so the same inputs give the same plan.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from dataclasses import dataclass
from typing import Any

from ivr.commands import (
    Callback,
    Digits,
    Gather,
    Hangup,
    Lookup,
    LookupResult,
    Menu,
    Play,
    Queue,
    Say,
    Transfer,
    Voicemail,
)
from ivr.customers import CsvCustomers
from ivr.interpreter import CallSession
from sim.plan import Plan, compile_scenario
from sim.scenario import IvrSpec, Scenario
from sim.sip.errors import LoadPlanError
from sim.sip.plan import AgentPlan, CallerScript, CallPlan, DtmfStep

# A caller whose IVR walk ends without an agent hangs up this long after the flow's last prompt
# (the PBX normally ends the call first); one leaving a voicemail speaks this long.
END_GRACE_S = 2.0
VOICEMAIL_S = 10.0
# A caller that planned to leave in the IVR still gives up this long after that, at the latest.
IVR_PATIENCE_MARGIN_S = 30.0


@dataclass(frozen=True, slots=True)
class ScenarioWindow:
    """Which part of the scenario to replay, and how fast.

    ``start``: local time of the deployment (None: the end of the scenario's warm-up, where the
    simulation starts measuring); ``duration_s`` and ``max_wait_s`` in scenario seconds.
    """

    start: dt.datetime | None = None
    duration_s: float = 3600.0
    scale: float = 1.0
    rate_factor: float = 1.0
    max_wait_s: float = 600.0

    def __post_init__(self) -> None:
        for name, value in (("--duration", self.duration_s), ("--scale", self.scale),
                            ("--rate-factor", self.rate_factor),
                            ("--max-wait", self.max_wait_s)):
            if not (value > 0 and math.isfinite(value)):
                raise LoadPlanError(f"{name} must be a positive number, got {value}")


@dataclass(frozen=True, slots=True)
class AgentCredentials:
    """Agent softphones from the credentials file, with the ring and wrap-up behaviour the
    command line chose (None: take the scenario's ``answer_s`` / ``wrap_up_s``)."""

    users: tuple[str, ...]
    passwords: tuple[str, ...]
    ring_to_answer_s: tuple[float, float] | None = None
    wrap_up_s: float | None = None
    max_talk_s: float | None = None


def parse_start(text: str, scenario: Scenario) -> dt.datetime:
    """``--start``: ``2026-11-02T10:00`` or ``10:00`` (on the scenario's first day)."""
    spec_start = dt.datetime.fromisoformat(scenario.spec.start)
    if re.fullmatch(r"\d{1,2}:\d{2}", text.strip()):
        hour, minute = (int(x) for x in text.strip().split(":"))
        if hour > 23 or minute > 59:
            raise LoadPlanError(f"--start {text!r} is not a time of day (00:00 to 23:59)")
        return spec_start.replace(hour=hour, minute=minute, second=0, microsecond=0)
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise LoadPlanError(f"--start {text!r} is neither a date and time like "
                            "2026-11-02T10:00 nor a time of day like 10:00") from None


def plan_from_scenario(scenario: Scenario, window: ScenarioWindow, *, dial: str,
                       agents: AgentCredentials | None = None,
                       customers: CsvCustomers | None = None,
                       caller_ids: tuple[str, ...] = (),
                       caller_id_start: int = 33_100_000_000,
                       answer_marker: str | None = "D", seed: int = 0) -> CallPlan:
    """The :class:`CallPlan` replaying ``window`` of ``scenario`` (see the module docstring)."""
    sim_plan = compile_scenario(scenario, volume_factor=window.rate_factor)
    begin, end = _window(scenario, sim_plan, window)
    numbers = _Numbers(scenario.spec.ivr, customers, caller_ids, caller_id_start,
                       random.Random(f"{seed}:callers"))
    walker = _Walker(scenario, sim_plan, customers,
                     random.Random(f"{seed}:ivr")) if sim_plan.ivr is not None else None
    r_arrival = random.Random(f"{seed}:arrivals")
    r_patience = random.Random(f"{seed}:patience")
    r_talk = random.Random(f"{seed}:handling")
    scale = window.scale
    callers: list[CallerScript] = []
    for t in _arrivals(sim_plan, begin, end, r_arrival):
        index = len(callers)
        caller_id, customer = numbers.next(index)
        if walker is None:  # straight to the scenario's queue
            walk = _Walk((), 0.0, f"queue:{sim_plan.queue}", sim_plan.queue, (), None)
        else:
            walk = walker.walk(index, t, caller_id, customer)
        talk = sim_plan.handling.get(walk.queue or "", sim_plan.default_handling).sample(r_talk)
        wait = (sim_plan.patience.sample(r_patience) if sim_plan.patience is not None
                else window.max_wait_s)
        if walk.hangup_after_s is not None:
            patience = walk.hangup_after_s + IVR_PATIENCE_MARGIN_S
        else:
            patience = walk.ivr_s + min(wait, window.max_wait_s) / scale
        callers.append(CallerScript(
            index=index, start_s=math.floor((t - begin) / scale * 1000) / 1000, caller_id=caller_id,
            dtmf=walk.dtmf, patience_s=round(patience, 3), talk_s=round(talk / scale, 3),
            hangup_after_s=walk.hangup_after_s, ivr_outcome=walk.outcome,
            ivr_path=walk.path, ivr_s=round(walk.ivr_s, 3)))
    if not callers:
        raise LoadPlanError(
            f"scenario '{scenario.name}' has no calls in the window from "
            f"{_local(sim_plan, begin)} for {window.duration_s:g} s; widen --duration, move "
            "--start to busier hours or raise --rate-factor")
    synthetic = scenario.spec.agents.synthetic
    replayed = {
        "name": scenario.name, "start": _local(sim_plan, begin), "duration_s": window.duration_s,
        "scale": scale, "rate_factor": window.rate_factor, "max_wait_s": window.max_wait_s,
        "expected_calls": round(_expected_calls(sim_plan, begin, end), 2),
        "target_s": sim_plan.target_s,
        "scenario_agents": synthetic.count if synthetic is not None else "shifts",
    }
    return CallPlan(dial=dial, duration_s=round((end - begin) / scale, 3),
                    callers=tuple(callers), agents=_agents(scenario, agents, scale),
                    answer_marker=answer_marker, seed=seed, scenario=replayed)


def _window(scenario: Scenario, plan: Plan, window: ScenarioWindow) -> tuple[float, float]:
    """The window as epoch seconds, checked against the span the scenario's profile covers."""
    if window.start is None:
        begin = plan.measure_start
    else:
        start = window.start
        if start.tzinfo is None:
            start = start.replace(tzinfo=plan.timezone)
        begin = start.timestamp()
    end = begin + window.duration_s
    last = plan.start + len(plan.rates) * plan.slot_s
    if begin < plan.start:
        raise LoadPlanError(f"--start {_local(plan, begin)} is before scenario "
                            f"'{scenario.name}' starts ({_local(plan, plan.start)})")
    if end > last + 1e-6:
        raise LoadPlanError(f"the window {_local(plan, begin)} + {window.duration_s:g} s ends "
                            f"after scenario '{scenario.name}' does ({_local(plan, last)}); "
                            "shorten --duration or start earlier")
    return begin, end


def _local(plan: Plan, t: float) -> str:
    return dt.datetime.fromtimestamp(t, plan.timezone).strftime("%Y-%m-%dT%H:%M")


def _arrivals(plan: Plan, begin: float, end: float, rng: random.Random) -> list[float]:
    """Poisson arrival times in [begin, end), at each profile slot's own rate."""
    times: list[float] = []
    first = int((begin - plan.start) // plan.slot_s)
    for k in range(first, len(plan.rates)):
        low = max(begin, plan.start + k * plan.slot_s)
        high = min(end, plan.start + (k + 1) * plan.slot_s)
        if low >= end:
            break
        rate = plan.rates[k]
        if rate <= 0:
            continue
        t = low + rng.expovariate(rate)
        while t < high:
            times.append(t)
            t += rng.expovariate(rate)
    return times


def _expected_calls(plan: Plan, begin: float, end: float) -> float:
    """The mean number of arrivals in [begin, end): each slot's rate times its overlap."""
    total = 0.0
    for k, rate in enumerate(plan.rates):
        low = max(begin, plan.start + k * plan.slot_s)
        high = min(end, plan.start + (k + 1) * plan.slot_s)
        total += rate * max(0.0, high - low)
    return total


class _Numbers:
    """Caller ids: a known customer's phone with probability ``customers.known`` (when a
    customer file is given), else the next number of the pool."""

    def __init__(self, ivr: IvrSpec | None, customers: CsvCustomers | None,
                 pool: tuple[str, ...], first: int, rng: random.Random) -> None:
        self._known = ivr.customers.known if ivr is not None else 1.0
        self._customers = [r for r in customers.records if r.get("phone")] if customers else []
        if customers is not None and not self._customers:
            raise LoadPlanError("the customer file has no customer with a phone number; "
                                "callers need a 'phone' column to be recognised")
        self._pool = pool
        self._first = first
        self._rng = rng
        self._unknown = 0

    def next(self, index: int) -> tuple[str, dict[str, Any] | None]:
        if self._customers and self._rng.random() < self._known:
            record = self._customers[int(self._rng.random() * len(self._customers))]
            return str(record["phone"]), dict(record)
        n = self._unknown
        self._unknown += 1
        return (self._pool[n % len(self._pool)] if self._pool else str(self._first + n)), None


@dataclass(frozen=True, slots=True)
class _Walk:
    dtmf: tuple[DtmfStep, ...]
    ivr_s: float
    outcome: str  # queue:billing, hangup, ivr_abandoned, callback:sales...
    queue: str | None  # the queue the caller reaches, if any
    path: tuple[str, ...]
    hangup_after_s: float | None


class _Walker:
    """Walks callers through the real flow, drawing choices from the scenario's tables."""

    def __init__(self, scenario: Scenario, plan: Plan, customers: CsvCustomers | None,
                 rng: random.Random) -> None:
        assert plan.ivr is not None
        self.ivr = plan.ivr
        self.flows = plan.flows
        self.zone = plan.timezone
        self.customers = customers
        self.rng = rng
        self.choices = {key: [(str(option), p) for option, p in table.items() if p > 0]
                        for key, table in plan.ivr.choices.items()}
        self.scenario = scenario.name

    def walk(self, index: int, t: float, caller_id: str,
             customer: dict[str, Any] | None) -> _Walk:
        ivr = self.ivr
        session = CallSession(self.flows, ivr.flow, caller_id=caller_id,
                              now=dt.datetime.fromtimestamp(t, self.zone),
                              uniqueid=f"load-{index}")
        clock = 0.0  # seconds since the PBX answered
        steps: list[DtmfStep] = []
        command: Any = session.start()
        while session.outcome is None:
            result: Any = None
            kind = type(command)
            if kind is Play:
                clock += ivr.prompt_s * len(command.prompts)
            elif kind is Say:
                clock += ivr.say_s
            elif kind is Lookup:
                clock += ivr.lookup_s
                result = LookupResult(self._lookup(command, customer))
            elif kind is Menu or kind is Gather:
                clock += ivr.prompt_s * len(command.prompts)
                choice = self._draw(session.path[-1], command)
                if choice == "hangup":
                    session.hang_up()
                    clock += ivr.think_s
                    return _Walk(tuple(steps), clock, "ivr_abandoned", None,
                                 tuple(session.path), round(clock, 3))
                if choice == "timeout":
                    clock += command.timeout_s
                    typed = ""
                else:
                    clock += ivr.think_s
                    typed = (self._menu_key(command, choice) if kind is Menu
                             else self._typed(command, choice, customer))
                    for n, digit in enumerate(typed):
                        steps.append(DtmfStep(round(clock + n * ivr.digit_s, 3), digit))
                    if kind is Gather:  # as the simulator counts a gather's typing time
                        clock += ivr.digit_s * len(typed)
                result = Digits(typed)  # the interpreter strips a gather's terminator
            command = session.send(result)
        outcome = session.outcome
        path = tuple(session.path)
        if isinstance(outcome, Queue):
            return _Walk(tuple(steps), clock, _describe(outcome), outcome.queue, path, None)
        leave = clock + ivr.prompt_s + END_GRACE_S
        if isinstance(outcome, Voicemail):
            leave += VOICEMAIL_S
        return _Walk(tuple(steps), clock, _describe(outcome), None, path, round(leave, 3))

    def _draw(self, node: str, command: Menu | Gather) -> str:
        table = self.choices.get(node)
        if table is None:  # no statistics for this node: any valid choice, equally likely
            if isinstance(command, Menu):
                return command.options[int(self.rng.random() * len(command.options))]
            return "valid"
        u = self.rng.random()
        total = 0.0
        for option, probability in table:
            total += probability
            if u < total:
                return option
        return table[-1][0]

    @staticmethod
    def _menu_key(command: Menu, choice: str) -> str:
        if choice != "invalid":
            return choice
        # A key the menu does not offer ('D' is the answer marker and never pressed).
        return next((d for d in "9876543210*#" if d not in command.options), "#")

    def _typed(self, command: Gather, choice: str, customer: dict[str, Any] | None) -> str:
        if choice == "valid":
            # A real customer keys in their own account number (when the record has one).
            known = str(customer.get(command.variable) or "") if customer else ""
            digits = known if known and self._fits(command, known) else \
                self._valid_digits(command)
        else:  # invalid: too few digits (or too many, when one digit is the minimum)
            count = command.min_digits - 1 if command.min_digits > 1 else command.max_digits + 1
            digits = ("0123456789" * (count // 10 + 1))[:count]
        if command.terminator and len(digits) < command.max_digits:
            digits += command.terminator
        return digits

    @staticmethod
    def _fits(command: Gather, digits: str) -> bool:
        if not digits.isdigit() or not command.min_digits <= len(digits) <= command.max_digits:
            return False
        return command.pattern is None or re.fullmatch(command.pattern, digits) is not None

    def _valid_digits(self, command: Gather) -> str:
        for _ in range(20):  # random digits of the minimum length that the pattern accepts
            digits = "".join(str(int(self.rng.random() * 10)) for _ in range(command.min_digits))
            if self._fits(command, digits):
                return digits
        raise LoadPlanError(f"scenario '{self.scenario}': no digits found that node "
                            f"'{command.node}' accepts (pattern {command.pattern!r}); give the "
                            "node a 'valid' probability of 0 in ivr.choices")

    def _lookup(self, command: Lookup, caller: dict[str, Any] | None) -> Any:
        if command.by == "phone":
            return caller  # a known caller's number is on file; an invented one never is
        if self.customers is None:
            return None
        return self.customers.find("account", command.value)


def _describe(outcome: Any) -> str:
    if isinstance(outcome, Queue):
        return f"queue:{outcome.queue}"
    if isinstance(outcome, Callback):
        return f"callback:{outcome.queue}"
    if isinstance(outcome, Voicemail):
        return f"voicemail:{outcome.mailbox}"
    if isinstance(outcome, Transfer):
        return f"transfer:{outcome.destination}"
    if isinstance(outcome, Hangup):
        return "hangup"
    return type(outcome).__name__.lower()


def _agents(scenario: Scenario, agents: AgentCredentials | None,
            scale: float) -> AgentPlan | None:
    if agents is None:
        return None
    spec = scenario.spec
    ring = agents.ring_to_answer_s
    if ring is None:
        ring = (spec.answer_s / scale, spec.answer_s / scale)
    # Hotline's routing holds an agent in wrap-up itself; the phone refuses calls only for the
    # scenario's wrap-up override, if any, so a busy refusal shows a routing problem.
    wrap = agents.wrap_up_s if agents.wrap_up_s is not None else (spec.wrap_up_s or 0.0) / scale
    return AgentPlan(agents.users, agents.passwords, ring, wrap, agents.max_talk_s,
                     spec.rona_probability)
