"""Each recorded Hotline scenario, replayed against the stand-in over a real AMI socket.

The probe plays the CTI engine of the transcript (the same actions at the same moments: after
``MusicOnHoldStart`` it Redirects, after ``Hold`` it BlindTransfers...); the world plays the
caller and the agents with the transcript's timing. The caller channel's story (its events in
order, minus media noise, see :mod:`sim.asterisk.conformance`) must equal the transcript's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.asterisk import AgentScript, AsteriskStandin, CallerScript, World
from sim.asterisk.conformance import caller_channels, story, transcript_messages
from sim.asterisk.probe import AmiProbe

FIXTURES = Path(__file__).parent / "fixtures" / "asterisk"
SCALE = 0.002


def recorded_story(name: str) -> list[str]:
    messages = [m for from_server, m in transcript_messages(FIXTURES / name) if from_server]
    (caller,) = caller_channels(messages)
    return story(messages, caller)


@pytest.fixture
async def standin(tmp_path: Path):
    async with AsteriskStandin(time_scale=SCALE, recordings_root=tmp_path) as asterisk:
        yield asterisk


async def connected(standin: AsteriskStandin) -> AmiProbe:
    probe = await AmiProbe.connect(standin.port)
    response = await probe.login()
    assert response.name == "Success"
    return probe


async def redirect(probe: AmiProbe, channel: str, exten: str) -> None:
    response = await probe.action("Redirect", Channel=channel, Context="hotline-connect",
                                  Exten=exten, Priority="1")
    assert response.name == "Success", response.fields


async def test_redirect_answered_matches_transcript(standin: AsteriskStandin, tmp_path: Path):
    world = World(standin)
    agent = world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
    probe = await connected(standin)
    caller = await world.call(world.add_caller("2001"))
    await probe.wait_event("MusicOnHoldStart", Channel=caller.channel)
    await redirect(probe, caller.channel, "1001")
    await probe.wait_event("BridgeEnter", Channel=caller.channel)
    response = await probe.action("MixMonitor", Channel=caller.channel,
                                  File=f"/var/spool/asterisk/monitor/hotline-{caller.uniqueid}.wav")
    assert response.name == "Success"
    await standin.clock.sleep(3.0)      # they talk, then the agent hangs up
    world.hang_up(agent)
    await probe.wait_event("Hangup", Channel=caller.channel)

    assert story(probe.received, caller.channel) == recorded_story(
        "hotline_redirect_answered.txt")
    assert caller.outcome == "answered" and caller.agents == ["1001"]
    hangups = [m for m in probe.events() if m.name == "Hangup"]
    assert [(m.get("Channel")[:10], m.get("Cause")) for m in hangups] == [
        ("PJSIP/1001", "16"), ("PJSIP/2001", "16")]
    (recording,) = standin.recordings
    assert recording.closed and recording.path.is_relative_to(tmp_path)
    assert recording.duration == pytest.approx(3.0)
    await probe.close()


async def test_rona_then_answer_matches_transcript(standin: AsteriskStandin):
    world = World(standin)
    world.add_agent("1002", script=AgentScript(answer_after=None))
    world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
    probe = await connected(standin)
    caller = await world.call(world.add_caller("2001", script=CallerScript(talk_for=5.0)))
    await probe.wait_event("MusicOnHoldStart", Channel=caller.channel)
    await redirect(probe, caller.channel, "1002")
    rona = await probe.wait_event("UserEvent", UserEvent="HotlineRona")
    assert (rona.get("Agent"), rona.get("DialStatus"), rona.get("Contact")) == (
        "1002", "NOANSWER", caller.uniqueid)
    await world.wait_for(lambda: "agent_hung_up" in world.kinds("1002"))
    await redirect(probe, caller.channel, "1001")
    await probe.wait_event("Hangup", Channel=caller.channel)

    assert story(probe.received, caller.channel) == recorded_story("hotline_redirect_rona.txt")
    assert world.kinds("1002") == ["ringing", "rona", "agent_hung_up"]
    dial_end = next(m for m in probe.events() if m.name == "DialEnd")
    assert standin.clock.now() - standin.clock.epoch >= 10.0  # the 10 s ring timeout elapsed
    assert dial_end.get("DestChannelStateDesc") == "Ringing"
    await probe.close()


async def test_abandon_while_waiting_matches_transcript(standin: AsteriskStandin):
    world = World(standin)
    probe = await connected(standin)
    caller = await world.call(world.add_caller("2002", script=CallerScript(patience=3.0)))
    await probe.wait_event("Hangup", Channel=caller.channel)

    assert story(probe.received, caller.channel) == recorded_story(
        "hotline_abandon_waiting.txt")
    assert caller.outcome == "abandoned_waiting"
    hangup = probe.events(caller.channel)[-1]
    assert (hangup.get("Cause"), hangup.get("Cause-txt")) == ("0", "Unknown")
    await probe.close()


async def test_abandon_while_ringing_matches_transcript(standin: AsteriskStandin):
    world = World(standin)
    world.add_agent("1001", script=AgentScript(answer_after=None))
    probe = await connected(standin)
    caller = await world.call(world.add_caller("2002"))
    await probe.wait_event("MusicOnHoldStart", Channel=caller.channel)
    await redirect(probe, caller.channel, "1001")
    await probe.wait_event("DialState", Channel=caller.channel)
    world.hang_up(caller)           # gives up while the agent's phone rings
    await probe.wait_event("Hangup", Channel=caller.channel)

    assert story(probe.received, caller.channel) == recorded_story(
        "hotline_abandon_ringing.txt")
    assert caller.outcome == "abandoned_ringing"
    assert "rona" not in world.kinds()
    await probe.close()


async def test_hold_and_blind_transfer_matches_transcript(standin: AsteriskStandin):
    world = World(standin)
    world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False,
                                               hold_after=1.0, hold_for=100.0))
    world.add_agent("1002", script=AgentScript(answer_after=1.0, hangs_up=False))
    probe = await connected(standin)
    caller = await world.call(world.add_caller("2001"))
    await probe.wait_event("MusicOnHoldStart", Channel=caller.channel)
    await redirect(probe, caller.channel, "1001")
    hold = await probe.wait_event("Hold")
    response = await probe.action("BlindTransfer", Channel=hold.get("Channel"),
                                  Context="hotline-connect", Exten="1002")
    assert (response.name, response.get("Message")) == ("Success", "Transfer succeeded")
    await world.wait_for(lambda: caller.agents == ["1001", "1002"])
    await standin.clock.sleep(10.0)
    world.hang_up(caller)
    await probe.wait_event("Hangup", Channel=caller.channel)

    assert story(probe.received, caller.channel) == recorded_story("hotline_hold_transfer.txt")
    assert caller.agents == ["1001", "1002"]
    transfer = next(m for m in probe.events() if m.name == "BlindTransfer")
    assert (transfer.get("TransfererChannel"), transfer.get("Extension")) == (
        hold.get("Channel"), "1002")
    await probe.close()


async def test_resync_lists_waiting_and_bridged_calls_like_asterisk(standin: AsteriskStandin):
    world = World(standin)
    world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
    setup = await connected(standin)
    talking = await world.call(world.add_caller("2001"))
    await redirect(setup, talking.channel, "1001")
    await world.wait_for(lambda: talking.state == "talking")
    waiting = await world.call(world.add_caller("2002"))
    await setup.close()

    probe = await connected(standin)
    await probe.wait_event("FullyBooted")
    chans = await probe.action("CoreShowChannels")
    assert (chans.get("EventList"), chans.get("Message")) == ("start", "Channels will follow")
    done = await probe.wait_event("CoreShowChannelsComplete")
    items = [m for m in probe.received if m.name == "CoreShowChannel"]
    assert done.get("ListItems") == "3"
    apps = {m.get("Channel")[:10]: (m.get("Application"), m.get("ApplicationData"))
            for m in items}
    assert apps == {"PJSIP/2001": ("Dial", "PJSIP/1001,10,g"),
                    "PJSIP/2002": ("MusicOnHold", "default"),
                    "PJSIP/1001": ("AppDial", "(Outgoing Line)")}
    await probe.action("BridgeList")
    item = await probe.wait_event("BridgeListItem")
    await probe.action("BridgeInfo", BridgeUniqueid=item.get("BridgeUniqueid"))
    info = await probe.wait_event("BridgeInfoComplete")
    assert info.get("ListItems") == "2"
    contact = await probe.action("Getvar", Channel=waiting.channel, Variable="HOTLINE_CONTACT")
    assert contact.get("Value") == waiting.uniqueid
    agent = await probe.action("Getvar", Channel=talking.channel, Variable="HOTLINE_AGENT")
    assert agent.get("Value") == "1001"
    await probe.action("Status", Channel=talking.channel)
    status = await probe.wait_event("Status")
    assert (status.get("BridgeID"), status.get("Application")) == (
        item.get("BridgeUniqueid"), "Dial")
    await probe.close()
