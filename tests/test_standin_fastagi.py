"""The stand-in's FastAGI client plays Asterisk's side of an IVR session."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from cti.ami.transcript import client_bytes, server_bytes
from ivr.fastagi import FastAgiServer
from ivr.runtime import FlowRegistry
from sim.asterisk import AgentScript, AsteriskStandin, CallerScript, World
from sim.asterisk.fastagi import AgiChannelInfo, CallerInput, FastAgiClient, parse_agi_url
from sim.asterisk.probe import AmiProbe

FIXTURES = Path(__file__).parent / "fixtures" / "asterisk"
TRANSCRIPT = FIXTURES / "fastagi_session.txt"

Flow = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class TinyFastAgiServer:
    """A FastAGI server on 127.0.0.1 running ``flow`` for each connection; keeps the env."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.environments: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> TinyFastAgiServer:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        env = b""
        while (line := await reader.readline()) not in (b"\n", b""):
            env += line
        self.environments.append(env + b"\n")
        try:
            await self.flow(reader, writer)
        finally:
            writer.close()


async def command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str) -> str:
    writer.write(line.encode() + b"\n")
    await writer.drain()
    return (await reader.readline()).decode().rstrip("\n")


async def test_session_is_byte_for_byte_the_recorded_one():
    commands = client_bytes(TRANSCRIPT).decode().splitlines()
    replies: list[str] = []

    async def replay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for line in commands:
            replies.append(await command(reader, writer, line))

    async with TinyFastAgiServer(replay) as server:
        info = AgiChannelInfo("PJSIP/2001-00000002", "1795351674.2", "2001", "Caller 2001",
                              "100", "from-callers", "100", 3)
        client = FastAgiClient(info, CallerInput.of(["42#"]))
        result = await client.run(f"agi://127.0.0.1:{server.port}/main")

    recorded = server_bytes(TRANSCRIPT).replace(b"127.0.0.1:4573", f"127.0.0.1:{server.port}"
                                                .encode())
    env, _, recorded_replies = recorded.partition(b"\n\n")
    assert server.environments == [env + b"\n\n"]
    assert replies == recorded_replies.decode().splitlines()
    assert result.status == "SUCCESS"
    assert result.commands == commands
    assert result.variables == {"IVR_CHOICE": "42"} and result.answered


async def test_caller_hangup_mid_ivr_reports_hangup_and_refuses_commands():
    replies: list[str] = []
    hung_up = asyncio.Event()
    client: FastAgiClient | None = None

    async def flow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        replies.append(await command(reader, writer, "ANSWER"))
        assert client is not None
        client.hang_up()
        replies.append((await reader.readline()).decode().rstrip("\n"))
        replies.append(await command(reader, writer, "STREAM FILE menu \"\""))
        hung_up.set()

    async with TinyFastAgiServer(flow) as server:
        info = AgiChannelInfo("PJSIP/2001-00000001", "1795352000.1", "2001", "Caller 2001",
                              "400", "hotline-inbound", "400", 4)
        client = FastAgiClient(info, CallerInput())
        result = await client.run(f"agi://127.0.0.1:{server.port}/main")
    assert replies == ["200 result=0", "HANGUP",
                       "511 Command Not Permitted on a dead channel or intercepted"]
    assert result.status == "HANGUP" and hung_up.is_set()


async def test_unreachable_server_is_agistatus_failure():
    async with TinyFastAgiServer(lambda r, w: asyncio.sleep(0)) as server:
        port = server.port
    info = AgiChannelInfo("PJSIP/2001-00000001", "1.1", "2001", "C", "400", "x", "400", 4)
    result = await FastAgiClient(info, CallerInput()).run(f"agi://127.0.0.1:{port}/main")
    assert result.status == "FAILURE" and result.commands == []


def test_agi_url_parsing():
    assert parse_agi_url("agi://127.0.0.1:4573/main") == ("127.0.0.1", 4573, "main")
    assert parse_agi_url("agi://hotline/billing") == ("hotline", 4573, "billing")


