"""Typed events and ActionID/EventList correlation, on the recorded transcripts."""

from __future__ import annotations

import pytest
from ami_replay import AMI_TRANSCRIPTS, Replay, replay_transcript

from cti.ami import actions
from cti.ami import events as ev
from cti.ami.correlate import ActionTracker
from cti.ami.protocol import AmiMessage
from cti.errors import (
    AmiActionError,
    AmiActionTimeout,
    AmiAuthError,
    AmiConnectionError,
    AmiEventError,
)


def msg(*fields: tuple[str, str]) -> AmiMessage:
    return AmiMessage(tuple(fields))


def of_type(replay: Replay, kind: type) -> list:
    return [e for e in replay.events if isinstance(e, kind)]


def test_dial_events_type_both_channels_and_originate_has_no_caller() -> None:
    r = replay_transcript("ami_originate.txt")
    first_begin = of_type(r, ev.DialBegin)[0]
    assert first_begin.channel is None  # Originate dials its first leg itself
    assert first_begin.dest.name == "PJSIP/1001-00000006"
    assert first_begin.dest.uniqueid == first_begin.dest.linkedid == "1795351689.6"
    ends = of_type(r, ev.DialEnd)
    assert ends[1].channel is not None and ends[1].channel.exten == "2001"
    assert ends[1].dest.endpoint == "2001" and ends[1].dial_status == "ANSWER"


def test_hangup_fields_and_channel_state() -> None:
    r = replay_transcript("hotline_redirect_rona.txt")
    hangups = of_type(r, ev.Hangup)
    assert [(h.channel.name, h.channel.state_desc, h.cause, h.cause_text) for h in hangups] == [
        ("PJSIP/1002-00000004", "Ringing", 0, "Unknown"),
        ("PJSIP/1001-00000005", "Up", 16, "Normal Clearing"),
        ("PJSIP/2001-00000003", "Up", 16, "Normal Clearing"),
    ]
    assert hangups[0].channel.state == ev.STATE_RINGING
    (rona,) = of_type(r, ev.HotlineRona)
    assert (rona.contact_id, rona.agent, rona.dial_status) == ("1795352029.3", "1002", "NOANSWER")
    assert rona.channel.context == "hotline-connect"
    (queued,) = of_type(r, ev.HotlineQueued)
    assert (queued.contact_id, queued.queue) == ("1795352029.3", "support")


def test_transfer_hold_and_bridge_events() -> None:
    r = replay_transcript("hotline_hold_transfer.txt")
    (transfer,) = of_type(r, ev.BlindTransfer)
    assert transfer.result == "Success" and transfer.is_external
    assert transfer.transferer.name == "PJSIP/1001-0000000c"
    assert transfer.transferer.linkedid == "1795352058.11"
    assert transfer.transferee is not None and transfer.transferee.name == "PJSIP/2001-0000000b"
    assert (transfer.context, transfer.extension) == ("hotline-connect", "1002")
    assert transfer.bridge is not None
    (hold,) = of_type(r, ev.Hold)
    assert hold.channel.name == "PJSIP/1001-0000000c" and hold.music_class == "default"
    enter = of_type(r, ev.BridgeEnter)[0]
    assert enter.bridge.uniqueid == "dd68132f-97a2-4df1-977e-45637e7222e3"
    assert enter.bridge.bridge_type == "basic"


def test_mixmonitor_events_and_unknown_events_keep_fields() -> None:
    r = replay_transcript("ami_mixmonitor.txt")
    mutes = of_type(r, ev.MixMonitorMute)
    assert [(m.direction, m.muted) for m in mutes] == [("read", True), ("read", False)]
    assert len(of_type(r, ev.MixMonitorStart)) == 1 and len(of_type(r, ev.MixMonitorStop)) == 1
    unknown = of_type(r, ev.UnknownEvent)
    newexten = next(u for u in unknown if u.name == "Newexten")
    assert newexten.message.get("Application") is not None


def test_varset_global_variable_has_no_channel() -> None:
    event = ev.parse_event(msg(("Event", "VarSet"), ("Variable", "G"), ("Value", "1")))
    assert isinstance(event, ev.VarSet) and event.channel is None


def test_event_without_uniqueid_is_a_typed_error() -> None:
    with pytest.raises(AmiEventError, match="Uniqueid"):
        ev.parse_event(msg(("Event", "Hangup"), ("Channel", "PJSIP/1-1"), ("Cause", "16")))
    with pytest.raises(AmiEventError, match="ChannelState"):
        ev.parse_event(msg(("Event", "Newstate"), ("Channel", "PJSIP/1-1"),
                           ("ChannelState", "up"), ("Uniqueid", "1.1")))


