"""The recording controller: real call transitions in, MixMonitor actions out, in order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami.correlate import ActionTracker
from cti.ami.events import parse_event
from cti.ami.protocol import AmiMessage, AmiParser
from cti.ami.transcript import read_transcript
from cti.tracker import CallTracker
from cti.transitions import (
    Answered,
    CallPhase,
    CallStarted,
    Ended,
    LegRole,
    Queued,
    Ringing,
    Transferred,
)
from recording.control import (
    ActionSettled,
    AmiRequest,
    CustomerIdentified,
    CustomerLinked,
    FlowEntered,
    PauseRequested,
    RecordingController,
    RecordingFailed,
    ResumeRequested,
    SegmentFlagged,
    SegmentStarted,
    SegmentStopped,
)
from recording.policy import RecordingPolicy

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "asterisk"
BERLIN = ZoneInfo("Europe/Berlin")
ROOT = "/var/spool/asterisk/monitor/hotline"
T0 = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.UTC).timestamp()  # 00:30 on the 23rd in Berlin


def policy(**data: object) -> RecordingPolicy:
    return RecordingPolicy.model_validate({"kind": "recording_policy", **data})


def controller(**data: object) -> RecordingController:
    return RecordingController(policy(**data), asterisk_root=ROOT, tz=BERLIN)


def transcript_transitions(name: str) -> list:
    """The call tracker's transitions for a recorded Asterisk transcript (real parser)."""
    server, tracker, actions = AmiParser(), CallTracker(), ActionTracker()
    out: list = []
    index = 0
    for run in read_transcript(FIXTURES / name):
        if not run.from_server:
            continue
        server.receive_data(run.data)
        for message in server.messages():
            if not isinstance(message, AmiMessage) or message.get("Response") is not None:
                continue
            if message.name is None:
                continue
            claimed, _ = actions.receive(message)
            if claimed:
                continue
            index += 1
            out.extend(tracker.feed(parse_event(message), at=T0 + index))
    return out


def feed_all(ctl: RecordingController, inputs: list) -> list:
    out: list = []
    for item in inputs:
        out.extend(ctl.feed(item))
    return out


def shape(outputs: list) -> list[tuple]:
    """(kind, segment[, AMI action name and State]) of every output, in order."""
    result: list[tuple] = []
    for out in outputs:
        if isinstance(out, AmiRequest):
            fields = dict(out.action.fields)
            result.append(("ami", out.segment, out.action.name, fields.get("State")))
        else:
            result.append((type(out).__name__, out.segment))
    return result


def test_answered_call_starts_mixmonitor_on_the_caller_and_stops_at_hangup() -> None:
    transitions = transcript_transitions("hotline_redirect_answered.txt")
    ctl = controller()
    out = feed_all(ctl, transitions)
    assert shape(out) == [
        ("SegmentStarted", 1), ("ami", 1, "MixMonitor", None),
        ("ami", 1, "StopMixMonitor", None), ("SegmentStopped", 1),
    ]
    started, start = out[0], out[1]
    assert started.call_id == "1795352021.1" and started.agent_id == "1001"
    assert started.queue == "support" and started.retention_days == 90
    # recorded on the caller's channel, which lives through transfers
    assert dict(start.action.fields)["Channel"] == "PJSIP/2001-00000001"
    assert dict(start.action.fields)["File"] == f"{ROOT}/{started.path}"
    answered_at = next(t for t in transitions if isinstance(t, Answered)).at
    assert started.at == answered_at  # from the agent's answer, not during IVR or waiting
    assert ctl.active_segment("1795352021.1") is None


def test_layout_path_uses_the_local_date_queue_and_agent() -> None:
    ctl = controller()
    out = feed_all(ctl, [
        CallStarted("c1", T0, "c1", "PJSIP/2001-1", LegRole.CALLER, "2001", "", "in", "400"),
        Queued("c1", T0 + 1, "c1", "PJSIP/2001-1", "c1", "billing"),
        Answered("c1", T0 + 9, "u2", "PJSIP/1001-2", "a001"),
    ])
    started = out[0]
    assert started.path == "2026/11/23/billing/a001/c1-1.wav"  # Berlin date, not UTC's 22nd


