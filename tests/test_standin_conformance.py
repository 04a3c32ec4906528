"""Every message the stand-in sends has the fields real Asterisk sends for that message type.

One long scripted session exercises every scenario and every action the stand-in handles; the
bytes it sent are parsed with the real parser and grouped by message type (event name, or the
action a response answers plus its status). For each type, the field names (in order) must be
one of the field-name tuples the recorded transcripts show for it; where the recordings vary
(a HangupRequest with or without Cause), the stand-in's must include the fields common to all.
A handful of types were never recorded; they are listed with the reason and only checked
against the client-side parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.ami.events import UnknownEvent, parse_event
from cti.ami.protocol import AmiMessage, AmiParser
from sim.asterisk import AgentScript, AsteriskStandin, CallerScript, World
from sim.asterisk.conformance import shapes, transcript_messages
from sim.asterisk.probe import AmiProbe

FIXTURES = Path(__file__).parent / "fixtures" / "asterisk"

# Types the transcripts do not contain (their formats follow Asterisk's manager.c / docs).
NOT_RECORDED = {
    ("response", "Events", "Success"),          # Events: On/Off
    ("response", "Setvar", "Success"),          # Message: Variable Set
    ("response", "Hangup", "Success"),          # Message: Channel Hungup
    ("response", "Hangup", "Error"),            # Message: No such channel
    ("response", "Redirect", "Error"),          # Message: Channel does not exist: <name>
    ("response", "UserEvent", "Success"),       # Message: Event Sent
    ("response", "PlayDTMF", "Success"),        # Message: DTMF successfully queued
    ("response", "Bridge", "Success"),          # Message: Channels have been bridged
    ("response", "NoSuchAction", "Error"),      # Message: Invalid/unknown command: ...
    ("response", "MixMonitorMute", "Error"),
    ("event", "UserEvent", "Custom"),           # a client's own UserEvent action
}


def recorded_shapes() -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    stream: list[tuple[bool, AmiMessage]] = []
    for path in sorted(FIXTURES.glob("*.txt")):
        if not path.name.startswith("fastagi"):
            stream += transcript_messages(path)
    return shapes(stream)


async def drive_everything(standin: AsteriskStandin) -> AmiProbe:
    world = World(standin)
    world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
    world.add_agent("1002", script=AgentScript(answer_after=None))
    world.add_agent("1003", script=AgentScript(answer_after=1.0, hangs_up=False,
                                               hold_after=1.0, hold_for=2.0))
    world.add_agent("1004", script=AgentScript(answer_after=1.0, hangs_up=False))
    probe = await AmiProbe.connect(standin.port)
    await probe.login()
    await probe.action("Ping")
    await probe.action("Events", EventMask="on")

    # RONA on 1002, then answered by 1001 with a recording, muted and stopped; agent hangs up.
    a = await world.call(world.add_caller("2001"))
    await probe.action("Redirect", Channel=a.channel, Context="hotline-connect", Exten="1002",
                       Priority="1")
    await probe.wait_event("UserEvent", UserEvent="HotlineRona")
    await probe.action("Redirect", Channel=a.channel, Context="hotline-connect", Exten="1001",
                       Priority="1")
    await world.wait_for(lambda: a.state == "talking")
    await probe.action("MixMonitor", Channel=a.channel, File="/rec/a.wav", Options="D")
    await probe.action("MixMonitorMute", Channel=a.channel, Direction="read", State="1")
    await probe.action("MixMonitorMute", Channel=a.channel, Direction="read", State="0")
    await probe.action("StopMixMonitor", Channel=a.channel)
    await probe.action("StopMixMonitor", Channel=a.channel)
    await probe.action("MixMonitor", Channel="PJSIP/nosuch-00000000", File="/rec/x.wav")
    await probe.action("Setvar", Channel=a.channel, Variable="HOTLINE_NOTE", Value="vip")
    await probe.action("Getvar", Channel=a.channel, Variable="HOTLINE_NOTE")
    await probe.action("PlayDTMF", Channel=a.channel, Digit="5")
    await probe.action("UserEvent", UserEvent="Custom", Note="hello")
    await probe.action("Redirect", Channel="PJSIP/nosuch-00000000", Context="x", Exten="1")
    await probe.action("NoSuchAction")
    world.hang_up(world.agents["1001"])
    await world.wait_for(lambda: a.state == "done")

    # Abandon while waiting and while ringing.
    b = await world.call(world.add_caller("2002", script=CallerScript(patience=3.0)))
    c = await world.call(world.add_caller("2003", script=CallerScript(patience=3.0)))
    await probe.action("Redirect", Channel=c.channel, Context="hotline-connect", Exten="1002",
                       Priority="1")
    await world.wait_for(lambda: b.state == c.state == "done")

    # Hold, unhold, blind transfer, resync listings, caller hangs up.
    d = await world.call(world.add_caller("2004"))
    await probe.action("Redirect", Channel=d.channel, Context="hotline-connect", Exten="1003",
                       Priority="1")
    await probe.wait_event("Unhold")
    await probe.action("CoreShowChannels")
    await probe.action("BridgeList")
    bridge = await probe.wait_event("BridgeListItem")
    await probe.action("BridgeInfo", BridgeUniqueid=bridge.get("BridgeUniqueid"))
    await probe.action("Status", Channel=d.channel)
    agent_channel = world.agents["1003"].channel
    await world.wait_for(lambda: agent_channel is not None)
    world.hold(world.agents["1003"])
    await probe.action("BlindTransfer", Channel=agent_channel, Context="hotline-connect",
                       Exten="1004")
    await world.wait_for(lambda: d.agents == ["1003", "1004"])
    await probe.action("Hangup", Channel=d.channel)
    await probe.action("Hangup", Channel=d.channel)

    # Originate: answered click-to-call and an unregistered phone.
    await probe.action("Originate", Channel="PJSIP/1001", Context="from-agents", Exten="2001",
                       Priority="1", CallerID='"Click2Call" <1001>', Timeout="20000",
                       Async="true")
    answered = await probe.wait_event("OriginateResponse", Response="Success")
    await probe.action("Originate", Channel="PJSIP/1999", Context="from-agents", Exten="2001",
                       Priority="1", Timeout="10000", Async="true")
    await probe.wait_event("OriginateResponse", Response="Failure")

    # Bridge two parties directly.
    e = await world.call(world.add_caller("2005"))
    await probe.action("Bridge", Channel1=e.channel, Channel2=answered.get("Channel"))
    await probe.wait_event("BridgeEnter", Channel=e.channel)
    await probe.action("Hangup", Channel=e.channel)
    await probe.wait_event("Hangup", Channel=e.channel)
    await probe.action("Logoff")
    await probe.closed.wait()
    return probe


@pytest.fixture
async def session_stream(tmp_path: Path) -> list[tuple[bool, AmiMessage]]:
    async with AsteriskStandin(time_scale=0.002, recordings_root=tmp_path) as standin:
        probe = await drive_everything(standin)
        bad = await AmiProbe.connect(standin.port)
        await bad.login(secret="wrong-secret")
        await bad.closed.wait()
    parser = AmiParser(expect_banner=True)
    parser.receive_data(bytes(probe.raw))
    received = [m for m in parser.messages() if isinstance(m, AmiMessage)]
    assert len(received) == len(probe.received) > 300
    sent = [(False, m) for m in probe.sent] + [(False, m) for m in bad.sent]
    return sent + [(True, m) for m in received] + [(True, m) for m in bad.received]


async def test_every_emitted_type_has_the_recorded_fields(session_stream):
    emitted = shapes(session_stream)
    recorded = recorded_shapes()
    unchecked = sorted(kind for kind in emitted if kind not in recorded)
    assert set(unchecked) <= NOT_RECORDED, f"unrecorded types emitted: {unchecked}"
    problems = []
    for kind, ours in sorted(emitted.items()):
        real = recorded.get(kind)
        if real is None:
            continue
        if len(real) == 1:
            wrong = ours - real
        else:
            common = set.intersection(*(set(s) for s in real))
            every = set().union(*(set(s) for s in real))
            wrong = {s for s in ours if not common <= set(s) <= every}
        if wrong:
            problems.append((kind, sorted(wrong), sorted(real)))
    assert not problems, "\n".join(map(str, problems))
    # The session covered what Hotline relies on.
    for kind in [("event", "DialEnd"), ("response", "Getvar", "Success"), ("event", "Hold"),
                 ("event", "BlindTransfer"),
                 ("event", "UserEvent", "HotlineQueued"), ("event", "UserEvent", "HotlineRona"),
                 ("event", "MixMonitorMute"), ("event", "OriginateResponse"),
                 ("response", "Login", "Error"), ("response", "StopMixMonitor", "Error"),
                 ("event", "CoreShowChannelsComplete"), ("event", "StatusComplete")]:
        assert kind in emitted, kind


async def test_unrecorded_types_parse_with_the_real_parser(session_stream):
    for from_server, message in session_stream:
        if from_server and message.kind == "event" and message.name in ("Unhold", "UserEvent"):
            assert not isinstance(parse_event(message), UnknownEvent)
