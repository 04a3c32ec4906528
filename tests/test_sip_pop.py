"""Screen-pop lead time: a real WebSocket server on 127.0.0.1 pushes pops to the listener."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from sim.sip.bots import AnsweredCall
from sim.sip.errors import PopListenerError
from sim.sip.pop import PopListener, PopSeen, match_pops, parse_pop

pytestmark = pytest.mark.sip


def invite(agent: str, caller: str, at: float, call_id: str | None = None) -> AnsweredCall:
    return AnsweredCall(account=agent, caller=caller, sip_call_id="sip-1", hotline_call_id=call_id,
                        invite_at=at, outcome="answered", sip_code=200, digits_heard="",
                        rx_level=None, rx_audible_share=None,
                        heard_caller_tone=None, hung_up_by_bot=False)


async def test_listener_records_pops_from_a_real_socket() -> None:
    seen_tokens: list[str | None] = []
    seen_paths: list[str] = []

    async def handler(socket: websockets.ServerConnection) -> None:
        seen_tokens.append(socket.request.headers.get("Authorization"))
        seen_paths.append(socket.request.path)
        await socket.send(json.dumps({"type": "agent_state", "state": "ready"}))
        await socket.send(json.dumps({"type": "pop", "call_id": "c-1", "caller_id": "0611"}))
        await socket.wait_closed()

    pops: list[PopSeen] = []
    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        listener = PopListener(f"ws://127.0.0.1:{port}/agents/{{agent}}/ws",
                               [("1001", "secret-1001")], emit=pops.append, worker="w").start()
        try:
            deadline = time.monotonic() + 10
            while not pops and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await asyncio.to_thread(listener.close)

    assert seen_tokens == ["Bearer secret-1001"]
    assert seen_paths == ["/agents/1001/ws"]
    assert [(p.agent, p.call_id, p.caller_id, p.worker) for p in pops] == [
        ("1001", "c-1", "0611", "w")]
    assert listener.errors == []


def test_lead_time_is_invite_minus_pop_and_late_pops_fail() -> None:
    pops = [PopSeen("w", "1001", "c-1", "0611", at=100.0),
            PopSeen("w", "1002", "c-2", "0622", at=205.0),
            PopSeen("w", "1003", "c-3", "0633", at=300.0)]
    invites = [invite("1001", "0611", 100.4),  # matched by agent and caller
               invite("1002", "0622", 204.0, call_id="c-2"),  # by header; pop 1 s late
               invite("1004", "0644", 400.0)]  # no pop at all
    leads = match_pops(pops, invites)
    assert [(lead.agent, lead.lead_s, lead.ok) for lead in leads] == [
        ("1001", 0.4, True), ("1002", -1.0, False), ("1004", None, False)]


def test_each_pop_serves_one_invite() -> None:
    pops = [PopSeen("w", "1001", "c-1", "0611", at=10.0)]
    leads = match_pops(pops, [invite("1001", "0611", 11.0), invite("1001", "0611", 12.0)])
    assert [lead.lead_s for lead in leads] == [1.0, None]


def test_pop_messages_are_validated() -> None:
    assert parse_pop('{"type": "hello"}', "1001", "w", 1.0) is None
    with pytest.raises(PopListenerError, match="not JSON"):
        parse_pop("{", "1001", "w", 1.0)
    with pytest.raises(PopListenerError, match="call_id"):
        parse_pop('{"type": "pop"}', "1001", "w", 1.0)
