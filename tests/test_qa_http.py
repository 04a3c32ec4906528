"""The QA API through a real FastAPI app, real tokens and a real database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_qa_support import T0, add_recording

from hotline.auth import TokenStore, principal_dependency
from hotline.db import Database
from hotline.http import install_error_handlers
from recording.qa.forms import check_paths
from recording.qa.http import qa_router
from recording.qa.sampling import run_sampling

FORMS = check_paths([Path(__file__).resolve().parent.parent / "config" / "qa"]).forms
NOW = T0 + dt.timedelta(days=2)
BEST = {"greeting": "yes", "identification": "yes", "understanding": 5, "accuracy": 5,
        "hold_etiquette": "na", "summary": "yes", "tone": 4}


class Api:
    """A test client that speaks as one token holder at a time."""

    def __init__(self, database: Database) -> None:
        app = FastAPI()
        install_error_handlers(app)
        store = TokenStore(database)
        app.include_router(qa_router(database, FORMS, principal_dependency(store),
                                     clock=lambda: NOW))
        self.app = app
        self.client = TestClient(app)
        self.tokens = {who: store.issue(who, role) for who, role in [
            ("q1", "qa"), ("q2", "qa"), ("sup", "supervisor"), ("a001", "agent"),
            ("a002", "agent")]}

    def __call__(self, who: str | None, method: str, url: str, **kwargs: object):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.request(method, url, headers=headers, **kwargs)


@pytest.fixture
def api(database: Database) -> Api:
    return Api(database)


def test_reviews_are_queued_scored_and_shown_on_the_scorecard(database: Database,
                                                              api: Api) -> None:
    first = add_recording(database, agent="a001")
    second = add_recording(database, agent="a002", started_at=T0 + dt.timedelta(hours=1))
    run_sampling(database, period="2026-W47", per_agent=1, seed=3, evaluators=["q1"], now=T0)

    queue = api("q1", "GET", "/qa/reviews/pending")
    assert queue.status_code == 200
    assert [r["recording_id"] for r in queue.json()] == [first, second]
    assert api("sup", "GET", "/qa/reviews/pending?evaluator=q1").json() == queue.json()
    refused = api("q2", "GET", "/qa/reviews/pending?evaluator=q1")
    assert refused.status_code == 403
    assert refused.json()["message"] == "qa 'q2' may see only their own reviews, not 'q1''s"
    assert api("a001", "GET", "/qa/reviews/pending").status_code == 403

    body = {"recording_id": first, "form": "standard-call", "answers": BEST,
            "comments": "clear and friendly"}
    created = api("q1", "POST", "/qa/evaluations", json=body)
    assert created.status_code == 201
    # weights greeting 1, identification 2, understanding 4, accuracy 6, summary 1, tone 1
    assert created.json()["score"] == round((1500 - 25) / 15, 2)
    assert created.json()["evaluator"] == "q1"
    assert created.json()["created_at"] == NOW.isoformat()
    assert [r["recording_id"] for r in api("q1", "GET", "/qa/reviews/pending").json()] == [
        second]

    card = api("a001", "GET", "/qa/scorecards/a001?weeks=2")
    assert card.status_code == 200
    assert card.json()["weeks"][-1] == {"week": "2026-W47", "evaluations": 1,
                                        "mean": created.json()["score"], "lowest":
                                        created.json()["score"], "critical_fails": 0}
    other = api("a002", "GET", "/qa/scorecards/a001")
    assert (other.status_code, other.json()["error_id"]) == (403, "forbidden")
    assert api("q2", "GET", "/qa/scorecards/a001").status_code == 200
    listed = api("sup", "GET", f"/qa/recordings/{first}/evaluations").json()
    assert [e["comments"] for e in listed] == ["clear and friendly"]


def test_bad_evaluations_get_plain_errors(database: Database, api: Api) -> None:
    recording = add_recording(database, agent="a001")
    no_token = api(None, "POST", "/qa/evaluations", json={})
    assert (no_token.status_code, no_token.json()["error_id"]) == (401, "unauthorized")
    wrong = api("q1", "POST", "/qa/evaluations", json={
        "recording_id": recording, "form": "standard-call", "answers": {**BEST, "tone": 9}})
    assert wrong.status_code == 422
    assert wrong.json() == {"error_id": "qa_invalid_answers", "details": {},
                            "message": "the answer to 'tone' must be one of 1, 2, 3, 4, 5, "
                                       "not '9'"}
    unknown = api("q1", "POST", "/qa/evaluations", json={
        "recording_id": recording, "form": "sales", "answers": BEST})
    assert unknown.status_code == 404
    assert unknown.json()["message"] == ("there is no QA form 'sales'; forms: complaints, "
                                         "standard-call")
    extra = api("q1", "POST", "/qa/evaluations", json={
        "recording_id": recording, "form": "standard-call", "answers": BEST, "score": 100})
    assert (extra.status_code, extra.json()["error_id"]) == (422, "invalid_request")
    agent = api("a001", "POST", "/qa/evaluations", json={
        "recording_id": recording, "form": "standard-call", "answers": BEST})
    assert agent.status_code == 403
    missing = api("q1", "POST", "/qa/evaluations", json={
        "recording_id": 999, "form": "standard-call", "answers": BEST})
    assert (missing.status_code, missing.json()["error_id"]) == (404, "qa_not_found")


def test_a_calibration_session_through_the_api(database: Database, api: Api) -> None:
    recording = add_recording(database, agent="a001")
    started = api("sup", "POST", "/qa/calibrations", json={
        "session": "cal-w47", "recording_id": recording, "evaluators": ["q1", "q2"]})
    assert started.status_code == 201
    assert started.json()["pending"] == ["q1", "q2"]
    for who, tone in (("q1", 5), ("q2", 1)):
        answered = api(who, "POST", "/qa/evaluations", json={
            "recording_id": recording, "form": "standard-call", "answers": {**BEST, "tone": tone}})
        assert answered.json()["calibration"] == "cal-w47"
    report = api("q1", "GET", "/qa/calibrations/cal-w47").json()
    assert report["pending"] == []
    assert report["spread"] == pytest.approx(100 / 15, abs=0.01)
    assert report["questions"][0] == {"question": "tone", "answers": {"q1": "5", "q2": "1"},
                                      "agreement": 0.5, "stdev": pytest.approx(70.71, abs=0.01)}
    again = api("sup", "POST", "/qa/calibrations", json={
        "session": "cal-w47", "recording_id": recording, "evaluators": ["q1", "q2"]})
    assert (again.status_code, again.json()["error_id"]) == (409, "qa_conflict")
    assert api("sup", "GET", "/qa/calibrations/none").status_code == 404


def test_the_library_and_the_forms(database: Database, api: Api) -> None:
    recording = add_recording(database, agent="a001")
    added = api("q1", "POST", "/qa/library", json={"recording_id": recording,
                                                   "note": "textbook de-escalation"})
    assert added.status_code == 201
    assert api("q2", "POST", "/qa/library", json={"recording_id": recording}).status_code == 409
    shelf = api("a002", "GET", "/qa/library").json()
    assert [(e["recording_id"], e["added_by"], e["note"]) for e in shelf] == [
        (recording, "q1", "textbook de-escalation")]
    assert api("a002", "DELETE", f"/qa/library/{recording}").status_code == 403
    assert api("sup", "DELETE", f"/qa/library/{recording}").status_code == 204
    assert api("sup", "GET", "/qa/library").json() == []
    forms = api("a001", "GET", "/qa/forms").json()
    assert [f["name"] for f in forms] == ["complaints", "standard-call"]
    empathy = forms[0]["sections"][1]["questions"][0]
    assert empathy["answers"] == ["acknowledged", "partly", "dismissed"]


def test_the_routes_are_described_in_openapi(api: Api) -> None:
    paths = api.app.openapi()["paths"]
    assert sorted(paths) == [
        "/qa/calibrations", "/qa/calibrations/{session}", "/qa/evaluations", "/qa/forms",
        "/qa/library", "/qa/library/{recording_id}", "/qa/recordings/{recording_id}/evaluations",
        "/qa/reviews/pending", "/qa/scorecards/{agent_id}",
    ]
    body = paths["/qa/evaluations"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/EvaluationIn")
