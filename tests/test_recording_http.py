"""The recordings API on a real app: ranges, role access, audit, traversal, search, pause."""

from __future__ import annotations

import datetime as dt
import wave
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from cti.transitions import Answered, CallStarted, LegRole, Queued
from hotline.auth import TokenStore, principal_dependency
from hotline.db import Database, tables
from hotline.http import install_error_handlers
from recording.control import (
    ControlOutput,
    PauseRequested,
    RecordingController,
    ResumeRequested,
    SegmentStarted,
    SegmentStopped,
    SegmentView,
)
from recording.errors import RangeNotSatisfiable
from recording.http import parse_range, recording_router
from recording.policy import RecordingPolicy
from recording.repository import RecordingRepository
from recording.storage import RecordingStorage, segment_path

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC).timestamp()
DAY = 86400.0


def write_wav(path: Path, seconds: float) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = (np.sin(np.arange(int(seconds * 8000)) / 3) * 9000).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(samples.tobytes())
    return path.read_bytes()


class Env:
    def __init__(self, database: Database, root: Path) -> None:
        self.database = database
        self.storage = RecordingStorage(root)
        self.repo = RecordingRepository(database)
        self.tokens = TokenStore(database)
        self.files: dict[int, bytes] = {}

    def add(self, call_id: str, agent: str, *, queue: str = "billing", at: float = T0,
            seconds: float = 2.0, customer: str = "cust-1") -> int:
        path = segment_path(dt.datetime.fromtimestamp(at, dt.UTC), queue, agent, call_id, 1)
        self.repo.apply(SegmentStarted(call_id, 1, at, agent, queue, customer, path.as_posix(),
                                       "PJSIP/2001-1", False, 90, "test"))
        data = write_wav(self.storage.root / path, seconds)
        self.repo.apply(SegmentStopped(call_id, 1, at + seconds))
        rid = self.repo.finalise(call_id, 1, self.storage, at=at + seconds).id
        self.files[rid] = data
        return rid

    def client(self, allow_agents_own: bool = True, controls: object = None,
               tz: dt.tzinfo = dt.UTC) -> TestClient:
        app = FastAPI()
        install_error_handlers(app)
        app.include_router(recording_router(
            self.database, self.storage, principal_dependency(self.tokens), allow_agents_own,
            controls=controls, tz=tz, clock=lambda: T0 + 10 * DAY))  # type: ignore[arg-type]
        return TestClient(app)

    def auth(self, subject: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.issue(subject, role)}"}

    def audit(self) -> list[tuple[str, str, str]]:
        with self.database.begin() as conn:
            rows = conn.execute(sa.select(tables.audit_log).order_by(tables.audit_log.c.id))
            return [(r.actor, r.action, r.target) for r in rows]


@pytest.fixture
def env(database: Database, tmp_path: Path) -> Env:
    return Env(database, tmp_path / "recordings")


# ---- ranges ----

