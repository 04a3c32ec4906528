"""What the simulator runs: a scenario compiled against its deployment.

:func:`compile_scenario` resolves everything a run needs once, so a replication only draws
random numbers: the Routing the real Router is built from (the deployment's queues, with the
scenario's wrap-up override and the agents on shift), the IVR flows, the arrival rate of every
profile slot, the duration distributions and the list of agent shift events (log in, breaks,
end of shift) in epoch seconds.

Agents on shift are *seats*: a routing.yaml agent names a skill profile, and each shift that
lists it staffs that profile with its own person (``a001-early``, ``a001-late``), so one seat
can be manned around the clock while no more people work at once than the shifts say.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from hotline.config.routing import Agent, Routing
from sim.distributions import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Lognormal,
    read_samples,
)
from sim.errors import ScenarioError
from sim.scenario import (
    DAYS,
    DistributionSpec,
    IvrSpec,
    Scenario,
    expand_agents,
    normalised,
    sample_path,
)

DRAIN_H = 6.0  # after the last arrival, calls in the building get this long to finish

# shift event kinds
LOGIN, BREAK, SHIFT_END = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ShiftEvent:
    t: float
    kind: int
    agent: str
    minutes: float = 0.0


@dataclass(slots=True)
class Plan:
    name: str
    routing: Routing
    timezone: ZoneInfo
    start: float  # epoch seconds of the scenario's start
    warmup_s: float
    duration_s: float
    interval_s: float
    target_s: float
    slot_s: float  # length of one arrival-profile slot
    rates: list[float]  # arrivals per second, one per slot from start to the end of arrivals
    daily_cv: float  # coefficient of variation of the gamma-mixed day factor (0: none)
    queue: str | None
    ivr: IvrSpec | None
    flows: Any
    handling: dict[str, Distribution]
    default_handling: Distribution
    patience: Distribution | None
    retrial_probability: float
    retrial_delay: Distribution | None
    rona_probability: float
    rona_ready_after_s: float
    answer_s: float
    callback_accept: float
    ring_timeout_s: float
    shift_events: list[ShiftEvent]
    synthetic: list[str]

    @property
    def measure_start(self) -> float:
        return self.start + self.warmup_s

    @property
    def measure_end(self) -> float:
        return self.start + self.warmup_s + self.duration_s


def compile_scenario(scenario: Scenario, *, agents: int | None = None,
                     aht_factor: float = 1.0, volume_factor: float = 1.0,
                     duration_h: float | None = None) -> Plan:
    """The :class:`Plan` for ``scenario``; the keyword arguments are what a sweep varies
    (synthetic agent count, handling-time and volume multipliers) and a shorter run length."""
    spec = scenario.spec
    deployment = scenario.deployment
    routing = deployment.routing
    if routing is None:
        raise ScenarioError(f"scenario '{scenario.name}': the deployment has no routing.yaml")
    zone = deployment.zone
    start_local = dt.datetime.fromisoformat(spec.start)
    if start_local.tzinfo is None:
        start_local = start_local.replace(tzinfo=zone)
    start = start_local.timestamp()
    warmup_s = spec.warmup_h * 3600.0
    duration_s = (duration_h if duration_h is not None else spec.duration_h) * 3600.0
    arrivals_end = warmup_s + duration_s

    # -- arrival rates per slot ----------------------------------------------------------------
    intraday = normalised(spec.arrivals.intraday, 24)
    weekly = normalised(spec.arrivals.weekly, 7)
    slot_s = 86400.0 / len(intraday)
    mean_rate = spec.arrivals.mean_per_hour / 3600.0 * volume_factor
    slots = int(-(-arrivals_end // slot_s))
    rates: list[float] = []
    for k in range(slots):
        local = dt.datetime.fromtimestamp(start + (k + 0.5) * slot_s, zone)
        slot_of_day = (local.hour * 3600 + local.minute * 60) // int(slot_s)
        rates.append(mean_rate * intraday[slot_of_day] * weekly[local.weekday()])

    # -- routing with the scenario's wrap-up and agents ----------------------------------------
    queues = dict(routing.queues)
    wrap = spec.wrap_up_s
    if wrap is not None:
        queues = {name: q.model_copy(update={"wrap_up_s": float(wrap)})
                  for name, q in queues.items()}
    synthetic: list[str] = []
    shift_events: list[ShiftEvent] = []
    if spec.agents.synthetic is not None:
        count = agents if agents is not None else spec.agents.synthetic.count
        roster = [Agent(id=f"s{i:04d}", name=f"Synthetic {i}", extension=f"{10000 + i}",
                        skills=dict(spec.agents.synthetic.skills)) for i in range(count)]
        synthetic = [a.id for a in roster]
    else:
        if agents is not None:
            raise ScenarioError(f"scenario '{scenario.name}' staffs by shifts; a sweep over "
                                "--agents needs synthetic agents (sweep --volume or --aht)")
        roster, shift_events = _shifts(scenario, zone, start,
                                       start + arrivals_end + DRAIN_H * 3600.0)
    model = routing.model_copy(update={"queues": queues, "agents": roster})

    # -- durations -----------------------------------------------------------------------------
    def dist(d: DistributionSpec, factor: float = 1.0) -> Distribution:
        return _distribution(scenario, d, factor)

    handling = {name: dist(d, aht_factor) for name, d in spec.handling.queues.items()}
    target = spec.target_s
    if target is None:
        entry = spec.queue or routing.settings.default_queue or next(iter(routing.queues))
        target = routing.queues[entry].service_level.seconds
    retrial = spec.retrials
    return Plan(
        name=scenario.name, routing=model, timezone=zone, start=start, warmup_s=warmup_s,
        duration_s=duration_s, interval_s=spec.interval_minutes * 60.0, target_s=float(target),
        slot_s=slot_s, rates=rates, daily_cv=spec.arrivals.daily_cv, queue=spec.queue, ivr=spec.ivr,
        flows=deployment.sections.get("ivr") if spec.ivr is not None else None,
        handling=handling, default_handling=dist(spec.handling.default, aht_factor),
        patience=dist(spec.patience) if spec.patience is not None else None,
        retrial_probability=retrial.probability if retrial is not None else 0.0,
        retrial_delay=dist(retrial.delay) if retrial is not None else None,
        rona_probability=spec.rona_probability, rona_ready_after_s=spec.rona_ready_after_s,
        answer_s=spec.answer_s, callback_accept=spec.callback_accept,
        ring_timeout_s=float(routing.settings.ring_timeout_s), shift_events=shift_events,
        synthetic=synthetic,
    )


def _distribution(scenario: Scenario, d: DistributionSpec, factor: float) -> Distribution:
    if d.distribution == "exponential":
        return Exponential(float(d.mean_s) * factor)  # type: ignore[arg-type]
    if d.distribution == "constant":
        return Constant(float(d.mean_s) * factor)  # type: ignore[arg-type]
    if d.distribution == "lognormal":
        return Lognormal(float(d.mean_s) * factor, float(d.sd_s) * factor)  # type: ignore[arg-type]
    path = sample_path(scenario.deployment, scenario.document, d.file)  # type: ignore[arg-type]
    values = read_samples(path, d.column)
    return Empirical(tuple(v * factor for v in values), str(path))


def _shifts(scenario: Scenario, zone: ZoneInfo, start: float,
            until: float) -> tuple[list[Agent], list[ShiftEvent]]:
    routing = scenario.deployment.routing
    assert routing is not None
    by_id = {a.id: a for a in routing.agents}
    known = [a.id for a in routing.agents]
    roster: list[Agent] = []
    events: list[ShiftEvent] = []
    first_day = dt.datetime.fromtimestamp(start, zone).date() - dt.timedelta(days=1)
    days = int((until - start) // 86400) + 2
    for shift in scenario.spec.agents.shifts:
        members = expand_agents(shift.agents, known)
        clones = []
        for agent_id in members:
            base = by_id[agent_id]
            clone = base.model_copy(update={"id": f"{agent_id}-{shift.name}",
                                            "extension": f"{len(roster) + 10000}"})
            roster.append(clone)
            clones.append(clone.id)
        hour, minute = (int(x) for x in shift.start.split(":"))
        workdays = {DAYS.index(d) for d in shift.days}
        for offset in range(days):
            day = first_day + dt.timedelta(days=offset)
            if day.weekday() not in workdays:
                continue
            begin = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
            t0 = begin.timestamp()
            t1 = t0 + shift.hours * 3600.0
            if t1 <= start or t0 >= until:
                continue
            for agent_id in clones:
                events.append(ShiftEvent(t0, LOGIN, agent_id))
                for pause in shift.breaks:
                    events.append(ShiftEvent(t0 + pause.after_h * 3600.0, BREAK, agent_id,
                                             pause.minutes))
                events.append(ShiftEvent(t1, SHIFT_END, agent_id))
    events.sort(key=lambda e: (e.t, e.kind != SHIFT_END))  # a shift ends before the next begins
    return roster, events
