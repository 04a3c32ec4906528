"""Router throughput and latency on a large floor: 5,000 agents, 200 skills, ~2,000 waiting.

A small discrete-event driver plays callers and agents around the Router: Poisson arrivals
over 200 skill queues (5 % valued customers with a higher priority), agents who answer after
ringing (2 % ring-no-answer), talk for an exponential time, wrap up, take breaks; callers who
give up after an exponential patience. Only the Router's ``handle`` calls are timed. The same
recorded event stream (a prefix of it, since a full scan of 2,000 contacts per event is slow)
then goes through the naive full-scan router, which must make the same decisions.

The morning ramp (logins, then 7,000 callers over two minutes, which fills every seat and leaves
about 2,000 waiting) is reported apart; the figures are those of the steady state after it.
Times are CPU time of the benchmark's thread (``time.thread_time``), so other processes on a
shared machine do not inflate them; ``wall_s`` is the whole run for comparison.
Prints one JSON object: events_per_s, p50_us, p99_us (fast router), naive_events_per_s and
speedup (on a common stretch of the steady state), plus the shape of the run.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import random
import time
from typing import Any

from acd import (
    AgentLogin,
    AgentNotReady,
    AgentReady,
    AgentStateChanged,
    ContactAbandon,
    ContactArrive,
    ContactDone,
    ContactEnd,
    Offer,
    OfferAccept,
    OfferTimeout,
    Router,
    Tick,
)
from acd.naive import NaiveRouter
from hotline.config.routing import Routing

T0 = 1_780_000_000.0


def build_routing(agents: int, skills: int, seed: int) -> Routing:
    rnd = random.Random(seed)
    names = ["general"] + [f"s{i:03d}" for i in range(1, skills)]
    policies = ["longest_idle", "most_skilled", "least_occupied", "round_robin",
                "weighted_random"]
    queues: dict[str, Any] = {}
    for i, skill in enumerate(names[1:]):
        queues[f"q{i:03d}"] = {
            "skills": {skill: rnd.randint(4, 7)},
            "priority": rnd.randint(0, 3),
            "wrap_up_s": rnd.choice([15, 30, 45]),
            "policy": policies[i % len(policies)] if i % 4 == 0 else "longest_idle",
            "escalation": [
                {"after_s": 30, "relax": {skill: 2}},
                {"after_s": 90, "also_accept": {"general": 8}},
                {"after_s": 240, "offer_callback": True},
            ],
        }
    staff = []
    for i in range(agents):
        held = {s: rnd.randint(1, 10) for s in rnd.sample(names[1:], 5)}
        if rnd.random() < 0.3:
            held["general"] = rnd.randint(3, 10)
        staff.append({"id": f"a{i:05d}", "name": f"Agent {i}", "extension": f"{10000 + i}",
                      "skills": held})
    return Routing.model_validate({"skills": names, "queues": queues, "agents": staff,
                                   "settings": {"seed": seed}})


def record(routing: Routing, calls: int, seed: int) -> tuple[list[Any], list[int], list[int], int]:
    """Drive the fast Router; return the event stream, per-event latencies (ns), waiting
    counts, and the index of the first event of the steady state (after the morning ramp)."""
    rnd = random.Random(seed)
    clock = time.thread_time_ns  # CPU time of this thread: other processes do not count
    router = Router.from_config(routing)
    queues = router.queue_names()
    n_agents = len(routing.agents)
    pending: list[tuple[float, int, Any]] = []
    seq = 0
    events: list[Any] = []
    latencies: list[int] = []
    waiting_seen: list[int] = []
    state: dict[str, str] = {}  # contact -> waiting | offered | connected
    offer_of: dict[str, int] = {}  # contact -> number of its live offer
    rate = n_agents / 220.0  # half as much again as the floor can serve: a queue builds up

    def later(t: float, make: Any) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(pending, (t, seq, make))

    def answer(t: float, c: str, a: str, n: int, ring_no_answer: bool) -> Any:
        if state.get(c) != "offered" or offer_of.get(c) != n:
            return None  # the caller hung up while it rang
        return OfferTimeout(t, c, a) if ring_no_answer else OfferAccept(t, c, a)

    def feed(event: Any) -> None:
        nonlocal seq
        start = clock()
        decisions = router.handle(event)
        latencies.append(clock() - start)
        events.append(event)
        t = event.t
        if isinstance(event, OfferAccept):
            state[event.contact] = "connected"
            later(t + rnd.expovariate(1 / 300), lambda t, c=event.contact: ContactEnd(t, c))
            if rnd.random() < 0.03:
                later(t + rnd.uniform(0, 200),
                      lambda t, a=event.agent: AgentNotReady(t, a, "break"))
                later(t + 600, lambda t, a=event.agent: AgentReady(t, a))
        elif isinstance(event, OfferTimeout):
            state[event.contact] = "waiting"
        for d in decisions:
            if isinstance(d, Offer):
                state[d.contact] = "offered"
                seq += 1
                offer_of[d.contact] = seq
                rona = rnd.random() < 0.02
                later(d.t + (15 if rona else rnd.uniform(1, 4)),
                      lambda t, c=d.contact, a=d.agent, n=seq, r=rona: answer(t, c, a, n, r))
            elif isinstance(d, AgentStateChanged) and d.reason == "rona":
                later(t + 30, lambda t, a=d.agent: AgentReady(t, a))
            elif isinstance(d, ContactDone):
                state.pop(d.contact, None)
                offer_of.pop(d.contact, None)

    t = T0
    for agent in routing.agents:
        feed(AgentLogin(t, agent.id, ready=True))
    arrivals = 0
    # a burst that fills every seat and leaves about 2,000 callers waiting, then steady traffic
    burst = n_agents + 2000
    steady_from = 0
    later(t, None)
    while pending:
        due = router.next_deadline()
        if due is not None and due <= pending[0][0]:
            feed(Tick(due))  # its decisions may schedule driver events before the next one
            continue
        t, _, make = heapq.heappop(pending)
        if make is not None:
            event = make(t)
            if event is not None:
                feed(event)
            continue
        arrivals += 1
        cid = f"c{arrivals}"
        queue = queues[rnd.randrange(len(queues))]
        state[cid] = "waiting"
        feed(ContactArrive(t, cid, queue, priority=5 if rnd.random() < 0.05 else 0,
                           attributes={"tier": "gold"}))
        later(t + rnd.expovariate(1 / 400), lambda t, c=cid: (
            ContactAbandon(t, c) if state.get(c) in ("waiting", "offered") else None))
        if arrivals % 100 == 0:
            waiting_seen.append(sum(1 for s in state.values() if s == "waiting"))
        if arrivals == burst:
            steady_from = len(events)
            # what a long-running engine does once started: keep the start-up objects out of
            # the collector's full passes (these otherwise pause everything for ~100 ms)
            gc.collect()
            gc.freeze()
        if arrivals < calls:
            later(t + (120.0 / burst if arrivals < burst else rnd.expovariate(rate)), None)
    return events, latencies, waiting_seen, steady_from


def replay(router: Router, events: list[Any]) -> tuple[float, list[Any]]:
    out = []
    start = time.thread_time()
    for event in events:
        out.append(router.handle(event))
    return time.thread_time() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--skills", type=int, default=200)
    parser.add_argument("--calls", type=int, default=30000)
    parser.add_argument("--naive-events", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.perf_counter()
    routing = build_routing(args.agents, args.skills, args.seed)
    events, latencies, waiting, steady_from = record(routing, args.calls, args.seed)
    steady = sorted(latencies[steady_from:])
    total_s = sum(steady) / 1e9
    ramp_s = sum(latencies[:steady_from]) / 1e9

    # the naive router starts from the same state: the ramp goes through it unmeasured
    prefix = events[steady_from: steady_from + args.naive_events]
    fast, naive = Router.from_config(routing), NaiveRouter.from_config(routing)
    for event in events[:steady_from]:
        if fast.handle(event) != naive.handle(event):
            raise SystemExit("the naive router decided differently: a bug in one of them")
    fast_s, fast_out = replay(fast, prefix)
    naive_s, naive_out = replay(naive, prefix)
    if fast_out != naive_out:
        raise SystemExit("the naive router decided differently: a bug in one of them")
    print(json.dumps({
        "agents": args.agents,
        "skills": args.skills,
        "calls": args.calls,
        "events": len(events) - steady_from,
        "ramp_events": steady_from,
        "ramp_events_per_s": round(steady_from / ramp_s),
        "waiting_mean": round(sum(waiting) / max(1, len(waiting))),
        "waiting_max": max(waiting, default=0),
        "events_per_s": round(len(steady) / total_s),
        "p50_us": round(steady[len(steady) // 2] / 1000, 1),
        "p99_us": round(steady[int(len(steady) * 0.99)] / 1000, 1),
        "max_us": round(steady[-1] / 1000, 1),
        "naive_prefix_events": len(prefix),
        "fast_prefix_events_per_s": round(len(prefix) / fast_s),
        "naive_events_per_s": round(len(prefix) / naive_s),
        "speedup": round(naive_s / fast_s, 1),
        "wall_s": round(time.perf_counter() - started, 1),
    }))


if __name__ == "__main__":
    main()
