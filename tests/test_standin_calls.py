"""Call flows beyond the recorded ones, kept consistent with them (no orphan legs or bridges)."""

from __future__ import annotations

import pytest

from sim.asterisk import AgentScript, AsteriskStandin, CallerScript, World
from sim.asterisk.probe import AmiProbe


@pytest.fixture
async def setup():
    async with AsteriskStandin(time_scale=0.002) as standin:
        world = World(standin)
        probe = await AmiProbe.connect(standin.port)
        await probe.login()
        yield standin, world, probe
        await probe.close()


async def talk(world: World, probe: AmiProbe, number: str, agent: str, **script) -> object:
    caller = await world.call(world.add_caller(number, script=CallerScript(**script)))
    await probe.action("Redirect", Channel=caller.channel, Context="hotline-connect",
                       Exten=agent, Priority="1")
    await world.wait_for(lambda: caller.state == "talking")
    return caller


def assert_idle(standin: AsteriskStandin) -> None:
    assert standin.pbx.channels == {} and standin.pbx.bridges() == []


async def test_caller_queued_in_the_scripted_queue(setup):
    _, world, probe = setup
    await world.call(world.add_caller("2001", script=CallerScript(queue="billing")))
    queued = await probe.wait_event("UserEvent", UserEvent="HotlineQueued")
    assert queued.get("Queue") == "billing"


async def test_caller_hanging_up_on_hold_stops_the_music(setup):
    standin, world, probe = setup
    agent = world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
    caller = await talk(world, probe, "2001", "1001")
    world.hold(agent)
    world.hang_up(caller)
    await probe.wait_event("Hangup", Channel=caller.channel)
    names = [m.name for m in probe.events(caller.channel)]
    tail = names[names.index("HangupRequest"):]
    assert tail[:3] == ["HangupRequest", "MusicOnHoldStop", "BridgeLeave"]
    assert world.agents["1001"].state == "idle"
    assert_idle(standin)


async def test_redirecting_a_talking_caller_back_to_wait_hangs_up_the_agent(setup):
    standin, world, probe = setup
    world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
    caller = await talk(world, probe, "2001", "1001")
    await probe.action("Redirect", Channel=caller.channel, Context="hotline-wait", Exten="s",
                       Priority="1")
    await world.wait_for(lambda: world.agents["1001"].state == "idle")
    assert list(standin.pbx.channels) == [caller.channel]
    assert standin.pbx.bridges() == []
    assert probe.events(caller.channel)[-1].name == "MusicOnHoldStart"


async def test_agent_rejecting_the_call_is_a_busy_rona(setup):
    standin, world, probe = setup
    world.add_agent("1001", script=AgentScript(answer_after=None))
    caller = await world.call(world.add_caller("2001"))
    await probe.action("Redirect", Channel=caller.channel, Context="hotline-connect",
                       Exten="1001", Priority="1")
    ringing = await probe.wait_event("DialState", Channel=caller.channel)
    standin.pbx.hangup(ringing.get("DestChannel"))
    rona = await probe.wait_event("UserEvent", UserEvent="HotlineRona")
    assert rona.get("DialStatus") == "BUSY"
    assert caller.state == "waiting"


async def test_redirect_to_an_unregistered_phone_is_chanunavail(setup):
    standin, world, probe = setup
    world.add_agent("1001")
    world.remove_agent("1001")          # the agent's softphone went offline
    caller = await world.call(world.add_caller("2001"))
    await probe.action("Redirect", Channel=caller.channel, Context="hotline-connect",
                       Exten="1001", Priority="1")
    rona = await probe.wait_event("UserEvent", UserEvent="HotlineRona")
    assert (rona.get("Agent"), rona.get("DialStatus")) == ("1001", "CHANUNAVAIL")
    assert list(standin.pbx.channels) == [caller.channel]


async def test_every_call_ends_with_no_leftover_legs(setup):
    standin, world, probe = setup
    world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=5.0))
    world.add_agent("1002", script=AgentScript(answer_after=1.0, hangs_up=False))
    first = await talk(world, probe, "2001", "1001")
    second = await talk(world, probe, "2002", "1002", talk_for=3.0)
    await world.wait_for(lambda: first.state == second.state == "done")
    assert_idle(standin)
    for caller in (first, second):
        await probe.wait_event("Hangup", Channel=caller.channel)
    hangups = [m for m in probe.events() if m.name == "Hangup"]
    assert len(hangups) == 4 and len({m.get("Uniqueid") for m in hangups}) == 4