def test_pause_and_resume_mute_and_unmute_in_order() -> None:
    ctl = controller()
    base = answered_call(ctl)
    out = feed_all(ctl, [
        PauseRequested("c1", T0 + 20, "agent", "a001"),
        PauseRequested("c1", T0 + 21, "agent", "a001"),  # twice: still one mute
        ResumeRequested("c1", T0 + 40, "agent", "a001"),
        Ended("c1", T0 + 60, T0, CallPhase.TALKING, "caller", 16, "Normal Clearing", True,
              "a001", "c1"),
    ])
    assert shape(base) == [("SegmentStarted", 1), ("ami", 1, "MixMonitor", None)]
    assert shape(out) == [
        ("ami", 1, "MixMonitorMute", "1"), ("SegmentPaused", 1),
        ("ami", 1, "MixMonitorMute", "0"), ("SegmentResumed", 1),
        ("ami", 1, "StopMixMonitor", None), ("SegmentStopped", 1),
    ]
    mute = out[0].action
    assert dict(mute.fields) == {"Channel": "PJSIP/2001-1", "Direction": "both", "State": "1"}


def test_ivr_and_agent_pauses_overlap_and_resume_only_when_both_end() -> None:
    ctl = controller()
    answered_call(ctl)
    out = feed_all(ctl, [
        PauseRequested("c1", T0 + 20, "ivr", "card_number"),
        PauseRequested("c1", T0 + 21, "agent", "a001"),
        ResumeRequested("c1", T0 + 30, "ivr", "card_number"),
        ResumeRequested("c1", T0 + 35, "agent", "a001"),
    ])
    assert [type(o).__name__ for o in out if not isinstance(o, AmiRequest)] == [
        "SegmentPaused", "SegmentResumed"]
    assert out[-1].at == T0 + 35


def test_hangup_while_paused_stops_without_unmuting() -> None:
    ctl = controller()
    answered_call(ctl)
    out = feed_all(ctl, [
        PauseRequested("c1", T0 + 20, "agent", "a001"),
        Ended("c1", T0 + 30, T0, CallPhase.TALKING, "caller", 16, "Normal Clearing", True,
              "a001", "c1"),
    ])
    assert shape(out) == [
        ("ami", 1, "MixMonitorMute", "1"), ("SegmentPaused", 1),
        ("ami", 1, "StopMixMonitor", None), ("SegmentStopped", 1),
    ]
    # a StopMixMonitor answered with an error (the channel is gone) changes nothing
    assert ctl.feed(ActionSettled(out[2].ref, T0 + 31, "No such channel")) == []
    assert ctl.pending_requests() == 2  # the start and the mute were never settled here


def test_transfer_gives_each_agent_a_segment_of_the_same_call() -> None:
    transitions = transcript_transitions("hotline_hold_transfer.txt")
    assert any(isinstance(t, Transferred) for t in transitions)
    ctl = controller()
    out = feed_all(ctl, transitions)
    assert shape(out) == [
        ("SegmentStarted", 1), ("ami", 1, "MixMonitor", None),
        ("ami", 1, "StopMixMonitor", None), ("SegmentStopped", 1),
        ("SegmentStarted", 2), ("ami", 2, "MixMonitor", None),
        ("ami", 2, "StopMixMonitor", None), ("SegmentStopped", 2),
    ]
    first, second = out[0], out[4]
    assert (first.call_id, first.agent_id) == ("1795352058.11", "1001")
    assert (second.call_id, second.agent_id) == ("1795352058.11", "1002")
    assert first.path.endswith("/1001/1795352058.11-1.wav")
    assert second.path.endswith("/1002/1795352058.11-2.wav")
    # both segments record the caller's channel
    channels = {dict(o.action.fields)["Channel"] for o in out if isinstance(o, AmiRequest)}
    assert channels == {"PJSIP/2001-0000000b"}
    transfer_at = next(t for t in transitions if isinstance(t, Transferred)).at
    assert out[3].at == transfer_at