def test_whole_file_and_ranges_for_an_audio_element(env: Env) -> None:
    rid = env.add("c1", "a001")
    data = env.files[rid]
    client, qa = env.client(), env.auth("rita", "qa")
    whole = client.get(f"/recordings/{rid}/audio", headers=qa)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "audio/wav"
    assert int(whole.headers["content-length"]) == len(data)

    part = client.get(f"/recordings/{rid}/audio", headers={**qa, "Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert part.headers["content-length"] == "1000"

    tail = client.get(f"/recordings/{rid}/audio", headers={**qa, "Range": "bytes=-44"})
    assert tail.status_code == 206 and tail.content == data[-44:]
    seek = client.get(f"/recordings/{rid}/audio", headers={**qa, "Range": "bytes=30000-"})
    assert seek.status_code == 206 and seek.content == data[30000:]
    past_end = client.get(f"/recordings/{rid}/audio",
                          headers={**qa, "Range": f"bytes=10-{len(data) + 500}"})
    assert past_end.status_code == 206 and past_end.content == data[10:]


@pytest.mark.parametrize("header", ["bytes=999999-", "bytes=500-100", "bytes=abc", "bytes=-0",
                                    "bytes=-"])
def test_unsatisfiable_ranges_are_416(env: Env, header: str) -> None:
    rid = env.add("c1", "a001")
    response = env.client().get(f"/recordings/{rid}/audio",
                                headers={**env.auth("rita", "qa"), "Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(env.files[rid])}"
    assert response.json()["error_id"] == "range_not_satisfiable"


def test_ranges_in_other_units_or_several_ranges_get_the_whole_file(env: Env) -> None:
    rid = env.add("c1", "a001")
    client, qa = env.client(), env.auth("rita", "qa")
    for header in ("items=0-5", "bytes=0-1,5-9"):
        response = client.get(f"/recordings/{rid}/audio", headers={**qa, "Range": header})
        assert response.status_code == 200 and response.content == env.files[rid]


def test_parse_range_covers_the_file_exactly() -> None:
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=9-", 10) == (9, 9)
    assert parse_range("bytes=-20", 10) == (0, 9)
    assert parse_range(None, 10) is None
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=10-", 10)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


def test_head_gives_size_without_body(env: Env) -> None:
    rid = env.add("c1", "a001")
    response = env.client().head(f"/recordings/{rid}/audio", headers=env.auth("rita", "qa"))
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) == len(env.files[rid])


# ---- access ----

def test_an_agent_is_refused_another_agents_recording(env: Env) -> None:
    mine, theirs = env.add("c1", "a001"), env.add("c2", "a002")
    client, agent = env.client(allow_agents_own=True), env.auth("a001", "agent")
    assert client.get(f"/recordings/{mine}/audio", headers=agent).status_code == 200
    refused = client.get(f"/recordings/{theirs}/audio", headers=agent)
    assert refused.status_code == 403 and refused.json()["error_id"] == "forbidden"
    assert "a002" in refused.json()["message"]
    assert client.get(f"/recordings/{theirs}", headers=agent).status_code == 403
    listed = client.get("/recordings", headers=agent).json()
    assert [r["id"] for r in listed["recordings"]] == [mine]
    assert client.get("/recordings?agent=a002", headers=agent).status_code == 403
    assert env.audit() == [("a001", "recording.play", f"recording:{mine}"),
                           ("a001", "recording.play_refused", f"recording:{theirs}")]


def test_agents_hear_nothing_unless_the_deployment_allows_it(env: Env) -> None:
    mine = env.add("c1", "a001")
    client, agent = env.client(allow_agents_own=False), env.auth("a001", "agent")
    response = client.get(f"/recordings/{mine}/audio", headers=agent)
    assert response.status_code == 403 and "does not let agents" in response.json()["message"]
    assert client.get("/recordings", headers=agent).status_code == 403


@pytest.mark.parametrize("role", ["qa", "supervisor", "admin"])
def test_reviewers_hear_everyone_and_each_playback_is_audited(env: Env, role: str) -> None:
    rid = env.add("c1", "a001")
    client, who = env.client(allow_agents_own=False), env.auth("pat", role)
    client.get(f"/recordings/{rid}/audio", headers=who)
    client.get(f"/recordings/{rid}/audio", headers={**who, "Range": "bytes=0-99"})
    assert env.audit() == [("pat", "recording.play", f"recording:{rid}")] * 2
    with env.database.begin() as conn:
        details = conn.execute(sa.select(tables.audit_log.c.details)).scalars().all()
        at = conn.execute(sa.select(tables.audit_log.c.at)).scalars().first()
    assert details[1]["range"] == "bytes=0-99" and details[1]["call_id"] == "c1"
    assert at.replace(tzinfo=dt.UTC) == dt.datetime.fromtimestamp(T0 + 10 * DAY, dt.UTC)


def test_no_token_is_401(env: Env) -> None:
    rid = env.add("c1", "a001")
    assert env.client().get(f"/recordings/{rid}/audio").status_code == 401


@pytest.mark.parametrize("crafted", ["../../etc/passwd", "/etc/passwd", "link/escape.wav"])
def test_a_crafted_path_in_the_database_never_reaches_a_file_outside(
        env: Env, tmp_path: Path, crafted: str) -> None:
    rid = env.add("c1", "a001")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    (env.storage.root / "link").mkdir()
    (env.storage.root / "link" / "escape.wav").symlink_to(secret)
    with env.database.begin() as conn:
        conn.execute(tables.recordings.update().where(tables.recordings.c.id == rid)
                     .values(path=crafted))
    response = env.client().get(f"/recordings/{rid}/audio", headers=env.auth("rita", "qa"))
    assert response.status_code == 403
    assert response.json()["error_id"] == "recording_path_unsafe"
    assert b"root:x" not in response.content
    assert env.audit() == [("rita", "recording.play_refused", f"recording:{rid}")]


def test_ids_not_paths_in_urls(env: Env) -> None:
    env.add("c1", "a001")
    client, qa = env.client(), env.auth("rita", "qa")
    for url in ("/recordings/..%2F..%2Fetc%2Fpasswd/audio", "/recordings/../../etc/passwd"):
        assert client.get(url, headers=qa).status_code in (404, 422)


def test_purged_and_unfinished_recordings_are_not_played(env: Env) -> None:
    rid = env.add("c1", "a001")
    with env.database.begin() as conn:
        conn.execute(tables.recordings.update().values(status="purged"))
    response = env.client().get(f"/recordings/{rid}/audio", headers=env.auth("rita", "qa"))
    assert response.status_code == 410 and response.json()["error_id"] == "recording_purged"
    with env.database.begin() as conn:
        conn.execute(tables.recordings.update().values(status="recording"))
    response = env.client().get(f"/recordings/{rid}/audio", headers=env.auth("rita", "qa"))
    assert response.status_code == 409 and "it is recording" in response.json()["message"]


# ---- search ----

def test_search_by_agent_queue_dates_customer_duration_score_and_flags(env: Env) -> None:
    a = env.add("c1", "a001", queue="billing", at=T0, seconds=1.0, customer="k1")
    b = env.add("c2", "a002", queue="sales", at=T0 + DAY, seconds=3.0, customer="k2")
    c = env.add("c3", "a001", queue="sales", at=T0 + 2 * DAY, seconds=5.0, customer="k1")
    with env.database.begin() as conn:
        for rid, score in ((a, 40.0), (a, 60.0), (b, 95.0)):
            conn.execute(tables.qa_evaluations.insert().values(
                recording_id=rid, agent_id="x", evaluator="rita", form="f", form_version="1",
                answers={}, score=score, critical_failed=False,
                created_at=dt.datetime.fromtimestamp(T0, dt.UTC)))
        conn.execute(tables.recordings.update().where(tables.recordings.c.id == c)
                     .values(flags=["escalated"]))
    client, qa = env.client(), env.auth("rita", "qa")

    def ids(query: str) -> list[int]:
        response = client.get(f"/recordings?{query}", headers=qa)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["recordings"]]

    assert ids("") == [c, b, a]  # newest first
    assert ids("agent=a001") == [c, a]
    assert ids("queue=sales") == [c, b]
    assert ids("customer=k1") == [c, a]
    assert ids("from=2026-11-21T00:00:00Z&to=2026-11-22T00:00:00Z") == [b]
    assert ids("min_duration=2&max_duration=4") == [b]
    assert ids("min_score=50") == [b, a]  # a averages 50 (40 and 60); c has no score
    assert ids("max_score=55") == [a]  # average of 40 and 60
    assert ids("min_score=90") == [b]
    assert ids("flag=escalated") == [c]
    assert ids("limit=1&offset=1") == [b]
    # a time without an offset is the deployment's local time (b started 10:00 in Berlin)
    berlin = env.client(tz=ZoneInfo("Europe/Berlin"))
    local = berlin.get("/recordings?from=2026-11-21T09:30:00&to=2026-11-21T10:30:00",
                       headers=qa).json()
    assert [r["id"] for r in local["recordings"]] == [b]
    assert ids("from=2026-11-21T09:30:00&to=2026-11-21T10:30:00") == []  # 09:30 UTC: too late
    body = client.get(f"/recordings/{a}", headers=qa).json()
    assert body["qa_score"] == 50.0 and body["audio_url"] == f"/recordings/{a}/audio"


# ---- pause / resume through the API, driving a real controller ----

class LiveControls:
    """The engine's side in miniature: feed the controller, keep what it asks for."""

    def __init__(self) -> None:
        policy = RecordingPolicy.model_validate({"kind": "recording_policy"})
        self.controller = RecordingController(policy, asterisk_root="/rec",
                                              tz=ZoneInfo("Europe/Berlin"))
        self.outputs: list[ControlOutput] = []

    def active_segment(self, call_id: str) -> SegmentView | None:
        return self.controller.active_segment(call_id)

    def submit(self, request: PauseRequested | ResumeRequested) -> None:
        self.outputs.extend(self.controller.feed(request))


def test_the_agent_on_the_call_pauses_and_resumes_its_recording(env: Env) -> None:
    controls = LiveControls()
    for item in (CallStarted("c9", T0, "c9", "PJSIP/2001-1", LegRole.CALLER, "2001", "", "i",
                             "400"),
                 Queued("c9", T0, "c9", "PJSIP/2001-1", "c9", "billing"),
                 Answered("c9", T0 + 5, "u2", "PJSIP/1001-2", "a001")):
        controls.controller.feed(item)
    client = env.client(controls=controls)
    other = client.post("/recordings/calls/c9/pause", headers=env.auth("a002", "agent"))
    assert other.status_code == 403
    qa = client.post("/recordings/calls/c9/pause", headers=env.auth("rita", "qa"))
    assert qa.status_code == 403
    agent = env.auth("a001", "agent")
    paused = client.post("/recordings/calls/c9/pause", headers=agent)
    assert paused.status_code == 202 and paused.json() == {"call_id": "c9", "segment": 1,
                                                           "paused": True}
    resumed = client.post("/recordings/calls/c9/resume", headers=agent)
    assert resumed.json()["paused"] is False
    names = [(o.action.name, dict(o.action.fields)["State"]) for o in controls.outputs
             if hasattr(o, "action")]
    assert names == [("MixMonitorMute", "1"), ("MixMonitorMute", "0")]
    missing = client.post("/recordings/calls/nope/pause", headers=agent)
    assert missing.status_code == 409
    assert [a[1] for a in env.audit()] == ["recording.pause", "recording.resume"]


@given(st.integers(0, 5000), st.text(alphabet="bytes=-0123456789, ", max_size=20))
def test_any_served_range_lies_inside_the_file(size: int, header: str) -> None:
    try:
        span = parse_range(header, size)
    except RangeNotSatisfiable:
        return
    if span is not None:
        first, last = span
        assert 0 <= first <= last < size
