"""Invariants of the Router over random but valid event streams (hypothesis)."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_acd_support import drive, small_routing

from acd import Offer, Router
from acd.codec import decision_to_json, event_to_json
from acd.naive import NaiveRouter

ROUTING = small_routing()
SKILLS = {a.id: a.skills for a in ROUTING.agents}
CAPACITY = {a.id: a.capacity for a in ROUTING.agents}

choices = st.lists(
    st.tuples(st.integers(0, 15), st.integers(0, 50), st.integers(0, 9)), min_size=30,
    max_size=160,
)
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def meets_any(skills: dict[str, int], requirement: tuple) -> bool:
    return any(all(skills.get(s, 0) >= lvl for s, lvl in need) for need in requirement)


def check_floor(router: Router, decisions: list) -> None:
    contacts = {c.id: c for c in router.contacts()}
    agents = router.agents()
    for d in decisions:
        if isinstance(d, Offer) and d.contact in contacts and contacts[d.contact].agent == d.agent:
            c = contacts[d.contact]
            assert meets_any(SKILLS[d.agent], c.requirement), (d, c.requirement)
            assert CAPACITY[d.agent].get(c.channel, 0) >= 1
    holders: dict[str, str] = {}
    for a in agents:
        per_channel: dict[str, int] = {}
        for cid in a.contacts:
            assert cid not in holders, f"{cid} held by {holders.get(cid)} and {a.id}"
            holders[cid] = a.id
            assert contacts[cid].agent == a.id
            per_channel[contacts[cid].channel] = per_channel.get(contacts[cid].channel, 0) + 1
        for channel, count in per_channel.items():
            assert count <= CAPACITY[a.id].get(channel, 0), (a.id, channel, count)
    for c in contacts.values():
        if c.state in ("offered", "connected"):
            assert holders.get(c.id) == c.agent
        else:
            assert c.agent is None and c.id not in holders
            # nobody idle who could take a waiting contact is left idle
            for a in agents:
                if a.state == "ready" and CAPACITY[a.id].get(c.channel, 0) >= 1:
                    assert not meets_any(SKILLS[a.id], c.requirement), (c, a)


def as_json(log: list) -> list[str]:
    return [json.dumps(decision_to_json(d)) for _, decisions in log for d in decisions]


@fast
@given(choices)
def test_invariants_hold_after_every_event(steps: list) -> None:
    router = Router.from_config(ROUTING)
    for event, decisions in drive(router, steps):
        assert all(d.t <= event.t for d in decisions)
        check_floor(router, decisions)


@fast
@given(choices)
def test_fast_router_decides_like_the_naive_oracle(steps: list) -> None:
    log = drive(Router.from_config(ROUTING), steps)
    naive = NaiveRouter.from_config(ROUTING)
    for event, decisions in log:
        assert naive.handle(event) == decisions, event


@fast
@given(choices)
def test_identical_streams_give_identical_decisions(steps: list) -> None:
    first = drive(Router.from_config(ROUTING), steps)
    second = Router.from_config(ROUTING)
    assert [second.handle(e) for e, _ in first] == [d for _, d in first]


@fast
@given(choices, st.integers(0, 200))
def test_restored_router_continues_identically(steps: list, cut: int) -> None:
    log = drive(Router.from_config(ROUTING), steps)
    cut = cut % (len(log) + 1)
    head = Router.from_config(ROUTING)
    for event, _ in log[:cut]:
        head.handle(event)
    saved = json.loads(json.dumps(head.snapshot(), allow_nan=False))
    restored = Router.restore(ROUTING, saved)
    assert restored.snapshot() == saved
    assert restored.next_deadline() == head.next_deadline()
    rest = [(e, restored.handle(e)) for e, _ in log[cut:]]
    assert as_json(rest) == as_json(log[cut:])


@fast
@given(choices)
def test_a_waiting_contact_is_offered_once_an_eligible_agent_is_ready(steps: list) -> None:
    """Drain the floor: log everyone in ready, end every contact; nobody is left waiting."""
    router = Router.from_config(ROUTING)
    log = drive(router, steps)
    t = log[-1][0].t + 1
    from acd import AgentLogin, AgentReady, ContactEnd, OfferAccept, WrapupEnd

    everyone = small_routing().agents
    for agent in everyone:
        view = router.agent(agent.id)
        router.handle(AgentLogin(t, agent.id, ready=True) if view.state == "logged_out"
                      else AgentReady(t, agent.id))
    for _ in range(200):
        t += 1
        progressed = False
        for c in router.contacts():
            if c.state == "offered":
                router.handle(OfferAccept(t, c.id, c.agent))
                progressed = True
            elif c.state == "connected":
                router.handle(ContactEnd(t, c.id))
                progressed = True
        for a in router.agents():
            if a.wrap_until is not None and not a.contacts:
                router.handle(WrapupEnd(t, a.id))
                progressed = True
        if not progressed:
            break
    # waiting contacts left are only those no agent could ever take on their channel
    for c in router.contacts():
        assert c.state == "waiting"
        able = [a.id for a in everyone if a.capacity.get(c.channel, 0) >= 1
                and meets_any(a.skills, c.requirement)]
        assert not able, (c, able)
    assert all(event_to_json(e) for e, _ in log)


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False), st.booleans())
def test_fast_and_naive_agree_on_long_busy_streams(rnd: random.Random, blocks: bool) -> None:
    """Long streams with many agents logged in make contacts compete across queues."""
    routing = small_routing(voice_blocks_other_channels=blocks, seed=rnd.randrange(1000))
    steps = [(rnd.randrange(16), rnd.randrange(51), rnd.randrange(10)) for _ in range(300)]
    log = drive(Router.from_config(routing), steps)
    naive = NaiveRouter.from_config(routing)
    for event, decisions in log:
        assert naive.handle(event) == decisions, event


@fast
@given(choices)
def test_events_and_decisions_survive_the_json_lines_format(steps: list) -> None:
    from acd.codec import decision_from_json, event_from_json

    for event, decisions in drive(Router.from_config(ROUTING), steps):
        assert event_from_json(json.loads(json.dumps(event_to_json(event)))) == event
        for d in decisions:
            assert decision_from_json(json.loads(json.dumps(decision_to_json(d)))) == d
