"""POST /calls/{call_id}/satisfaction on a real server: who may rate which call, and what is
stored (real Redis, real database)."""

from __future__ import annotations

import pytest
from test_api_http import Api, api, assert_error  # noqa: F401  (the fixture)

from cti.call_records import CallRecords

T0 = 1_800_000_000.0


@pytest.fixture
def call(api: Api) -> str:  # noqa: F811
    import datetime as dt

    CallRecords(api.database).upsert({
        "id": "1800000000.1", "agent_id": "a01", "outcome": "answered",
        "started_at": dt.datetime.fromtimestamp(T0, dt.UTC)})
    return "1800000000.1"


async def test_the_agent_of_the_call_and_supervisors_rate_it(api: Api, call: str):  # noqa: F811
    url = f"/calls/{call}/satisfaction"
    assert_error(await api.call("a02", "POST", url, json={"score": 1}), 403, "forbidden")
    assert_error(await api.call("q1", "POST", url, json={"score": 1}), 403, "forbidden")
    own = await api.call("a01", "POST", url, json={"score": 4})
    assert own.status_code == 200 and own.json() == {"call_id": call, "score": 4}
    assert CallRecords(api.database).get(call)["satisfaction"] == 4  # type: ignore[index]
    rated = await api.call("sup", "POST", url, json={"score": 2})
    assert rated.status_code == 200
    assert CallRecords(api.database).get(call)["satisfaction"] == 2  # type: ignore[index]


async def test_bad_scores_and_unknown_calls_are_refused(api: Api, call: str):  # noqa: F811
    for score in (0, 6, "5x"):
        assert_error(await api.call("sup", "POST", f"/calls/{call}/satisfaction",
                                    json={"score": score}), 422, "invalid_request")
    body = assert_error(await api.call("sup", "POST", "/calls/nope/satisfaction",
                                       json={"score": 3}), 404, "call_not_found")
    assert "nope" in str(body["message"])
    assert_error(await api.call(None, "POST", f"/calls/{call}/satisfaction",
                                json={"score": 3}), 401, "unauthorized")
