"""Service metrics: what a supervisor's wall board shows, per queue and overall.

The Router appends one small record per arrival, answer, departure and finished handle to a
:class:`MetricsLog`; :func:`build_report` folds them into windows on request (15, 30 and 60
minutes back from ``now`` and ``today``, since local midnight in the deployment's time zone).
Records older than both the hour and midnight are dropped as time passes, so a month-long
simulation keeps only about a day of them. The formulas are in docs/metrics.md.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from acd.model import AGENT_STATES, OFFERED, READY, WAITING, WORKING_STATES, AgentRec

if TYPE_CHECKING:
    from acd.router import Router

WINDOWS = (("15m", 900.0), ("30m", 1800.0), ("60m", 3600.0))
_PRUNE_EVERY = 1024
_TIME = itemgetter(0)


def local_midnight(t: float, zone: ZoneInfo) -> float:
    """The epoch time of the midnight that starts ``t``'s day in ``zone``."""
    day = datetime.fromtimestamp(t, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


class MetricsLog:
    """Timestamped records of what happened to contacts (owned by the Router).

    Each list is in time order (the Router's time never goes back), so pruning finds the first
    record to keep by bisection and drops the older ones in one slice.
    """

    __slots__ = ("arrivals", "cutoff", "handles", "outcomes", "since_prune", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.arrivals: list[tuple[float, str]] = []
        self.outcomes: list[tuple[float, str, str, float]] = []  # t, queue, outcome, wait
        self.handles: list[tuple[float, str, float]] = []  # t, queue, handle seconds
        self.cutoff = -float("inf")  # records at or before this are no longer needed
        self.since_prune = 0

    # Each record counts towards the next pruning in line: a method call less per record.
    def arrived(self, t: float, queue: str) -> None:
        self.arrivals.append((t, queue))
        self.since_prune += 1
        if self.since_prune >= _PRUNE_EVERY:
            self._prune(t)

    def answered(self, t: float, queue: str, wait: float) -> None:
        self.outcomes.append((t, queue, "answered", wait))
        self.since_prune += 1
        if self.since_prune >= _PRUNE_EVERY:
            self._prune(t)

    def left(self, t: float, queue: str, wait: float, outcome: str) -> None:
        self.outcomes.append((t, queue, outcome, wait))
        self.since_prune += 1
        if self.since_prune >= _PRUNE_EVERY:
            self._prune(t)

    def handled(self, t: float, queue: str, seconds: float) -> None:
        self.handles.append((t, queue, seconds))
        self.since_prune += 1
        if self.since_prune >= _PRUNE_EVERY:
            self._prune(t)

    def _prune(self, t: float) -> None:
        self.since_prune = 0
        cutoff = self.cutoff = min(t - 3600.0, local_midnight(t, self.zone))
        for records in (self.arrivals, self.outcomes, self.handles):
            stale = bisect_right(records, cutoff, key=_TIME)
            if stale:
                del records[:stale]


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Counts and ratios over one window; ratios are ``None`` when their denominator is 0."""

    offered: int
    answered: int
    answered_in_sl: int
    abandoned: int
    short_abandoned: int
    callbacks: int
    service_level: float | None  # percent
    asa_s: float | None
    handled: int
    aht_s: float | None
    occupancy: float | None  # percent


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    name: str
    waiting: int
    longest_wait_s: float
    agents_by_state: dict[str, int]
    windows: dict[str, WindowStats]


@dataclass(frozen=True, slots=True)
class MetricsReport:
    t: float
    service_level_counts: str
    overall: QueueMetrics
    queues: dict[str, QueueMetrics]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def time_in_states(agent: AgentRec, start: float, end: float) -> tuple[float, float]:
    """Seconds (working, ready) the agent spent in ``[start, end]``."""
    work = ready = 0.0
    seg_end = end
    for since, state in reversed(agent.history):
        seg_start = since if since > start else start
        if seg_end > seg_start:
            if state in WORKING_STATES:
                work += seg_end - seg_start
            elif state == READY:
                ready += seg_end - seg_start
        if since <= start:
            break
        seg_end = since
    return work, ready


def build_report(router: Router, now: float) -> MetricsReport:
    settings = router.routing.settings
    queues = router._queues
    starts = {name: now - span for name, span in WINDOWS}
    starts["today"] = local_midnight(now, router.timezone) if now > -float("inf") else now
    log = router._metrics

    def stats(queue: str | None, agents: list[AgentRec]) -> dict[str, WindowStats]:
        result = {}
        for window, start in starts.items():
            offered = sum(1 for t, q in log.arrivals if start < t <= now and q == queue) \
                if queue else sum(1 for t, _ in log.arrivals if start < t <= now)
            answered = in_sl = abandoned = short = callbacks = 0
            wait_sum = 0.0
            for t, q, outcome, wait in log.outcomes:
                if not start < t <= now or (queue and q != queue):
                    continue
                if outcome == "answered":
                    answered += 1
                    wait_sum += wait
                    if wait <= queues[q].sl_seconds:
                        in_sl += 1
                elif outcome == "abandoned":
                    abandoned += 1
                    if wait < settings.short_abandon_s:
                        short += 1
                else:
                    callbacks += 1
            mode = settings.service_level_counts
            denominator = answered + (
                abandoned if mode == "all_offered"
                else abandoned - short if mode == "answered_and_long_abandons" else 0
            )
            handles = [s for t, q, s in log.handles
                       if start < t <= now and (not queue or q == queue)]
            work = ready = 0.0
            for agent in agents:
                w, r = time_in_states(agent, start, now)
                work += w
                ready += r
            result[window] = WindowStats(
                offered=offered, answered=answered, answered_in_sl=in_sl, abandoned=abandoned,
                short_abandoned=short, callbacks=callbacks,
                service_level=100.0 * in_sl / denominator if denominator else None,
                asa_s=wait_sum / answered if answered else None,
                handled=len(handles), aht_s=sum(handles) / len(handles) if handles else None,
                occupancy=100.0 * work / (work + ready) if work + ready > 0 else None,
            )
        return result

    def current(name: str, queue: str | None, agents: list[AgentRec]) -> QueueMetrics:
        waits = [now - c.enqueue_t for c in router._contacts.values()
                 if c.state in (WAITING, OFFERED) and (not queue or c.queue.name == queue)]
        by_state = dict.fromkeys(AGENT_STATES, 0)
        for agent in agents:
            by_state[agent.state] += 1
        return QueueMetrics(name, len(waits), max(waits, default=0.0), by_state,
                            stats(queue, agents))

    per_queue = {}
    for name, plan in queues.items():
        base = router._group_for(plan, plan.channel, (), 0)
        per_queue[name] = current(name, name, [router._agents[i] for i in sorted(base.eligible)])
    overall = current("overall", None, list(router._agents))
    return MetricsReport(now, settings.service_level_counts, overall, per_queue)
