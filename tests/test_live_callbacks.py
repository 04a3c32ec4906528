"""Callbacks from the IVR routed live on the stand-in: the caller's place is kept, the offered
agent's phone is originated first and, on answer, the customer's number is dialled through
``[hotline-callback]``; a callback nobody answered is tried again, then given up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from live_support import Node, Screen, login_ready, routing, wait_until

from cti.call_records import CallRecords, CallRecordsHook
from cti.live import EngineOptions
from cti.sink import RedisQueueSink
from hotline.db import Database
from ivr.agi import AgiEnvironment
from ivr.commands import Callback
from sim.asterisk import AgentScript, AsteriskStandin, World

NUMBER = "5550123"


def asking_call(uniqueid: str = "1700000000.7") -> AgiEnvironment:
    return AgiEnvironment({"uniqueid": uniqueid, "channel": "PJSIP/2001-00000007",
                           "callerid": "2001", "network_script": "main"})


def dials(standin: AsteriskStandin) -> list[str]:
    return [m.get("Channel") or "" for m in standin.events if m.name == "Newexten"
            and m.get("Application") == "Dial" and m.get("AppData") == f"PJSIP/{NUMBER},30"]


def options(**extra: Any) -> EngineOptions:
    return EngineOptions(snapshot_interval_s=5.0, queue_status_interval_s=0.05,
                         command_block_ms=20, **extra)


async def test_a_callback_rings_the_agent_then_the_customer_and_is_recorded(
        store, database: Database, tmp_path: Path):
    records = CallRecords(database)
    async with AsteriskStandin(time_scale=0.01) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0))
        standin.pbx.register_phone(NUMBER, "Erika Muster", on_ring=lambda ch: 2.0)
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing(), options=options(),
                    observers=lambda: [CallRecordsHook(records, {"1001": "a1"})]).start()
        engine = await node.ready()
        await login_ready(store, "a1")
        await RedisQueueSink(store).callback(asking_call(), Callback(
            "support", NUMBER, 3, {"reason": "sales closed"}, "C-7", ("sales_callback",), {},
            "de"))
        await wait_until(lambda: bool(standin.pbx._callbacks), 5)   # agent and customer talk
        (agent_leg,) = standin.pbx._callbacks
        assert dials(standin) == [agent_leg] and agent_leg.startswith("PJSIP/1001-")
        (pop,) = screen.for_agent("a1")
        assert (pop["caller_id"], pop["queue"], pop["contact"]) == (
            NUMBER, "support", "cb-1700000000.7")
        customer = standin.pbx._callbacks[agent_leg]
        standin.pbx.hangup(customer.name)                             # the customer hangs up
        assert engine.engine is not None
        await wait_until(lambda: engine.engine.router.agent("a1").state == "wrap_up", 5)
        call_id = customer.linkedid
        await wait_until(lambda: (records.get(call_id) or {}).get("outcome") == "callback", 5)
        row = records.get(call_id)
        assert row is not None and row["agent_id"] == "a1" and row["caller_id"] == NUMBER
        assert row["attributes"]["dial_status"] == "ANSWER"
        assert row["attributes"]["callback_of"] == "1700000000.7"
        arrivals = [e for _, e in await store.read_stream(store.key("router", "log"))
                    if e["type"] == "contact_arrive"]
        assert [(a["contact"], a["queue"], a["priority"]) for a in arrivals] == [
            ("cb-1700000000.7", "support", 3)]
        assert engine.offer_errors == 0
        await node.stop()
        await screen.stop()


async def test_an_unanswered_callback_is_retried_then_given_up(store):
    async with AsteriskStandin(time_scale=0.01) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0))
        standin.pbx.register_phone(NUMBER, "Erika Muster", on_ring=lambda ch: None)
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing(),
                    options=options(callback_attempts=2, callback_retry_s=20.0)).start()
        engine = await node.ready()
        await login_ready(store, "a1")
        await RedisQueueSink(store).callback(asking_call("1700000000.9"), Callback(
            "support", NUMBER, 0, {}, None, (), {}, "de"))
        await wait_until(lambda: len(dials(standin)) == 2, 10)
        assert engine.engine is not None

        def settled() -> bool:
            return not engine.engine.contacts() and not standin.pbx.channels  # type: ignore
        await wait_until(settled, 5)
        arrivals = [e for _, e in await store.read_stream(store.key("router", "log"))
                    if e["type"] == "contact_arrive"]
        assert [a["contact"] for a in arrivals] == ["cb-1700000000.9", "cb-1700000000.9-2"]
        # the retry waited its 20 s (engine clock) after the first attempt failed
        assert arrivals[1]["t"] - arrivals[0]["t"] >= 20.0
        await node.stop()
        await screen.stop()


async def test_an_agent_who_misses_a_callback_is_a_rona_and_the_next_agent_takes_it(store):
    async with AsteriskStandin(time_scale=0.01) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=None))   # never picks up
        world.add_agent("1002", script=AgentScript(answer_after=1.0))
        standin.pbx.register_phone(NUMBER, "Erika Muster", on_ring=lambda ch: 1.0)
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing(), options=options()).start()
        engine = await node.ready()
        await login_ready(store, "a1")
        assert engine.engine is not None
        await wait_until(lambda: engine.engine.router.agent("a1").state == "ready", 5)
        await login_ready(store, "a2")
        await RedisQueueSink(store).callback(asking_call("1700000000.8"), Callback(
            "support", NUMBER, 0, {}, None, (), {}, "de"))
        await wait_until(lambda: bool(standin.pbx._callbacks), 10)
        (agent_leg,) = standin.pbx._callbacks
        assert agent_leg.startswith("PJSIP/1002-")
        assert engine.engine.router.agent("a1").state == "not_ready"
        assert engine.engine.router.agent("a1").reason == "rona"
        assert [p["agent"] for p in screen.pops] == ["a1", "a2"]
        await node.stop()
        await screen.stop()


async def test_a_waiting_callback_survives_a_leader_crash(store):
    async with AsteriskStandin(time_scale=0.01) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0))
        standin.pbx.register_phone(NUMBER, "Erika Muster", on_ring=lambda ch: 1.0)
        screen = await Screen(store).start()
        first = Node("n1", store, standin.port, routing(), options=options(), ttl_s=1.0).start()
        engine = await first.ready()
        await RedisQueueSink(store).callback(asking_call("1700000000.5"), Callback(
            "support", NUMBER, 0, {}, None, (), {}, "de"))     # nobody is logged in yet
        await wait_until(lambda: engine.engine is not None
                         and len(engine.engine.router.contacts()) == 1, 5)
        await first.crash()
        second = Node("n2", store, standin.port, routing(), options=options(),
                      ttl_s=1.0).start()
        successor = await second.ready(timeout=10)
        assert successor.engine is not None
        assert [c.id for c in successor.engine.router.contacts()] == ["cb-1700000000.5"]
        await login_ready(store, "a1")
        await wait_until(lambda: bool(standin.pbx._callbacks), 10)
        arrivals = [e for _, e in await store.read_stream(store.key("router", "log"))
                    if e["type"] == "contact_arrive"]
        assert len(arrivals) == 1  # registered once, not again by the new leader
        await second.stop()
        await screen.stop()
