"""The FastAGI server: Asterisk's ``AGI(agi://hotline:4573/<flow>)`` runs a flow here.

Each connection is one call. The server reads the AGI environment, takes the current FlowSet
from the :class:`~ivr.runtime.FlowRegistry` (the call keeps it to the end), and drives a
:class:`~ivr.interpreter.CallSession`: each command becomes AGI commands on the socket, each
reply becomes the session's result. The outcome is handed over as channel variables the
dialplan reads after the AGI returns (``HOTLINE_OUTCOME``, ``HOTLINE_QUEUE``, ...) and, for a
queue or a callback, through the :class:`QueueSink` the live engine provides.

Failures never leave the caller in silence: a slow or broken customer lookup, a 510/520 reply,
an unknown flow all go to the flow's fallback or the default queue, logged with the call's
unique id. A caller who hangs up (``HANGUP``, ``result=-1``, 511 or the socket closing) ends
the session as :class:`~ivr.commands.Abandoned`.

Written on ``asyncio.start_server`` rather than panoramisk's FastAGI server, whose header loop
does not stop when the stream ends before the blank line.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ivr.agi import AgiEnvironment, AgiReply, EnvironmentParser, ReplyParser, format_command
from ivr.commands import (
    Abandoned,
    Callback,
    Digits,
    Failure,
    Gather,
    Hangup,
    Lookup,
    LookupFailure,
    LookupResult,
    Menu,
    Outcome,
    Play,
    Queue,
    Result,
    Say,
    SensitiveEnd,
    SensitiveStart,
    SetVariable,
    Transfer,
    Voicemail,
)
from ivr.customers import CustomerLookup
from ivr.errors import AgiProtocolError, CallerHungUp, IvrError, UnknownFlowError
from ivr.interpreter import CallSession
from ivr.runtime import FlowRegistry

ESCAPE_DIGITS = "0123456789*#"


class QueueSink(Protocol):
    """Where the runtime hands over callers who leave the IVR for an agent (cti provides it).

    ``enqueue`` is awaited after the channel variables are set and before the AGI returns (the
    dialplan then parks the caller with music on hold); ``callback`` likewise before hang-up.
    An exception is logged with the call's unique id; the dialplan still parks the caller.
    """

    async def enqueue(self, call: AgiEnvironment, request: Queue) -> None: ...

    async def callback(self, call: AgiEnvironment, request: Callback) -> None: ...


@dataclass(slots=True)
class ServerStats:
    sessions: int = 0
    completed: int = 0
    abandoned: int = 0
    protocol_errors: int = 0
    fallbacks: int = 0
    active: int = 0


@dataclass(frozen=True, slots=True)
class AgiOptions:
    reply_timeout_s: float = 120.0  # a GET DATA may legitimately wait for the caller
    amount_prompts: tuple[str, str] = ("hotline/euros", "hotline/cents")


class _Channel:
    """One connection: send a command, read its reply; hang-up and EOF become CallerHungUp."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 options: AgiOptions) -> None:
        self.reader = reader
        self.writer = writer
        self.options = options
        self.language = ""  # set from the environment once it is read

    async def environment(self) -> AgiEnvironment:
        parser = EnvironmentParser()
        while True:
            line = await asyncio.wait_for(self.reader.readline(), self.options.reply_timeout_s)
            if not line.endswith(b"\n"):
                raise AgiProtocolError("the connection closed before the AGI environment ended")
            if parser.feed(line.decode("utf-8", "replace")):
                return parser.environment()

    async def run(self, verb: str, *arguments: str) -> AgiReply:
        self.writer.write(format_command(verb, *arguments))
        await self.writer.drain()
        parser = ReplyParser()
        while True:
            try:
                line = await asyncio.wait_for(self.reader.readline(),
                                              self.options.reply_timeout_s)
            except TimeoutError:
                raise AgiProtocolError(f"no reply to {verb} within "
                                       f"{self.options.reply_timeout_s:g} s") from None
            if not line.endswith(b"\n"):
                raise CallerHungUp(f"the connection closed while waiting for {verb}")
            reply = parser.feed(line.decode("utf-8", "replace"))
            if reply is None:
                continue
            if reply.code == 511:
                raise CallerHungUp(f"{verb}: the channel is gone ({reply.text})")
            if reply.code != 200:
                raise AgiProtocolError(f"{verb} was refused: {reply.text}")
            return reply

    async def run_media(self, verb: str, *arguments: str) -> AgiReply:
        """A command that plays or listens: ``result=-1`` means the caller hung up."""
        reply = await self.run(verb, *arguments)
        if reply.result == "-1":
            raise CallerHungUp(f"{verb} {arguments[0] if arguments else ''}: result=-1")
        return reply

    async def set_language(self, language: str) -> None:
        if language and language != self.language:
            await self.run("SET VARIABLE", "CHANNEL(language)", language)
            self.language = language

    async def set(self, name: str, value: str) -> None:
        await self.run("SET VARIABLE", name, value)


