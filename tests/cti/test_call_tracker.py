"""The call tracker, fed with every recorded transcript through the real parser."""

from __future__ import annotations

from dataclasses import replace

from ami_replay import AMI_TRANSCRIPTS, replay_transcript
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami import events as ev
from cti.ami.protocol import AmiMessage
from cti.resync import ResyncSnapshot, parse_duration
from cti.tracker import CallTracker, TrackerConfig
from cti.transitions import (
    REASON_LOST,
    Answered,
    CallAdopted,
    CallPhase,
    CallStarted,
    Ended,
    Held,
    LegRole,
    NotAnswered,
    Queued,
    Ringing,
    Rona,
    Transferred,
    Unheld,
)


def track(name: str, tracker: CallTracker | None = None, stop: int | None = None) -> list:
    tracker = CallTracker() if tracker is None else tracker
    out: list = []
    for i, event in enumerate(replay_transcript(name).events[:stop]):
        out.extend(tracker.feed(event, at=float(i)))
    return out


def kinds(transitions: list) -> list[str]:
    return [type(t).__name__ for t in transitions]


def test_redirect_answered_agent_hangs_up() -> None:
    out = track("hotline_redirect_answered.txt")
    assert kinds(out) == ["CallStarted", "Queued", "Ringing", "Answered", "Ended"]
    started, queued, ringing, answered, ended = out
    assert {t.call_id for t in out} == {"1795352021.1"}
    assert started.role is LegRole.CALLER and started.caller_id_num == "2001"
    assert started.exten == "400"
    assert queued.contact_id == "1795352021.1" and queued.queue == "support"
    assert ringing.agent == "1001" and ringing.channel == "PJSIP/1001-00000002"
    assert answered.agent == "1001" and answered.uniqueid == "1795352023.2"
    assert (ended.hangup_by, ended.cause, ended.cause_text) == ("agent", 16, "Normal Clearing")
    assert ended.answered and ended.agent == "1001" and ended.phase is CallPhase.TALKING
    assert ended.contact_id == "1795352021.1" and ended.reason == "hangup"


def test_redirect_rona_then_answered_by_another_agent_caller_hangs_up() -> None:
    out = track("hotline_redirect_rona.txt")
    assert kinds(out) == ["CallStarted", "Queued", "Ringing", "NotAnswered", "Rona", "Ringing",
                          "Answered", "Ended"]
    ronas = [t for t in out if isinstance(t, Rona)]
    assert [(r.agent, r.dial_status, r.contact_id) for r in ronas] == [
        ("1002", "NOANSWER", "1795352029.3")]
    not_answered = next(t for t in out if isinstance(t, NotAnswered))
    assert (not_answered.agent, not_answered.dial_status) == ("1002", "NOANSWER")
    (answered,) = [t for t in out if isinstance(t, Answered)]
    assert answered.agent == "1001"
    ended = out[-1]
    assert isinstance(ended, Ended)
    assert ended.hangup_by == "caller" and ended.agent == "1001" and ended.cause == 16


def test_rona_returns_the_call_to_waiting() -> None:
    tracker = CallTracker()
    out = track("hotline_redirect_rona.txt", tracker, stop=None)
    rona_index = next(i for i, t in enumerate(out) if isinstance(t, Rona))
    assert rona_index > 0
    # Replay up to the Rona event only and look at the board.
    events = replay_transcript("hotline_redirect_rona.txt").events
    cut = next(i for i, e in enumerate(events) if isinstance(e, ev.HotlineRona)) + 1
    board = CallTracker()
    for e in events[:cut]:
        board.feed(e, 0.0)
    (call,) = board.calls()
    assert call.phase is CallPhase.WAITING and not call.answered
    assert call.caller is not None and call.caller.channel == "PJSIP/2001-00000003"
    assert board.call_for_contact("1795352029.3") == call


def test_abandon_while_waiting() -> None:
    out = track("hotline_abandon_waiting.txt")
    assert kinds(out) == ["CallStarted", "Queued", "Ended"]
    ended = out[-1]
    assert ended.phase is CallPhase.WAITING and ended.hangup_by == "caller"
    assert not ended.answered and ended.agent is None


