"""The asyncio AMI client against a real TCP server on 127.0.0.1 replaying transcripts."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from ami_replay import FIXTURES

from cti.ami import events as ev
from cti.ami.client import AmiClient, AmiSettings, backoff_delays
from cti.ami.protocol import AmiMessage, AmiParser
from cti.ami.snapshot import resynchronise
from cti.ami.transcript import read_transcript
from cti.errors import AmiActionError, AmiActionTimeout, AmiAuthError, AmiNotConnected
from cti.tracker import CallTracker
from cti.transitions import REASON_LOST, CallAdopted, CallPhase, CallStarted, Ended, Queued

SECRET = "cti-secret-never-logged"


@dataclass
class Script:
    """How one accepted connection behaves."""

    transcript: str
    drop_after: str | None = None  # close the socket after answering this action
    silent_after_login: bool = False  # a half-open peer: reads, never answers
    defer_events_until: str | None = None  # hold the post-login events until this action
    ignore: frozenset[str] = frozenset()  # actions never answered


@dataclass
class Exchange:
    action: AmiMessage
    reply: bytes
    used: bool = False


def exchanges(transcript: str) -> tuple[bytes, list[Exchange]]:
    runs = read_transcript(FIXTURES / transcript)
    banner = runs[0].data
    out: list[Exchange] = []
    for run in runs[1:]:
        if run.from_server:
            out[-1].reply += run.data
            continue
        parser = AmiParser(expect_banner=False)
        parser.receive_data(run.data)
        out.extend(Exchange(m, b"") for m in parser.messages())  # type: ignore[arg-type]
    return banner, out


def same_target(recorded: AmiMessage, sent: AmiMessage) -> bool:
    """The recorded answer fits: same action on the same channel/variable/bridge."""
    return recorded.name == sent.name and all(
        recorded.get(key) == sent.get(key) for key in ("Channel", "Variable", "BridgeUniqueid")
        if recorded.get(key) is not None and sent.get(key) is not None)


def synthesized(action: AmiMessage, action_id: str) -> bytes:
    """Answers for actions a transcript does not contain, in the recorded formats."""
    head = f"ActionID: {action_id}\r\n"
    if action.name == "Ping":
        return f"Response: Success\r\n{head}Ping: Pong\r\nTimestamp: 0.000000\r\n\r\n".encode()
    if action.name == "Logoff":
        return f"Response: Goodbye\r\n{head}Message: Thanks for all the fish.\r\n\r\n".encode()
    if action.name in ("CoreShowChannels", "BridgeList"):
        return (f"Response: Success\r\n{head}EventList: start\r\nMessage: will follow\r\n\r\n"
                f"Event: {action.name}Complete\r\n{head}EventList: Complete\r\n"
                "ListItems: 0\r\n\r\n").encode()
    return f"Response: Error\r\n{head}Message: Not in the transcript\r\n\r\n".encode()


class TranscriptServer:
    """A tiny AMI server: each connection follows the next Script (the last one repeats)."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.connections = 0
        self.received: list[AmiMessage] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        script = self.scripts[min(self.connections, len(self.scripts) - 1)]
        self.connections += 1
        banner, script_exchanges = exchanges(script.transcript)
        writer.write(banner)
        parser = AmiParser(expect_banner=False)
        deferred = b""
        logged_in = False
        while data := await reader.read(4096):
            parser.receive_data(data)
            for action in parser.messages():
                assert isinstance(action, AmiMessage) and action.kind == "action"
                self.received.append(action)
                if action.name in script.ignore or (logged_in and script.silent_after_login):
                    continue
                action_id = action.get("ActionID") or ""
                match = next((x for x in script_exchanges
                              if not x.used and same_target(x.action, action)), None)
                if match is None:
                    reply = synthesized(action, action_id)
                else:
                    match.used = True
                    recorded = (match.action.get("ActionID") or "").encode()
                    reply = match.reply.replace(b"ActionID: " + recorded + b"\r\n",
                                                b"ActionID: " + action_id.encode() + b"\r\n")
                if action.name == "Login":
                    logged_in = True
                    if script.defer_events_until is not None:
                        end = reply.index(b"\r\n\r\n") + 4
                        reply, deferred = reply[:end], reply[end:]
                writer.write(reply)
                if action.name == script.defer_events_until:
                    writer.write(deferred)
                await writer.drain()
                if action.name == script.drop_after:
                    writer.close()
                    return
        writer.close()


