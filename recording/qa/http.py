"""The QA API: review queues, evaluations, scorecards, calibration and the library.

``qa_router(database, forms, principal_dep)`` returns a FastAPI ``APIRouter`` with the paths
below (mount it on the app that installed :func:`hotline.http.install_error_handlers`, which
turns the QA errors into JSON with their status). Roles: ``qa`` and ``supervisor`` (and
``admin``) review; an agent may read their own scorecard and the library.

=======  ===================================  ===========================================
GET      /qa/forms                            the forms, for an evaluation screen (anyone)
GET      /qa/reviews/pending?evaluator=       an evaluator's open reviews (qa: their own)
POST     /qa/evaluations                      submit a form for a recording -> 201 (a
                                             calibration review is recognised by its
                                             assignment, never named by the client)
GET      /qa/recordings/{id}/evaluations      every evaluation of one recording
GET      /qa/scorecards/{agent_id}?weeks=8    weekly scores, trend, coaching points
POST     /qa/calibrations                     start a session: one recording, evaluators
GET      /qa/calibrations/{session}           scores, mean, stdev, spread, per question
GET      /qa/library?queue=                   exemplary calls (anyone)
POST     /qa/library                          add a call -> 201
DELETE   /qa/library/{recording_id}           take a call out -> 204
=======  ===================================  ===========================================
"""

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hotline.auth import Forbidden, Principal, require
from hotline.db import Database
from recording.qa import calibration, evaluations, library
from recording.qa.errors import FormNotFound
from recording.qa.forms import Form
from recording.qa.sampling import UTC
from recording.qa.scorecards import build_scorecard, window_start

REVIEWERS = ("qa", "supervisor")


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording_id: int
    form: str
    answers: dict[str, str | int]
    comments: str = ""


class CalibrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session: str
    recording_id: int
    evaluators: list[str] = Field(min_length=2)


class LibraryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording_id: int
    note: str = ""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def qa_router(database: Database, forms: Mapping[str, Form],
              principal_dep: Callable[[Request], Principal], *,
              tz: ZoneInfo = UTC, clock: Callable[[], dt.datetime] = _utc_now) -> APIRouter:
    router = APIRouter(prefix="/qa", tags=["qa"])
    Anyone = Annotated[Principal, Depends(principal_dep)]
    Reviewer = Annotated[Principal, Depends(require(principal_dep, *REVIEWERS))]

    def form_named(name: str) -> Form:
        if name not in forms:
            raise FormNotFound(f"there is no QA form '{name}'; forms: {', '.join(sorted(forms))}")
        return forms[name]

    @router.get("/forms")
    def list_forms(who: Anyone) -> list[dict[str, Any]]:
        return [forms[name].describe() for name in sorted(forms)]

    @router.get("/reviews/pending")
    def pending(who: Reviewer, evaluator: str | None = None) -> list[dict[str, Any]]:
        target = evaluator or who.subject
        if who.role == "qa" and target != who.subject:
            raise Forbidden(f"qa '{who.subject}' may see only their own reviews, not "
                            f"'{target}''s")
        return [p.as_json() for p in evaluations.pending(database, target)]

    @router.post("/evaluations", status_code=201)
    def submit(body: EvaluationIn, who: Reviewer) -> dict[str, Any]:
        done = evaluations.submit(
            database, form_named(body.form), recording_id=body.recording_id,
            evaluator=who.subject, answers=body.answers, comments=body.comments, now=clock())
        return done.as_json()

    @router.get("/recordings/{recording_id}/evaluations")
    def of_recording(recording_id: int, who: Reviewer) -> list[dict[str, Any]]:
        return [e.as_json() for e in evaluations.for_recording(database, recording_id)]

    @router.get("/scorecards/{agent_id}")
    def scorecard(agent_id: str, who: Anyone,
                  weeks: Annotated[int, Query(ge=1, le=104)] = 8) -> dict[str, Any]:
        who.ensure_self_or(agent_id, *REVIEWERS)
        now = clock()
        found = evaluations.for_agent(database, agent_id, since=window_start(now, weeks, tz))
        return build_scorecard(agent_id, found, weeks=weeks, now=now, tz=tz,
                               forms=forms).as_json()

    @router.post("/calibrations", status_code=201)
    def start(body: CalibrationIn, who: Reviewer) -> dict[str, Any]:
        calibration.start_session(database, body.session, recording_id=body.recording_id,
                                  evaluators=body.evaluators, now=clock())
        return calibration.session_report(database, body.session, forms).as_json()

    @router.get("/calibrations/{session}")
    def session(session: str, who: Reviewer) -> dict[str, Any]:
        return calibration.session_report(database, session, forms).as_json()

    @router.get("/library")
    def list_library(who: Anyone, queue: str | None = None) -> list[dict[str, Any]]:
        return [entry.as_json() for entry in library.entries(database, queue=queue)]

    @router.post("/library", status_code=201)
    def add(body: LibraryIn, who: Reviewer) -> dict[str, Any]:
        library.add(database, body.recording_id, added_by=who.subject, note=body.note,
                    now=clock())
        return {"recording_id": body.recording_id, "added_by": who.subject, "note": body.note}

    @router.delete("/library/{recording_id}", status_code=204)
    def remove(recording_id: int, who: Reviewer) -> Response:
        library.remove(database, recording_id)
        return Response(status_code=204)

    return router