def test_abandon_while_agent_rings() -> None:
    out = track("hotline_abandon_ringing.txt")
    assert kinds(out) == ["CallStarted", "Queued", "Ringing", "NotAnswered", "Ended"]
    assert out[3].dial_status == "CANCEL" and out[3].agent == "1001"
    ended = out[-1]
    assert ended.phase is CallPhase.RINGING and ended.hangup_by == "caller"
    assert not ended.answered


def test_hold_then_blind_transfer_to_second_agent() -> None:
    out = track("hotline_hold_transfer.txt")
    assert kinds(out) == ["CallStarted", "Queued", "Ringing", "Answered", "Held", "Unheld",
                          "Transferred", "Ringing", "Answered", "Ended"]
    held = next(t for t in out if isinstance(t, Held))
    assert held.agent == "1001"
    assert next(t for t in out if isinstance(t, Unheld)).agent == "1001"
    transfer = next(t for t in out if isinstance(t, Transferred))
    assert (transfer.kind, transfer.transferer_agent, transfer.target) == ("blind", "1001", "1002")
    assert transfer.transferee_channel == "PJSIP/2001-0000000b"
    answers = [t.agent for t in out if isinstance(t, Answered)]
    assert answers == ["1001", "1002"]
    ended = out[-1]
    assert ended.agent == "1002" and ended.hangup_by == "caller"


def test_app_queue_calls() -> None:
    answered = track("ami_queue_call_answered.txt")
    assert kinds(answered) == ["CallStarted", "Ringing", "Answered", "Ended"]
    assert answered[2].agent == "1001" and answered[-1].hangup_by == "caller"
    abandoned = track("ami_queue_call_abandoned.txt")
    # app_queue reports the cancelled dial twice; the tracker reports it once.
    assert kinds(abandoned) == ["CallStarted", "Ringing", "NotAnswered", "Ended"]
    assert abandoned[-1].phase is CallPhase.RINGING and abandoned[-1].hangup_by == "caller"


def test_originate_click_to_call() -> None:
    out = track("ami_originate.txt")
    first = [t for t in out if t.call_id == "1795351689.6"]
    assert kinds(first) == ["CallStarted", "Ringing", "Answered", "Ringing", "Answered", "Ended"]
    assert first[0].role is LegRole.AGENT and first[2].agent == "1001"
    assert first[4].agent is None and first[4].channel == "PJSIP/2001-00000007"
    assert first[-1].hangup_by == "agent"
    local = [t for t in out if t.call_id == "1795351694.8"]
    assert isinstance(local[0], CallStarted) and local[-1].hangup_by == "system"


def test_every_transcript_ends_every_call_exactly_once() -> None:
    for name in AMI_TRANSCRIPTS:
        tracker = CallTracker()
        out = track(name, tracker)
        started = [t.call_id for t in out if isinstance(t, CallStarted)]
        ended = [t.call_id for t in out if isinstance(t, Ended)]
        assert sorted(started) == sorted(ended) and len(set(ended)) == len(ended), name
        assert {t.call_id for t in out} <= set(started), name
        assert len(tracker) == 0 and tracker.ignored_events == 0, name


def resync_snapshot() -> ResyncSnapshot:
    r = replay_transcript("hotline_resync.txt")
    channels = tuple(r.settlements["resync-chans"].result.events())  # type: ignore[union-attr]
    bridges = tuple(r.settlements["resync-bridges"].result.events())  # type: ignore[union-attr]
    contact = r.settlements["resync-getvar-contact"].result
    assert contact is not None
    return ResyncSnapshot(channels, bridges, {"1795352054.10": contact.get("Value") or ""})