@dataclass
class Recorder:
    """The engine side of the tests: a tracker fed by the client, transitions recorded."""

    tracker: CallTracker = field(default_factory=CallTracker)
    events: list[ev.AmiEvent] = field(default_factory=list)
    transitions: list = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    hook_runs: int = 0

    def on_event(self, event: ev.AmiEvent) -> None:
        self.events.append(event)
        self.transitions.extend(self.tracker.feed(event, at=0.0))
        self.changed.set()

    async def on_connected(self, client: AmiClient) -> None:
        self.transitions.extend(await resynchronise(client, self.tracker, lambda: 1.0))
        self.hook_runs += 1
        self.changed.set()

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


def settings(port: int, **overrides: object) -> AmiSettings:
    base: dict = dict(host="127.0.0.1", port=port, username="cti", secret=SECRET,
                      ping_interval=30.0, ping_timeout=1.0, action_timeout=2.0,
                      backoff_initial=0.02, backoff_max=0.1, connect_timeout=1.0)
    base.update(overrides)
    return AmiSettings(**base)


async def serving(server: TranscriptServer, client: AmiClient,
                  body: Callable[[], Awaitable[None]]) -> None:
    task = asyncio.create_task(client.run())
    try:
        await body()
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)
        await server.stop()


async def test_login_actions_and_mixmonitor_errors_from_the_transcript() -> None:
    server = TranscriptServer([Script("ami_mixmonitor.txt")])
    await server.start()
    rec = Recorder()
    client = AmiClient(settings(server.port))
    client.add_handler(rec.on_event)

    async def body() -> None:
        await client.wait_ready(5)
        assert client.connected and client.asterisk_version == "11.0.0"
        channel = "PJSIP/2002-00000008"
        result = await client.mixmonitor(channel, "/var/spool/asterisk/monitor/x.wav")
        assert result.response.get("Response") == "Success"
        await client.mixmonitor_mute(channel, True, "read")
        await client.mixmonitor_mute(channel, False, "read")
        await client.stop_mixmonitor(channel)
        with pytest.raises(AmiActionError) as again:
            await client.stop_mixmonitor(channel)
        assert again.value.reason == "Could not stop monitoring channel"
        with pytest.raises(AmiActionError, match="No such channel"):
            await client.mixmonitor("PJSIP/nosuch-00000000", "/tmp/x.wav")
        await rec.until(lambda: any(isinstance(t, Ended) for t in rec.transitions))
        mutes = [e.muted for e in rec.events if isinstance(e, ev.MixMonitorMute)]
        assert mutes == [True, False]
        assert [type(t).__name__ for t in rec.transitions] == ["CallStarted", "Ended"]
        sent = {m.name: m for m in server.received}
        assert sent["Login"].get("Username") == "cti"
        assert sent["MixMonitor"].get("File") == "/tmp/x.wav"  # the last MixMonitor sent
        assert sent["MixMonitorMute"].get("Direction") == "read"

    await serving(server, client, body)
    assert [m.name for m in server.received][-1] == "Logoff"


async def test_wrong_secret_is_a_typed_auth_error_and_is_never_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = TranscriptServer([Script("ami_login_failed.txt", drop_after="Login")])
    await server.start()
    client = AmiClient(settings(server.port))
    with pytest.raises(AmiAuthError, match="Authentication failed"):
        await asyncio.wait_for(client.run(), 5)
    assert server.connections == 1 and not client.connected
    assert server.received[0].get("Secret") == SECRET  # it was sent...
    assert SECRET not in caplog.text  # ...but never logged
    await server.stop()


