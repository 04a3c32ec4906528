"""The live engine when things break: AMI outage mid-call, restart, leader failover, fencing.

Every test counts calls the way a supervisor would: each caller is registered with the Router
exactly once and leaves it exactly once (answered and ended, or abandoned), whatever broke.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from live_support import (
    Node,
    Screen,
    agent_state,
    command,
    login_ready,
    routing,
    wait_until,
)

from acd.codec import event_from_json
from acd.events import ContactAbandon, ContactArrive, ContactEnd, OfferAccept
from cti.leader import Batch, Leadership
from cti.live import EngineOptions
from hotline.store import LeaseLost, StateStore
from sim.asterisk import AgentScript, AsteriskStandin, CallerScript, World


async def contact_story(store: StateStore) -> dict[str, list[str]]:
    """contact -> the kinds of its Router events, in order (from router:log)."""
    story: dict[str, list[str]] = {}
    for _, data in await store.read_stream(store.key("router", "log")):
        event = event_from_json(data)
        if isinstance(event, ContactArrive | OfferAccept | ContactEnd | ContactAbandon):
            story.setdefault(event.contact, []).append(data["type"])
    return story


async def test_ami_dropped_and_restored_mid_call_loses_no_call(store):
    async with AsteriskStandin(time_scale=0.01) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing()).start()
        engine = await node.ready()
        await login_ready(store, "a1")
        talking = await world.call(world.add_caller("2001", script=CallerScript()))
        await world.wait_for(lambda: talking.state == "talking", timeout=5)
        quitter = await world.call(world.add_caller("2002"))
        await wait_until(lambda: engine.engine.contact(quitter.uniqueid) is not None)

        logins = standin.logins
        await standin.drop_connections()
        world.hang_up(quitter)                                     # unseen by Hotline
        newcomer = await world.call(world.add_caller("2003"))      # unseen by Hotline
        await wait_until(lambda: standin.logins > logins and engine.client.connected)
        await wait_until(lambda: engine.engine.contact(newcomer.uniqueid) is not None)
        assert engine.engine.contact(quitter.uniqueid) is None

        world.hang_up(talking)                 # the talk goes on across the outage, then ends
        await world.wait_for(lambda: newcomer.outcome == "answered", timeout=5)
        await wait_until(lambda: engine.engine.contact(newcomer.uniqueid).state == "connected")
        story = await contact_story(store)
        assert story == {
            talking.uniqueid: ["contact_arrive", "offer_accept", "contact_end"],
            quitter.uniqueid: ["contact_arrive", "contact_abandon"],
            newcomer.uniqueid: ["contact_arrive", "offer_accept"],
        }
        assert engine.client.stats.connects >= 2
        await node.stop()
        await screen.stop()


async def test_restart_resumes_waiting_callers_and_agent_states(store):
    async with AsteriskStandin(time_scale=0.01) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=2.0))
        screen = await Screen(store).start()
        first = Node("serve-1", store, standin.port, routing(),
                     options=EngineOptions(snapshot_interval_s=1e9, command_block_ms=20)).start()
        engine = await first.ready()
        await login_ready(store, "a1", "a2")
        await command(store, "agent_not_ready", "a1", reason="meeting")
        await command(store, "agent_not_ready", "a2", reason="lunch")
        await wait_until(lambda: agent_state(engine, "a2") == ("not_ready", "lunch"))
        callers = [await world.call(world.add_caller(f"20{i:02d}")) for i in range(3)]
        await wait_until(lambda: len(engine.engine.router.contacts()) == 3)
        await first.stop()                     # `hotline serve` stopped
        await store.delete(store.key("router", "snapshot"))   # resume from the log alone
        world.hang_up(callers[0])              # hangs up while no engine runs

        second = Node("serve-2", store, standin.port, routing()).start()
        engine = await second.ready()
        assert agent_state(engine, "a2") == ("not_ready", "lunch")
        assert agent_state(engine, "a1") == ("not_ready", "meeting")
        assert sorted(c.id for c in engine.engine.router.contacts()) == sorted(
            c.uniqueid for c in callers[1:])
        await command(store, "agent_ready", "a1")
        await world.wait_for(lambda: all(c.state == "done" for c in callers[1:]), timeout=10)
        assert [c.outcome for c in callers[1:]] == ["answered", "answered"]
        await wait_until(lambda: engine.engine.router.contacts() == [])
        story = await contact_story(store)
        assert story[callers[0].uniqueid] == ["contact_arrive", "contact_abandon"]
        for caller in callers[1:]:
            assert story[caller.uniqueid] == ["contact_arrive", "offer_accept", "contact_end"]
        await second.stop()
        await screen.stop()


async def test_follower_takes_over_when_the_leader_dies(store):
    async with AsteriskStandin(time_scale=0.01) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=2.0))
        screen = await Screen(store).start()
        leader = Node("p1", store, standin.port, routing(), ttl_s=0.6).start()
        engine = await leader.ready()
        follower = Node("p2", store, standin.port, routing(), ttl_s=0.6).start()
        await asyncio.sleep(0.3)
        assert follower.engines == []          # only one process routes
        waiting = await world.call(world.add_caller("2001"))
        await wait_until(lambda: engine.engine.contact(waiting.uniqueid) is not None)

        await leader.crash()                   # killed: the lease is not released
        died = time.monotonic()
        takeover = await follower.ready(timeout=5)
        assert time.monotonic() - died < 2.0
        assert [c.id for c in takeover.engine.router.contacts()] == [waiting.uniqueid]
        await login_ready(store, "a1")
        await world.wait_for(lambda: waiting.outcome == "answered", timeout=5)
        assert follower.leadership.token > leader.leadership.lease.token or \
            follower.leadership.token > 1
        assert Counter(p["contact"] for p in screen.pops) == {waiting.uniqueid: 1}
        await follower.stop()
        await screen.stop()


async def test_a_stale_leader_can_neither_write_nor_act(store):
    old = Leadership(store, "old", ttl_s=5.0)
    assert await old.lease.acquire() == 1
    await old.commit(Batch(log=[{"t": 1.0, "type": "tick"}]))
    await store.delete(old.lease.key)          # old stalls past its lease...
    new = Leadership(store, "new", ttl_s=5.0)
    assert await new.lease.acquire() == 2      # ...and another process takes over
    with pytest.raises(LeaseLost):
        await old.commit(Batch(log=[{"t": 2.0, "type": "tick"}]))
    with pytest.raises(LeaseLost):
        await old.check()
    await new.check()
    entries = await store.read_stream(store.key("router", "log"))
    assert [e["t"] for _, e in entries] == [1.0]


async def test_the_applied_command_and_callback_ids_are_fenced_writes(store):
    old = Leadership(store, "old", ttl_s=5.0)
    assert await old.lease.acquire() == 1
    await old.commit(Batch(applied="5-0", callbacks_applied="7-0"))
    await store.delete(old.lease.key)
    new = Leadership(store, "new", ttl_s=5.0)
    assert await new.lease.acquire() == 2
    with pytest.raises(LeaseLost):
        await old.commit(Batch(applied="6-0", callbacks_applied="8-0"))
    assert await store.redis.get(store.key("commands", "applied")) == "5-0"
    assert await store.redis.get(store.key("callbacks", "applied")) == "7-0"


async def test_asterisk_restart_ends_every_call_exactly_once(store):
    async with AsteriskStandin(time_scale=0.01) as standin:
        world = World(standin)
        world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
        screen = await Screen(store).start()
        node = Node("n1", store, standin.port, routing()).start()
        engine = await node.ready()
        await login_ready(store, "a1")
        talking = await world.call(world.add_caller("2001", script=CallerScript()))
        await world.wait_for(lambda: talking.state == "talking", timeout=5)
        waiting = await world.call(world.add_caller("2002"))
        await wait_until(lambda: engine.engine.contact(waiting.uniqueid) is not None)
        logins = standin.logins
        await standin.restart(downtime=1.0)
        await wait_until(lambda: standin.logins > logins and engine.ready.is_set())
        await wait_until(lambda: engine.engine.router.contacts() == [])
        story = await contact_story(store)
        assert story == {
            talking.uniqueid: ["contact_arrive", "offer_accept", "contact_end"],
            waiting.uniqueid: ["contact_arrive", "contact_abandon"],
        }
        assert agent_state(engine, "a1")[0] == "wrap_up"
        await node.stop()
        await screen.stop()
