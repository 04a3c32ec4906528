"""Recordings driven by the routing leader: the recording controller as a live-engine observer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from live_support import SCALE, Node, Screen, command, login_ready, routing, wait_until

from cti.recording_hook import RecordingHook
from hotline.db import Database
from recording.control import RecordingController
from recording.policy import RecordingPolicy
from recording.repository import RecordingRepository, SearchQuery
from recording.storage import RecordingStorage
from recording.verify import verify
from sim.asterisk import AgentScript, AsteriskStandin, World

ASTERISK_ROOT = "/var/spool/asterisk/monitor/hotline"


async def test_an_answered_call_is_recorded_paused_on_command_and_verified(
        store, database: Database, tmp_path: Path):
    async with AsteriskStandin(time_scale=SCALE, recordings_root=tmp_path / "pbx") as standin:
        storage = RecordingStorage(tmp_path / "pbx" / ASTERISK_ROOT.lstrip("/"))
        repository = RecordingRepository(database)
        policy = RecordingPolicy.model_validate({"kind": "recording_policy"})

        def observers() -> list:
            controller = RecordingController(policy, asterisk_root=ASTERISK_ROOT, tz=dt.UTC)
            return [RecordingHook(controller, repository, storage, standin.clock,
                                  agent_of_extension={"1001": "a1"})]

        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=8.0))
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing(), observers=observers).start()
        engine = await node.ready()
        await login_ready(store, "a1")
        caller = await world.call(world.add_caller("2001"))
        await world.wait_for(lambda: caller.state == "talking", timeout=5)
        await wait_until(lambda: standin.pbx.is_recording(caller.channel))
        await command(store, "recording_pause", "a1")
        await wait_until(lambda: any(e.name == "MixMonitorMute" for e in standin.events))
        await command(store, "recording_resume", "a1")
        await world.wait_for(lambda: caller.state == "done", timeout=5)

        def finished() -> list:
            return [r for r in repository.search(SearchQuery()) if r.status == "complete"]
        await wait_until(lambda: bool(finished()), 5)
        (row,) = finished()
        # stored under the agent's id, as agents' tokens and QA scorecards name them
        assert (row.call_id, row.agent_id) == (caller.uniqueid, "a1")
        assert len(row.pauses) == 1
        assert verify(repository, storage).ok
        assert engine.offer_errors == 0
        await node.stop()
        await screen.stop()