def test_login_failure_is_a_typed_auth_error() -> None:
    r = replay_transcript("ami_login_failed.txt")
    error = r.settlements["login-bad"].error
    assert isinstance(error, AmiAuthError)
    assert error.reason == "Authentication failed"
    assert "wrong-secret" not in str(error)


def test_queue_actions_collect_event_lists_by_action_id() -> None:
    r = replay_transcript("ami_queue_member_actions.txt")
    status = r.settlements["status-1"].result
    assert status is not None
    assert [m.name for m in status.items] == ["QueueParams", "QueueMember", "QueueMember"]
    assert status.completion is not None and status.completion.get("ListItems") == "3"
    summary = r.settlements["summary-1"].result
    assert summary is not None and [m.name for m in summary.items] == ["QueueSummary"]
    dup = r.settlements["add-dup"].error
    assert isinstance(dup, AmiActionError)
    assert dup.reason == "Unable to add interface: Already there"
    ping = r.settlements["ping-1"].result
    assert ping is not None and ping.get("Ping") == "Pong"
    # List items are answers, never live events.
    assert not [e for e in r.events if isinstance(e, ev.UnknownEvent) and e.name == "QueueMember"]


def test_mixmonitor_responses_including_errors() -> None:
    r = replay_transcript("ami_mixmonitor.txt")
    for ok in ("mm-1", "mute-1", "mute-0", "stopmm-1"):
        assert r.settlements[ok].result is not None, ok
    stop_again = r.settlements["stopmm-2"].error
    assert isinstance(stop_again, AmiActionError)
    assert stop_again.reason == "Could not stop monitoring channel"
    missing = r.settlements["mm-bad"].error
    assert isinstance(missing, AmiActionError) and missing.reason == "No such channel"
    assert missing.action == "MixMonitor" and missing.action_id == "mm-bad"


def test_async_originate_completes_with_originate_response() -> None:
    r = replay_transcript("ami_originate.txt")
    ok = r.settlements["orig-1"].result
    assert ok is not None
    done = ok.completion_event()
    assert isinstance(done, ev.OriginateResponse) and done.uniqueid == "1795351689.6"
    failed = r.settlements["orig-2"].error
    assert isinstance(failed, AmiActionError) and "Failure" in failed.reason
    sync = r.settlements["orig-3"].result
    assert sync is not None and sync.completion is None  # synchronous: the response is final


def test_resync_lists_are_typed() -> None:
    r = replay_transcript("hotline_resync.txt")
    channels = r.settlements["resync-chans"].result
    assert channels is not None
    items = channels.events()
    assert all(isinstance(i, ev.CoreShowChannel) for i in items)
    assert [(i.channel.name, i.bridge_id) for i in items] == [
        ("PJSIP/2001-00000008", "66150342-d0d2-4999-bc7c-0e23fe26d972"),
        ("PJSIP/2002-0000000a", None),
        ("PJSIP/1001-00000009", "66150342-d0d2-4999-bc7c-0e23fe26d972"),
    ]
    (bridge,) = r.settlements["resync-bridges"].result.events()  # type: ignore[union-attr]
    assert isinstance(bridge, ev.BridgeListItem) and bridge.bridge.num_channels == 2
    members = r.settlements["resync-bridgeinfo"].result.events()  # type: ignore[union-attr]
    assert [m.channel.uniqueid for m in members] == ["1795352052.8", "1795352053.9"]
    (status,) = r.settlements["resync-status"].result.events()  # type: ignore[union-attr]
    assert isinstance(status, ev.Status) and status.seconds == 4
    assert status.bridge_id == "66150342-d0d2-4999-bc7c-0e23fe26d972"
    contact = r.settlements["resync-getvar-contact"].result
    assert contact is not None and contact.get("Value") == "1795352054.10"
    # Only the interleaved RTCPSent and the login events were live events.
    assert [type(e).__name__ for e in r.events] == ["FullyBooted", "UnknownEvent",
                                                    "UnknownEvent"]


def test_tracker_assigns_ids_times_out_and_fails_on_disconnect() -> None:
    tracker = ActionTracker("t")
    ping = tracker.register(actions.ping(), now=0.0, timeout=2.0)
    hangup = tracker.register(actions.hangup("PJSIP/1001-1"), now=1.0, timeout=5.0)
    assert (ping.action_id, hangup.action_id) == ("t-1", "t-2")
    with pytest.raises(ValueError, match="t-1"):
        tracker.register(ping, now=0.0, timeout=1.0)
    assert tracker.expire(1.9) == []
    (expired,) = tracker.expire(2.0)
    assert isinstance(expired.error, AmiActionTimeout) and expired.action_id == "t-1"
    # A late answer to an expired action passes through unclaimed.
    assert tracker.receive(msg(("Response", "Success"), ("ActionID", "t-1"))) == (False, None)
    (lost,) = tracker.fail_all("peer closed")
    assert isinstance(lost.error, AmiConnectionError) and "Hangup" in str(lost.error)
    assert len(tracker) == 0


