"""Which calls QA listens to: a seeded, stratified random sample per agent and period.

One operator we learned from samples recordings at random every day; a pure random sample,
though, mostly returns ordinary calls. The sampler therefore gives every agent ``N`` reviews
per period (a day ``2026-11-22`` or an ISO week ``2026-W47``) and draws them with weights, so
the calls most worth hearing come up more often while every call can still be picked.

**Strata** (a call belongs to the first that applies) and default weights::

    complaint          4   queue is a complaints queue, or the call/recording is flagged 'complaint'
    low_satisfaction   3   the caller's self-reported satisfaction is 1 or 2 (of 5)
    analytics_outlier  3   audio analytics far from the period's typical call (see below)
    very_long          2   longer than 15 minutes
    very_short         2   shorter than 30 seconds
    routine            1   everything else

A weight is a relative chance: a complaint is four times as likely to be drawn as a routine
call of the same agent. Draws are without replacement (Efraimidis-Spirakis keys
``u ** (1 / weight)``, the ``N`` largest win).

**Analytics outliers.** Over the period's recordings that have analytics, each of agent talk
ratio, over-talk share, hold share and longest dead air is turned into a robust z-score
(``0.6745 * (x - median) / MAD``, or ``(x - median) / (1.2533 * mean absolute deviation)``
when more than half the calls share one value and the MAD is 0); a call with ``|z| > 3`` on
any of them is an outlier. A figure measured on fewer than 5 calls marks no outlier.

**Reproducible.** Each agent's draw uses ``numpy.random.default_rng([seed, crc32(agent)])``
over its candidates sorted by recording id: the same seed and the same data give the same
picks, whatever order the database returns rows in. **Evaluators** receive the picks in turn
(agent by agent, starting at ``seed % len(evaluators)``), so one agent's calls are heard by
different evaluators and loads differ by at most one; nobody reviews their own calls.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

from hotline.db import Database, tables
from recording.qa.errors import ConflictError, SamplingError

STRATA = ("complaint", "low_satisfaction", "analytics_outlier", "very_long", "very_short",
          "routine")
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "complaint": 4.0, "low_satisfaction": 3.0, "analytics_outlier": 3.0,
    "very_long": 2.0, "very_short": 2.0, "routine": 1.0,
}
MIN_OUTLIER_POPULATION = 5
UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class SamplingPolicy:
    short_s: float = 30.0
    long_s: float = 900.0
    low_satisfaction: int = 2
    complaint_queues: frozenset[str] = frozenset({"complaints"})
    complaint_flag: str = "complaint"
    outlier_z: float = 3.0
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A recording that may be reviewed."""

    recording_id: int
    agent_id: str
    queue: str | None = None
    duration_s: float | None = None
    satisfaction: int | None = None
    flags: frozenset[str] = frozenset()
    analytics: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class Pick:
    recording_id: int
    agent_id: str
    stratum: str
    evaluator: str


@dataclass(frozen=True, slots=True)
class SamplePlan:
    period: str
    seed: int
    picks: tuple[Pick, ...]
    shortfalls: dict[str, int]  # agent -> calls available when fewer than asked
    population: dict[str, int]  # stratum -> candidates
    picked: dict[str, int]  # stratum -> picks

    def as_json(self) -> dict[str, object]:
        return {
            "period": self.period, "seed": self.seed,
            "picks": [{"recording_id": p.recording_id, "agent_id": p.agent_id,
                       "stratum": p.stratum, "evaluator": p.evaluator} for p in self.picks],
            "shortfalls": self.shortfalls, "population": self.population,
            "picked": self.picked,
        }


def classify(candidates: Sequence[Candidate], policy: SamplingPolicy) -> dict[int, str]:
    """The stratum of every candidate, by recording id."""
    outliers = _outliers(candidates, policy)
    strata: dict[int, str] = {}
    for c in candidates:
        if (c.queue in policy.complaint_queues) or policy.complaint_flag in c.flags:
            stratum = "complaint"
        elif c.satisfaction is not None and c.satisfaction <= policy.low_satisfaction:
            stratum = "low_satisfaction"
        elif c.recording_id in outliers:
            stratum = "analytics_outlier"
        elif c.duration_s is not None and c.duration_s > policy.long_s:
            stratum = "very_long"
        elif c.duration_s is not None and c.duration_s < policy.short_s:
            stratum = "very_short"
        else:
            stratum = "routine"
        strata[c.recording_id] = stratum
    return strata


