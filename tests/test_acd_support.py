"""Shared pieces of the acd tests: a small floor, and a driver that turns random choices into a
valid event stream (the events a real floor could produce), feeding the Router as it goes."""

from __future__ import annotations

from typing import Any

from acd import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    ContactAbandon,
    ContactArrive,
    ContactEnd,
    Event,
    OfferAccept,
    OfferReject,
    OfferTimeout,
    Router,
    Tick,
    WrapupEnd,
    WrapupExtend,
)
from hotline.config.routing import Routing

T0 = 1_780_000_000.0  # a Sunday in June 2026


def small_routing(**settings: Any) -> Routing:
    """Six queues with every policy and every kind of escalation step, nine agents."""
    return Routing.model_validate({
        "skills": ["billing", "tech", "sales", "general", "english"],
        "queues": {
            "billing": {
                "skills": {"billing": 6}, "priority": 2, "wrap_up_s": 30,
                "policy": "longest_idle",
                "escalation": [
                    {"after_s": 30, "relax": {"billing": 3}},
                    {"after_s": 60, "also_accept": {"general": 5}},
                    {"after_s": 120, "overflow": "general"},
                ],
            },
            "tech": {
                "skills": {"tech": 5}, "priority": 3, "wrap_up_s": 0, "policy": "most_skilled",
                "escalation": [{"after_s": 45, "relax": {"tech": 2}},
                               {"after_s": 90, "offer_callback": True}],
            },
            "sales": {"skills": {"sales": 4}, "priority": 1, "wrap_up_s": 20,
                      "policy": "least_occupied", "weight": 2.0},
            "general": {"skills": {"general": 4}, "wrap_up_s": 10, "policy": "round_robin"},
            "lottery": {"skills": {"general": 1}, "wrap_up_s": 5, "policy": "weighted_random"},
            "chat": {"skills": {"general": 3}, "channel": "chat", "wrap_up_s": 15,
                     "policy": "longest_idle",
                     "escalation": [{"after_s": 40, "also_accept": {"sales": 1}}]},
        },
        "agents": [
            {"id": "a1", "name": "A", "extension": "101", "skills": {"billing": 8, "general": 5}},
            {"id": "a2", "name": "B", "extension": "102", "skills": {"billing": 4, "general": 7}},
            {"id": "a3", "name": "C", "extension": "103", "skills": {"tech": 9, "english": 6}},
            {"id": "a4", "name": "D", "extension": "104", "skills": {"tech": 5, "general": 4},
             "capacity": {"voice": 1, "chat": 2}},
            {"id": "a5", "name": "E", "extension": "105", "skills": {"sales": 7, "general": 3},
             "capacity": {"voice": 1, "chat": 3}},
            {"id": "a6", "name": "F", "extension": "106", "skills": {"sales": 4, "billing": 7}},
            {"id": "a7", "name": "G", "extension": "107", "skills": {"general": 9, "english": 8},
             "capacity": {"chat": 2}},
            {"id": "a8", "name": "H", "extension": "108", "skills": {"tech": 3, "billing": 3}},
            {"id": "a9", "name": "I", "extension": "109",
             "skills": {"general": 6, "tech": 6, "sales": 5, "billing": 6, "english": 5},
             "capacity": {"voice": 1, "chat": 1}},
        ],
        "settings": {"seed": 7} | settings,
    })


QUEUES = ["billing", "tech", "sales", "general", "lottery", "chat"]
STEPS = [0.0, 0.0, 0.5, 1.0, 3.0, 7.0, 20.0, 35.0, 70.0, 150.0]


def drive(router: Router, choices: list[tuple[int, int, int]]) -> list[tuple[Event, list[Any]]]:
    """Feed ``router`` one valid event per choice (op, pick, step); return (event, decisions)."""
    t = T0
    n = 0
    log = []
    for op, pick, step in choices:
        t += STEPS[step % len(STEPS)]
        due = router.next_deadline()
        if due is not None and due <= t:  # let timers act first, so the choice sees their effect
            log.append((Tick(t), router.tick(t)))
        agents = router.agents()
        contacts = router.contacts()
        out = [a for a in agents if a.state == "logged_out"]
        logged = [a for a in agents if a.state != "logged_out"]
        offered = [c for c in contacts if c.state == "offered"]
        connected = [c for c in contacts if c.state == "connected"]
        live = [c for c in contacts if c.state != "connected"]
        wrapping = [a for a in agents if a.wrap_until is not None]
        free = [a for a in logged if not a.contacts]
        event: Event
        op %= 16
        if op in (0, 1) and out:
            event = AgentLogin(t, out[pick % len(out)].id, ready=bool(op))
        elif op in (2, 3) and logged:
            event = AgentReady(t, logged[pick % len(logged)].id)
        elif op == 4 and logged:
            reason = ("break", "lunch", "training")[pick % 3]
            event = AgentNotReady(t, logged[pick % len(logged)].id, reason)
        elif op == 5 and free:
            event = AgentLogout(t, free[pick % len(free)].id)
        elif op in (6, 7):
            n += 1
            skills = {"english": 5} if pick % 5 == 0 else {}
            event = ContactArrive(t, f"c{n}", QUEUES[pick % len(QUEUES)], priority=pick % 3,
                                  skills=skills, attributes={"n": n})
        elif op in (8, 9, 14, 15) and offered:
            c = offered[pick % len(offered)]
            kind = (OfferAccept, OfferAccept, OfferAccept, OfferReject, OfferTimeout)[pick % 5]
            event = kind(t, c.id, c.agent)  # type: ignore[arg-type]
        elif op == 10 and live:
            event = ContactAbandon(t, live[pick % len(live)].id)
        elif op in (11, 13) and connected:
            event = ContactEnd(t, connected[pick % len(connected)].id)
        elif op == 12 and wrapping:
            a = wrapping[pick % len(wrapping)]
            event = (WrapupEnd(t, a.id) if pick % 2 else
                     WrapupExtend(t, a.id, None if pick % 4 == 0 else 10.0))
        else:
            event = Tick(t)
        log.append((event, router.handle(event)))
    return log