async def test_dropped_connection_reconnects_and_resyncs_without_losing_or_doubling(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = TranscriptServer([
        Script("hotline_redirect_answered.txt", drop_after="Redirect",
               defer_events_until="BridgeList"),
        Script("hotline_resync.txt"),
    ])
    await server.start()
    rec = Recorder()
    client = AmiClient(settings(server.port), on_connected=rec.on_connected,
                       on_disconnected=lambda error: rec.tracker.begin_resync())
    client.add_handler(rec.on_event)

    async def body() -> None:
        await rec.until(lambda: any(isinstance(t, Queued) for t in rec.transitions))
        await client.redirect("PJSIP/2001-00000001", "hotline-connect", "1001")
        # The server drops the link mid-call; the client reconnects and resynchronises.
        await rec.until(lambda: rec.hook_runs == 2)
        assert client.stats.connects == 2 and client.stats.disconnects == 1
        started = [t.call_id for t in rec.transitions if isinstance(t, CallStarted)]
        assert started == ["1795352021.1"]
        (lost,) = [t for t in rec.transitions if isinstance(t, Ended)]
        assert lost.call_id == "1795352021.1" and lost.reason == REASON_LOST
        assert lost.answered and lost.agent == "1001"
        adopted = {t.call_id: t for t in rec.transitions if isinstance(t, CallAdopted)}
        assert adopted["1795352054.10"].phase is CallPhase.WAITING
        assert adopted["1795352054.10"].contact_id == "1795352054.10"
        assert adopted["1795352052.8"].phase is CallPhase.TALKING
        assert adopted["1795352052.8"].agent == "1001"
        assert {c.call_id for c in rec.tracker.calls()} == {"1795352054.10", "1795352052.8"}
        names = [m.name for m in server.received]
        assert names.count("Login") == 2 and names.count("CoreShowChannels") == 2
        getvars = [m for m in server.received if m.name == "Getvar"]
        # Both Hotline caller channels are asked; the transcript only recorded the waiting
        # one's HOTLINE_CONTACT, so the bridged caller's Getvar gets an error and is skipped.
        assert [(m.get("Channel"), m.get("Variable")) for m in getvars] == [
            ("PJSIP/2001-00000008", "HOTLINE_CONTACT"), ("PJSIP/2002-0000000a", "HOTLINE_CONTACT")]

    await serving(server, client, body)
    assert SECRET not in caplog.text


async def test_silent_peer_is_detected_by_the_keepalive() -> None:
    server = TranscriptServer([
        Script("hotline_abandon_waiting.txt", silent_after_login=True),
        Script("hotline_abandon_waiting.txt"),
    ])
    await server.start()
    client = AmiClient(settings(server.port, ping_interval=0.05, ping_timeout=0.2))
    rec = Recorder()

    async def body() -> None:
        await rec.until(lambda: client.stats.connects == 2 and client.connected, timeout=5)
        assert client.stats.keepalive_timeouts == 1
        assert "did not answer Ping" in (client.stats.last_error or "")
        await client.ping()

    async def poll() -> None:
        while True:
            await asyncio.sleep(0.02)
            rec.changed.set()

    poller = asyncio.create_task(poll())
    try:
        await serving(server, client, body)
    finally:
        poller.cancel()


async def test_handler_errors_are_logged_with_call_ids_counted_and_not_fatal(
        caplog: pytest.LogCaptureFixture) -> None:
    server = TranscriptServer([Script("hotline_abandon_waiting.txt")])
    await server.start()
    rec = Recorder()
    client = AmiClient(settings(server.port))

    def broken(event: ev.AmiEvent) -> None:
        if isinstance(event, ev.Hangup):
            raise RuntimeError("screen-pop service exploded")

    async def broken_async(event: ev.AmiEvent) -> None:
        if isinstance(event, ev.HangupRequest):
            raise KeyError("agent")

    async def awaits_an_action(event: ev.AmiEvent) -> None:
        if isinstance(event, ev.MusicOnHoldStart):
            await client.ping()  # would deadlock the reader: refused, logged, counted

    client.add_handler(broken)
    client.add_handler(broken_async)
    client.add_handler(awaits_an_action)
    client.add_handler(rec.on_event)

    async def body() -> None:
        await rec.until(lambda: any(isinstance(e, ev.Hangup) for e in rec.events))
        assert client.stats.handler_errors == 3
        failures = [r for r in caplog.records if "handler" in r.getMessage()]
        assert [r.getMessage().split(" failed on ")[1].split(" ")[0] for r in failures] == [
            "MusicOnHoldStart", "HangupRequest", "Hangup"]
        assert "uniqueid=1795352016.0 linkedid=1795352016.0" in failures[2].getMessage()
        assert failures[2].exc_info is not None and "exploded" in caplog.text
        assert "would deadlock" in caplog.text
        assert getattr(failures[1], "uniqueid", None) == "1795352016.0"
        await client.ping()  # the connection survived

    await serving(server, client, body)


async def test_unanswered_action_times_out_and_the_session_goes_on() -> None:
    server = TranscriptServer([Script("hotline_abandon_waiting.txt", ignore=frozenset({"Hangup"}))])
    await server.start()
    client = AmiClient(settings(server.port, action_timeout=0.2))

    async def body() -> None:
        await client.wait_ready(5)
        with pytest.raises(AmiActionTimeout, match="Hangup"):
            await client.hangup("PJSIP/2002-00000000")
        assert (await client.ping()).get("Ping") == "Pong"

    await serving(server, client, body)


async def test_actions_need_a_session() -> None:
    client = AmiClient(settings(1))
    with pytest.raises(AmiNotConnected, match="Redirect"):
        await client.redirect("PJSIP/2001-1", "hotline-connect", "1001")


async def test_connect_failures_back_off_until_asterisk_is_up() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AmiClient(settings(port))
    task = asyncio.create_task(client.run())
    rec = Recorder()

    async def poll() -> None:
        while True:
            await asyncio.sleep(0.02)
            rec.changed.set()

    poller = asyncio.create_task(poll())
    server = TranscriptServer([Script("hotline_abandon_waiting.txt")])
    try:
        await rec.until(lambda: client.stats.connect_failures >= 2)
        await server.start(port)
        await client.wait_ready(5)
        assert client.stats.connects == 1
    finally:
        poller.cancel()
        await client.close()
        await asyncio.wait_for(task, 5)
        await server.stop()


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = backoff_delays(AmiSettings(backoff_initial=0.5, backoff_max=3.0))
    assert [next(delays) for _ in range(6)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_settings_repr_hides_the_secret() -> None:
    assert SECRET not in repr(settings(5038))


async def test_originate_builders_send_what_asterisk_was_sent() -> None:
    server = TranscriptServer([Script("ami_originate.txt")])
    await server.start()
    rec = Recorder()
    client = AmiClient(settings(server.port))
    client.add_handler(rec.on_event)

    async def body() -> None:
        await client.wait_ready(5)
        done = await client.originate(
            "PJSIP/1001", context="from-agents", exten="2001", caller_id='"Click2Call" <1001>',
            timeout_ms=20000, variables={"CTI_CALL_ID": "c2c-0001"})
        response = done.completion_event()
        assert isinstance(response, ev.OriginateResponse)
        assert response.response == "Success" and response.uniqueid == "1795351689.6"
        with pytest.raises(AmiActionError, match="OriginateResponse Failure"):
            await client.originate("PJSIP/1003", context="from-agents", exten="2001",
                                   timeout_ms=10000)
        sync = await client.originate("Local/700@from-callers", application="Wait", data="2",
                                      timeout_ms=10000, caller_id='"CTI" <999>',
                                      asynchronous=False)
        assert sync.completion is None and sync.get("Response") == "Success"
        await rec.until(lambda: sum(isinstance(t, Ended) for t in rec.transitions) == 2)

    await serving(server, client, body)
    _, recorded = exchanges("ami_originate.txt")
    recorded_fields = [sorted((k, v) for k, v in x.action.fields if k != "ActionID")
                       for x in recorded if x.action.name == "Originate"]
    sent_fields = [sorted((k, v) for k, v in m.fields if k != "ActionID")
                   for m in server.received if m.name == "Originate"]
    assert sent_fields == recorded_fields
