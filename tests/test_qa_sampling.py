"""QA sampling: reproducible with a seed, stratified, N per agent, spread across evaluators."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from test_qa_support import T0, add_recording

from hotline.auth import TokenStore
from hotline.db import Database, open_database
from recording.qa.errors import ConflictError, SamplingError
from recording.qa.evaluations import pending
from recording.qa.sampling import (
    Candidate,
    SamplingPolicy,
    classify,
    period_bounds,
    plan_sample,
    qa_evaluators,
    run_sampling,
)

EVALUATORS = ["q1", "q2", "q3"]


def analytics(ratio: float = 0.5, dead_air: float = 4.0) -> dict:
    return {"duration_s": 200.0, "agent_talk_ratio": ratio, "overtalk_s": 6.0, "hold_s": 0.0,
            "dead_air_s": dead_air}


def population(agents: int = 4, per_agent: int = 30) -> list[Candidate]:
    """Calls of every kind: each agent has a few complaints, unhappy, short and long calls."""
    out = []
    for a in range(agents):
        for i in range(per_agent):
            rid = a * 1000 + i
            kind = i % 10
            out.append(Candidate(
                recording_id=rid, agent_id=f"a{a:03d}",
                queue="complaints" if kind == 0 else "billing",
                duration_s={1: 12.0, 2: 1500.0}.get(kind, 200.0),
                satisfaction=1 if kind == 3 else 4,
                flags=frozenset({"complaint"}) if kind == 4 else frozenset(),
                analytics=analytics(),
            ))
    return out


def picks(plan) -> list[tuple[int, str, str, str]]:
    return [(p.recording_id, p.agent_id, p.stratum, p.evaluator) for p in plan.picks]


def test_same_seed_same_data_same_picks_whatever_the_row_order() -> None:
    calls = population()
    first = plan_sample(calls, period="2026-W47", per_agent=3, seed=7, evaluators=EVALUATORS)
    shuffled = calls[:]
    random.Random(1).shuffle(shuffled)
    again = plan_sample(shuffled, period="2026-W47", per_agent=3, seed=7,
                        evaluators=list(reversed(EVALUATORS)))
    assert picks(first) == picks(again)
    other = plan_sample(calls, period="2026-W47", per_agent=3, seed=8, evaluators=EVALUATORS)
    assert [p[0] for p in picks(other)] != [p[0] for p in picks(first)]


def test_every_agent_gets_n_and_shortfalls_are_reported() -> None:
    calls = [*population(agents=3), Candidate(9001, "a100"), Candidate(9002, "a100")]
    plan = plan_sample(calls, period="2026-11-22", per_agent=3, seed=1, evaluators=EVALUATORS,
                       roster=["a000", "a100", "a200"])
    per_agent = Counter(p.agent_id for p in plan.picks)
    assert per_agent == {"a000": 3, "a001": 3, "a002": 3, "a100": 2}
    assert plan.shortfalls == {"a100": 2, "a200": 0}
    assert len({p.recording_id for p in plan.picks}) == len(plan.picks)


def test_strata_are_classified_in_priority_order() -> None:
    policy = SamplingPolicy()
    calls = [
        Candidate(1, "a", queue="complaints", satisfaction=1),
        Candidate(2, "a", flags=frozenset({"complaint"})),
        Candidate(3, "a", satisfaction=2, duration_s=5.0),
        Candidate(4, "a", duration_s=29.0),
        Candidate(5, "a", duration_s=901.0),
        Candidate(6, "a", duration_s=600.0, satisfaction=3),
        Candidate(7, "a"),
    ]
    assert classify(calls, policy) == {
        1: "complaint", 2: "complaint", 3: "low_satisfaction", 4: "very_short",
        5: "very_long", 6: "routine", 7: "routine",
    }


def test_audio_analytics_outliers_use_robust_z_scores() -> None:
    typical = [Candidate(i, "a", analytics=analytics(ratio=0.45 + 0.01 * (i % 10),
                                                     dead_air=3 + i % 4)) for i in range(20)]
    talker = Candidate(100, "a", analytics=analytics(ratio=0.95))
    silent = Candidate(101, "a", analytics=analytics(dead_air=90))
    foreign = Candidate(102, "a", analytics={"something": "else"})
    strata = classify([*typical, talker, silent, foreign], SamplingPolicy())
    assert strata[100] == strata[101] == "analytics_outlier"
    assert strata[102] == "routine"
    assert Counter(strata[c.recording_id] for c in typical) == {"routine": 20}
    # too few analysed calls to say what is typical
    assert classify([*typical[:3], talker], SamplingPolicy())[100] == "routine"


def test_outliers_among_mono_recordings_without_talk_ratio_or_overtalk() -> None:
    def mono(dead_air: float) -> dict:
        return {"duration_s": 100.0, "agent_talk_ratio": None, "overtalk_s": None,
                "hold_s": 0.0, "dead_air_s": dead_air}

    calls = [Candidate(i, "a", analytics=mono(2.0 + i % 3)) for i in range(8)]
    calls.append(Candidate(50, "a", analytics=mono(60.0)))
    strata = classify(calls, SamplingPolicy())
    assert [rid for rid, s in strata.items() if s == "analytics_outlier"] == [50]


def test_outliers_when_most_calls_are_alike() -> None:
    alike = [Candidate(i, "a", analytics=analytics(dead_air=1.0)) for i in range(9)]
    odd = Candidate(99, "a", analytics=analytics(dead_air=30.0))
    assert classify([*alike, odd], SamplingPolicy())[99] == "analytics_outlier"
    assert set(classify(alike, SamplingPolicy()).values()) == {"routine"}


@pytest.mark.parametrize(("weights", "low", "high"), [
    (None, 0.20, 0.40),  # complaints weigh 4: over-represented
    ({s: 1.0 for s in ("complaint", "low_satisfaction", "analytics_outlier", "very_long",
                       "very_short", "routine")}, 0.05, 0.15),  # uniform: their 10 % share
])
def test_complaints_are_over_represented_by_their_weight(weights, low: float,
                                                         high: float) -> None:
    calls = [Candidate(i, "a001", queue="complaints" if i % 10 == 0 else "billing")
             for i in range(100)]
    policy = SamplingPolicy(weights=weights) if weights else SamplingPolicy()
    chosen = Counter()
    for seed in range(300):
        plan = plan_sample(calls, period="2026-W47", per_agent=10, seed=seed,
                           evaluators=["q1"], policy=policy)
        chosen.update(p.stratum for p in plan.picks)
    share = chosen["complaint"] / chosen.total()
    assert low < share < high


def test_picks_are_spread_across_evaluators_and_nobody_reviews_themselves() -> None:
    plan = plan_sample(population(agents=5), period="2026-W47", per_agent=3, seed=4,
                       evaluators=EVALUATORS)
    loads = Counter(p.evaluator for p in plan.picks)
    assert max(loads.values()) - min(loads.values()) <= 1
    for agent in {p.agent_id for p in plan.picks}:
        assert len({p.evaluator for p in plan.picks if p.agent_id == agent}) == 3
    supervisors = plan_sample(population(agents=2), period="2026-W47", per_agent=3, seed=0,
                              evaluators=["a000", "a001"])
    assert all(p.evaluator != p.agent_id for p in supervisors.picks)
    with pytest.raises(SamplingError, match="'a000' is the only evaluator"):
        plan_sample(population(agents=1), period="2026-W47", per_agent=1, seed=0,
                    evaluators=["a000"])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"evaluators": []}, "no evaluators: name them"),
    ({"per_agent": 0}, "--per-agent must be at least 1, not 0"),
    ({"policy": SamplingPolicy(weights={"routine": 1.0})}, "stratum weights must be positive"),
])
def test_bad_sampling_requests(kwargs: dict, message: str) -> None:
    arguments = {"period": "2026-W47", "per_agent": 3, "seed": 1, "evaluators": EVALUATORS,
                 **kwargs}
    with pytest.raises(SamplingError, match=message):
        plan_sample(population(agents=1), **arguments)


def test_periods_are_days_or_iso_weeks_in_the_deployment_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert period_bounds("2026-W47", berlin) == (
        dt.datetime(2026, 11, 15, 23, tzinfo=dt.UTC), dt.datetime(2026, 11, 22, 23, tzinfo=dt.UTC))
    assert period_bounds("2026-11-22", ZoneInfo("UTC")) == (
        dt.datetime(2026, 11, 22, tzinfo=dt.UTC), dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    for bad in ("2026-W54", "2026-13-01", "last week", "2026-11-2"):
        with pytest.raises(SamplingError, match="is neither a day"):
            period_bounds(bad, berlin)


def seed_week(database: Database) -> dict[str, int]:
    ids = {}
    for a in range(3):
        for i in range(6):
            ids[f"a{a}-{i}"] = add_recording(
                database, agent=f"a00{a}", started_at=T0 + dt.timedelta(hours=i * 20 + a),
                duration_s=15.0 if i == 0 else 200.0, satisfaction=1 if i == 1 else None,
                queue="complaints" if i == 2 else "billing")
    ids["next_week"] = add_recording(database, agent="a000", started_at=T0 + dt.timedelta(7))
    ids["failed"] = add_recording(database, agent="a000", status="failed")
    ids["ivr_only"] = add_recording(database, agent=None)
    return ids


def test_the_job_stores_pending_reviews_per_evaluator(database: Database) -> None:
    ids = seed_week(database)
    now = T0 + dt.timedelta(days=7)
    dry = run_sampling(database, period="2026-W47", per_agent=2, seed=7,
                       evaluators=["q1", "q2"], now=now, dry_run=True)
    assert pending(database, "q1") == []
    plan = run_sampling(database, period="2026-W47", per_agent=2, seed=7,
                        evaluators=["q1", "q2"], now=now, roster=["a000", "a001", "a002", "a9"])
    assert picks(plan) == picks(dry)
    assert len(plan.picks) == 6 and plan.shortfalls == {"a9": 0}
    excluded = {ids["next_week"], ids["failed"], ids["ivr_only"]}
    assert not excluded & {p.recording_id for p in plan.picks}
    assert sum(plan.population.values()) == 18
    for evaluator in ("q1", "q2"):
        queue = pending(database, evaluator)
        assert sorted(r.recording_id for r in queue) == sorted(
            p.recording_id for p in plan.picks if p.evaluator == evaluator)
        assert all(r.period == "2026-W47" for r in queue)
    with pytest.raises(ConflictError, match="period 2026-W47 was already sampled "
                                            r"\(6 reviews, seed 7\)"):
        run_sampling(database, period="2026-W47", per_agent=2, seed=7,
                     evaluators=["q1", "q2"], now=now)
    # A later sample (one day of that week) never picks a call already assigned.
    day = run_sampling(database, period="2026-11-17", per_agent=5, seed=7,
                       evaluators=["q1"], now=now)
    assert day.picks
    assert not {p.recording_id for p in day.picks} & {p.recording_id for p in plan.picks}


def test_the_same_seed_on_a_copy_of_the_data_picks_the_same_calls(database: Database,
                                                                  tmp_path: Path) -> None:
    other = open_database("", data_dir=tmp_path / "other")
    try:
        seed_week(database)
        seed_week(other)
        plans = [run_sampling(db, period="2026-W47", per_agent=3, seed=11,
                              evaluators=["q1", "q2"], now=T0, dry_run=True)
                 for db in (database, other)]
        # fresh databases number the recordings alike, so the picks compare as they are
        assert picks(plans[0]) == picks(plans[1])
        assert len(plans[0].picks) == 9
    finally:
        other.close()


def test_default_evaluators_are_the_holders_of_qa_tokens(database: Database) -> None:
    tokens = TokenStore(database)
    tokens.issue("q2", "qa")
    tokens.issue("q1", "qa")
    tokens.issue("q1", "qa")
    tokens.issue("sup", "supervisor")
    tokens.issue("gone", "qa")
    tokens.revoke_subject("gone")
    assert qa_evaluators(database) == ["q1", "q2"]
