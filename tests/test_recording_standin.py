"""End to end through the Asterisk stand-in: a real AMI socket, the real call tracker and
client, the recording controller driving MixMonitor, real WAV files, metadata in SQL.

The small engine below is what the live engine does for recordings: feed every transition to
the controller, carry out its outputs in order (AMI requests through the client, metadata
writes through the repository), report each answer back, and finalise a segment once its
stop has been answered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import wave
from pathlib import Path

import numpy as np
import pytest

from cti.ami.client import AmiClient, AmiSettings
from cti.ami.events import AmiEvent
from cti.errors import AmiActionError
from cti.tracker import CallTracker
from cti.transitions import Answered
from hotline.db import Database
from recording.control import (
    ActionSettled,
    AmiRequest,
    ControlInput,
    PauseRequested,
    RecordingController,
    ResumeRequested,
    SegmentStopped,
)
from recording.policy import RecordingPolicy
from recording.repository import RecordingRepository
from recording.storage import RecordingStorage
from recording.verify import verify
from sim.asterisk import AgentScript, AsteriskStandin, World

SCALE = 0.05
ASTERISK_ROOT = "/var/spool/asterisk/monitor/hotline"


class RecordingEngine:
    def __init__(self, client: AmiClient, clock, controller: RecordingController,
                 repo: RecordingRepository, storage: RecordingStorage) -> None:
        self.client, self.clock, self.controller = client, clock, controller
        self.repo, self.storage = repo, storage
        self.tracker = CallTracker()
        self.inbox: asyncio.Queue[ControlInput] = asyncio.Queue()
        self.answered = asyncio.Event()
        self.finalised: list = []
        self.done = asyncio.Event()

    def on_event(self, event: AmiEvent) -> None:
        for transition in self.tracker.feed(event, at=self.clock.now()):
            if isinstance(transition, Answered):
                self.answered.set()
            self.inbox.put_nowait(transition)

    async def run(self) -> None:
        while True:
            item = await self.inbox.get()
            await self.carry_out(self.controller.feed(item))

    async def carry_out(self, outputs: list) -> None:
        for out in outputs:
            if isinstance(out, AmiRequest):
                try:
                    await self.client.send(out.action)
                    error = None
                except AmiActionError as exc:
                    error = str(exc)
                await self.carry_out(self.controller.feed(
                    ActionSettled(out.ref, self.clock.now(), error)))
            else:
                self.repo.apply(out)
                if isinstance(out, SegmentStopped):
                    self.finalised.append(self.repo.finalise(out.call_id, out.segment,
                                                             self.storage, at=out.at))
                    self.done.set()


@pytest.fixture
async def standin(tmp_path: Path):
    async with AsteriskStandin(time_scale=SCALE, recordings_root=tmp_path / "pbx") as asterisk:
        yield asterisk


async def test_a_recorded_call_with_a_pause_lands_in_storage_and_verifies(
        standin: AsteriskStandin, database: Database, tmp_path: Path) -> None:
    storage = RecordingStorage(tmp_path / "pbx" / ASTERISK_ROOT.lstrip("/"))
    policy = RecordingPolicy.model_validate({"kind": "recording_policy"})
    controller = RecordingController(policy, asterisk_root=ASTERISK_ROOT, tz=dt.UTC)
    repo = RecordingRepository(database)
    client = AmiClient(AmiSettings(port=standin.port, username="cti", secret="cti-secret",
                                   action_timeout=5))
    engine = RecordingEngine(client, standin.clock, controller, repo, storage)
    client.add_handler(engine.on_event)
    world = World(standin)
    world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=6.0, hangs_up=True))
    async with asyncio.TaskGroup() as tasks:
        runner = tasks.create_task(client.run())
        worker = tasks.create_task(engine.run())
        await client.wait_ready(timeout=5)
        caller = await world.call(world.add_caller("2001"))
        await world.wait_for(lambda: caller.state == "waiting")
        await client.redirect(caller.channel, "hotline-connect", "1001")
        async with asyncio.timeout(5):
            await engine.answered.wait()
        call_id = caller.uniqueid
        await standin.clock.sleep(2.0)
        engine.inbox.put_nowait(PauseRequested(call_id, standin.clock.now(), "agent", "1001"))
        await standin.clock.sleep(2.0)
        engine.inbox.put_nowait(ResumeRequested(call_id, standin.clock.now(), "agent", "1001"))
        async with asyncio.timeout(5):
            await engine.done.wait()
        worker.cancel()
        await client.close()
        runner.cancel()

    (row,) = engine.finalised
    assert row.status == "complete" and row.agent_id == "1001" and row.call_id == call_id
    assert row.path.endswith(f"/support/1001/{call_id}-1.wav")
    assert row.duration_s == pytest.approx(6.0, abs=0.05)
    assert [(p["at"], p["until"]) for p in row.pauses] == [
        pytest.approx((2.0, 4.0), abs=0.05)]
    with wave.open(str(storage.resolve(row.path))) as reader:
        rate = reader.getframerate()
        audio = np.frombuffer(reader.readframes(reader.getnframes()), "<i2")

    def loudness(start: float, end: float) -> int:
        return int(np.abs(audio[int(start * rate):int(end * rate)]).max())

    assert loudness(0.5, 1.5) > 1000 and loudness(4.5, 5.5) > 1000  # talk before and after
    assert loudness(2.2, 3.8) == 0  # muted while paused
    assert verify(repo, storage).ok
