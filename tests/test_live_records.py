"""What the routing leader writes beside routing: call records, and recordings that follow the
IVR (flow rules, the customer, sensitive nodes), on the stand-in with the deployment's flows."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from live_support import Node, Screen, login_ready, wait_until

from cti.call_records import CallRecords, CallRecordsHook
from cti.recording_controls import StoreRecordingControls
from cti.recording_hook import RecordingHook
from cti.sink import RedisQueueSink
from hotline.config.routing import Routing
from hotline.db import Database
from hotline.deployment import load
from hotline.store import StateStore
from ivr.customers import CsvCustomers
from ivr.fastagi import FastAgiServer
from ivr.runtime import FlowRegistry
from recording.control import PauseRequested, RecordingController
from recording.policy import RecordingPolicy
from recording.repository import RecordingRepository, SearchQuery
from recording.storage import RecordingStorage
from sim.asterisk import AgentScript, AsteriskStandin, CallerScript, World

CONFIG = Path(__file__).resolve().parent.parent / "config"
ASTERISK_ROOT = "/var/spool/asterisk/monitor/hotline"
SCALE = 0.02  # 1 simulated second = 20 ms: the IVR's timeouts stay short in real time
CUSTOMER = {"id": "C-7", "name": "Erika Muster", "phone": "2001", "account": "0123456789",
            "tier": "standard", "balance": 42.5}
# German, pay by card (account, balance, 1 = pay), a 15-digit typo, then the card number
CARD_KEYS = ("1", "5", "0123456789", "1", "411111111111111", "4111111111111111")


@dataclass
class Rig:
    standin: AsteriskStandin
    world: World
    node: Node
    fastagi: FastAgiServer
    records: CallRecords
    repository: RecordingRepository
    storage: RecordingStorage
    hooks: list[Any]


@pytest.fixture(scope="module")
def deployment_routing() -> Routing:
    routing = load(CONFIG).routing
    assert routing is not None
    return routing


@contextlib.asynccontextmanager
async def rig(store: StateStore, database: Database, tmp_path: Path, routing: Routing,
              policy: dict[str, Any]) -> AsyncIterator[Rig]:
    async with AsteriskStandin(time_scale=SCALE, recordings_root=tmp_path / "pbx",
                               ring_timeout=routing.settings.ring_timeout_s) as standin:
        storage = RecordingStorage(tmp_path / "pbx" / ASTERISK_ROOT.lstrip("/"))
        repository = RecordingRepository(database)
        records = CallRecords(database)
        rules = RecordingPolicy.model_validate({"kind": "recording_policy", **policy})
        hooks: list[Any] = []

        def observers() -> list[Any]:
            controller = RecordingController(rules, asterisk_root=ASTERISK_ROOT, tz=dt.UTC)
            agents = {a.extension: a.id for a in routing.agents}
            hooks[:] = [RecordingHook(controller, repository, storage, standin.clock,
                                      agent_of_extension=agents),
                        CallRecordsHook(records, agents)]
            return list(hooks)

        fastagi = FastAgiServer(FlowRegistry(CONFIG), lookup=CsvCustomers([CUSTOMER]),
                                sink=RedisQueueSink(store), consent=rules.consent_prompt_for)
        port = await fastagi.start("127.0.0.1", 0)
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing, observers=observers,
                    scale=SCALE).start()
        await node.ready()
        try:
            yield Rig(standin, World(standin, agi_url=f"agi://127.0.0.1:{port}"), node,
                      fastagi, records, repository, storage, hooks)
        finally:
            await node.stop()
            await screen.stop()
            await fastagi.close()


def complete(repository: RecordingRepository, **query: Any) -> list[Any]:
    return [r for r in repository.search(SearchQuery(**query)) if r.status == "complete"]


async def test_flow_rule_records_an_ivr_call_with_its_customer_and_the_full_call_row(
        store, database, tmp_path, deployment_routing):
    policy = {"defaults": {"percent": 0, "split_legs": False}, "flows": {"always": ["main"]}}
    async with rig(store, database, tmp_path, deployment_routing, policy) as r:
        r.world.add_agent("1011", script=AgentScript(answer_after=1.0, talk_for=4.0,
                                                    hold_after=1.0, hold_for=1.0))
        await login_ready(store, "a011")
        caller = r.world.add_caller("2001", script=CallerScript(
            ivr_flow="main", keys=("1", "1", "0123456789#")))       # German, bills -> billing
        await r.world.call(caller)
        # the API's pause, from any process: the segment from the database, the command to
        # the leader through Redis (called from a worker thread, as FastAPI does)
        controls = StoreRecordingControls(database, store, asyncio.get_running_loop())
        await wait_until(lambda: controls.active_segment(caller.uniqueid) is not None
                         and controls.active_segment(caller.uniqueid).agent_id == "a011", 15)
        await asyncio.to_thread(controls.submit, PauseRequested(caller.uniqueid, 0.0, "agent",
                                                                "sue"))
        await wait_until(lambda: controls.active_segment(caller.uniqueid).paused, 15)
        await r.world.wait_for(lambda: caller.state == "done", timeout=10)
        await wait_until(lambda: bool(complete(r.repository)), 15)
        # percent 0 records nothing, but flow 'main' is always recorded
        (found,) = complete(r.repository, customer_id="C-7")
        assert (found.call_id, found.queue, found.agent_id) == (caller.uniqueid, "billing",
                                                                "a011")
        assert [(p["source"], p["by"]) for p in found.pauses] == [("agent", "a011")]
        await wait_until(lambda: (r.records.get(caller.uniqueid) or {}).get("outcome")
                         is not None, 15)
        row = r.records.get(caller.uniqueid)
        assert row is not None
        assert {k: row[k] for k in ("caller_id", "flow", "queue", "agent_id", "customer_id",
                                    "outcome", "hung_up_by")} == {
            "caller_id": "2001", "flow": "main", "queue": "billing", "agent_id": "a011",
            "customer_id": "C-7", "outcome": "answered", "hung_up_by": "agent"}
        assert row["ivr_path"][:2] == ["welcome", "choose_language"]
        assert row["started_at"] <= row["queued_at"] <= row["answered_at"] <= row["ended_at"]
        assert row["hold_s"] == pytest.approx(1.0, abs=0.5)
        # the agent talks 4 s besides the hold; talk time leaves the hold out
        # (the stand-in scales time: engine latency on a loaded machine adds simulated seconds)
        assert row["talk_s"] == pytest.approx(4.0, abs=1.5)
        span = (row["ended_at"] - row["answered_at"]).total_seconds()
        assert row["talk_s"] + row["hold_s"] == pytest.approx(span, abs=0.01)
        # the recordings' minimal row came first; the full row kept what it owns
        assert row["recording_failed"] is False and row["satisfaction"] is None
        # wrap-up (billing: wrap_up_s in routing.yaml) is added when it ends
        await wait_until(lambda: (r.records.get(caller.uniqueid) or {}).get("wrap_s")
                         is not None, 15)


async def test_card_digits_in_a_sensitive_node_fall_in_a_muted_stretch_of_the_wav(
        store, database, tmp_path, deployment_routing):
    policy = {"defaults": {"record_from": "call_start", "split_legs": False}}
    async with rig(store, database, tmp_path, deployment_routing, policy) as r:
        marks: dict[str, float] = {}

        def mark(message: Any) -> None:
            if message.name == "VarSet" and message.get("Variable") == "HOTLINE_SENSITIVE":
                marks[message.get("Value") or ""] = r.standin.clock.now()
        r.standin.subscribe(mark)
        r.world.add_agent("1011", script=AgentScript(answer_after=1.0, talk_for=3.0))
        await login_ready(store, "a011")
        caller = r.world.add_caller("2001", script=CallerScript(ivr_flow="main",
                                                               keys=CARD_KEYS))
        await r.world.call(caller)
        await r.world.wait_for(lambda: caller.state == "done", timeout=15)
        await wait_until(lambda: len(complete(r.repository)) == 2, 15)
        # recorded from the call's start: the IVR and wait, then the agent's own segment
        ivr, talk = sorted(complete(r.repository), key=lambda row: row.segment)
        assert (ivr.agent_id, talk.agent_id) == (None, "a011")
        assert [(p["source"], p["until"] is not None) for p in ivr.pauses] == [("ivr", True)]
        assert talk.pauses == []
        recording = next(x for x in r.standin.recordings if x.channel == caller.channel
                         and x.path.as_posix().endswith(ivr.path))
        with wave.open(str(recording.path), "rb") as wav:
            rate = wav.getframerate()
            audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        silent = np.abs(audio.reshape(-1, rate // 100).astype(np.int32)).max(axis=1) == 0
        # the one silent stretch of the file (10 ms blocks) in simulated seconds from the start
        runs = np.flatnonzero(np.diff(np.concatenate(([0], silent.astype(int), [0]))))
        stretches = [(a / 100, b / 100) for a, b in zip(runs[::2], runs[1::2], strict=True)
                     if b - a > 10]
        assert len(stretches) == 1, stretches
        muted_from, muted_to = (recording.started_at + t for t in stretches[0])
        # HOTLINE_SENSITIVE 1 ... 0 brackets the card gathers; the mute follows it within one
        # AMI round trip and lasts until the valid card number was entered (at "0")
        assert marks["1"] <= muted_from < marks["1"] + 1.0
        assert muted_to >= marks["0"]
        assert marks["0"] - marks["1"] > 5.0  # the typo's gather waited its timeout
        outcome = r.fastagi.outcomes[caller.uniqueid]
        assert getattr(outcome, "queue", None) == "billing"


async def test_self_service_and_abandoned_calls_get_their_rows(
        store, database, tmp_path, deployment_routing):
    async with rig(store, database, tmp_path, deployment_routing, {}) as r:
        balance = r.world.add_caller("2001", script=CallerScript(
            ivr_flow="main", keys=("1", "5", "0123456789", "9")))   # balance, then goodbye
        gone = r.world.add_caller("2002", script=CallerScript(
            ivr_flow="main", keys=("1", "2"), patience=3.0))         # nobody is logged in
        await r.world.call(balance)
        await r.world.call(gone)
        await r.world.wait_for(lambda: gone.state == "done", timeout=10)

        def row(caller: Any) -> dict[str, Any]:
            return r.records.get(caller.uniqueid) or {}
        await wait_until(lambda: bool(row(balance)) and bool(row(gone)), 15)
        assert {k: row(balance)[k] for k in ("outcome", "queue", "queued_at", "agent_id",
                                             "hung_up_by")} == {
            "outcome": "self_service", "queue": None, "queued_at": None, "agent_id": None,
            "hung_up_by": "system"}
        assert row(balance)["flow"] == "main"  # from the AGI's start, though never queued
        assert row(gone)["outcome"] == "abandoned" and row(gone)["queue"] == "technical"
        assert row(gone)["wait_s"] == pytest.approx(3.0, abs=0.6)
        assert row(gone)["hung_up_by"] == "caller" and row(gone)["answered_at"] is None


async def test_a_never_recorded_flow_leaves_no_recording_at_all(
        store, database, tmp_path, deployment_routing):
    policy = {"defaults": {"record_from": "call_start", "split_legs": False},
              "flows": {"never": ["main"]}}
    async with rig(store, database, tmp_path, deployment_routing, policy) as r:
        r.world.add_agent("1020", script=AgentScript(answer_after=1.0, talk_for=3.0))
        await login_ready(store, "a020")
        caller = r.world.add_caller("2001", script=CallerScript(ivr_flow="main",
                                                               keys=("1", "2")))
        await r.world.call(caller)
        await r.world.wait_for(lambda: caller.state == "done", timeout=10)
        await wait_until(lambda: (r.records.get(caller.uniqueid) or {}).get("outcome")
                         == "answered", 15)
        # Recording waits for the flow to be known, so a 'never' flow records nothing: not the
        # IVR, not the talk, not a stub of the Answer.
        assert r.repository.search(SearchQuery(call_id=caller.uniqueid)) == []