class FastAgiServer:
    """Serves flows to Asterisk over FastAGI; one asyncio task per call."""

    def __init__(
        self,
        registry: FlowRegistry,
        *,
        lookup: CustomerLookup | None = None,
        sink: QueueSink | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        options: AgiOptions | None = None,
        logger: logging.Logger | None = None,
        consent: Callable[[str], str | None] | None = None,
    ) -> None:
        self.registry = registry
        self.lookup = lookup
        self.sink = sink
        # queue -> the recording notice callers of that queue must hear before an agent
        # answers, or None (cti passes the recording policy's consent_prompt_for)
        self.consent = consent
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.options = options or AgiOptions()
        self.log = logger or logging.getLogger("ivr.fastagi")
        self.stats = ServerStats()
        self.outcomes: dict[str, Outcome | Abandoned] = {}  # last outcomes, for diagnostics
        self._server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 4573) -> int:
        """Listen; returns the port (useful with port 0)."""
        self._server = await asyncio.start_server(self._handle, host, port, backlog=1024,
                                                  limit=16384)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def serve_forever(self) -> None:
        if self._server is None:
            raise IvrError("start() the FastAGI server before serve_forever()")
        await self._server.serve_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.sessions += 1
        self.stats.active += 1
        channel = _Channel(reader, writer, self.options)
        uniqueid = "?"
        try:
            env = await channel.environment()
            uniqueid = env.uniqueid or "?"
            channel.language = env.language
            outcome = await self.run_call(env, channel)
            self.outcomes[uniqueid] = outcome
            if len(self.outcomes) > 10000:  # keep the record bounded on a long-running server
                self.outcomes.pop(next(iter(self.outcomes)))
        except (AgiProtocolError, TimeoutError, UnicodeError) as exc:
            self.stats.protocol_errors += 1
            self.log.error("call %s: FastAGI protocol error: %s", uniqueid, exc)
        except (ConnectionError, CallerHungUp) as exc:
            self.stats.abandoned += 1
            self.log.info("call %s: connection ended: %s", uniqueid, exc)
        finally:
            self.stats.active -= 1
            writer.close()
            with contextlib.suppress(ConnectionError):  # the peer may already be gone
                await writer.wait_closed()

    async def run_call(self, env: AgiEnvironment, channel: _Channel) -> Outcome | Abandoned:
        flows = self.registry.current  # this call keeps this version to the end
        try:
            session = CallSession(
                flows, env.flow, caller_id=env.caller_id, now=self.clock(),
                uniqueid=env.uniqueid, caller_name=env.caller_name, dnid=env.dnid,
                channel=env.channel,  # the flow's first language, not Asterisk's default
            )
        except UnknownFlowError as exc:
            self.stats.fallbacks += 1
            self.log.error("call %s: %s; sending the caller to the default queue",
                           env.uniqueid, exc)
            outcome: Outcome = (
                Queue(flows.default_queue, {}, 0, {}, None, (), {}, env.language, str(exc))
                if flows.default_queue else Hangup(f"failure: {exc}")
            )
            await self._finish(env, channel, outcome)
            return outcome
        command = session.start()
        try:
            while not session.done:
                try:
                    result = await self._carry_out(env, channel, command)
                except AgiProtocolError as exc:
                    self.log.error("call %s: %s; taking the fallback", env.uniqueid, exc)
                    result = Failure(str(exc))
                command = session.send(result)
            assert session.outcome is not None and not isinstance(session.outcome, Abandoned)
            if session.failures:
                self.stats.fallbacks += 1
            await self._finish(env, channel, session.outcome)
        except CallerHungUp:
            abandoned = session.hang_up()
            self.stats.abandoned += 1
            self.log.info("call %s: caller hung up in node '%s'", env.uniqueid, abandoned.node)
            return abandoned
        self.stats.completed += 1
        return session.outcome

    async def _carry_out(self, env: AgiEnvironment, channel: _Channel, command: object) -> Result:
        if isinstance(command, Play):
            await channel.set_language(command.language)
            for prompt in command.prompts:
                await channel.run_media("STREAM FILE", prompt, "")
            return None
        if isinstance(command, Menu):
            return await self._listen(channel, command.prompts, command.language,
                                      command.timeout_s, command.max_digits, escape=True)
        if isinstance(command, Gather):
            return await self._listen(channel, command.prompts, command.language,
                                      command.timeout_s, command.max_digits, escape=False)
        if isinstance(command, Lookup):
            return await self._lookup(env, command)
        if isinstance(command, Say):
            await channel.set_language(command.language)
            await self._say(channel, command)
            return None
        if isinstance(command, SetVariable):
            await channel.set(command.name, command.value)
            return None
        if isinstance(command, SensitiveStart | SensitiveEnd):
            await channel.set("HOTLINE_SENSITIVE", "1" if isinstance(command, SensitiveStart)
                              else "0")
            return None
        raise AgiProtocolError(f"no FastAGI mapping for {type(command).__name__}")

    async def _listen(self, channel: _Channel, prompts: tuple[str, ...], language: str,
                      timeout_s: float, max_digits: int, *, escape: bool) -> Digits:
        await channel.set_language(language)
        for prompt in prompts[:-1]:
            reply = await channel.run_media("STREAM FILE", prompt, ESCAPE_DIGITS if escape
                                            else "")
            if escape and reply.number > 0:  # the caller chose before the menu ended
                return Digits(chr(reply.number))
        reply = await channel.run_media("GET DATA", prompts[-1] if prompts else "silence/1",
                                        str(int(timeout_s * 1000)), str(max_digits))
        return Digits(reply.result)

    async def _say(self, channel: _Channel, command: Say) -> None:
        if command.kind == "digits":
            await channel.run_media("SAY DIGITS", command.value, "")
        elif command.kind == "number":
            await channel.run_media("SAY NUMBER", command.value, "")
        elif command.kind == "amount":
            units, _, cents = command.value.partition(".")
            major, minor = self.options.amount_prompts
            await channel.run_media("SAY NUMBER", units, "")
            await channel.run_media("STREAM FILE", major, "")
            if cents.strip("0"):
                await channel.run_media("SAY NUMBER", str(int(cents)), "")
                await channel.run_media("STREAM FILE", minor, "")
        else:
            day = dt.date.fromisoformat(command.value)
            noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC)
            await channel.run_media("SAY DATE", str(int(noon.timestamp())), "")

    async def _lookup(self, env: AgiEnvironment, command: Lookup) -> Result:
        if self.lookup is None:
            return LookupResult(None)
        find = self.lookup.by_phone if command.by == "phone" else self.lookup.by_account
        try:
            customer = await asyncio.wait_for(find(command.value), command.timeout_s)
        except TimeoutError:
            return LookupFailure(f"no answer within {command.timeout_s:g} s")
        except Exception as exc:  # the port's own failures: logged, then the flow's error path
            self.log.warning("call %s: customer lookup failed: %r", env.uniqueid, exc)
            return LookupFailure(f"{type(exc).__name__}: {exc}")
        return LookupResult(customer)

    async def _finish(self, env: AgiEnvironment, channel: _Channel, outcome: Outcome) -> None:
        kind = type(outcome).__name__.lower()
        await channel.set("HOTLINE_OUTCOME", kind)
        if isinstance(outcome, Queue):
            await channel.set("HOTLINE_QUEUE", outcome.queue)
            await channel.set("HOTLINE_PRIORITY", str(outcome.priority))
            await channel.set("HOTLINE_SKILLS", ",".join(f"{s}:{lvl}" for s, lvl in
                                                         sorted(outcome.skills.items())))
            if outcome.customer_id:
                await channel.set("HOTLINE_CUSTOMER", outcome.customer_id)
            notice = self.consent(outcome.queue) if self.consent is not None else None
            if notice:  # before the hand-over: an agent may answer the moment it is done
                await channel.run_media("STREAM FILE", notice, "")
            await self._hand_over(env, outcome)
        elif isinstance(outcome, Transfer):
            await channel.set("HOTLINE_TRANSFER", outcome.destination)
            await channel.run("EXEC", "Goto", f"{outcome.context},{outcome.destination},1")
        elif isinstance(outcome, Voicemail):
            await channel.run_media("EXEC", "VoiceMail", f"{outcome.mailbox},u")
        elif isinstance(outcome, Callback):
            await self._hand_over(env, outcome)
            await channel.run("HANGUP")
        elif isinstance(outcome, Hangup):
            await channel.run("HANGUP")

    async def _hand_over(self, env: AgiEnvironment, outcome: Queue | Callback) -> None:
        if self.sink is None:
            return
        try:
            if isinstance(outcome, Queue):
                await self.sink.enqueue(env, outcome)
            else:
                await self.sink.callback(env, outcome)
        except Exception:  # the sink is the live engine's; its failure must not drop the call
            self.log.exception("call %s: handing the caller to the ACD failed", env.uniqueid)
