"""The live engine on the Asterisk stand-in, over real sockets and a real Redis.

Each test runs callers and agents (the stand-in's world) against one routing leader and
checks what a caller, an agent and a supervisor would notice: who answered, whether the pop
came before the ring, agents' states, and what the Router's event log recorded.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from api_support import check
from live_support import (
    SCALE,
    Node,
    Screen,
    agent_state,
    command,
    login_ready,
    routing,
    wait_until,
)

from acd.codec import event_from_json
from acd.decisions import Offer
from acd.events import ContactAbandon, ContactArrive, ContactEnd, OfferAccept, OfferTimeout
from acd.router import Router
from cti.ports import QueueRequest
from hotline.store import StateStore
from sim.asterisk import AgentScript, AsteriskStandin, CallerScript, World

WS_SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "cti" / "schemas"
                        / "ws_messages.json").read_text())


async def router_log(store: StateStore) -> list:
    return [event_from_json(e) for _, e in await store.read_stream(store.key("router", "log"))]


def ring_times(standin: AsteriskStandin) -> dict[str, list[float]]:
    """Real time of every DialBegin, by the caller's Uniqueid."""
    rings: dict[str, list[float]] = {}

    def note(message) -> None:
        if message.name == "DialBegin":
            rings.setdefault(message.get("Uniqueid") or "", []).append(time.time())
    standin.subscribe(note)
    return rings


async def test_answered_call_pops_before_the_phone_rings_then_wrap_up(store):
    async with AsteriskStandin(time_scale=SCALE) as standin:
        rings = ring_times(standin)
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=5.0))
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing()).start()
        engine = await node.ready()
        await login_ready(store, "a1")
        await wait_until(lambda: agent_state(engine, "a1") == ("ready", ""))

        caller = await world.call(world.add_caller("2001"))
        await world.wait_for(lambda: caller.state == "done", timeout=5)

        assert caller.outcome == "answered" and caller.agents == ["1001"]
        (pop,) = screen.for_agent("a1")
        assert (pop["contact"], pop["caller_id"], pop["queue"]) == (caller.uniqueid, "2001",
                                                                     "support")
        assert screen.delivered[caller.uniqueid] < rings[caller.uniqueid][0]
        (lead,) = engine.pop_leads
        assert lead.acknowledged and lead.lead_s > 0 and lead.agent == "a1"
        # Hang-up after talk: wrap-up (20 s of routing.yaml), then ready by itself.
        await wait_until(lambda: agent_state(engine, "a1")[0] == "wrap_up", 2)
        await wait_until(lambda: agent_state(engine, "a1") == ("ready", ""), 2)
        log = await router_log(store)
        kinds = [type(e) for e in log if type(e) in (ContactArrive, OfferAccept, ContactEnd)]
        assert kinds == [ContactArrive, OfferAccept, ContactEnd]
        agents = await store.get_fields(store.key("agents"))
        assert agents["a1"]["state"] == "ready" and agents["a1"]["extension"] == "1001"
        # What the leader publishes is what WebSocket clients are promised.
        for _ in range(100):
            queues = await store.get_fields(store.key("queues"))
            if queues.get("support", {}).get("metrics", {}).get("windows", {}).get(
                    "today", {}).get("answered") == 1:
                break
            await asyncio.sleep(0.02)
        assert queues["support"]["waiting"] == 0
        for message in [*agents.values(), *queues.values(), pop]:
            assert check(WS_SCHEMA, message) == [], message
        await node.stop()
        await screen.stop()


async def test_rona_sets_agent_not_ready_and_reoffers_to_another(store):
    async with AsteriskStandin(time_scale=SCALE) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=None))      # never answers
        world.add_agent("1002", script=AgentScript(answer_after=1.0, talk_for=3.0))
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing()).start()
        engine = await node.ready()
        await login_ready(store, "a1")
        await wait_until(lambda: agent_state(engine, "a1") == ("ready", ""))
        caller = await world.call(world.add_caller("2001"))
        await world.wait_event("rona", "1001", timeout=5)
        await wait_until(lambda: agent_state(engine, "a1") == ("not_ready", "rona"))
        await login_ready(store, "a2")            # the contact kept its place: a2 gets it
        await world.wait_for(lambda: caller.outcome == "answered", timeout=5)
        assert caller.agents == ["1002"]
        assert [p["agent"] for p in screen.pops] == ["a1", "a2"]
        log = await router_log(store)
        timeouts = [e for e in log if isinstance(e, OfferTimeout)]
        assert [(e.contact, e.agent) for e in timeouts] == [(caller.uniqueid, "a1")]
        # Production replays: the logged events give a fresh Router the same offers.
        replay = Router.from_config(routing())
        offers = [(d.contact, d.agent) for e in log for d in replay.handle(e)
                  if isinstance(d, Offer)]
        assert offers == [(p["contact"], p["agent"]) for p in screen.pops]
        await node.stop()
        await screen.stop()


