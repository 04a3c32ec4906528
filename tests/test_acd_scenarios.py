"""The Router's rules, one scenario each: policies, escalation, RONA, abandon, wrap-up,
multi-channel capacity, priorities and the errors for impossible events."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from test_acd_support import T0, small_routing

from acd import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    AgentStateChanged,
    CallbackOffered,
    ContactAbandon,
    ContactArrive,
    ContactDone,
    ContactEnd,
    Escalated,
    Offer,
    OfferAccept,
    OfferCancelled,
    OfferReject,
    OfferTimeout,
    Overflowed,
    Queued,
    Router,
    Tick,
    WrapupEnd,
    WrapupExtend,
)
from acd.errors import (
    DuplicateContact,
    EventFormatError,
    IllegalTransition,
    TimeWentBackwards,
    UnknownAgent,
    UnknownContact,
    UnknownQueue,
    UnknownSkill,
)
from hotline.config.routing import Routing


def floor(queues: dict[str, Any], agents: list[tuple[str, dict[str, int], dict[str, int]]],
          **settings: Any) -> Router:
    """A Router over ``queues`` and agents given as (id, skills, capacity)."""
    routing = Routing.model_validate({
        "skills": ["billing", "tech", "sales", "general", "english"],
        "queues": queues,
        "agents": [
            {"id": aid, "name": aid, "extension": f"{100 + i}", "skills": skills,
             "capacity": capacity or {"voice": 1}}
            for i, (aid, skills, capacity) in enumerate(agents)
        ],
        "settings": settings,
    })
    return Router.from_config(routing)


def offers(decisions: list[Any]) -> list[tuple[str, str]]:
    return [(d.contact, d.agent) for d in decisions if isinstance(d, Offer)]


def ready_all(router: Router, t: float, *agents: str) -> None:
    for agent in agents:
        router.handle(AgentLogin(t, agent, ready=True))


def serve(router: Router, t: float, contact: str, agent: str, talk: float) -> float:
    router.handle(OfferAccept(t, contact, agent))
    router.handle(ContactEnd(t + talk, contact))
    return t + talk


# -- policies ----------------------------------------------------------------------------------

def test_longest_idle_picks_the_agent_ready_longest() -> None:
    r = floor({"q": {"skills": {"general": 1}, "wrap_up_s": 0}},
              [("a", {"general": 5}, {}), ("b", {"general": 5}, {}), ("c", {"general": 5}, {})])
    r.handle(AgentLogin(T0, "b", ready=True))
    r.handle(AgentLogin(T0 + 1, "c", ready=True))
    r.handle(AgentLogin(T0 + 2, "a", ready=True))
    assert offers(r.handle(ContactArrive(T0 + 3, "c1", "q"))) == [("c1", "b")]
    assert offers(r.handle(ContactArrive(T0 + 4, "c2", "q"))) == [("c2", "c")]
    serve(r, T0 + 5, "c1", "b", 10)  # b is ready again at T0+15, after a
    assert offers(r.handle(ContactArrive(T0 + 20, "c3", "q"))) == [("c3", "a")]
    assert offers(r.handle(ContactArrive(T0 + 21, "c4", "q"))) == [("c4", "b")]


def test_most_skilled_prefers_the_highest_level_then_longest_idle() -> None:
    r = Router.from_config(small_routing())
    ready_all(r, T0, "a4", "a9", "a3", "a8")  # tech 5, 6, 9, 3
    assert offers(r.handle(ContactArrive(T0 + 1, "c1", "tech"))) == [("c1", "a3")]
    assert offers(r.handle(ContactArrive(T0 + 2, "c2", "tech"))) == [("c2", "a9")]
    assert offers(r.handle(ContactArrive(T0 + 3, "c3", "tech"))) == [("c3", "a4")]
    # a8 (tech 3) is below the queue's level 5: the fourth caller waits
    assert [type(d) for d in r.handle(ContactArrive(T0 + 4, "c4", "tech"))] == [Queued]


def test_least_occupied_picks_the_agent_who_worked_least_in_the_last_hour() -> None:
    q = {"skills": {"sales": 1}, "wrap_up_s": 0, "policy": "least_occupied"}
    r = floor({"q": q}, [("busy", {"sales": 5}, {}), ("calm", {"sales": 5}, {})])
    ready_all(r, T0, "busy", "calm")
    assert offers(r.handle(ContactArrive(T0 + 1, "c1", "q"))) == [("c1", "busy")]  # a tie
    serve(r, T0 + 2, "c1", "busy", 1800)  # ready again at T0+1802
    assert offers(r.handle(ContactArrive(T0 + 2000, "c2", "q"))) == [("c2", "calm")]
    serve(r, T0 + 2001, "c2", "calm", 5)  # ready again at T0+2006
    # 'busy' has been idle longer, but worked ~85 % of the last hour against calm's ~0.3 %
    assert offers(r.handle(ContactArrive(T0 + 2100, "c3", "q"))) == [("c3", "calm")]


def test_round_robin_rotates_in_configuration_order() -> None:
    q = {"skills": {"general": 1}, "wrap_up_s": 0, "policy": "round_robin"}
    r = floor({"q": q}, [(a, {"general": 5}, {}) for a in ("x", "y", "z")])
    ready_all(r, T0, "z", "y", "x")  # readiness order does not matter
    picks = []
    for n in range(6):
        [(contact, agent)] = offers(r.handle(ContactArrive(T0 + 10 * n, f"c{n}", "q")))
        picks.append(agent)
        serve(r, T0 + 10 * n + 1, contact, agent, 2)
    assert picks == ["x", "y", "z", "x", "y", "z"]


def _lottery(seed: int) -> list[str]:
    q = {"skills": {"general": 1}, "wrap_up_s": 0, "policy": "weighted_random"}
    r = floor({"q": q}, [("low", {"general": 1}, {}), ("high", {"general": 9}, {})], seed=seed)
    ready_all(r, T0, "low", "high")
    picks = []
    for n in range(200):
        [(contact, agent)] = offers(r.handle(ContactArrive(T0 + 10 * n, f"c{n}", "q")))
        picks.append(agent)
        serve(r, T0 + 10 * n + 1, contact, agent, 2)
    return picks


def test_weighted_random_is_reproducible_from_the_seed_and_weighted_by_level() -> None:
    first, again, other = _lottery(3), _lottery(3), _lottery(4)
    assert first == again
    assert first != other
    assert first.count("high") > 3 * first.count("low") > 0  # weights 9 : 1


# -- priority ----------------------------------------------------------------------------------

def test_valued_customer_overtakes_earlier_callers() -> None:
    r = Router.from_config(small_routing())
    r.handle(ContactArrive(T0, "early", "general"))
    r.handle(ContactArrive(T0 + 5, "vip", "general", priority=5))
    r.handle(ContactArrive(T0 + 6, "late", "general"))
    decisions = r.handle(AgentLogin(T0 + 10, "a2", ready=True))
    assert offers(decisions) == [("vip", "a2")]
    assert [c.id for c in r.contacts() if c.state == "waiting"] == ["early", "late"]


def test_queue_priority_and_weight_order_callers_of_different_queues() -> None:
    # a9 can serve every queue; a tech caller (queue priority 3) beats an older sales caller
    r = Router.from_config(small_routing())
    r.handle(ContactArrive(T0, "s", "sales"))
    r.handle(ContactArrive(T0 + 10, "t", "tech"))
    assert offers(r.handle(AgentLogin(T0 + 11, "a9", ready=True))) == [("t", "a9")]


# -- escalation --------------------------------------------------------------------------------

def test_relax_lowers_the_level_at_the_step_time() -> None:
    r = Router.from_config(small_routing())
    r.handle(AgentLogin(T0, "a2", ready=True))  # billing 4 < 6
    assert [type(d) for d in r.handle(ContactArrive(T0 + 1, "c1", "billing"))] == [Queued]
    assert r.next_deadline() == T0 + 31
    decisions = r.tick(T0 + 40)  # the driver is late; the decisions keep the due time
    assert decisions[0] == Escalated(T0 + 31, "c1", "billing", 0, "relax")
    assert offers(decisions) == [("c1", "a2")]
    assert all(d.t == T0 + 31 for d in decisions)


def test_also_accept_lets_other_skills_in() -> None:
    q = {"skills": {"billing": 6}, "escalation": [{"after_s": 60, "also_accept": {"general": 5}}]}
    r = floor({"q": q}, [("g", {"general": 7}, {})])
    r.handle(AgentLogin(T0, "g", ready=True))
    r.handle(ContactArrive(T0, "c1", "q"))
    assert r.tick(T0 + 59.9) == []
    decisions = r.tick(T0 + 60)
    assert [type(d) for d in decisions] == [Escalated, Offer, AgentStateChanged]
    assert r.contact("c1").requirement == ((("billing", 6),), (("general", 5),))


def test_overflow_keeps_enqueue_time_and_place_in_the_target_queue() -> None:
    r = Router.from_config(small_routing())
    r.handle(ContactArrive(T0, "b1", "billing"))
    r.handle(ContactArrive(T0 + 100, "g1", "general"))
    decisions = r.tick(T0 + 120)
    assert Overflowed(T0 + 120, "b1", "billing", "general", 2) in decisions
    b1 = r.contact("b1")
    assert (b1.queue, b1.entry_queue, b1.enqueue_t) == ("general", "billing", T0)
    # the overflowed caller has waited longest, so she is first in 'general'
    assert offers(r.handle(AgentLogin(T0 + 121, "a7", ready=True))) == []  # chat only
    assert offers(r.handle(AgentLogin(T0 + 122, "a2", ready=True))) == [("b1", "a2")]


def test_callback_offer_then_the_caller_takes_it() -> None:
    r = Router.from_config(small_routing())
    r.handle(ContactArrive(T0, "c1", "tech"))
    decisions = r.tick(T0 + 90)
    assert CallbackOffered(T0 + 90, "c1", "tech", 1) in decisions
    assert r.contact("c1").state == "waiting"  # still waiting until the caller decides
    assert r.next_deadline() is None
    done = r.handle(ContactAbandon(T0 + 95, "c1", reason="callback"))
    assert done == [ContactDone(T0 + 95, "c1", "tech", "callback", 95.0)]
    windows = r.metrics().queues["tech"].windows["15m"]
    assert (windows.callbacks, windows.abandoned) == (1, 0)


# -- failed offers, abandon ------------------------------------------------------------------

def test_rona_makes_the_agent_not_ready_and_the_contact_keeps_its_place() -> None:
    r = Router.from_config(small_routing())
    r.handle(AgentLogin(T0, "a2", ready=True))
    r.handle(ContactArrive(T0 + 1, "c1", "general"))
    r.handle(ContactArrive(T0 + 2, "c2", "general"))
    decisions = r.handle(OfferTimeout(T0 + 16, "c1", "a2"))
    assert AgentStateChanged(T0 + 16, "a2", "not_ready", "rona") in decisions
    assert Queued(T0 + 16, "c1", "general") in decisions
    assert offers(decisions) == []
    assert offers(r.handle(AgentLogin(T0 + 20, "a1", ready=True))) == [("c1", "a1")]


def test_reject_sends_the_contact_to_the_next_agent() -> None:
    r = Router.from_config(small_routing())
    ready_all(r, T0, "a1", "a2")
    r.handle(ContactArrive(T0 + 1, "c1", "general"))  # round robin: a1 first
    decisions = r.handle(OfferReject(T0 + 3, "c1", "a1"))
    assert AgentStateChanged(T0 + 3, "a1", "not_ready", "rejected") in decisions
    assert offers(decisions) == [("c1", "a2")]


def test_abandon_while_offered_cancels_the_offer_and_frees_the_agent() -> None:
    r = Router.from_config(small_routing())
    r.handle(AgentLogin(T0, "a2", ready=True))
    r.handle(ContactArrive(T0 + 1, "c1", "general"))
    r.handle(ContactArrive(T0 + 2, "c2", "general"))
    decisions = r.handle(ContactAbandon(T0 + 3, "c1"))
    assert decisions[:2] == [OfferCancelled(T0 + 3, "c1", "a2", "hangup"),
                             ContactDone(T0 + 3, "c1", "general", "abandoned", 2.0)]
    assert offers(decisions) == [("c2", "a2")]
    with pytest.raises(UnknownContact, match="c1"):
        r.handle(OfferAccept(T0 + 4, "c1", "a2"))


# -- wrap-up -----------------------------------------------------------------------------------

def test_wrap_up_returns_to_ready_automatically_and_can_be_extended() -> None:
    r = Router.from_config(small_routing())
    r.handle(AgentLogin(T0, "a2", ready=True))
    r.handle(ContactArrive(T0, "c1", "general"))  # wrap_up_s 10
    r.handle(OfferAccept(T0 + 2, "c1", "a2"))
    decisions = r.handle(ContactEnd(T0 + 50, "c1"))
    assert AgentStateChanged(T0 + 50, "a2", "wrap_up", "") in decisions
    assert r.next_deadline() == T0 + 60
    r.handle(ContactArrive(T0 + 55, "c2", "general"))
    r.handle(WrapupExtend(T0 + 56, "a2", 20))
    assert r.next_deadline() == T0 + 80
    assert offers(r.tick(T0 + 79)) == []
    decisions = r.tick(T0 + 80)
    assert decisions[0] == AgentStateChanged(T0 + 80, "a2", "ready", "")
    assert offers(decisions) == [("c2", "a2")]


def test_held_wrap_up_waits_for_the_agent() -> None:
    r = Router.from_config(small_routing())
    r.handle(AgentLogin(T0, "a2", ready=True))
    r.handle(ContactArrive(T0, "c1", "general"))
    serve(r, T0 + 1, "c1", "a2", 10)
    r.handle(WrapupExtend(T0 + 12, "a2", None))
    assert r.next_deadline() is None
    assert r.tick(T0 + 1000) == []
    assert r.agent("a2").state == "wrap_up"
    assert r.handle(WrapupEnd(T0 + 1001, "a2")) == [
        AgentStateChanged(T0 + 1001, "a2", "ready", "")]


def test_not_ready_during_a_call_takes_effect_after_wrap_up() -> None:
    r = Router.from_config(small_routing())
    r.handle(AgentLogin(T0, "a2", ready=True))
    r.handle(ContactArrive(T0, "c1", "general"))
    r.handle(OfferAccept(T0 + 1, "c1", "a2"))
    r.handle(AgentNotReady(T0 + 5, "a2", "lunch"))
    assert r.agent("a2").state == "busy"
    r.handle(ContactEnd(T0 + 10, "c1"))
    assert r.tick(T0 + 20) == [AgentStateChanged(T0 + 20, "a2", "not_ready", "lunch")]


# -- multi-channel -----------------------------------------------------------------------------

def test_chat_capacity_allows_several_contacts_at_once() -> None:
    q = {"skills": {"general": 1}, "channel": "chat", "wrap_up_s": 0}
    r = floor({"chat": q}, [("a", {"general": 5}, {"voice": 1, "chat": 3})])
    r.handle(AgentLogin(T0, "a", ready=True))
    got = [offers(r.handle(ContactArrive(T0 + n, f"c{n}", "chat"))) for n in range(4)]
    assert got == [[("c0", "a")], [("c1", "a")], [("c2", "a")], []]
    r.handle(OfferAccept(T0 + 5, "c0", "a"))
    assert offers(r.handle(ContactEnd(T0 + 6, "c0"))) == [("c3", "a")]


@pytest.mark.parametrize("blocks", [True, False])
def test_a_voice_call_blocks_chats_when_configured(blocks: bool) -> None:
    queues = {"voice": {"skills": {"general": 1}, "wrap_up_s": 0},
              "chat": {"skills": {"general": 1}, "channel": "chat", "wrap_up_s": 0}}
    r = floor(queues, [("a", {"general": 5}, {"voice": 1, "chat": 2})],
              voice_blocks_other_channels=blocks)
    r.handle(AgentLogin(T0, "a", ready=True))
    r.handle(ContactArrive(T0, "v", "voice"))
    r.handle(OfferAccept(T0 + 1, "v", "a"))
    chat = offers(r.handle(ContactArrive(T0 + 2, "c", "chat")))
    assert chat == ([] if blocks else [("c", "a")])
    if blocks:
        assert offers(r.handle(ContactEnd(T0 + 3, "v"))) == [("c", "a")]


# -- errors ------------------------------------------------------------------------------------

def test_illegal_transitions_name_the_agent_the_state_and_the_event() -> None:
    r = Router.from_config(small_routing())
    with pytest.raises(IllegalTransition, match=r"agent 'a1' is logged_out; agent_ready"):
        r.handle(AgentReady(T0, "a1"))
    r.handle(AgentLogin(T0, "a1", ready=True))
    with pytest.raises(IllegalTransition, match=r"agent 'a1' is ready; agent_login"):
        r.handle(AgentLogin(T0, "a1"))
    with pytest.raises(IllegalTransition, match=r"agent 'a1' is ready; wrapup_end"):
        r.handle(WrapupEnd(T0, "a1"))
    r.handle(ContactArrive(T0, "c1", "billing"))
    with pytest.raises(IllegalTransition, match=r"agent 'a1' is reserved; agent_logout.*c1"):
        r.handle(AgentLogout(T0, "a1"))
    with pytest.raises(IllegalTransition, match=r"contact 'c1' is offered to agent 'a1'; "
                                                r"offer_accept by agent 'a2'"):
        r.handle(OfferAccept(T0, "c1", "a2"))
    with pytest.raises(IllegalTransition, match=r"contact 'c1' is offered.*contact_end"):
        r.handle(ContactEnd(T0, "c1"))


def test_unknown_names_and_time_travel_are_refused() -> None:
    r = Router.from_config(small_routing())
    with pytest.raises(UnknownAgent, match="'zz'"):
        r.handle(AgentLogin(T0, "zz"))
    with pytest.raises(UnknownQueue, match=r"'nope'.*billing"):
        r.handle(ContactArrive(T0, "c1", "nope"))
    with pytest.raises(UnknownSkill, match="'klingon'"):
        r.handle(ContactArrive(T0, "c1", "billing", skills={"klingon": 3}))
    r.handle(ContactArrive(T0, "c1", "billing"))
    with pytest.raises(DuplicateContact, match="'c1'"):
        r.handle(ContactArrive(T0, "c1", "billing"))
    with pytest.raises(TimeWentBackwards, match=re.escape(str(T0 - 1))):
        r.handle(Tick(T0 - 1))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_time_that_is_not_a_finite_number_is_refused_and_changes_nothing(bad: float) -> None:
    r = Router.from_config(small_routing())
    r.handle(AgentLogin(T0, "a1", ready=True))
    with pytest.raises(EventFormatError, match="is not a finite number of seconds"):
        r.handle(Tick(bad))
    assert r.now == T0
    assert offers(r.handle(ContactArrive(T0 + 1, "c1", "billing"))) == [("c1", "a1")]


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_wrap_up_extension_must_be_finite_and_not_negative(bad: float) -> None:
    r = Router.from_config(small_routing())
    r.handle(AgentLogin(T0, "a2", ready=True))
    r.handle(ContactArrive(T0, "c1", "general"))
    serve(r, T0 + 1, "c1", "a2", 10)
    with pytest.raises(EventFormatError, match="give a finite number >= 0"):
        r.handle(WrapupExtend(T0 + 12, "a2", bad))
    assert r.next_deadline() == T0 + 21  # wrap_up_s 10 from the end at T0 + 11, unchanged


def test_a_refused_event_still_hands_over_the_timer_decisions() -> None:
    r = Router.from_config(small_routing())
    r.handle(ContactArrive(T0, "c1", "billing"))
    with pytest.raises(UnknownAgent) as refused:
        r.handle(AgentReady(T0 + 31, "zz"))
    assert refused.value.decisions == [Escalated(T0 + 30, "c1", "billing", 0, "relax")]
    assert r.tick(T0 + 31) == []


def test_default_queue_takes_contacts_without_one() -> None:
    r = Router.from_config(small_routing(default_queue="general"))
    assert r.handle(ContactArrive(T0, "c1", None)) == [Queued(T0, "c1", "general")]


def test_ivr_skills_narrow_the_queue() -> None:
    r = Router.from_config(small_routing())
    ready_all(r, T0, "a2")  # general 7, no english
    decisions = r.handle(ContactArrive(T0, "c1", "general", skills={"english": 5}))
    assert offers(decisions) == []
    assert offers(r.handle(AgentLogin(T0 + 1, "a9", ready=True))) == [("c1", "a9")]


def test_a_reused_contact_id_does_not_inherit_the_old_timers() -> None:
    r = Router.from_config(small_routing())
    r.handle(ContactArrive(T0, "c1", "billing"))  # would escalate at T0+30
    r.handle(ContactAbandon(T0 + 10, "c1"))
    r.handle(ContactArrive(T0 + 20, "c1", "billing"))
    assert r.next_deadline() == T0 + 50
    assert r.tick(T0 + 49) == []
    assert r.tick(T0 + 50) == [Escalated(T0 + 50, "c1", "billing", 0, "relax")]


def test_a_snapshot_from_another_floor_is_refused() -> None:
    from acd.errors import SnapshotError

    r = Router.from_config(small_routing())
    r.handle(AgentLogin(T0, "a9", ready=True))
    saved = r.snapshot()
    other = floor({"q": {"skills": {"general": 1}}}, [("a1", {"general": 5}, {})])
    with pytest.raises(SnapshotError, match=r"agent 'a2', which routing\.yaml no longer defines"):
        Router.restore(other.routing, saved)
    with pytest.raises(SnapshotError, match="not a version 1 router snapshot"):
        Router.restore(small_routing(), {"version": 99})
