"""Screen-pop lead time against the real agent WebSocket of Hotline's API.

The API app (``cti.api.create_app``) is served by uvicorn on 127.0.0.1 over the embedded Redis
and a real SQLite token store; pops are published on ``pop:<agent>`` through the StateStore, as
the routing leader publishes them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from api_support import serving

from cti.api import create_app
from cti.pop import build_pop
from cti.ports import to_message
from hotline.auth import TokenStore
from hotline.db import Database
from hotline.store import StateStore
from sim.sip.bots import AnswerBehaviour, AnsweredCall
from sim.sip.errors import PopListenerError
from sim.sip.generator import LoadOptions, run_load
from sim.sip.plan import CallerScript, CallPlan, DtmfStep
from sim.sip.pop import PopListener, PopSeen, decode, match_pops, parse_pop, same_number
from sim.sip.responder import ResponderFarm

pytestmark = pytest.mark.sip


@dataclass
class Api:
    url: str  # ws://127.0.0.1:PORT/ws/agent
    store: StateStore
    tokens: dict[str, str]

    async def pop(self, agent: str, pop_id: str, caller_id: str) -> None:
        pop = build_pop(pop_id=pop_id, call_id=f"call-{pop_id}", agent=agent,
                        contact=f"contact-{pop_id}", queue="billing", caller_id=caller_id,
                        wait_s=3.0, customer=None, ivr_path=["welcome", "reason", "billing"],
                        inputs={}, attributes={}, now=time.time())
        await self.store.publish(self.store.key("pop", agent), to_message(pop))


@pytest.fixture
async def api(store: StateStore, database: Database) -> AsyncIterator[Api]:
    token_store = TokenStore(database)
    tokens = {"a01": token_store.issue("a01", "agent"), "a02": token_store.issue("a02", "agent"),
              "sup": token_store.issue("sup", "supervisor")}
    async with serving(create_app(store, database, token_store)) as server:
        yield Api(server.url.replace("http://", "ws://") + "/ws/agent", store, tokens)


async def until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.02)


async def test_listener_takes_pops_from_the_real_agent_socket(api: Api) -> None:
    pops: list[PopSeen] = []
    listener = PopListener(api.url, [("1001", api.tokens["a01"]), ("1002", api.tokens["a02"])],
                           emit=pops.append, worker="w").start()
    try:
        await asyncio.to_thread(listener.wait_ready, 10)
        await api.pop("a02", "p-2", "+49 611 0002")
        await api.pop("a01", "p-1", "0611 0001")
        await until(lambda: len(pops) == 2)
    finally:
        await asyncio.to_thread(listener.close)

    assert listener.subjects == {"1001": "a01", "1002": "a02"}
    assert sorted((p.account, p.agent, p.pop_id, p.call_id, p.contact, p.caller_id, p.worker)
                  for p in pops) == [
        ("1001", "a01", "p-1", "call-p-1", "contact-p-1", "0611 0001", "w"),
        ("1002", "a02", "p-2", "call-p-2", "contact-p-2", "+49 611 0002", "w")]
    assert listener.errors == []


@pytest.mark.parametrize(("who", "code", "fragment"), [
    ("nobody", 4401, "close code 4401"),
    ("sup", 4403, "supervisor 'sup' has no agent screen"),
])
async def test_a_refused_token_is_a_one_line_setup_error(api: Api, who: str, code: int,
                                                         fragment: str) -> None:
    token = api.tokens.get(who, "htl_not-a-token")
    listener = PopListener(api.url, [("1001", token)], emit=lambda pop: None,
                           retry_s=0.05).start()
    try:
        with pytest.raises(PopListenerError) as refused:
            await asyncio.to_thread(listener.wait_ready, 10)
    finally:
        await asyncio.to_thread(listener.close)
    message = str(refused.value)
    assert message.startswith("agent 1001: Hotline refused the screen-pop socket: ")
    assert fragment in message and f"close code {code}" in message and "\n" not in message
    assert listener.errors == []  # refused once, never retried


async def test_pop_lead_time_of_a_real_sip_call(api: Api) -> None:
    """A pop published for agent a01, then a SIP call from the same number to the softphone
    that watches a01's socket: the lead time is measured and positive."""
    farm = ResponderFarm(1, AnswerBehaviour(dtmf=(DtmfStep(0.2, "D"),)), pop_url=api.url,
                         pop_tokens=(api.tokens["a01"],))
    await asyncio.to_thread(farm.__enter__)  # ready once the socket said hello
    try:
        await api.pop("a01", "p-9", "+49 611 000009")
        await until(lambda: farm.collect() is not None and farm.pops)
        await asyncio.sleep(0.3)
        caller = CallerScript(0, 0.0, "0611000009", (), patience_s=10.0, talk_s=0.3)
        result = await asyncio.to_thread(
            run_load, CallPlan(dial="100", duration_s=0.1, callers=(caller,)),
            LoadOptions(targets=tuple(farm.targets), workers=1))
        await until(lambda: farm.collect() and len(farm.calls) == 1)
    finally:
        await asyncio.to_thread(farm.__exit__)

    assert [c.outcome for c in result.calls] == ["completed"]
    [lead] = match_pops(farm.pops, farm.calls)
    assert lead.call_id == "call-p-9" and lead.ok
    assert 0.3 <= lead.lead_s < 15  # type: ignore[operator]