def test_resync_adopts_one_waiting_caller_and_one_bridged_call() -> None:
    tracker = CallTracker()
    out = tracker.resync(resync_snapshot(), at=100.0)
    assert kinds(out) == ["CallAdopted", "CallAdopted"]
    by_id = {t.call_id: t for t in out}
    bridged = by_id["1795352052.8"]
    assert bridged.phase is CallPhase.TALKING and bridged.agent == "1001"
    assert bridged.caller_channel == "PJSIP/2001-00000008"
    assert bridged.bridge_id == "66150342-d0d2-4999-bc7c-0e23fe26d972"
    assert bridged.started_at == 97.0  # Duration 00:00:03
    waiting = by_id["1795352054.10"]
    assert waiting.phase is CallPhase.WAITING and waiting.contact_id == "1795352054.10"
    assert waiting.agent is None and waiting.caller_id_num == "2002"
    assert tracker.bridge_members("66150342-d0d2-4999-bc7c-0e23fe26d972") == {
        "1795352052.8", "1795352053.9"}
    # A second resync with the same picture changes nothing: nothing is counted twice.
    assert tracker.resync(resync_snapshot(), at=101.0) == []
    assert len(tracker) == 2


def test_calls_gone_during_the_outage_end_once_as_lost() -> None:
    tracker = CallTracker()
    events = replay_transcript("hotline_redirect_answered.txt").events
    cut = next(i for i, e in enumerate(events) if isinstance(e, ev.BridgeEnter)) + 2
    for e in events[:cut]:
        tracker.feed(e, 1.0)
    (call,) = tracker.calls()
    assert call.phase is CallPhase.TALKING
    tracker.begin_resync()  # the AMI connection dropped here
    out = tracker.resync(resync_snapshot(), at=50.0)
    lost = [t for t in out if isinstance(t, Ended)]
    assert len(lost) == 1 and lost[0].call_id == "1795352021.1"
    assert lost[0].reason == REASON_LOST and lost[0].hangup_by == "unknown"
    assert lost[0].answered and lost[0].agent == "1001"
    assert sum(isinstance(t, CallAdopted) for t in out) == 2
    # Late events of the lost call (if Asterisk still sent some) change nothing.
    assert [t for e in events[cut:] for t in tracker.feed(e, 60.0)] == []
    assert tracker.resync(resync_snapshot(), at=70.0) == []


def test_known_call_survives_resync_without_duplicate() -> None:
    tracker = CallTracker()
    events = replay_transcript("hotline_redirect_rona.txt").events
    cut = next(i for i, e in enumerate(events) if isinstance(e, ev.HotlineRona)) + 1
    for e in events[:cut]:
        tracker.feed(e, 1.0)
    caller = next(e for e in events if isinstance(e, ev.Newchannel)).channel
    waiting = replace(caller, context="hotline-wait", exten="s", state=ev.STATE_UP)
    still_there = ev.CoreShowChannel(waiting, "MusicOnHold", "default", "00:00:20", None,
                                     AmiMessage(()))
    tracker.begin_resync()
    assert tracker.resync(ResyncSnapshot((still_there,)), at=30.0) == []
    # The rest of the transcript continues the same call: answered by 1001, then ended.
    rest = [t for e in events[cut:] for t in tracker.feed(e, 40.0)]
    assert kinds(rest) == ["Ringing", "Answered", "Ended"]
    assert rest[-1].started_at == 1.0


def test_hangup_seen_during_resync_wins_over_the_snapshot() -> None:
    tracker = CallTracker()
    tracker.begin_resync()
    hangup = ev.parse_event(AmiMessage((
        ("Event", "Hangup"), ("Channel", "PJSIP/2002-0000000a"), ("ChannelState", "6"),
        ("Uniqueid", "1795352054.10"), ("Linkedid", "1795352054.10"), ("Cause", "16"))))
    assert tracker.feed(hangup, 99.0) == ()
    out = tracker.resync(resync_snapshot(), at=100.0)
    assert [t.call_id for t in out] == ["1795352052.8"]


