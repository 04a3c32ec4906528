"""Calibration: several evaluators score the same call, and the spread shows who drifts.

Scores are only fair if evaluators agree on what a 4 out of 5 is. A calibration *session*
(named like ``cal-2026-11-20``, at most 20 characters) asks each evaluator to score one
recording independently; :func:`start_session` creates a pending review for each of them, and
their evaluations carry the session name (and stay out of the agent's scorecard).

The report shows the total scores with their mean, standard deviation (sample, n-1) and
spread (highest - lowest), whether evaluators disagreed on a critical item, and per question
the answer each evaluator gave, the *agreement* (share of evaluators giving the most common
answer) and the standard deviation of the question's scores; questions are listed from the
least agreed on, which is where the calibration discussion starts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import sqlalchemy as sa

from hotline.db import Database, tables
from recording.qa.errors import ConflictError, NotFound, QaError
from recording.qa.evaluations import CALIBRATION, Evaluation, for_session
from recording.qa.forms import Form

SESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$")


@dataclass(frozen=True, slots=True)
class QuestionSpread:
    question: str
    answers: dict[str, str]  # evaluator -> answer
    agreement: float  # 0..1
    stdev: float | None  # of the question scores (N/A left out)


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    session: str
    recording_id: int | None
    scores: dict[str, float]  # evaluator -> total score
    pending: tuple[str, ...]  # evaluators who have not scored yet
    mean: float | None
    stdev: float | None
    spread: float | None
    critical_disagreement: bool
    questions: tuple[QuestionSpread, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "session": self.session, "recording_id": self.recording_id, "scores": self.scores,
            "pending": list(self.pending), "mean": self.mean, "stdev": self.stdev,
            "spread": self.spread, "critical_disagreement": self.critical_disagreement,
            "questions": [{"question": q.question, "answers": q.answers,
                           "agreement": q.agreement, "stdev": q.stdev}
                          for q in self.questions],
        }

    def render(self) -> str:
        lines = [f"calibration {self.session} on recording {self.recording_id}: "
                 f"{len(self.scores)} evaluation(s)"
                 + (f", waiting for {', '.join(self.pending)}" if self.pending else "")]
        for evaluator, total in sorted(self.scores.items()):
            lines.append(f"  {evaluator:<16} {total:6.1f}")
        if self.mean is not None:
            lines.append(f"  mean {self.mean:.1f}  stdev {_num(self.stdev)}  spread "
                         f"{_num(self.spread)}"
                         + ("  (evaluators disagree on a critical item)"
                            if self.critical_disagreement else ""))
        if self.questions:
            lines.append("questions, least agreed first:")
            for q in self.questions:
                given = ", ".join(f"{who}={answer}" for who, answer in sorted(q.answers.items()))
                lines.append(f"  {q.question:<20} agreement {q.agreement:4.0%}  "
                             f"stdev {_num(q.stdev)}  {given}")
        return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _stdev(values: Sequence[float]) -> float | None:
    return round(float(np.std(values, ddof=1)), 2) if len(values) >= 2 else None


def build_report(session: str, evaluations: Sequence[Evaluation], forms: Mapping[str, Form],
                 pending: Sequence[str] = ()) -> CalibrationReport:
    scores = {e.evaluator: e.score for e in evaluations}
    values = list(scores.values())
    per_question: dict[str, dict[str, str]] = {}
    question_scores: dict[str, list[float]] = {}
    for evaluation in evaluations:
        form = forms.get(evaluation.form)
        for qid, answer in evaluation.answers.items():
            per_question.setdefault(qid, {})[evaluation.evaluator] = answer
            if form is not None and form.version == evaluation.form_version:
                value = form.question(qid).scale.score_of(answer)
                if value is not None:
                    question_scores.setdefault(qid, []).append(value)
    questions = []
    for qid, answers in per_question.items():
        top = Counter(answers.values()).most_common(1)[0][1]
        questions.append(QuestionSpread(qid, answers, round(top / len(answers), 3),
                                        _stdev(question_scores.get(qid, []))))
    questions.sort(key=lambda q: (q.agreement, -(q.stdev or 0.0), q.question))
    return CalibrationReport(
        session=session,
        recording_id=evaluations[0].recording_id if evaluations else None,
        scores=scores, pending=tuple(sorted(pending)),
        mean=round(float(np.mean(values)), 2) if values else None, stdev=_stdev(values),
        spread=round(max(values) - min(values), 2) if values else None,
        critical_disagreement=len({e.critical_failed for e in evaluations}) > 1,
        questions=tuple(questions),
    )


def start_session(database: Database, session: str, *, recording_id: int,
                  evaluators: Sequence[str], now: dt.datetime) -> None:
    """One pending calibration review of ``recording_id`` for each evaluator."""
    if not SESSION.match(session):
        raise QaError(f"calibration session name {session!r} must be 1-20 letters, digits, "
                      "'.', '_' or '-', like cal-2026-11-20")
    names = sorted(set(evaluators))
    if len(names) < 2:
        raise QaError(f"a calibration session needs at least two evaluators, got {names}")
    a, r = tables.qa_assignments, tables.recordings
    with database.begin() as conn:
        if conn.execute(sa.select(r.c.id).where(r.c.id == recording_id)).first() is None:
            raise NotFound(f"there is no recording {recording_id}")
        exists = conn.execute(sa.select(a.c.id).where(
            a.c.period == session, a.c.stratum == CALIBRATION)).first()
        if exists is not None:
            raise ConflictError(f"calibration session '{session}' exists already; pick "
                                "another name")
        conn.execute(a.insert(), [
            {"recording_id": recording_id, "evaluator": name, "period": session,
             "stratum": CALIBRATION, "seed": 0, "status": "pending", "created_at": now}
            for name in names
        ])


def session_report(database: Database, session: str,
                   forms: Mapping[str, Form]) -> CalibrationReport:
    a = tables.qa_assignments
    with database.begin() as conn:
        waiting = conn.execute(sa.select(a.c.evaluator, a.c.recording_id).where(
            a.c.period == session, a.c.stratum == CALIBRATION, a.c.status == "pending")).all()
    evaluations = for_session(database, session)
    if not evaluations and not waiting:
        raise NotFound(f"there is no calibration session '{session}'")
    report = build_report(session, evaluations, forms, [row.evaluator for row in waiting])
    if report.recording_id is None and waiting:
        report = replace(report, recording_id=waiting[0].recording_id)
    return report