async def test_abandon_while_waiting_and_while_ringing(store):
    async with AsteriskStandin(time_scale=SCALE) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=None))
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing()).start()
        engine = await node.ready()
        waiting = await world.call(world.add_caller("2001"))     # nobody is logged in
        await wait_until(lambda: engine.engine.contact(waiting.uniqueid) is not None)
        world.hang_up(waiting)
        await world.wait_for(lambda: waiting.state == "done")
        await login_ready(store, "a1")
        ringing = await world.call(world.add_caller("2002"))
        await world.wait_event("ringing", "1001", timeout=5)
        world.hang_up(ringing)
        await world.wait_for(lambda: ringing.state == "done")
        await wait_until(lambda: agent_state(engine, "a1") == ("ready", ""))
        abandons = [e for e in await router_log(store) if isinstance(e, ContactAbandon)]
        assert [e.contact for e in abandons] == [waiting.uniqueid, ringing.uniqueid]
        assert (waiting.outcome, ringing.outcome) == ("abandoned_waiting", "abandoned_ringing")
        assert engine.engine.router.contacts() == []
        assert await store.get_fields(store.key("contacts")) == {}
        await node.stop()
        await screen.stop()


async def test_vip_priority_overtakes_earlier_callers(store):
    async with AsteriskStandin(time_scale=SCALE) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=2.0))
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing()).start()
        engine = await node.ready()
        first = await world.call(world.add_caller("2001"))
        second = await world.call(world.add_caller("2002"))
        vip = world.add_caller("2003")
        # The IVR's hand-over (what RedisQueueSink writes) for the VIP, before it is parked.
        contact = f"{int(standin.clock.now())}.{standin.pbx._sequence + 1}"
        await store.set_json(store.key("ivr", contact), QueueRequest(
            "queue_request", contact, "", "2003", "support", {}, 5, {"vip": "true"}, "C-7",
            ["welcome", "vip_priority"], {"account": "***"}, "en", time.time()).to_json())
        await world.call(vip)
        assert vip.uniqueid == contact
        await wait_until(lambda: len(engine.engine.router.contacts()) == 3)
        await login_ready(store, "a1")
        await world.wait_for(lambda: vip.outcome == "answered", timeout=5)
        assert (first.state, second.state) == ("waiting", "waiting")
        (pop,) = screen.pops
        assert (pop["contact"], pop["attributes"], pop["ivr_path"]) == (
            vip.uniqueid, {"vip": "true"}, ["welcome", "vip_priority"])
        assert pop["customer"] == {"id": "C-7"} and pop["inputs"] == {"account": "***"}
        await node.stop()
        await screen.stop()


async def test_not_ready_and_ready_through_the_commands_stream(store):
    async with AsteriskStandin(time_scale=SCALE) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=2.0))
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing()).start()
        engine = await node.ready()
        await login_ready(store, "a1")
        await command(store, "agent_not_ready", "a1", reason="lunch")
        await wait_until(lambda: agent_state(engine, "a1") == ("not_ready", "lunch"))
        caller = await world.call(world.add_caller("2001"))
        await wait_until(lambda: engine.engine.contact(caller.uniqueid) is not None)
        await world.wait_for(lambda: caller.state == "waiting")
        assert screen.pops == []                  # a not-ready agent gets no offer
        await command(store, "agent_ready", "a1")
        await world.wait_for(lambda: caller.outcome == "answered", timeout=5)
        await world.wait_for(lambda: caller.state == "done", timeout=5)
        await wait_until(lambda: agent_state(engine, "a1")[0] == "wrap_up")
        await command(store, "wrapup_end", "a1")  # the agent ends wrap-up early
        await wait_until(lambda: agent_state(engine, "a1") == ("ready", ""))
        await command(store, "agent_logout", "a1")
        await wait_until(lambda: agent_state(engine, "a1")[0] == "logged_out")
        applied = await store.redis.get(store.key("commands", "applied"))
        last = (await store.read_stream(store.key("commands")))[-1][0]
        assert applied == last
        await node.stop()
        await screen.stop()


async def test_blind_transfer_continues_with_the_new_agent(store):
    async with AsteriskStandin(time_scale=SCALE) as standin:
        world = World(standin)
        first = world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
        world.add_agent("1002", script=AgentScript(answer_after=1.0, talk_for=3.0))
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing()).start()
        engine = await node.ready()
        await login_ready(store, "a1", "a2")
        await wait_until(lambda: agent_state(engine, "a2") == ("ready", ""))
        await command(store, "agent_not_ready", "a2", reason="break")
        await wait_until(lambda: agent_state(engine, "a2") == ("not_ready", "break"))
        caller = await world.call(world.add_caller("2001", script=CallerScript()))
        await world.wait_for(lambda: caller.outcome == "answered", timeout=5)
        await command(store, "agent_ready", "a2")
        await wait_until(lambda: agent_state(engine, "a2") == ("ready", ""))
        world.hold(first)
        await world.wait_event("held", "1001")
        await wait_until(lambda: engine.engine.contact(caller.uniqueid).held)
        record = (await store.get_fields(store.key("contacts")))[caller.uniqueid]
        assert (record["state"], record["agent"], record["held"]) == ("connected", "a1", True)
        await engine.client.blind_transfer(first.channel, "hotline-connect", "1002")
        await world.wait_for(lambda: caller.agents == ["1001", "1002"], timeout=5)
        await wait_until(lambda: agent_state(engine, "a2") == ("not_ready", "transfer"))
        assert agent_state(engine, "a1")[0] == "wrap_up"   # the first agent's part is done
        await world.wait_for(lambda: caller.state == "done", timeout=5)
        await wait_until(lambda: agent_state(engine, "a2") == ("ready", ""))
        ends = [e for e in await router_log(store) if isinstance(e, ContactEnd)]
        assert [e.contact for e in ends] == [caller.uniqueid]
        await node.stop()
        await screen.stop()
