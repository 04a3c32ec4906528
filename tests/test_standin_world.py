"""The scripted world: deterministic simulated time, waiting, failures, and demo traffic."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from cti.ami.protocol import encode_message
from sim.asterisk import (
    AgentScript,
    AsteriskStandin,
    CallerScript,
    StandinError,
    WaitTimeout,
    World,
)
from sim.asterisk.ami_server import encode
from sim.asterisk.probe import AmiProbe
from sim.asterisk.traffic import Traffic, TrafficProfile


class TinyRouter:
    """First come, first served over the probe: what the demo's engine does, minus Hotline."""

    def __init__(self, standin: AsteriskStandin, probe: AmiProbe, agents: list[str]) -> None:
        self.probe = probe
        self.free = list(agents)
        self.waiting: list[str] = []
        self.busy: dict[str, str] = {}
        self.tasks: list[asyncio.Task] = []
        standin.subscribe(self.on_event)

    def on_event(self, m) -> None:
        channel = m.get("Channel")
        if m.get("UserEvent") == "HotlineQueued":
            self.waiting.append(channel)
        elif m.get("UserEvent") == "HotlineRona":
            self.free.append(self.busy.pop(channel))
            self.waiting.insert(0, channel)
        elif m.name == "Hangup" and channel in self.busy:
            self.free.append(self.busy.pop(channel))
        elif m.name == "Hangup" and channel in self.waiting:
            self.waiting.remove(channel)
        while self.free and self.waiting:
            caller, agent = self.waiting.pop(0), self.free.pop(0)
            self.busy[caller] = agent
            self.tasks.append(asyncio.ensure_future(self.probe.action(
                "Redirect", Channel=caller, Context="hotline-connect", Exten=agent,
                Priority="1")))


async def test_simulated_durations_are_exactly_the_scripted_ones():
    async with AsteriskStandin(time_scale=0.001) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=2.5, talk_for=37.0))
        probe = await AmiProbe.connect(standin.port)
        await probe.login()
        caller = await world.call(world.add_caller("2001"))
        await probe.action("Redirect", Channel=caller.channel, Context="hotline-connect",
                           Exten="1001", Priority="1")
        await world.wait_for(lambda: caller.state == "done")
        answered = next(m for m in standin.events if m.get("Variable") == "ANSWEREDTIME_MS"
                        and m.get("Value"))
        assert answered.get("Value") == "37000"
        events = world.log
        answered_at = next(e.time for e in events if e.kind == "answered")
        ended_at = next(e.time for e in events if e.kind == "hung_up")
        assert ended_at - answered_at == 37.0
        await probe.close()


async def test_wait_for_times_out_with_a_clear_error():
    async with AsteriskStandin(time_scale=0.001) as standin:
        world = World(standin)
        caller = world.add_caller("2001")
        with pytest.raises(WaitTimeout, match=r"not met within 0\.05 s"):
            await world.wait_for(lambda: caller.state == "done", timeout=0.05)


async def test_a_failing_world_task_is_raised_not_lost():
    async with AsteriskStandin(time_scale=0.001) as standin:
        world = World(standin)

        async def broken() -> None:
            raise RuntimeError("scripted failure")

        standin.spawn(broken(), name="broken")
        with pytest.raises(StandinError, match="scripted failure"):
            await world.wait_for(lambda: False, timeout=1.0)
        standin.failures.clear()


def test_traffic_is_reproducible_from_its_seed():
    class NoWorld:
        pass
    first = Traffic(NoWorld(), TrafficProfile(seed=7))   # type: ignore[arg-type]
    second = Traffic(NoWorld(), TrafficProfile(seed=7))  # type: ignore[arg-type]
    assert [first.caller_script() for _ in range(20)] == [
        second.caller_script() for _ in range(20)]
    assert [first.agent_script() for _ in range(20)] == [
        second.agent_script() for _ in range(20)]


async def test_traffic_through_a_router_ends_every_call():
    async with AsteriskStandin(time_scale=0.005) as standin:
        world = World(standin)
        traffic = Traffic(world, TrafficProfile(calls_per_minute=30, mean_patience=120,
                                                mean_talk=20, no_answer_share=0.2, seed=5))
        agents = ["1001", "1002", "1003"]
        traffic.add_agents(agents)
        probe = await AmiProbe.connect(standin.port)
        await probe.login()
        router = TinyRouter(standin, probe, agents)
        callers = await traffic.run(calls=30)
        await world.wait_for(world.done, timeout=30)
        outcomes = Counter(c.outcome for c in callers)
        assert sum(outcomes.values()) == 30 and outcomes["answered"] > 0
        assert sorted(router.free) == agents and standin.pbx.channels == {}
        assert "rona" in world.kinds()
        for message in standin.events:
            assert encode(list(message.fields)) == encode_message(message.fields)
        await asyncio.gather(*router.tasks)
        await probe.close()


async def test_caller_patience_and_talk_time_are_honoured():
    async with AsteriskStandin(time_scale=0.002) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
        probe = await AmiProbe.connect(standin.port)
        await probe.login()
        patient = await world.call(world.add_caller("2001", script=CallerScript(
            patience=1000.0, talk_for=4.0)))
        await probe.action("Redirect", Channel=patient.channel, Context="hotline-connect",
                           Exten="1001", Priority="1")
        await world.wait_for(lambda: patient.state == "done")
        assert patient.outcome == "answered"
        assert world.kinds("2001") == ["arrived", "queued", "hung_up"]
        await probe.close()