def test_attended_transfer_starts_the_consulted_agent_at_the_transfer() -> None:
    ctl = controller()
    answered_call(ctl)
    out = feed_all(ctl, [
        Ringing("c1", T0 + 30, "u3", "PJSIP/1002-3", "a002"),
        Answered("c1", T0 + 32, "u3", "PJSIP/1002-3", "a002"),  # consultation: no change yet
    ])
    assert out == []
    out = ctl.feed(Transferred("c1", T0 + 50, "attended", "PJSIP/1001-2", "a001",
                               "PJSIP/2001-1", "PJSIP/1002-3", "agents"))
    assert shape(out) == [("ami", 1, "StopMixMonitor", None), ("SegmentStopped", 1),
                          ("SegmentStarted", 2), ("ami", 2, "MixMonitor", None)]
    assert out[2].agent_id == "a002" and out[2].at == T0 + 50


def test_agent_pause_ends_with_the_transfer_but_an_ivr_pause_carries_over() -> None:
    ctl = controller()
    answered_call(ctl)
    ctl.feed(PauseRequested("c1", T0 + 20, "agent", "a001"))
    out = feed_all(ctl, [
        Transferred("c1", T0 + 30, "blind", "PJSIP/1001-2", "a001", "PJSIP/2001-1", "1002",
                    "hotline-connect"),
        Answered("c1", T0 + 40, "u3", "PJSIP/1002-3", "a002"),
    ])
    assert shape(out)[-2:] == [("SegmentStarted", 2), ("ami", 2, "MixMonitor", None)]
    ctl.feed(PauseRequested("c1", T0 + 50, "ivr", "payment"))
    out = feed_all(ctl, [
        Transferred("c1", T0 + 60, "blind", "PJSIP/1002-3", "a002", "PJSIP/2001-1", "1003",
                    "hotline-connect"),
        Answered("c1", T0 + 70, "u4", "PJSIP/1003-4", "a003"),
    ])
    assert shape(out)[-4:] == [("SegmentStarted", 3), ("ami", 3, "MixMonitor", None),
                               ("ami", 3, "MixMonitorMute", "1"), ("SegmentPaused", 3)]
    assert (out[-1].source, out[-1].by) == ("ivr", "payment")
    assert ctl.active_segment("c1").paused


def test_mixmonitor_error_flags_the_recording_and_silences_the_segment() -> None:
    settlement_error = mixmonitor_error_from_transcript()
    ctl = controller()
    start = next(o for o in answered_call(ctl) if isinstance(o, AmiRequest))
    out = ctl.feed(ActionSettled(start.ref, T0 + 10, settlement_error))
    assert len(out) == 1 and isinstance(out[0], RecordingFailed)
    assert (out[0].call_id, out[0].segment) == ("c1", 1)
    assert "No such channel" in out[0].reason
    # nothing is running, so nothing to mute or stop
    assert ctl.feed(PauseRequested("c1", T0 + 20, "agent", "a001")) == []
    assert ctl.feed(Ended("c1", T0 + 30, T0, CallPhase.TALKING, "caller", 16, "", True,
                          "a001", "c1")) == []


def test_a_failed_mute_flags_the_segment() -> None:
    ctl = controller()
    answered_call(ctl)
    mute = ctl.feed(PauseRequested("c1", T0 + 20, "agent", "a001"))[0]
    out = ctl.feed(ActionSettled(mute.ref, T0 + 21, "No such channel"))
    assert out == [SegmentFlagged("c1", 1, T0 + 21, "pause_failed",
                                  "MixMonitorMute failed: No such channel")]


def test_policy_decides_per_queue_and_flow() -> None:
    rules = {"defaults": {"percent": 0}, "queues": {"complaints": {"always": True}},
             "flows": {"never": ["payment"]}}
    ctl = controller(**rules)
    assert answered_call(ctl, queue="billing") == []
    ctl = controller(**rules)
    assert shape(answered_call(ctl, queue="complaints"))[0] == ("SegmentStarted", 1)
    ctl = controller(**rules)
    assert answered_call(ctl, queue="complaints", flow="payment") == []


