"""Call rows: the ledger's outcomes and times (pure), and the upsert in either order and from
two writers at once (SQLite here, PostgreSQL too when HOTLINE_TEST_PG_URL is set)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from cti.call_records import CallLedger, CallRecords
from cti.ports import QueueRequest
from cti.transitions import (
    REASON_LOST,
    Answered,
    CallPhase,
    CallStarted,
    Ended,
    Held,
    LegRole,
    Queued,
    Transferred,
    Unheld,
)
from hotline.db import Database, open_database
from recording.control import SegmentStarted
from recording.repository import RecordingRepository

T0 = 1_800_000_000.0


def started(call: str = "c1", at: float = T0) -> CallStarted:
    return CallStarted(call, at, call, "PJSIP/2001-1", LegRole.CALLER, "2001", "", "hotline-"
                       "inbound", "400")


def ended(call: str = "c1", at: float = T0 + 100, *, by: str = "caller",
          reason: str = "hangup") -> Ended:
    return Ended(call, at, T0, CallPhase.TALKING, by, 16, "Normal Clearing", True, None,
                 call, reason)  # type: ignore[arg-type]


def request(call: str = "c1") -> QueueRequest:
    return QueueRequest("queue_request", call, "PJSIP/2001-1", "2001", "billing", {}, 2,
                        {"reason": "bills"}, "C-7", ["welcome", "reason", "billing"], {}, "de",
                        T0 + 20, "main")


def test_an_answered_call_with_a_hold_and_its_wrap_up():
    ledger = CallLedger({"1001": "a1"})
    ledger.transition(started())
    ledger.handed_over("c1", T0 + 20, request())
    ledger.transition(Queued("c1", T0 + 20, "c1", "PJSIP/2001-1", "c1", "billing"))
    ledger.transition(Answered("c1", T0 + 50, "u2", "PJSIP/1001-2", "1001"))
    ledger.transition(Held("c1", T0 + 60, "u2", "PJSIP/1001-2", "1001"))
    ledger.transition(Unheld("c1", T0 + 70, "u2", "PJSIP/1001-2", "1001"))
    row = ledger.transition(ended(by="agent"))
    assert row is not None
    assert {k: row[k] for k in ("flow", "queue", "agent_id", "customer_id", "outcome",
                                "wait_s", "talk_s", "hold_s", "hung_up_by")} == {
        "flow": "main", "queue": "billing", "agent_id": "a1", "customer_id": "C-7",
        "outcome": "answered", "wait_s": 30.0, "talk_s": 40.0, "hold_s": 10.0,
        "hung_up_by": "agent"}
    assert ledger.wrap_up("a1", "wrap_up", T0 + 100) is None
    assert ledger.wrap_up("a1", "ready", T0 + 115) == {"id": "c1", "wrap_s": 15.0}
    assert len(ledger) == 0


@pytest.mark.parametrize(("ivr_outcome", "expected"), [
    ("hangup", "self_service"), ("voicemail", "voicemail"), ("callback", "callback"),
    ("transfer", "transferred"), (None, "abandoned")])
def test_calls_that_never_queue_take_the_ivr_outcome(ivr_outcome, expected):
    ledger = CallLedger()
    ledger.transition(started())
    if ivr_outcome is not None:
        ledger.variable("c1", T0 + 30, "HOTLINE_OUTCOME", ivr_outcome)
    row = ledger.transition(ended(by="system"))
    assert row is not None and row["outcome"] == expected
    assert row["wait_s"] is None and row["talk_s"] is None


def test_transferred_and_lost_calls():
    ledger = CallLedger()
    for call in ("t", "l"):
        ledger.transition(started(call))
        ledger.transition(Queued(call, T0 + 5, call, "PJSIP/x", call, "billing"))
        ledger.transition(Answered(call, T0 + 9, "u", "PJSIP/1001-2", "1001"))
    ledger.transition(Transferred("t", T0 + 20, "blind", "PJSIP/1001-2", "1001", "PJSIP/x",
                                  "1002", "hotline-connect"))
    assert ledger.transition(ended("t"))["outcome"] == "transferred"  # type: ignore[index]
    lost = ledger.transition(ended("l", by="unknown", reason=REASON_LOST))
    assert lost is not None and lost["outcome"] == "lost"


def full_row(call: str = "c1") -> dict:
    ledger = CallLedger({"1001": "a1"})
    ledger.transition(started(call))
    ledger.handed_over(call, T0 + 20, request(call))
    ledger.transition(Answered(call, T0 + 50, "u2", "PJSIP/1001-2", "1001"))
    row = ledger.transition(ended(call))
    assert row is not None
    return row


def recording_started(call: str = "c1") -> SegmentStarted:
    return SegmentStarted(call, 1, T0 + 50, "1001", "billing", None, "x.wav", "PJSIP/2001-1",
                          False, 90, "test")


def test_the_full_row_after_the_recordings_minimal_row(database: Database):
    RecordingRepository(database).apply(recording_started())
    records = CallRecords(database)
    records.satisfaction("c1", 4)
    records.upsert(full_row())
    row = records.get("c1")
    assert row is not None
    assert (row["outcome"], row["flow"], row["agent_id"], row["customer_id"]) == (
        "answered", "main", "a1", "C-7")
    assert row["satisfaction"] == 4  # what the record does not own is kept
    assert row["started_at"].replace(tzinfo=dt.UTC).timestamp() == T0


def test_the_recordings_minimal_row_after_the_full_row(database: Database):
    records = CallRecords(database)
    records.upsert(full_row())
    RecordingRepository(database).apply(recording_started())
    row = records.get("c1")
    assert row is not None and row["outcome"] == "answered" and row["agent_id"] == "a1"
    records.upsert({"id": "c1", "wrap_s": 12.5})
    assert records.get("c1")["wrap_s"] == 12.5  # type: ignore[index]


def test_two_writers_at_once_leave_one_complete_row(database: Database):
    url = database.engine.url.render_as_string(hide_password=False)
    other = open_database(url) if database.engine.dialect.name == "postgresql" else database
    rows = [full_row(f"c{i}") for i in range(30)]
    errors: list[BaseException] = []

    def write(db: Database) -> None:
        try:
            for row in rows:
                CallRecords(db).upsert(row)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=write, args=(db,)) for db in (database, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if other is not database:
        other.close()
    assert errors == []
    assert all(CallRecords(database).get(r["id"])["outcome"] == "answered"  # type: ignore
               for r in rows)
