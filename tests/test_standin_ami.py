"""The stand-in's AMI server: login, errors, actions, connection drop and Asterisk restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cti.ami.transcript import client_bytes, server_bytes
from sim.asterisk import AgentScript, AsteriskStandin, World
from sim.asterisk.probe import AmiProbe

FIXTURES = Path(__file__).parent / "fixtures" / "asterisk"


@pytest.fixture
async def standin():
    async with AsteriskStandin(time_scale=0.002) as asterisk:
        yield asterisk


async def test_wrong_secret_gets_asterisks_exact_bytes_then_close(standin: AsteriskStandin):
    reader, writer = await asyncio.open_connection("127.0.0.1", standin.port)
    writer.write(client_bytes(FIXTURES / "ami_login_failed.txt"))
    received = await asyncio.wait_for(reader.read(), timeout=5)  # read() returns at EOF
    writer.close()
    assert received == server_bytes(FIXTURES / "ami_login_failed.txt")
    assert standin.sessions == []


async def test_good_login_answers_like_the_transcript(standin: AsteriskStandin):
    recorded = server_bytes(FIXTURES / "hotline_redirect_answered.txt")
    login = client_bytes(FIXTURES / "hotline_redirect_answered.txt").split(b"\r\n\r\n")[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", standin.port)
    writer.write(login + b"\r\n\r\n")
    banner_and_response = recorded.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    received = await reader.readexactly(len(banner_and_response))
    writer.close()
    assert received == banner_and_response


async def test_actions_before_login_are_refused(standin: AsteriskStandin):
    probe = await AmiProbe.connect(standin.port)
    response = await probe.action("Ping")
    assert (response.name, response.get("Message")) == ("Error", "Permission denied")
    await probe.close()


async def test_errors_carry_asterisks_messages(standin: AsteriskStandin):
    probe = await AmiProbe.connect(standin.port)
    await probe.login()
    redirect = await probe.action("Redirect", Channel="PJSIP/9-00000009",
                                  Context="hotline-connect", Exten="1001", Priority="1")
    assert redirect.get("Message") == "Channel does not exist: PJSIP/9-00000009"
    mix = await probe.action("MixMonitor", Channel="PJSIP/nosuch-00000000", File="/x.wav")
    assert (mix.name, mix.get("Message")) == ("Error", "No such channel")
    hangup = await probe.action("Hangup", Channel="PJSIP/nosuch-00000000")
    assert (hangup.name, hangup.get("Message")) == ("Error", "No such channel")
    unknown = await probe.action("Frobnicate")
    assert unknown.get("Message").startswith("Invalid/unknown command: Frobnicate.")
    await probe.close()


async def test_setvar_getvar_and_events_off(standin: AsteriskStandin):
    world = World(standin)
    caller = await world.call(world.add_caller("2001"))
    quiet = await AmiProbe.connect(standin.port)
    await quiet.action("Login", Username="cti", Secret="cti-secret", Events="off")
    probe = await AmiProbe.connect(standin.port)
    await probe.login()
    assert (await probe.action("Setvar", Channel=caller.channel, Variable="VIP",
                               Value="yes")).get("Message") == "Variable Set"
    got = await probe.action("Getvar", Channel=caller.channel, Variable="VIP")
    assert [k for k, _ in got.fields] == ["Response", "ActionID", "Variable", "Value"]
    assert got.get("Value") == "yes"
    await probe.wait_event("VarSet", Variable="VIP", Value="yes")
    assert [m for m in quiet.received if m.kind == "event"] == []
    await probe.action("Events", EventMask="off")
    world.hang_up(caller)
    await world.wait_for(lambda: caller.state == "done")
    await probe.action("Ping")
    assert not any(m.name == "Hangup" for m in probe.events())
    await probe.close()
    await quiet.close()


async def test_originate_rings_the_phone_then_reports_success(standin: AsteriskStandin):
    world = World(standin)
    world.add_agent("1001", script=AgentScript(answer_after=2.0, hangs_up=False))
    probe = await AmiProbe.connect(standin.port)
    await probe.login()
    queued = await probe.action("Originate", Channel="PJSIP/1001", Context="from-agents",
                                Exten="2001", Priority="1", CallerID='"Click2Call" <1001>',
                                Timeout="20000", Async="true")
    assert queued.get("Message") == "Originate successfully queued"
    result = await probe.wait_event("OriginateResponse")
    assert (result.get("ActionID"), result.get("Response"), result.get("Reason"),
            result.get("CallerIDName")) == (queued.action_id, "Success", "4", "Click2Call")
    states = [m.get("ChannelStateDesc") for m in probe.events(result.get("Channel"))
              if m.name in ("Newchannel", "Newstate")]
    assert states == ["Down", "Ringing", "Up"]
    await probe.close()


async def test_unanswered_originate_hangs_up_with_asterisks_cause_19_text(
        standin: AsteriskStandin):
    world = World(standin)
    world.add_agent("1001", script=AgentScript(answer_after=None))
    probe = await AmiProbe.connect(standin.port)
    await probe.login()
    await probe.action("Originate", Channel="PJSIP/1001", Context="from-agents", Exten="2001",
                       Priority="1", Timeout="3000", Async="true")
    result = await probe.wait_event("OriginateResponse")
    assert (result.get("Response"), result.get("Reason")) == ("Failure", "3")
    hangup = await probe.wait_event("Hangup", Channel=result.get("Channel"))
    # Asterisk's ast_cause2str: 18 is "No user responding", 19 (NO_ANSWER) this one.
    assert (hangup.get("Cause"), hangup.get("Cause-txt")) == ("19", "User alerting, no answer")
    await probe.close()


async def test_drop_closes_sockets_but_calls_live_on(standin: AsteriskStandin):
    world = World(standin)
    caller = await world.call(world.add_caller("2001"))
    probe = await AmiProbe.connect(standin.port)
    await probe.login()
    assert await standin.drop_connections() == 1
    await asyncio.wait_for(probe.closed.wait(), 5)
    again = await AmiProbe.connect(standin.port)
    await again.login()
    await again.action("CoreShowChannels")
    listed = await again.wait_event("CoreShowChannel")
    assert listed.get("Uniqueid") == caller.uniqueid
    await again.close()


async def test_restart_loses_every_channel_and_boots_again(standin: AsteriskStandin):
    world = World(standin)
    caller = await world.call(world.add_caller("2001"))
    probe = await AmiProbe.connect(standin.port)
    await probe.login()
    await probe.wait_event("FullyBooted")
    port = standin.port
    await standin.clock.sleep(30.0)
    await standin.restart(downtime=5.0)
    await asyncio.wait_for(probe.closed.wait(), 5)
    assert probe.events()[-1].name == "Shutdown"
    assert caller.state == "done" and caller.outcome == "lost_in_restart"
    assert standin.port == port
    again = await AmiProbe.connect(standin.port)
    await again.login()
    booted = await again.wait_event("FullyBooted")
    assert booted.get("Uptime") == "0"
    await again.action("CoreShowChannels")
    complete = await again.wait_event("CoreShowChannelsComplete")
    assert complete.get("ListItems") == "0"
    await again.close()