def invite(agent: str, caller: str, at: float, call_id: str | None = None) -> AnsweredCall:
    return AnsweredCall(account=agent, caller=caller, sip_call_id="sip-1", hotline_call_id=call_id,
                        invite_at=at, outcome="answered", sip_code=200, digits_heard="",
                        rx_level=None, rx_audible_share=None,
                        heard_caller_tone=None, hung_up_by_bot=False)


def seen(account: str, call_id: str, caller: str, at: float) -> PopSeen:
    return PopSeen("w", account, f"agent-{account}", f"pop-{call_id}", call_id,
                   f"contact-{call_id}", caller, at)


def test_lead_time_is_invite_minus_pop_and_late_pops_fail() -> None:
    pops = [seen("1001", "c-1", "+33611", 100.0), seen("1002", "c-2", "0622", 205.0),
            seen("1003", "c-3", "0633", 300.0), seen("1005", "c-5", "0655", 500.0)]
    invites = [invite("1001", "0033611", 100.4),  # by softphone and number; formats differ
               invite("1002", "0622", 204.0, call_id="c-2"),  # by header; pop 1 s late
               invite("1004", "0644", 400.0),  # no pop at all
               invite("1005", "0655", 510.0, call_id="contact-c-5")]  # header names the contact
    leads = match_pops(pops, invites)
    assert [(lead.agent, lead.lead_s, lead.ok) for lead in leads] == [
        ("1001", 0.4, True), ("1002", -1.0, False), ("1004", None, False), ("1005", 10.0, True)]


def test_each_pop_serves_one_invite_and_only_its_softphone() -> None:
    pops = [seen("1001", "c-1", "0611", at=10.0)]
    leads = match_pops(pops, [invite("1002", "0611", 10.5), invite("1001", "0611", 11.0),
                              invite("1001", "0611", 12.0)])
    assert [lead.lead_s for lead in leads] == [None, 1.0, None]


@pytest.mark.parametrize(("one", "other", "same"), [
    ("0611000001", "+49 611 000001", True), ("+49611000001", "0049-611-000001", True),
    ("0611000001", "0611000002", False), ("12", "012", True), ("1234", "991234", False),
    ("", "", False), (None, "0611", False),
])
def test_numbers_compare_by_their_digits(one: str | None, other: str, same: bool) -> None:
    assert same_number(one, other) is same


def test_pop_messages_are_validated() -> None:
    assert decode('{"type": "hello", "subject": "a01"}', "1001")["subject"] == "a01"
    with pytest.raises(PopListenerError, match="not JSON"):
        decode("{", "1001")
    with pytest.raises(PopListenerError, match="without a type"):
        decode("[1]", "1001")
    with pytest.raises(PopListenerError, match="pop_id"):
        parse_pop({"type": "pop", "call_id": "c"}, "1001", "w", 1.0)
    with pytest.raises(PopListenerError, match="call_id"):
        parse_pop({"type": "pop", "pop_id": "p"}, "1001", "w", 1.0)
