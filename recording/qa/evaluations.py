"""Stored evaluations and the review queue of each evaluator.

An *assignment* (``qa_assignments``) is a call waiting for one evaluator's review: the sampler
creates them, a calibration session creates one per evaluator. An *evaluation*
(``qa_evaluations``) is a submitted form: who scored which recording on which form version,
the answers, comments, score and when. Submitting an evaluation closes the evaluator's
pending assignment for that recording; a calibration assignment stamps the evaluation with
its session so it is kept out of the agent's scorecard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from hotline.db import Database, tables
from recording.qa.errors import ConflictError, NotFound
from recording.qa.forms import Form
from recording.qa.sampling import as_utc
from recording.qa.scoring import Answer, score

CALIBRATION = "calibration"


@dataclass(frozen=True, slots=True)
class PendingReview:
    assignment_id: int
    recording_id: int
    agent_id: str | None
    queue: str | None
    started_at: dt.datetime
    duration_s: float | None
    period: str
    stratum: str

    def as_json(self) -> dict[str, object]:
        return {
            "assignment_id": self.assignment_id, "recording_id": self.recording_id,
            "agent_id": self.agent_id, "queue": self.queue,
            "started_at": self.started_at.isoformat(), "duration_s": self.duration_s,
            "period": self.period, "stratum": self.stratum,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    id: int
    recording_id: int
    agent_id: str | None
    evaluator: str
    form: str
    form_version: str
    answers: dict[str, str]
    comments: str
    score: float
    critical_failed: bool
    calibration: str | None
    created_at: dt.datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id, "recording_id": self.recording_id, "agent_id": self.agent_id,
            "evaluator": self.evaluator, "form": self.form, "form_version": self.form_version,
            "answers": self.answers, "comments": self.comments, "score": self.score,
            "critical_failed": self.critical_failed, "calibration": self.calibration,
            "created_at": self.created_at.isoformat(),
        }


def pending(database: Database, evaluator: str) -> list[PendingReview]:
    """The evaluator's open reviews, oldest call first."""
    a, r = tables.qa_assignments, tables.recordings
    query = (
        sa.select(a.c.id, a.c.recording_id, a.c.period, a.c.stratum, r.c.agent_id, r.c.queue,
                  r.c.started_at, r.c.duration_s)
        .select_from(a.join(r, a.c.recording_id == r.c.id))
        .where(a.c.evaluator == evaluator, a.c.status == "pending")
        .order_by(r.c.started_at, a.c.id)
    )
    with database.begin() as conn:
        rows = conn.execute(query).all()
    return [PendingReview(row.id, row.recording_id, row.agent_id, row.queue,
                          as_utc(row.started_at), row.duration_s, row.period, row.stratum)
            for row in rows]


def submit(database: Database, form: Form, *, recording_id: int, evaluator: str,
           answers: Mapping[str, Answer], comments: str = "", now: dt.datetime,
           calibration: str | None = None) -> Evaluation:
    """Score and store one evaluation; close the evaluator's assignment for the recording."""
    result = score(form, answers)
    a, r, e = tables.qa_assignments, tables.recordings, tables.qa_evaluations
    with database.begin() as conn:
        recording = conn.execute(sa.select(r.c.agent_id).where(r.c.id == recording_id)).first()
        if recording is None:
            raise NotFound(f"there is no recording {recording_id}")
        assignment = conn.execute(
            sa.select(a.c.id, a.c.stratum, a.c.period)
            .where(a.c.recording_id == recording_id, a.c.evaluator == evaluator,
                   a.c.status == "pending")
            .order_by(a.c.id)).first()
        if assignment is not None and assignment.stratum == CALIBRATION:
            calibration = calibration or assignment.period
        if calibration is not None:
            done = conn.execute(sa.select(e.c.id).where(
                e.c.calibration == calibration, e.c.evaluator == evaluator)).first()
            if done is not None:
                raise ConflictError(f"'{evaluator}' has already scored calibration session "
                                    f"'{calibration}' (evaluation {done.id})")
        values = {
            "recording_id": recording_id, "agent_id": recording.agent_id,
            "evaluator": evaluator, "form": form.name, "form_version": form.version,
            "answers": result.answers, "comments": comments, "score": result.score,
            "critical_failed": result.critical_failed, "calibration": calibration,
            "created_at": now,
        }
        new_id = conn.execute(e.insert().values(**values)).inserted_primary_key[0]
        if assignment is not None:
            conn.execute(a.update().where(a.c.id == assignment.id).values(status="done"))
    return Evaluation(
        id=new_id, recording_id=recording_id, agent_id=recording.agent_id, evaluator=evaluator,
        form=form.name, form_version=form.version, answers=result.answers, comments=comments,
        score=result.score, critical_failed=result.critical_failed, calibration=calibration,
        created_at=as_utc(now),
    )


def _evaluation(row: sa.Row) -> Evaluation:
    return Evaluation(
        id=row.id, recording_id=row.recording_id, agent_id=row.agent_id,
        evaluator=row.evaluator, form=row.form, form_version=row.form_version,
        answers=dict(row.answers), comments=row.comments or "", score=row.score,
        critical_failed=row.critical_failed, calibration=row.calibration,
        created_at=as_utc(row.created_at),
    )


def for_agent(database: Database, agent_id: str, *, since: dt.datetime | None = None,
              include_calibration: bool = False) -> list[Evaluation]:
    e = tables.qa_evaluations
    query = sa.select(e).where(e.c.agent_id == agent_id).order_by(e.c.created_at, e.c.id)
    if since is not None:
        query = query.where(e.c.created_at >= since)
    if not include_calibration:
        query = query.where(e.c.calibration.is_(None))
    with database.begin() as conn:
        return [_evaluation(row) for row in conn.execute(query)]


def for_session(database: Database, session: str) -> list[Evaluation]:
    e = tables.qa_evaluations
    query = sa.select(e).where(e.c.calibration == session).order_by(e.c.evaluator, e.c.id)
    with database.begin() as conn:
        return [_evaluation(row) for row in conn.execute(query)]


def for_recording(database: Database, recording_id: int) -> list[Evaluation]:
    e = tables.qa_evaluations
    query = sa.select(e).where(e.c.recording_id == recording_id).order_by(e.c.id)
    with database.begin() as conn:
        return [_evaluation(row) for row in conn.execute(query)]