def test_unrelated_events_during_a_list_are_not_claimed() -> None:
    tracker = ActionTracker()
    action = tracker.register(actions.core_show_channels(), now=0, timeout=5)
    aid = action.action_id or ""
    start = msg(("Response", "Success"), ("ActionID", aid), ("EventList", "start"))
    assert tracker.receive(start) == (True, None)
    assert tracker.receive(msg(("Event", "RTCPSent"), ("Channel", "x"))) == (False, None)
    claimed, done = tracker.receive(msg(("Event", "CoreShowChannelsComplete"),
                                        ("ActionID", aid), ("EventList", "Complete")))
    assert claimed and done is not None and done.result is not None
    assert done.result.items == ()


def channel_block(prefix: str, name: str, uniqueid: str, linkedid: str) -> list[tuple[str, str]]:
    return [(f"{prefix}Channel", name), (f"{prefix}ChannelState", "6"),
            (f"{prefix}ChannelStateDesc", "Up"), (f"{prefix}CallerIDNum", name[6:10]),
            (f"{prefix}Context", "from-agents"), (f"{prefix}Exten", ""),
            (f"{prefix}Priority", "1"), (f"{prefix}Uniqueid", uniqueid),
            (f"{prefix}Linkedid", linkedid)]


def test_attended_transfer_types_every_party() -> None:
    message = msg(("Event", "AttendedTransfer"), ("Result", "Success"),
                  *channel_block("OrigTransferer", "PJSIP/1001-00000010", "1.10", "1.9"),
                  *channel_block("SecondTransferer", "PJSIP/1001-00000012", "1.12", "1.12"),
                  *channel_block("Transferee", "PJSIP/2001-00000009", "1.9", "1.9"),
                  *channel_block("TransferTarget", "PJSIP/1002-00000013", "1.13", "1.12"),
                  ("DestType", "Bridge"), ("IsExternal", "No"))
    event = ev.parse_event(message)
    assert isinstance(event, ev.AttendedTransfer)
    assert event.orig_transferer.linkedid == "1.9" and not event.is_external
    assert event.transfer_target is not None and event.transfer_target.endpoint == "1002"
    assert event.second_transferer is not None and event.dest_type == "Bridge"


def test_shutdown_and_command_output() -> None:
    shutdown = ev.parse_event(msg(("Event", "Shutdown"), ("Shutdown", "Cleanly"),
                                  ("Restart", "True")))
    assert isinstance(shutdown, ev.Shutdown) and shutdown.restart
    tracker = ActionTracker()
    action = tracker.register(actions.command("core show uptime"), now=0, timeout=5)
    _, done = tracker.receive(msg(("Response", "Success"), ("ActionID", action.action_id or ""),
                                  ("Message", "Command output follows"),
                                  ("Output", "System uptime: 5 minutes"),
                                  ("Output", "Last reload: 5 minutes")))
    assert done is not None and done.result is not None
    assert done.result.output == ["System uptime: 5 minutes", "Last reload: 5 minutes"]


BUILDERS = {
    "Redirect": lambda m: actions.redirect(m.get("Channel"), m.get("Context"), m.get("Exten"),
                                           int(m.get("Priority"))),
    "BlindTransfer": lambda m: actions.blind_transfer(m.get("Channel"), m.get("Context"),
                                                      m.get("Exten")),
    "MixMonitor": lambda m: actions.mixmonitor(m.get("Channel"), m.get("File"),
                                               m.get("Options")),
    "MixMonitorMute": lambda m: actions.mixmonitor_mute(m.get("Channel"), m.get("State") == "1",
                                                        m.get("Direction")),
    "StopMixMonitor": lambda m: actions.stop_mixmonitor(m.get("Channel")),
    "Getvar": lambda m: actions.getvar(m.get("Variable"), m.get("Channel")),
    "Status": lambda m: actions.status(m.get("Channel")),
    "BridgeInfo": lambda m: actions.bridge_info(m.get("BridgeUniqueid")),
    "CoreShowChannels": lambda m: actions.core_show_channels(),
    "BridgeList": lambda m: actions.bridge_list(),
    "Ping": lambda m: actions.ping(),
    "Logoff": lambda m: actions.logoff(),
}


def test_action_builders_reproduce_every_recorded_action() -> None:
    checked = 0
    for name in AMI_TRANSCRIPTS:
        for action in replay_transcript(name).actions:
            build = BUILDERS.get(action.name)
            if build is None:
                continue
            recorded = AmiMessage((("Action", action.name), *action.fields))
            built = build(recorded)
            assert sorted(built.fields) == sorted(action.fields), (name, action)
            checked += 1
    assert checked >= 25
