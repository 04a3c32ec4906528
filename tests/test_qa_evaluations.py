"""Evaluations, scorecards, calibration sessions and the library, on a real database."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from test_qa_support import T0, add_recording

from hotline.db import Database, tables
from recording.qa import calibration, evaluations, library
from recording.qa.errors import ConflictError, NotFound, QaError, ScoringError
from recording.qa.evaluations import Evaluation
from recording.qa.forms import Form, check_paths
from recording.qa.scorecards import build_scorecard

FORMS = check_paths([Path(__file__).resolve().parent.parent / "config" / "qa"]).forms
STANDARD = FORMS["standard-call"]
UTC = ZoneInfo("UTC")


def answers(**changes: str) -> dict[str, str]:
    best = {"greeting": "yes", "identification": "yes", "understanding": "5",
            "accuracy": "5", "hold_etiquette": "yes", "summary": "yes", "tone": "5"}
    return {**best, **changes}


def test_an_evaluation_is_stored_and_closes_the_pending_review(database: Database) -> None:
    recording = add_recording(database, agent="a001")
    with database.begin() as conn:
        conn.execute(tables.qa_assignments.insert().values(
            recording_id=recording, evaluator="q1", period="2026-W47", stratum="routine",
            seed=7, status="pending", created_at=T0))
    assert [r.recording_id for r in evaluations.pending(database, "q1")] == [recording]
    stored = evaluations.submit(database, STANDARD, recording_id=recording, evaluator="q1",
                                answers=answers(accuracy="3", hold_etiquette="na"),
                                comments="rushed the explanation", now=T0)
    # weights: greeting 1, identification 2, understanding 4, accuracy 6, summary 1, tone 1
    assert stored.score == pytest.approx(round((1500 - 300) / 15, 2))
    assert evaluations.pending(database, "q1") == []
    [loaded] = evaluations.for_recording(database, recording)
    assert loaded == stored
    assert (loaded.agent_id, loaded.form, loaded.form_version) == ("a001", "standard-call",
                                                                   "2026.1")
    assert loaded.answers["hold_etiquette"] == "na"
    assert loaded.comments == "rushed the explanation"
    assert loaded.created_at == T0


def test_refused_evaluations_store_nothing(database: Database) -> None:
    recording = add_recording(database, agent="a001")
    with pytest.raises(NotFound, match="there is no recording 4242"):
        evaluations.submit(database, STANDARD, recording_id=4242, evaluator="q1",
                           answers=answers(), now=T0)
    with pytest.raises(ScoringError, match="the answer to 'tone' must be one of 1, 2, 3, 4, 5"):
        evaluations.submit(database, STANDARD, recording_id=recording, evaluator="q1",
                           answers=answers(tone="great"), now=T0)
    assert evaluations.for_recording(database, recording) == []


def test_a_critical_fail_is_stored_as_zero(database: Database) -> None:
    recording = add_recording(database, agent="a001")
    stored = evaluations.submit(database, STANDARD, recording_id=recording, evaluator="q1",
                                answers=answers(identification="no"), now=T0)
    assert (stored.score, stored.critical_failed) == (0.0, True)


def evaluation(score: float, at: dt.datetime, *, agent: str = "a001", form: Form = STANDARD,
               given: dict[str, str] | None = None, session: str | None = None,
               evaluator: str = "q1", version: str | None = None) -> Evaluation:
    return Evaluation(0, 1, agent, evaluator, form.name, version or form.version,
                      given or answers(), "", score, score == 0, session, at)


def test_scorecard_weeks_trend_and_coaching_points() -> None:
    now = T0 + dt.timedelta(days=3)  # Thursday of 2026-W47
    found = [
        evaluation(60, T0 - dt.timedelta(days=14), given=answers(tone="2", accuracy="4")),
        evaluation(70, T0 - dt.timedelta(days=13), given=answers(tone="3")),
        evaluation(0, T0 - dt.timedelta(days=12), given=answers(identification="no")),
        evaluation(80, T0 + dt.timedelta(days=1), given=answers(tone="4", summary="no")),
        evaluation(90, T0 + dt.timedelta(days=2)),
        evaluation(10, T0 + dt.timedelta(days=2), session="cal-1"),  # calibration: left out
        evaluation(10, T0 - dt.timedelta(days=40)),  # before the window
        evaluation(10, T0, agent="a002"),
        evaluation(20, T0, given=answers(tone="1"), version="2025.9"),  # old form: no coaching
    ]
    card = build_scorecard("a001", found, weeks=4, now=now, tz=UTC, forms=FORMS)
    assert [(w.week, w.evaluations, w.mean, w.lowest, w.critical_fails) for w in card.weeks] == [
        ("2026-W44", 0, None, None, 0),
        ("2026-W45", 3, pytest.approx(43.33), 0, 1),
        ("2026-W46", 0, None, None, 0),
        ("2026-W47", 3, pytest.approx(63.33), 20, 0),
    ]
    assert card.evaluations == 6
    assert card.trend_per_week == pytest.approx(10.0)  # (63.33 - 43.33) / 2 weeks
    assert [(c.question, c.mean) for c in card.coaching] == [
        ("tone", 70.0), ("identification", 80.0), ("summary", 80.0)]
    text = card.render()
    assert "2026-W45       3   43.3    0.0        1" in text
    assert "trend +10.0 points/week" in text


def test_a_scorecard_without_evaluations() -> None:
    card = build_scorecard("a009", [], weeks=2, now=T0, tz=UTC, forms=FORMS)
    assert (card.mean, card.trend_per_week, card.coaching) == (None, None, ())
    assert [w.week for w in card.weeks] == ["2026-W46", "2026-W47"]


def test_a_calibration_session_shows_the_spread(database: Database) -> None:
    recording = add_recording(database, agent="a001")
    calibration.start_session(database, "cal-2026-11-20", recording_id=recording,
                              evaluators=["q1", "q2", "q3"], now=T0)
    waiting = calibration.session_report(database, "cal-2026-11-20", FORMS)
    assert (waiting.recording_id, waiting.pending, waiting.scores) == (
        recording, ("q1", "q2", "q3"), {})
    given = {"q1": answers(), "q2": answers(tone="3"), "q3": answers(tone="1", summary="no")}
    for evaluator, chosen in given.items():
        done = evaluations.submit(database, STANDARD, recording_id=recording,
                                  evaluator=evaluator, answers=chosen, now=T0)
        assert done.calibration == "cal-2026-11-20"
    report = calibration.session_report(database, "cal-2026-11-20", FORMS)
    scores = [100.0, round(1650 / 17, 2), round(1500 / 17, 2)]
    assert report.scores == dict(zip(("q1", "q2", "q3"), scores, strict=True))
    assert report.pending == ()
    assert report.mean == pytest.approx(sum(scores) / 3, abs=0.01)
    assert report.stdev == pytest.approx(statistics.stdev(scores), abs=0.01)
    assert report.spread == pytest.approx(100 - 1500 / 17, abs=0.01)
    assert report.critical_disagreement is False
    tone, summary = report.questions[0], report.questions[1]
    assert (tone.question, tone.agreement, tone.answers) == (
        "tone", pytest.approx(1 / 3, abs=0.001), {"q1": "5", "q2": "3", "q3": "1"})
    assert tone.stdev == pytest.approx(50.0)
    assert (summary.question, summary.agreement) == ("summary", pytest.approx(2 / 3, abs=0.001))
    assert all(q.agreement == 1 for q in report.questions[2:])
    assert "tone" in report.render().splitlines()[6]
    with pytest.raises(ConflictError, match="'q1' has already scored calibration session"):
        evaluations.submit(database, STANDARD, recording_id=recording, evaluator="q1",
                           answers=answers(), now=T0, calibration="cal-2026-11-20")
    # calibration scores stay out of the agent's scorecard
    assert evaluations.for_agent(database, "a001") == []


def test_calibration_sessions_are_checked(database: Database) -> None:
    recording = add_recording(database, agent="a001")
    with pytest.raises(QaError, match="must be 1-20 letters"):
        calibration.start_session(database, "a name that is much too long", recording_id=1,
                                  evaluators=["q1", "q2"], now=T0)
    with pytest.raises(QaError, match="needs at least two evaluators"):
        calibration.start_session(database, "cal-1", recording_id=recording,
                                  evaluators=["q1", "q1"], now=T0)
    with pytest.raises(NotFound, match="there is no recording 77"):
        calibration.start_session(database, "cal-1", recording_id=77,
                                  evaluators=["q1", "q2"], now=T0)
    calibration.start_session(database, "cal-1", recording_id=recording,
                              evaluators=["q1", "q2"], now=T0)
    with pytest.raises(ConflictError, match="session 'cal-1' exists already"):
        calibration.start_session(database, "cal-1", recording_id=recording,
                                  evaluators=["q3", "q4"], now=T0)
    with pytest.raises(NotFound, match="there is no calibration session 'cal-9'"):
        calibration.session_report(database, "cal-9", FORMS)


def test_a_critical_disagreement_is_called_out() -> None:
    at = T0
    report = calibration.build_report("c", [
        evaluation(100, at, evaluator="q1"),
        evaluation(0, at, evaluator="q2", given=answers(identification="no")),
    ], FORMS)
    assert report.critical_disagreement is True
    assert report.questions[0].question == "identification"


def test_the_library_keeps_exemplary_calls(database: Database) -> None:
    good = add_recording(database, agent="a001", queue="complaints")
    other = add_recording(database, agent="a002", queue="billing")
    evaluations.submit(database, STANDARD, recording_id=good, evaluator="q1",
                       answers=answers(tone="4"), now=T0)
    evaluations.submit(database, STANDARD, recording_id=good, evaluator="q2", answers=answers(),
                       now=T0)
    library.add(database, good, added_by="q1", note="calms an angry caller", now=T0)
    library.add(database, other, added_by="q2", note="", now=T0 + dt.timedelta(hours=1))
    listed = library.entries(database)
    assert [(e.recording_id, e.best_score) for e in listed] == [(other, None), (good, 100.0)]
    assert listed[1].note == "calms an angry caller" and listed[1].agent_id == "a001"
    assert [e.recording_id for e in library.entries(database, queue="complaints")] == [good]
    with pytest.raises(ConflictError, match=f"recording {good} is already in the library"):
        library.add(database, good, added_by="q2", note="", now=T0)
    with pytest.raises(NotFound, match="there is no recording 999"):
        library.add(database, 999, added_by="q2", note="", now=T0)
    library.remove(database, other)
    with pytest.raises(NotFound, match=f"recording {other} is not in the library"):
        library.remove(database, other)
    with database.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.qa_library)
                            ).scalar_one() == 1
