"""The FastAGI runtime over a real socket, against a fake Asterisk speaking the recorded bytes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastagi_fake import FakeCall
from ivr_helpers import CONFIG, deployment

from ivr.agi import AgiEnvironment
from ivr.commands import Abandoned, Callback, Queue
from ivr.fastagi import FastAgiServer
from ivr.loader import load_flows
from ivr.runtime import FlowRegistry

MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0)
SHIPPED = load_flows(CONFIG)[0]  # the shipped flows, validated once for every test here


class RecordingSink:
    def __init__(self) -> None:
        self.queued: list[tuple[str, Queue]] = []
        self.callbacks: list[tuple[str, Callback]] = []

    async def enqueue(self, call: AgiEnvironment, request: Queue) -> None:
        self.queued.append((call.uniqueid, request))

    async def callback(self, call: AgiEnvironment, request: Callback) -> None:
        self.callbacks.append((call.uniqueid, request))


class DictLookup:
    def __init__(self, by_phone: dict[str, dict[str, Any]], delay_s: float = 0.0,
                 broken: bool = False, by_account: dict[str, dict[str, Any]] | None = None
                 ) -> None:
        self.phones = by_phone
        self.accounts = by_account or {}
        self.delay_s = delay_s
        self.broken = broken

    async def by_phone(self, number: str) -> dict[str, Any] | None:
        await asyncio.sleep(self.delay_s)
        if self.broken:
            raise ConnectionRefusedError("customer database unreachable")
        return self.phones.get(number)

    async def by_account(self, account: str) -> dict[str, Any] | None:
        return self.accounts.get(account)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


async def serve(registry: FlowRegistry, sink: RecordingSink, lookup: Any = None
                ) -> tuple[FastAgiServer, int]:
    server = FastAgiServer(registry, lookup=lookup, sink=sink, clock=lambda: MONDAY_10)
    port = await server.start("127.0.0.1", 0)
    return server, port


@pytest.fixture
async def running(sink: RecordingSink) -> AsyncIterator[tuple[FastAgiServer, int]]:
    server, port = await serve(FlowRegistry(CONFIG, flows=SHIPPED), sink,
                               DictLookup({"2001": {"id": "C-1", "tier": "gold"}},
                                          by_account={"0123456789": {"id": "C-2",
                                                                     "balance": 118.4}}))
    yield server, port
    await server.close()


async def test_a_call_through_the_main_flow(running: tuple[FastAgiServer, int],
                                            sink: RecordingSink) -> None:
    server, port = running
    call = await FakeCall(digits=["2", "4"]).run(port)
    assert call.commands == [
        "SET VARIABLE CHANNEL(language) de",  # the flow's first language, not Asterisk's 'en'
        'STREAM FILE hotline/welcome ""',
        "GET DATA hotline/choose-language 4000 1",
        "SET VARIABLE CHANNEL(language) en",  # the caller pressed 2 for English
        'STREAM FILE hotline/vip-welcome ""',
        "GET DATA hotline/reason-menu 5000 1",
        'STREAM FILE hotline/please-hold ""',
        "SET VARIABLE HOTLINE_OUTCOME queue",
        "SET VARIABLE HOTLINE_QUEUE complaints",
        "SET VARIABLE HOTLINE_PRIORITY 6",
        "SET VARIABLE HOTLINE_SKILLS english:5",
        "SET VARIABLE HOTLINE_CUSTOMER C-1",
    ]
    assert call.closed_by_server  # the AGI ends; the dialplan parks the caller
    [(uniqueid, queued)] = sink.queued
    assert uniqueid == "1795351674.2"
    assert (queued.queue, queued.priority, queued.customer_id) == ("complaints", 6, "C-1")
    assert queued.attributes == {"reason": "complaint", "tier": "gold", "vip": True}
    assert server.stats.completed == 1 and server.stats.active == 0


async def test_language_switch_and_sensitive_card_entry(running: tuple[FastAgiServer, int],
                                                        sink: RecordingSink) -> None:
    _, port = running
    call = await FakeCall(caller="2002", digits=["1", "5", "0123456789", "1",
                                                 "4111111111111111"]).run(port)
    assert call.commands.count("SET VARIABLE CHANNEL(language) de") == 1
    readout = call.commands.index('STREAM FILE hotline/your-balance-is ""')
    assert call.commands[readout + 1: readout + 5] == [  # 118.40 euros
        'SAY NUMBER 118 ""', 'STREAM FILE hotline/euros ""',
        'SAY NUMBER 40 ""', 'STREAM FILE hotline/cents ""',
    ]
    start = call.commands.index("SET VARIABLE HOTLINE_SENSITIVE 1")
    assert call.commands[start + 1] == "GET DATA hotline/enter-card-number 10000 16"
    assert call.commands[start + 2] == "SET VARIABLE HOTLINE_SENSITIVE 0"
    [(_, queued)] = sink.queued
    assert queued.attributes["card"] == "*" * 16
    assert "4111111111111111" not in repr(queued)


async def test_caller_hangs_up_mid_flow(running: tuple[FastAgiServer, int],
                                        sink: RecordingSink) -> None:
    server, port = running

    def hang_up_on_menu(command: str) -> list[str] | None:
        return ["HANGUP\n"] if command.startswith("GET DATA hotline/reason-menu") else None

    def minus_one(command: str) -> list[str] | None:
        return ["200 result=-1\n"] if command.startswith("GET DATA") else None

    def vanish(command: str) -> list[str] | None:
        return [] if command.startswith("GET DATA") else None

    for answer in (hang_up_on_menu, minus_one, vanish):
        await FakeCall(digits=["1"], answer=answer).run(port)
    await asyncio.sleep(0.05)
    assert server.stats.abandoned == 3
    assert server.outcomes["1795351674.2"] == Abandoned("choose_language")
    assert sink.queued == []
    assert server.stats.active == 0


async def test_slow_lookup_times_out_into_the_error_path(
        tmp_path: Path, sink: RecordingSink, caplog: pytest.LogCaptureFixture) -> None:
    root = deployment(tmp_path, {"main": """\
        start: who
        fallback: agent
        nodes:
          who:
            type: lookup
            timeout_s: 0.2
            next: known
          known:
            type: queue
            queue: billing
            attributes: {tier: customer.tier}
          agent:
            type: queue
            queue: general
        """})
    server, port = await serve(FlowRegistry(root), sink, DictLookup({}, delay_s=5))
    broken, broken_port = await serve(FlowRegistry(root), sink, DictLookup({}, broken=True))
    try:
        with caplog.at_level(logging.WARNING):
            await asyncio.wait_for(FakeCall().run(port), 3)
            await FakeCall(uniqueid="42.1").run(broken_port)
    finally:
        await server.close()
        await broken.close()
    assert [q.queue for _, q in sink.queued] == ["general", "general"]
    assert "no answer within 0.2 s" in (sink.queued[0][1].failure or "")
    assert "call 42.1: customer lookup failed" in caplog.text


async def test_refused_command_takes_the_fallback(running: tuple[FastAgiServer, int],
                                                  sink: RecordingSink) -> None:
    server, port = running

    def refuse_welcome(command: str) -> list[str] | None:
        if command.startswith("STREAM FILE hotline/welcome"):
            return ["510 Invalid or unknown command\n"]
        return None

    call = await FakeCall(answer=refuse_welcome).run(port)
    assert "SET VARIABLE HOTLINE_QUEUE general" in call.commands  # main's fallback: operator
    assert server.stats.fallbacks == 1


async def test_unknown_flow_goes_to_the_default_queue(running: tuple[FastAgiServer, int],
                                                      sink: RecordingSink) -> None:
    call = await FakeCall(flow="mian").run(running[1])
    assert call.commands == ["SET VARIABLE HOTLINE_OUTCOME queue",
                             "SET VARIABLE HOTLINE_QUEUE general",
                             "SET VARIABLE HOTLINE_PRIORITY 0", "SET VARIABLE HOTLINE_SKILLS \"\""]
    assert sink.queued[0][1].failure == "there is no IVR flow 'mian' (flows: account, main)"


async def test_truncated_environment_is_a_protocol_error(
        running: tuple[FastAgiServer, int]) -> None:
    server, port = running
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"agi_network: yes\nagi_network_script: main\n")
    await writer.drain()
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 2) == b""  # closed, nothing sent
    writer.close()
    await writer.wait_closed()
    await asyncio.sleep(0.05)
    assert server.stats.protocol_errors == 1 and server.stats.active == 0


async def test_callback_outcome_hangs_up_after_handing_over(
        running: tuple[FastAgiServer, int], sink: RecordingSink) -> None:
    server, port = running
    server.clock = lambda: dt.datetime(2026, 12, 25, 10)
    call = await FakeCall(caller="2002", digits=["1", "3", "1"]).run(port)
    assert call.commands[-2:] == ["SET VARIABLE HOTLINE_OUTCOME callback", "HANGUP"]
    [(_, request)] = sink.callbacks
    assert (request.queue, request.number) == ("sales", "2002")


async def test_reload_keeps_calls_on_their_version_and_rejects_bad_edits(
        tmp_path: Path, sink: RecordingSink, caplog: pytest.LogCaptureFixture) -> None:
    flow = """\
        start: hello
        nodes:
          hello:
            type: play
            prompt: p/old
            next: ask
          ask:
            type: menu
            prompt: p/ask
            options: {1: agent}
            timeout_s: 3
            fallback: agent
          agent:
            type: queue
            queue: general
        """
    root = deployment(tmp_path, {"main": flow})
    registry = FlowRegistry(root)
    server, port = await serve(registry, sink)
    file = root / "ivr" / "main.yaml"
    first_version = registry.current.version
    edited = asyncio.Event()

    def wait_in_menu(command: str) -> list[str] | None:
        if command.startswith("GET DATA"):
            return ["200 result=1\n"]
        return None

    try:
        # call A starts on the old version and is in the menu while the file changes
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(FakeCall().environment())
        assert await reader.readline() == b'STREAM FILE p/old ""\n'
        file.write_text(file.read_text().replace("p/old", "p/new"))
        assert registry.reload() is True
        edited.set()
        writer.write(b"200 result=0 endpos=1\n")
        assert (await reader.readline()).startswith(b"GET DATA p/ask")
        writer.close()
        await writer.wait_closed()
        # call B gets the new version
        call_b = await FakeCall(answer=wait_in_menu).run(port)
        assert call_b.commands[0] == 'STREAM FILE p/new ""'
        # an invalid edit is rejected and logged; the previous version stays live
        good = registry.current.version
        file.write_text(file.read_text().replace("queue: general", "queue: nowhere"))
        with caplog.at_level(logging.ERROR, logger="ivr.runtime"):
            assert registry.reload_if_changed() is False
        assert registry.current.version == good != first_version
        assert "queue 'nowhere' is not defined in routing.yaml" in caplog.text
        call_c = await FakeCall(answer=wait_in_menu).run(port)
        assert call_c.commands[0] == 'STREAM FILE p/new ""'
    finally:
        await server.close()
    assert edited.is_set()


def test_registry_takes_a_version_loaded_by_its_caller_and_reloads_itself(
        tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": "start: bye\nnodes:\n  bye: {type: hangup}\n"})
    flows, _ = load_flows(root)
    loads: list[Path] = []

    def loader(folder: Path) -> Any:
        loads.append(folder)
        return load_flows(folder)[0]

    registry = FlowRegistry(root, loader=loader, flows=flows)
    assert registry.current is flows and loads == []  # no second validation at start-up
    (root / "ivr" / "main.yaml").write_text("start: bye\nnodes:\n  bye: {type: hangup, "
                                            "prompt: p/bye}\n")
    assert registry.reload_if_changed() is True
    assert loads == [root] and registry.current.version != flows.version


async def test_500_concurrent_sessions_complete(running: tuple[FastAgiServer, int],
                                                sink: RecordingSink) -> None:
    server, port = running
    calls = [FakeCall(uniqueid=f"1795351674.{i}", caller=str(3000 + i),
                      digits=["1", str(1 + i % 4), "0123456789"]) for i in range(500)]
    await asyncio.wait_for(asyncio.gather(*(call.run(port) for call in calls)), 60)
    assert server.stats.completed == 500
    assert server.stats.abandoned == server.stats.protocol_errors == 0
    assert len(sink.queued) == 500
    assert {q.queue for _, q in sink.queued} == {"billing", "technical", "sales", "complaints"}


async def test_voicemail_outcome(running: tuple[FastAgiServer, int]) -> None:
    server, port = running
    server.clock = lambda: dt.datetime(2026, 12, 25, 10)  # the sales office is closed
    call = await FakeCall(caller="2002", digits=["1", "3", "2"]).run(port)
    assert call.commands[-3:] == ['STREAM FILE hotline/leave-message ""',
                                  "SET VARIABLE HOTLINE_OUTCOME voicemail",
                                  "EXEC VoiceMail 300@hotline,u"]


async def test_transfer_outcome(tmp_path: Path, sink: RecordingSink) -> None:
    root = deployment(tmp_path, {"main": """\
        start: desk
        nodes:
          desk:
            type: transfer
            to: "1001"
            context: front-desk
            prompt: p/connecting
        """})
    server, port = await serve(FlowRegistry(root), sink)
    try:
        call = await FakeCall().run(port)
    finally:
        await server.close()
    assert call.commands == ['STREAM FILE p/connecting ""',
                             "SET VARIABLE HOTLINE_OUTCOME transfer",
                             "SET VARIABLE HOTLINE_TRANSFER 1001",
                             "EXEC Goto front-desk,1001,1"]


async def test_callers_hear_the_recording_notice_before_the_hand_over(
        sink: RecordingSink) -> None:
    from recording.policy import RecordingPolicy

    policy = RecordingPolicy.model_validate({
        "kind": "recording_policy",
        "defaults": {"consent_prompt": True, "consent_sound": "hotline/recording-consent"},
        "queues": {"general": {"never": True}}})
    server = FastAgiServer(FlowRegistry(CONFIG, flows=SHIPPED), sink=sink, clock=lambda: MONDAY_10,
                           consent=policy.consent_prompt_for)
    port = await server.start("127.0.0.1", 0)
    try:
        complaint = await FakeCall(digits=["1", "4"]).run(port)
        operator = await FakeCall(digits=["1", "0"], uniqueid="1795351674.3").run(port)
    finally:
        await server.close()
    assert complaint.commands[-3:] == ["SET VARIABLE HOTLINE_PRIORITY 1",
                                       'SET VARIABLE HOTLINE_SKILLS ""',
                                       'STREAM FILE hotline/recording-consent ""']
    assert [(u, q.queue) for u, q in sink.queued] == [("1795351674.2", "complaints"),
                                                      ("1795351674.3", "general")]
    # the general queue is never recorded, so its callers hear no notice
    assert operator.commands[-1] == 'SET VARIABLE HOTLINE_SKILLS ""'