def test_waiting_call_answered_during_the_outage_reports_answered() -> None:
    tracker = CallTracker()
    snapshot = resync_snapshot()
    caller_item = snapshot.channels[0]
    waiting = ev.CoreShowChannel(
        replace(caller_item.channel, context="hotline-wait", exten="s"), "MusicOnHold",
        "default", "00:00:01", None, caller_item.message)
    tracker.resync(ResyncSnapshot((waiting,), (), {"1795352052.8": "1795352052.8"}), at=1.0)
    assert tracker.call("1795352052.8").phase is CallPhase.WAITING  # type: ignore[union-attr]
    tracker.begin_resync()
    out = tracker.resync(snapshot, at=2.0)
    answered = [t for t in out if isinstance(t, Answered)]
    assert [(a.call_id, a.agent) for a in answered] == [("1795352052.8", "1001")]


def test_config_names_agent_contexts() -> None:
    tracker = CallTracker(TrackerConfig(agent_contexts=frozenset({"agents"})))
    out = track("hotline_redirect_answered.txt", tracker)
    # 1001's leg is still an agent's: it was dialled from Hotline's connect context.
    assert next(t for t in out if isinstance(t, Ringing)).agent == "1001"
    assert next(t for t in out if isinstance(t, Answered)).agent == "1001"
    # Without from-agents as an agent context, the click-to-call's first leg is the caller.
    started = track("ami_originate.txt", CallTracker(TrackerConfig(frozenset({"agents"}))))[0]
    assert isinstance(started, CallStarted) and started.role is LegRole.CALLER


def test_parse_duration() -> None:
    assert parse_duration("01:02:03") == 3723.0
    assert parse_duration("") is None and parse_duration("3s") is None


HOTLINE = [n for n in AMI_TRANSCRIPTS if n.startswith("hotline_") and "resync" not in n]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(HOTLINE), st.integers(0, 300))
def test_outage_at_any_point_ends_each_open_call_exactly_once(name: str, cut: int) -> None:
    events = replay_transcript(name).events
    tracker = CallTracker()
    before = [t for e in events[:cut] for t in tracker.feed(e, 0.0)]
    open_calls = {t.call_id for t in before if isinstance(t, CallStarted)} - {
        t.call_id for t in before if isinstance(t, Ended)}
    tracker.begin_resync()
    out = tracker.resync(ResyncSnapshot(()), at=1.0)
    assert sorted(t.call_id for t in out if isinstance(t, Ended)) == sorted(open_calls)
    assert len(tracker) == 0
    # Whatever Asterisk still sends about those calls afterwards, they never end twice.
    after = [t for e in events[cut:] for t in tracker.feed(e, 2.0)]
    assert not ({t.call_id for t in after if isinstance(t, Ended)} & open_calls)


def test_queued_transition_fields() -> None:
    out = track("hotline_abandon_ringing.txt")
    queued = next(t for t in out if isinstance(t, Queued))
    assert queued.channel == "PJSIP/2002-00000006" and queued.uniqueid == "1795352047.6"


def test_attended_transfer_is_reported_on_the_transferers_call() -> None:
    tracker = CallTracker()
    events = replay_transcript("hotline_redirect_answered.txt").events
    cut = next(i for i, e in enumerate(events) if isinstance(e, ev.BridgeEnter)) + 2
    for e in events[:cut]:
        tracker.feed(e, 1.0)
    agent_leg = next(e for e in events if isinstance(e, ev.DialEnd)).dest
    caller_leg = next(e for e in events if isinstance(e, ev.Newchannel)).channel
    target = replace(agent_leg, name="PJSIP/1002-00000099", uniqueid="9.9", linkedid="9.8")
    event = ev.AttendedTransfer("Success", agent_leg, None, caller_leg, target, "Bridge", False,
                                AmiMessage(()))
    (transfer,) = tracker.feed(event, 2.0)
    assert isinstance(transfer, Transferred) and transfer.kind == "attended"
    assert transfer.call_id == "1795352021.1" and transfer.transferer_agent == "1001"
    assert transfer.target == "PJSIP/1002-00000099"
    failed = replace(event, result="Fail")
    assert tracker.feed(failed, 3.0) == ()