async def ivr_menu(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A two-option IVR: 1 -> queue sales, anything else -> goodbye."""
    await command(reader, writer, "ANSWER")
    reply = await command(reader, writer, "GET DATA menu 5000 1")
    choice = reply.removeprefix("200 result=").split(" ")[0]
    if choice == "1":
        await command(reader, writer, "SET VARIABLE HOTLINE_QUEUE sales")
        await command(reader, writer, "SET VARIABLE HOTLINE_OUTCOME queue")
    else:
        await command(reader, writer, "SET VARIABLE HOTLINE_OUTCOME hangup")


@pytest.fixture
async def standin():
    async with AsteriskStandin(time_scale=0.002) as asterisk:
        yield asterisk


async def test_ivr_caller_is_queued_where_the_flow_said(standin: AsteriskStandin):
    async with TinyFastAgiServer(ivr_menu) as server:
        world = World(standin, agi_url=f"agi://127.0.0.1:{server.port}")
        world.add_agent("1001", script=AgentScript(answer_after=1.0, talk_for=2.0))
        probe = await AmiProbe.connect(standin.port)
        await probe.login()
        caller = await world.call(world.add_caller(
            "2001", script=CallerScript(ivr_flow="main", keys=("1",))))
    queued = await probe.wait_event("UserEvent", UserEvent="HotlineQueued")
    assert (queued.get("Queue"), queued.get("Contact")) == ("sales", caller.uniqueid)
    assert caller.state == "waiting" and caller.agi is not None
    assert caller.agi.commands == ["ANSWER", "GET DATA menu 5000 1",
                                   "SET VARIABLE HOTLINE_QUEUE sales",
                                   "SET VARIABLE HOTLINE_OUTCOME queue"]
    agi = next(m for m in probe.events(caller.channel) if m.get("Application") == "AGI")
    assert agi.get("AppData") == f"agi://127.0.0.1:{server.port}/main"
    variables = [(m.get("Variable"), m.get("Value")) for m in probe.events(caller.channel)
                 if m.name == "VarSet"]
    assert ("HOTLINE_QUEUE", "sales") in variables and ("AGISTATUS", "SUCCESS") in variables
    await probe.action("Redirect", Channel=caller.channel, Context="hotline-connect",
                       Exten="1001", Priority="1")
    await world.wait_for(lambda: caller.state == "done")
    assert caller.outcome == "answered"
    await probe.close()


async def test_ivr_goodbye_hangs_up_and_unreachable_ivr_falls_back(standin: AsteriskStandin):
    async with TinyFastAgiServer(ivr_menu) as server:
        world = World(standin, agi_url=f"agi://127.0.0.1:{server.port}")
        bye = await world.call(world.add_caller(
            "2001", script=CallerScript(ivr_flow="main", keys=("9",))))
    assert bye.state == "done" and bye.outcome == "ivr_hangup"
    # The server is gone now: AGISTATUS=FAILURE, the dialplan queues the caller in 'general'.
    lost = await world.call(world.add_caller("2002", script=CallerScript(ivr_flow="main")))
    assert lost.state == "waiting" and lost.agi is not None and lost.agi.status == "FAILURE"
    queued = [m for m in standin.events if m.get("UserEvent") == "HotlineQueued"]
    assert [m.get("Queue") for m in queued] == ["general"]


class Sink:
    """The live engine's side of the IVR hand-over, collected."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, object]] = []

    async def enqueue(self, call, request) -> None:
        self.queued.append((call.uniqueid, request))

    async def callback(self, call, request) -> None:
        raise AssertionError("no callback expected")


class PhoneBook:
    async def by_phone(self, number: str) -> dict | None:
        return {"id": "C-1", "tier": "gold"} if number == "2001" else None

    async def by_account(self, account: str) -> dict | None:
        return None


async def test_world_caller_through_hotlines_own_ivr_server(standin: AsteriskStandin):
    server = FastAgiServer(FlowRegistry(Path(__file__).resolve().parent.parent / "config"),
                           lookup=PhoneBook(), sink=(sink := Sink()),
                           clock=lambda: dt.datetime(2026, 11, 23, 10, 0))
    port = await server.start("127.0.0.1", 0)
    try:
        world = World(standin, agi_url=f"agi://127.0.0.1:{port}")
        probe = await AmiProbe.connect(standin.port)
        await probe.login()
        caller = await world.call(world.add_caller(
            "2001", script=CallerScript(ivr_flow="main", keys=("2", "4"))))
    finally:
        await server.close()
    assert caller.state == "waiting" and caller.agi is not None
    assert caller.agi.variables["HOTLINE_QUEUE"] == "complaints"
    queued = await probe.wait_event("UserEvent", UserEvent="HotlineQueued")
    assert (queued.get("Queue"), queued.get("Contact")) == ("complaints", caller.uniqueid)
    [(uniqueid, request)] = sink.queued
    assert uniqueid == caller.uniqueid and request.priority == 6
    await probe.wait_event("VarSet", Channel=caller.channel, Variable="HOTLINE_PRIORITY",
                           Value="6")
    await probe.close()