def test_record_from_queued_records_the_wait_then_a_segment_for_the_agent() -> None:
    ctl = controller(queues={"billing": {"record_from": "queued"}})
    out = feed_all(ctl, [
        CallStarted("c1", T0, "c1", "PJSIP/2001-1", LegRole.CALLER, "2001", "", "in", "400"),
        CustomerIdentified("c1", T0 + 2, "cust-7"),
        Queued("c1", T0 + 5, "c1", "PJSIP/2001-1", "c1", "billing"),
        Answered("c1", T0 + 30, "u2", "PJSIP/1001-2", "a001"),
    ])
    assert shape(out) == [
        ("SegmentStarted", 1), ("ami", 1, "MixMonitor", None),
        ("ami", 1, "StopMixMonitor", None), ("SegmentStopped", 1),
        ("SegmentStarted", 2), ("ami", 2, "MixMonitor", None),
    ]
    assert out[0].agent_id is None and out[0].path == "2026/11/23/billing/_none/c1-1.wav"
    assert out[4].agent_id == "a001" and out[4].customer_id == "cust-7"


def test_split_legs_asks_asterisk_for_caller_and_agent_feeds() -> None:
    ctl = controller(defaults={"split_legs": True})
    start = next(o for o in answered_call(ctl) if isinstance(o, AmiRequest))
    options = dict(start.action.fields)["Options"]
    base = f"{ROOT}/2026/11/23/billing/a001/c1-1"
    assert options == f"r({base}-caller.wav)t({base}-agent.wav)"
    encoded = start.action.with_id("x").encode()
    assert encoded.startswith(b"Action: MixMonitor\r\nActionID: x\r\nChannel: PJSIP/2001-1\r\n")


# ---- invariant over random call histories ----

