"""The routing engine alone (pure): call transitions and commands in, Router events and effects out.

No sockets here: transitions are built as the call tracker would emit them, so every branch of
the mapping (and of the reconciliation after an outage) is checked directly, and hypothesis
drives random call centres through it checking that the engine's picture and the Router's
never disagree.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_support import routing

from acd.events import ContactAbandon, ContactArrive, ContactEnd, OfferAccept, OfferTimeout
from acd.router import Router
from cti.effects import OfferPlaced, RingStarted, RouterLogged
from cti.engine import RoutingEngine
from cti.ports import Command, QueueRequest
from cti.transitions import (
    Answered,
    CallPhase,
    CallStarted,
    CallView,
    Ended,
    LegRole,
    LegView,
    Queued,
    Ringing,
    Rona,
    Transferred,
)

T0 = 1_800_000_000.0


def engine_with(*ready: str) -> RoutingEngine:
    engine = RoutingEngine(Router.from_config(routing()))
    for agent in ready:
        engine.command(Command("agent_login", agent, "test"), T0)
        engine.command(Command("agent_ready", agent, "test"), T0)
    return engine


def logged(effects: list) -> list:
    return [e.event for e in effects if isinstance(e, RouterLogged)]


def offers(effects: list) -> list[OfferPlaced]:
    return [e for e in effects if isinstance(e, OfferPlaced)]


def arrive(engine: RoutingEngine, call: str, at: float = T0, number: str = "2001") -> list:
    engine.transition(CallStarted(call, at, call, f"PJSIP/{number}-1", LegRole.CALLER, number,
                                  "", "hotline-inbound", "400"), at)
    return engine.transition(Queued(call, at, call, f"PJSIP/{number}-1", call, "support"), at)


def view(call: str, phase: CallPhase, agent: str | None = None) -> CallView:
    caller = LegView(call, f"PJSIP/2001-{call}", LegRole.CALLER, None, 6, "hotline-wait",
                     None, False)
    return CallView(call, phase, T0, call, "support", agent, phase is CallPhase.TALKING,
                    (caller,))


def test_a_queued_caller_is_offered_with_its_caller_id_and_ivr_data():
    engine = engine_with("a1")
    engine.note_request(QueueRequest("queue_request", "c1", "PJSIP/2001-1", "2001", "general",
                                     {}, 3, {"vip": "true"}, "C-1", ["welcome"], {}, "de", T0))
    effects = arrive(engine, "c1")
    (event,) = [e for e in logged(effects) if isinstance(e, ContactArrive)]
    assert (event.queue, event.priority, event.customer) == ("general", 3, "C-1")
    (offer,) = offers(effects)
    assert (offer.agent, offer.extension, offer.channel) == ("a1", "1001", "PJSIP/2001-1")
    assert offer.pop["caller_id"] == "2001" and offer.pop["attributes"] == {"vip": "true"}


def test_an_unknown_skill_from_the_ivr_still_queues_the_caller():
    engine = engine_with()
    engine.note_request(QueueRequest("queue_request", "c1", "", "2001", "support",
                                     {"klingon": 5}, 0, {}, None, [], {}, "en", T0))
    effects = arrive(engine, "c1")
    arrivals = [e for e in logged(effects) if isinstance(e, ContactArrive)]
    assert [a.skills for a in arrivals] == [{}]
    assert engine.router.contact("c1").state == "waiting"


def test_an_unknown_queue_falls_back_to_the_default_queue():
    engine = engine_with()
    engine.transition(Queued("c1", T0, "c1", "PJSIP/2001-1", "c1", "nonexistent"), T0)
    assert engine.router.contact("c1").queue == "general"


def test_ring_answer_and_hangup_after_talk():
    engine = engine_with("a1")
    arrive(engine, "c1")
    assert [type(e) for e in engine.transition(
        Ringing("c1", T0 + 1, "c2", "PJSIP/1001-2", "1001"), T0 + 1)] == [RingStarted]
    assert any(isinstance(e, OfferAccept) for e in logged(engine.transition(
        Answered("c1", T0 + 2, "c2", "PJSIP/1001-2", "1001"), T0 + 2)))
    assert engine.router.agent("a1").state == "busy"
    ended = engine.transition(Ended("c1", T0 + 9, T0, CallPhase.TALKING, "caller", 16, "",
                                    True, "1001", "c1"), T0 + 9)
    assert any(isinstance(e, ContactEnd) for e in logged(ended))
    assert engine.router.agent("a1").state == "wrap_up"  # queue 'support': 20 s wrap-up
    assert engine.contacts() == []


def test_rona_makes_the_agent_not_ready_and_offers_the_next_one():
    engine = engine_with("a1", "a2")
    (first,) = offers(arrive(engine, "c1"))
    effects = engine.transition(Rona("c1", T0 + 15, "c1", first.extension, "NOANSWER"),
                                T0 + 15)
    assert any(isinstance(e, OfferTimeout) for e in logged(effects))
    (second,) = offers(effects)
    assert second.agent != first.agent
    assert engine.router.agent(first.agent).reason == "rona"


def test_reconcile_after_an_outage():
    engine = engine_with("a1", "a2", "a3")
    arrive(engine, "gone")
    arrive(engine, "rang")
    arrive(engine, "unsent")
    engine.redirected("rang", engine.contact("rang").agent)
    engine.redirect_failed("unsent", engine.contact("unsent").agent)
    effects = engine.reconcile([view("rang", CallPhase.WAITING),
                                view("unsent", CallPhase.WAITING),
                                view("new", CallPhase.WAITING)], T0 + 5)
    events = logged(effects)
    assert [e.contact for e in events if isinstance(e, ContactAbandon)] == ["gone"]
    assert [e.contact for e in events if isinstance(e, OfferTimeout)] == ["rang"]
    assert [e.contact for e in events if isinstance(e, ContactArrive)] == ["new"]
    assert "unsent" in [o.contact for o in offers(effects)]   # the Redirect is made again


def test_reconcile_accepts_an_offer_answered_during_the_outage():
    engine = engine_with("a1")
    arrive(engine, "c1")
    effects = engine.reconcile([view("c1", CallPhase.TALKING, agent="1001")], T0 + 3)
    assert any(isinstance(e, OfferAccept) for e in logged(effects))
    assert engine.contact("c1").state == "connected"


def transferred(engine: RoutingEngine, call: str) -> None:
    arrive(engine, call)
    engine.transition(Answered(call, T0 + 1, "x", "PJSIP/1001-2", "1001"), T0 + 1)
    effects = engine.transition(Transferred(call, T0 + 5, "blind", "PJSIP/1001-2", "1001",
                                            "PJSIP/2001-1", "1002", "hotline-connect"), T0 + 5)
    assert [type(e) for e in logged(effects)] == [ContactEnd]
    assert engine.contact(call).state == "transferred"


def test_reconcile_forgets_a_transferred_call_that_ended_unseen():
    engine = engine_with("a1")
    transferred(engine, "c1")
    engine.reconcile([], T0 + 9)
    assert engine.contacts() == [] and engine.router.contacts() == []


def test_reconcile_queues_again_a_transfer_that_rang_out_unseen():
    engine = engine_with("a1")
    transferred(engine, "c1")
    effects = engine.reconcile([view("c1", CallPhase.WAITING)], T0 + 9)
    assert [e.contact for e in logged(effects) if isinstance(e, ContactArrive)] == ["c1"]
    assert engine.contact("c1").state == "waiting"   # a1 is in wrap-up


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_engine_and_router_always_agree(data):
    engine = engine_with("a1", "a2", "a3")
    now = T0
    calls = 0
    live: dict[str, str] = {}  # call -> phase in the "switch": waiting, ringing, talking
    for _ in range(data.draw(st.integers(5, 40))):
        now += data.draw(st.floats(0.0, 40.0))
        refused = engine.refused
        action = data.draw(st.sampled_from(["arrive", "progress", "hangup", "command", "tick"]))
        if action == "arrive" or not live:
            calls += 1
            call = f"c{calls}"
            arrive(engine, call, now)
            live[call] = "waiting"
        elif action == "command":
            agent = data.draw(st.sampled_from(["a1", "a2", "a3"]))
            kind = data.draw(st.sampled_from(["agent_ready", "agent_not_ready", "wrapup_end"]))
            engine.command(Command(kind, agent, "test", reason="break"), now)
            refused = engine.refused  # an agent may ask for something not allowed
        elif action == "tick":
            engine.tick(now)
        else:
            call = data.draw(st.sampled_from(sorted(live)))
            record = engine.contact(call)
            ext = engine.router.routing.agents[int(record.agent[1:]) - 1].extension \
                if record and record.agent else None
            if action == "hangup":
                phase = {"waiting": CallPhase.WAITING, "ringing": CallPhase.RINGING,
                         "talking": CallPhase.TALKING}[live[call]]
                engine.transition(Ended(call, now, T0, phase, "caller", 16, "",
                                        live[call] == "talking", ext, call), now)
                del live[call]
            elif record is not None and record.state == "offered" and live[call] == "waiting":
                engine.redirected(call, record.agent)
                engine.transition(Ringing(call, now, "x", f"PJSIP/{ext}-9", ext), now)
                live[call] = "ringing"
            elif live[call] == "ringing" and data.draw(st.booleans()):
                engine.transition(Answered(call, now, "x", f"PJSIP/{ext}-9", ext), now)
                live[call] = "talking"
            elif live[call] == "ringing":
                offered_to = record.agent
                engine.transition(Rona(call, now, call, ext, "NOANSWER"), now)
                live[call] = "waiting"
                assert engine.router.agent(offered_to).reason == "rona"
                assert engine.contact(call).agent != offered_to
        assert engine.refused == refused, "the engine fed the Router an event it refused"
        routed = {c.id: c for c in engine.router.contacts()}
        assert set(routed) == {r.contact for r in engine.contacts()}
        for record in engine.contacts():
            assert (record.state, record.agent) == (routed[record.contact].state,
                                                    routed[record.contact].agent)
        assert set(routed) == set(live)
    for call in list(live):
        record = engine.contact(call)
        engine.transition(Ended(call, now, T0, CallPhase.WAITING, "caller", 16, "",
                                record is not None and record.state == "connected", None,
                                call), now)
    assert engine.router.contacts() == [] and engine.contacts() == []
    assert all(a.state not in ("busy", "reserved") for a in engine.router.agents())