def _number(value: object) -> float:
    """A figure from stored analytics JSON; ``None`` (not measurable, e.g. mono) is NaN."""
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)


def _features(analytics: Mapping[str, object]) -> list[float] | None:
    """Agent talk ratio, over-talk share, hold share and dead air of one recording."""
    try:
        duration = _number(analytics["duration_s"])
        if not duration > 0:
            return None
        return [
            _number(analytics.get("agent_talk_ratio")),
            _number(analytics.get("overtalk_s")) / duration,
            _number(analytics["hold_s"]) / duration,
            _number(analytics["dead_air_s"]),
        ]
    except (KeyError, TypeError):
        return None  # analytics of an older or foreign layout: not used for outliers


def _outliers(candidates: Sequence[Candidate], policy: SamplingPolicy) -> set[int]:
    rows = [(c.recording_id, _features(c.analytics)) for c in candidates if c.analytics]
    rows = [(rid, f) for rid, f in rows if f is not None]
    if len(rows) < MIN_OUTLIER_POPULATION:
        return set()
    ids = np.array([rid for rid, _ in rows])
    x = np.array([f for _, f in rows], dtype=np.float64)
    flagged = np.zeros(len(rows), dtype=bool)
    for column in x.T:  # four figures; each judged on the calls where it was measurable
        known = ~np.isnan(column)
        if known.sum() < MIN_OUTLIER_POPULATION:
            continue
        median = np.median(column[known])
        deviation = np.abs(column[known] - median)
        mad, mean_ad = np.median(deviation), np.mean(deviation)
        if mad > 0:
            z = 0.6745 * (column - median) / mad
        elif mean_ad > 0:  # over half the calls alike: the mean deviation still measures
            z = (column - median) / (1.253314 * mean_ad)
        else:
            continue
        flagged |= known & (np.abs(np.where(known, z, 0.0)) > policy.outlier_z)
    return set(ids[flagged].tolist())


def plan_sample(candidates: Sequence[Candidate], *, period: str, per_agent: int, seed: int,
                evaluators: Sequence[str], policy: SamplingPolicy | None = None,
                roster: Sequence[str] = ()) -> SamplePlan:
    """Pick ``per_agent`` candidates of every agent and hand them to ``evaluators``.

    Pure: the same arguments always give the same plan. ``roster`` names agents that must be
    reported as short of calls even when they have none in the period.
    """
    policy = policy or SamplingPolicy()
    if per_agent < 1:
        raise SamplingError(f"--per-agent must be at least 1, not {per_agent}")
    if not evaluators:
        raise SamplingError("no evaluators: name them (for example --evaluators q1,q2) or "
                            "issue API tokens with the role qa")
    unknown = set(policy.weights) ^ set(STRATA)
    if unknown or any(w <= 0 for w in policy.weights.values()):
        raise SamplingError(f"stratum weights must be positive and cover {', '.join(STRATA)}; "
                            f"got {dict(policy.weights)}")
    strata = classify(candidates, policy)
    by_agent: dict[str, list[Candidate]] = {agent: [] for agent in roster}
    for c in sorted(candidates, key=lambda c: c.recording_id):
        by_agent.setdefault(c.agent_id, []).append(c)
    chosen: list[tuple[str, int, str]] = []
    shortfalls: dict[str, int] = {}
    for agent in sorted(by_agent):
        pool = by_agent[agent]
        if len(pool) < per_agent:
            shortfalls[agent] = len(pool)
        if not pool:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(agent.encode())])
        weights = np.array([policy.weights[strata[c.recording_id]] for c in pool])
        keys = rng.random(len(pool)) ** (1.0 / weights)
        order = np.argsort(-keys, kind="stable")[:per_agent]
        chosen.extend((agent, pool[i].recording_id, strata[pool[i].recording_id])
                      for i in order)
    picks = _assign(chosen, sorted(set(evaluators)), seed)
    return SamplePlan(
        period=period, seed=seed, picks=tuple(picks), shortfalls=shortfalls,
        population=dict(Counter(strata.values())),
        picked=dict(Counter(p.stratum for p in picks)),
    )


