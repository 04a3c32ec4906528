"""Hotline's own AMI client and call tracker, connected to the stand-in, see the calls right.

This is the stand-in's contract with its main user: cti's AmiClient logs in, receives typed
events, sends Redirect and resynchronises after the stand-in drops the connection, and the
CallTracker turns what it hears into the call transitions Hotline routes on.
"""

from __future__ import annotations

import asyncio
import time

from cti.ami.client import AmiClient, AmiSettings
from cti.ami.events import AmiEvent
from cti.ami.snapshot import resynchronise
from cti.tracker import CallTracker, TrackerConfig
from cti.transitions import Answered, CallTransition, Ended, Queued, Rona
from sim.asterisk import AgentScript, AsteriskStandin, CallerScript, World


class Engine:
    """The smallest live engine: client + tracker, transitions collected in order."""

    def __init__(self, port: int) -> None:
        self.tracker = CallTracker(TrackerConfig())
        self.transitions: list[CallTransition] = []
        self.client = AmiClient(
            AmiSettings(port=port, username="cti", secret="cti-secret", backoff_initial=0.01,
                        backoff_max=0.05, ping_interval=5.0),
            on_connected=self._resync)
        self.client.add_handler(self._on_event)
        self.task = asyncio.get_running_loop().create_task(self.client.run())

    async def _resync(self, client: AmiClient) -> None:
        self.transitions += await resynchronise(client, self.tracker, time.monotonic)

    def _on_event(self, event: AmiEvent) -> None:
        self.transitions += self.tracker.feed(event, at=time.monotonic())

    def of(self, kind: type) -> list:
        return [t for t in self.transitions if isinstance(t, kind)]

    async def close(self) -> None:
        await self.client.close()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_tracker_follows_rona_answer_and_agent_hangup():
    async with AsteriskStandin(time_scale=0.002) as standin:
        world = World(standin)
        world.add_agent("1002", script=AgentScript(answer_after=None))
        world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=5.0))
        engine = Engine(standin.port)
        await engine.client.wait_ready(timeout=5)
        caller = await world.call(world.add_caller("2001"))
        await world.wait_for(lambda: bool(engine.of(Queued)))
        assert engine.of(Queued)[0].contact_id == caller.uniqueid
        await engine.client.redirect(caller.channel, "hotline-connect", "1002")
        await world.wait_for(lambda: bool(engine.of(Rona)))
        await engine.client.redirect(caller.channel, "hotline-connect", "1001")
        await world.wait_for(lambda: bool(engine.of(Ended)))
        (ended,) = engine.of(Ended)
        assert (ended.hangup_by, ended.answered, ended.agent) == ("agent", True, "1001")
        assert [a.agent for a in engine.of(Answered)] == ["1001"]
        await engine.close()


async def test_no_call_lost_across_a_dropped_connection():
    async with AsteriskStandin(time_scale=0.002) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
        engine = Engine(standin.port)
        await engine.client.wait_ready(timeout=5)
        talking = await world.call(world.add_caller("2001", script=CallerScript()))
        await world.wait_for(lambda: bool(engine.of(Queued)))
        await engine.client.redirect(talking.channel, "hotline-connect", "1001")
        await world.wait_for(lambda: talking.state == "talking")
        await standin.drop_connections()
        waiting = await world.call(world.add_caller("2002"))    # arrives during the outage
        await world.wait_for(lambda: standin.logins >= 2 and engine.client.connected)
        await engine.client.wait_ready(timeout=5)
        calls = {view.call_id for view in engine.tracker.calls()}
        assert {talking.uniqueid, waiting.uniqueid} <= calls
        world.hang_up(talking)
        await world.wait_for(lambda: any(e.call_id == talking.uniqueid for e in engine.of(Ended)))
        assert not [e for e in engine.of(Ended) if e.reason != "hangup"]
        await engine.close()