STEPS = st.lists(st.sampled_from(["pause_agent", "resume_agent", "pause_ivr", "resume_ivr",
                                  "transfer", "answer_next", "fail_last_start"]), max_size=25)


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_every_started_segment_is_stopped_once_and_mutes_alternate(steps: list[str]) -> None:
    ctl = controller()
    out = answered_call(ctl)
    agent = 1
    at = T0 + 10
    for step in steps:
        at += 1
        if step.startswith(("pause", "resume")):
            kind, source = step.split("_")
            cls = PauseRequested if kind == "pause" else ResumeRequested
            out += ctl.feed(cls("c1", at, source, "x"))  # type: ignore[arg-type]
        elif step == "transfer":
            out += ctl.feed(Transferred("c1", at, "blind", "PJSIP/x", None, "PJSIP/2001-1",
                                        "9", "hotline-connect"))
        elif step == "answer_next":
            agent += 1
            out += ctl.feed(Answered("c1", at, f"u{agent}", f"PJSIP/{agent}", f"a{agent:03}"))
        else:
            starts = [o for o in out if isinstance(o, AmiRequest) and o.purpose == "start"]
            if starts:
                out += ctl.feed(ActionSettled(starts[-1].ref, at, "No such channel"))
    out += ctl.feed(Ended("c1", at + 1, T0, CallPhase.TALKING, "caller", 16, "", True,
                          None, "c1"))
    requests: dict[int, list[str]] = {}
    failed_early: set[int] = set()  # failed while still running: never stopped
    for o in out:
        if isinstance(o, AmiRequest):
            assert o.segment not in failed_early, "an action for a segment that failed"
            requests.setdefault(o.segment, []).append(o.purpose)
        elif isinstance(o, RecordingFailed) and "stop" not in requests[o.segment]:
            failed_early.add(o.segment)
    assert sorted(requests) == list(range(1, len(requests) + 1))  # segments 1, 2, 3, ...
    for number, purposes in requests.items():
        assert purposes[0] == "start" and purposes.count("start") == 1
        if number in failed_early:
            assert "stop" not in purposes
        else:
            assert purposes[-1] == "stop" and purposes.count("stop") == 1
        mutes = [p for p in purposes if p in ("mute", "unmute")]
        assert mutes == ["mute", "unmute"] * (len(mutes) // 2) + ["mute"] * (len(mutes) % 2)
    stopped = [o.segment for o in out if isinstance(o, SegmentStopped)]
    assert sorted(stopped) == sorted(set(requests) - failed_early)
    assert ctl.active_segment("c1") is None


# ---- helpers ----

def answered_call(ctl: RecordingController, queue: str = "billing",
                  flow: str = "main") -> list:
    return feed_all(ctl, [
        CallStarted("c1", T0, "c1", "PJSIP/2001-1", LegRole.CALLER, "2001", "", "in", "400"),
        FlowEntered("c1", T0 + 0.5, flow),
        Queued("c1", T0 + 1, "c1", "PJSIP/2001-1", "c1", queue),
        Ringing("c1", T0 + 5, "u2", "PJSIP/1001-2", "a001"),
        Answered("c1", T0 + 9, "u2", "PJSIP/1001-2", "a001"),
    ])


def mixmonitor_error_from_transcript() -> str:
    """Asterisk's answer to MixMonitor on a missing channel, through the real correlator."""
    client, server, tracker = AmiParser(expect_banner=False), AmiParser(), ActionTracker()
    error = None
    for run in read_transcript(FIXTURES / "ami_mixmonitor.txt"):
        if not run.from_server:
            client.receive_data(run.data)
            for message in client.messages():
                if isinstance(message, AmiMessage) and message.get("ActionID") == "mm-bad":
                    from cti.ami.actions import Action
                    fields = tuple((k, v) for k, v in message.fields
                                   if k not in ("Action", "ActionID"))
                    tracker.register(Action("MixMonitor", fields, "mm-bad"), now=0, timeout=5)
            continue
        server.receive_data(run.data)
        for message in server.messages():
            if isinstance(message, AmiMessage):
                _, settled = tracker.receive(message)
                if settled is not None and settled.error is not None:
                    error = str(settled.error)
    assert error is not None
    return error


def test_an_abandoned_consultation_does_not_take_over_a_later_blind_transfer() -> None:
    ctl = controller()
    answered_call(ctl)
    ctl.feed(Answered("c1", T0 + 30, "u3", "PJSIP/1002-3", "a002"))  # consulted, then gone
    out = feed_all(ctl, [
        Transferred("c1", T0 + 60, "blind", "PJSIP/1001-2", "a001", "PJSIP/2001-1", "1003",
                    "hotline-connect"),
        Answered("c1", T0 + 70, "u4", "PJSIP/1003-4", "a003"),
    ])
    assert [(o.segment, o.agent_id) for o in out if isinstance(o, SegmentStarted)] == [
        (2, "a003")]


def test_requests_for_calls_that_are_not_live_are_ignored() -> None:
    ctl = controller()
    assert ctl.feed(PauseRequested("ghost", T0, "agent", "a001")) == []
    assert ctl.feed(FlowEntered("ghost", T0, "main")) == []
    assert ctl.active_segment("ghost") is None
    answered_call(ctl)
    ctl.feed(Ended("c1", T0 + 60, T0, CallPhase.TALKING, "caller", 16, "", True, "a001", "c1"))
    assert ctl.feed(PauseRequested("c1", T0 + 61, "agent", "a001")) == []


# ---- record_from call_start / queued: the flow and the customer arrive after the channel ----

def caller_started(call_id: str = "c1") -> CallStarted:
    return CallStarted(call_id, T0, call_id, "PJSIP/2001-1", LegRole.CALLER, "2001", "", "in",
                       "400")


def hangup(at: float) -> Ended:
    return Ended("c1", at, T0, CallPhase.TALKING, "caller", 16, "Normal Clearing", True, "a001",
                 "c1")


def test_call_start_waits_for_the_flow_so_a_never_flow_records_nothing_at_all() -> None:
    ctl = controller(defaults={"record_from": "call_start"}, flows={"never": ["payment"]})
    assert ctl.feed(caller_started()) == []  # the flow is not known yet: no MixMonitor
    out = feed_all(ctl, [
        FlowEntered("c1", T0 + 0.2, "payment"),
        CustomerIdentified("c1", T0 + 20, "cust-7"),
        Queued("c1", T0 + 21, "c1", "PJSIP/2001-1", "c1", "billing"),
        Answered("c1", T0 + 30, "u2", "PJSIP/1001-2", "a001"),
        PauseRequested("c1", T0 + 40, "agent", "a001"),
        hangup(T0 + 60),
    ])
    assert out == []
    assert ctl.pending_requests() == 0


@pytest.mark.parametrize("flows", [{"always": ["complaints"]}, {}])
def test_call_start_starts_the_ivr_segment_when_the_flow_is_entered(flows: dict) -> None:
    # an `always` flow, and a flow left to the percentage (100 % here)
    ctl = controller(defaults={"record_from": "call_start"}, flows=flows)
    assert ctl.feed(caller_started()) == []
    entered = ctl.feed(FlowEntered("c1", T0 + 0.2, "complaints"))
    assert shape(entered) == [("SegmentStarted", 1), ("ami", 1, "MixMonitor", None)]
    assert entered[0].at == T0 + 0.2 and entered[0].agent_id is None
    assert dict(entered[1].action.fields)["Channel"] == "PJSIP/2001-1"
    out = feed_all(ctl, [
        FlowEntered("c1", T0 + 20, "complaints"),  # again at the hand-over: nothing new
        Queued("c1", T0 + 21, "c1", "PJSIP/2001-1", "c1", "billing"),
        Answered("c1", T0 + 30, "u2", "PJSIP/1001-2", "a001"),
    ])
    assert shape(out) == [("ami", 1, "StopMixMonitor", None), ("SegmentStopped", 1),
                          ("SegmentStarted", 2), ("ami", 2, "MixMonitor", None)]


def test_call_start_without_an_ivr_starts_at_queued_or_else_at_the_answer() -> None:
    ctl = controller(defaults={"record_from": "call_start"})
    out = feed_all(ctl, [caller_started(),
                         Queued("c1", T0 + 3, "c1", "PJSIP/2001-1", "c1", "billing")])
    assert shape(out) == [("SegmentStarted", 1), ("ami", 1, "MixMonitor", None)]
    assert out[0].at == T0 + 3 and out[0].queue == "billing"
    ctl = controller(defaults={"record_from": "call_start"})
    out = feed_all(ctl, [caller_started(), Answered("c1", T0 + 5, "u2", "PJSIP/1001-2", "a001")])
    assert shape(out) == [("SegmentStarted", 1), ("ami", 1, "MixMonitor", None)]
    assert out[0].agent_id == "a001"


def test_record_from_queued_with_a_never_flow_records_nothing() -> None:
    ctl = controller(queues={"billing": {"record_from": "queued"}},
                     flows={"never": ["payment"]})
    out = feed_all(ctl, [
        caller_started(), FlowEntered("c1", T0 + 0.2, "payment"),
        Queued("c1", T0 + 21, "c1", "PJSIP/2001-1", "c1", "billing"),
        Answered("c1", T0 + 30, "u2", "PJSIP/1001-2", "a001"), hangup(T0 + 60),
    ])
    assert out == []


def test_the_customer_is_linked_to_the_segments_started_before_it_was_known() -> None:
    ctl = controller(defaults={"record_from": "call_start"})
    feed_all(ctl, [caller_started(), FlowEntered("c1", T0 + 0.2, "main")])
    out = ctl.feed(CustomerIdentified("c1", T0 + 20, "cust-7"))
    assert out == [CustomerLinked("c1", 1, T0 + 20, "cust-7")]
    # told again (the hand-over repeats it): every segment has it already
    assert ctl.feed(CustomerIdentified("c1", T0 + 21, "cust-7")) == []
    out = feed_all(ctl, [Queued("c1", T0 + 21, "c1", "PJSIP/2001-1", "c1", "billing"),
                         Answered("c1", T0 + 30, "u2", "PJSIP/1001-2", "a001")])
    started = [o for o in out if isinstance(o, SegmentStarted)]
    assert [(o.segment, o.customer_id) for o in started] == [(2, "cust-7")]


def test_a_customer_known_only_after_the_wait_reaches_the_stopped_segment_too() -> None:
    ctl = controller(defaults={"record_from": "call_start"})
    feed_all(ctl, [caller_started(), FlowEntered("c1", T0 + 0.2, "main"),
                   Queued("c1", T0 + 21, "c1", "PJSIP/2001-1", "c1", "billing"),
                   Answered("c1", T0 + 30, "u2", "PJSIP/1001-2", "a001")])
    # segment 1 (IVR and wait) is stopped, segment 2 (the agent) is open: both get it
    assert ctl.feed(CustomerIdentified("c1", T0 + 35, "cust-9")) == [
        CustomerLinked("c1", 2, T0 + 35, "cust-9")]


def test_no_customer_write_without_a_segment() -> None:
    ctl = controller()  # from the answer: nothing is recorded when the customer is known
    assert feed_all(ctl, [caller_started(), FlowEntered("c1", T0 + 0.2, "main"),
                          CustomerIdentified("c1", T0 + 20, "cust-7")]) == []