def _assign(chosen: Sequence[tuple[str, int, str]], evaluators: Sequence[str],
            seed: int) -> list[Pick]:
    picks: list[Pick] = []
    turn = seed % len(evaluators)
    for agent, recording_id, stratum in chosen:
        evaluator = evaluators[turn % len(evaluators)]
        if evaluator == agent and len(evaluators) > 1:
            turn += 1
            evaluator = evaluators[turn % len(evaluators)]
        elif evaluator == agent:
            raise SamplingError(f"'{agent}' is the only evaluator and may not review their "
                                "own calls; add another evaluator")
        picks.append(Pick(recording_id, agent, stratum, evaluator))
        turn += 1
    return picks


# --- periods ----------------------------------------------------------------------------------

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def period_bounds(period: str, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` in UTC of a day ``2026-11-22`` or an ISO week ``2026-W47`` in ``tz``."""
    week = _WEEK.match(period)
    try:
        if week:
            first = dt.date.fromisocalendar(int(week[1]), int(week[2]), 1)
            last = first + dt.timedelta(days=7)
        else:
            first = dt.date.fromisoformat(period)
            last = first + dt.timedelta(days=1)
            if len(period) != 10:
                raise ValueError(period)
    except ValueError as exc:
        raise SamplingError(f"period {period!r} is neither a day (2026-11-22) nor an ISO week "
                            "(2026-W47)") from exc
    start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last, dt.time(), tz).astimezone(dt.UTC)
    return start, end


def as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything is written in UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# --- the job against the database -------------------------------------------------------------

def load_candidates(database: Database, start: dt.datetime, end: dt.datetime) -> list[Candidate]:
    """Complete recordings of the period with an agent, never assigned nor evaluated before."""
    r, c = tables.recordings, tables.calls
    assigned = sa.select(tables.qa_assignments.c.recording_id)
    evaluated = sa.select(tables.qa_evaluations.c.recording_id)
    query = (
        sa.select(r.c.id, r.c.agent_id, r.c.queue, r.c.duration_s, r.c.flags, r.c.analytics,
                  c.c.queue.label("call_queue"), c.c.satisfaction, c.c.talk_s,
                  c.c.flags.label("call_flags"))
        .select_from(r.outerjoin(c, r.c.call_id == c.c.id))
        .where(r.c.started_at >= start, r.c.started_at < end, r.c.status == "complete",
               r.c.agent_id.is_not(None), r.c.id.not_in(assigned), r.c.id.not_in(evaluated))
    )
    with database.begin() as conn:
        rows = conn.execute(query).all()
    return [
        Candidate(
            recording_id=row.id, agent_id=row.agent_id, queue=row.queue or row.call_queue,
            duration_s=row.duration_s if row.duration_s is not None else row.talk_s,
            satisfaction=row.satisfaction,
            flags=frozenset(map(str, (row.flags or []) + (row.call_flags or []))),
            analytics=row.analytics,
        )
        for row in rows
    ]


def qa_evaluators(database: Database) -> list[str]:
    """Subjects holding a valid API token with the role ``qa`` (the default evaluators)."""
    t = tables.api_tokens
    with database.begin() as conn:
        rows = conn.execute(sa.select(t.c.subject).distinct()
                            .where(t.c.role == "qa", t.c.revoked.is_(False))).all()
    return sorted(row.subject for row in rows)


def run_sampling(database: Database, *, period: str, per_agent: int, seed: int,
                 evaluators: Sequence[str], now: dt.datetime, tz: ZoneInfo = UTC,
                 policy: SamplingPolicy | None = None, roster: Sequence[str] = (),
                 dry_run: bool = False) -> SamplePlan:
    """Sample ``period`` and store one pending assignment per pick (unless ``dry_run``)."""
    start, end = period_bounds(period, tz)
    a = tables.qa_assignments
    with database.begin() as conn:
        existing = conn.execute(
            sa.select(sa.func.count(), sa.func.min(a.c.seed))
            .where(a.c.period == period, a.c.stratum != "calibration")).one()
    if existing[0]:
        raise ConflictError(f"period {period} was already sampled ({existing[0]} reviews, "
                            f"seed {existing[1]}); sample another period")
    plan = plan_sample(load_candidates(database, start, end), period=period,
                       per_agent=per_agent, seed=seed, evaluators=evaluators, policy=policy,
                       roster=roster)
    if not dry_run and plan.picks:
        with database.begin() as conn:
            conn.execute(a.insert(), [
                {"recording_id": p.recording_id, "evaluator": p.evaluator, "period": period,
                 "stratum": p.stratum, "seed": seed, "status": "pending", "created_at": now}
                for p in plan.picks
            ])
    return plan
