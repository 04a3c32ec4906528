"""A FastAGI client that plays Asterisk's side of an IVR session.

When the dialplan runs ``AGI(agi://host:port/main)``, Asterisk connects to Hotline's FastAGI
server, sends the ``agi_*`` environment (one ``key: value`` line each, then a blank line; LF
line ends) and then answers each command line with ``200 result=...`` (or ``510 Invalid or
unknown command``). :class:`FastAgiClient` does the same for a simulated caller: the digits it
"presses" come from a script (:class:`CallerInput`), and every command it was sent is reported
in :class:`AgiSessionResult` so a test can assert what the IVR asked for.

The session ends when the server closes the socket (``AGISTATUS=SUCCESS``), when it cannot be
reached (``FAILURE``), or when the caller hangs up mid-IVR (``HANGUP``: Asterisk then sends
``HANGUP`` and answers every further command ``511 Command Not Permitted on a dead channel or
intercepted``).
"""

from __future__ import annotations

import asyncio
import shlex
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from sim.asterisk.errors import FastAgiError

AGI_VERSION = "22.10.1"
DEAD = "511 Command Not Permitted on a dead channel or intercepted"
UNKNOWN = "510 Invalid or unknown command"


@dataclass(frozen=True, slots=True)
class AgiChannelInfo:
    """What Asterisk tells the AGI script about the channel."""

    channel: str
    uniqueid: str
    caller_num: str
    caller_name: str
    dnid: str
    context: str
    extension: str
    priority: int


@dataclass(slots=True)
class CallerInput:
    """The caller's keypresses, consumed in order.

    Each entry answers one input request: ``GET DATA`` takes a whole entry (``"42#"`` ends with
    ``#`` like a real keypad; ``""`` is a timeout without digits); ``WAIT FOR DIGIT``,
    ``STREAM FILE``/``GET OPTION`` with escape digits take the first digit of the next entry.
    """

    entries: deque[str] = field(default_factory=deque)

    @classmethod
    def of(cls, entries: Iterable[str]) -> CallerInput:
        return cls(deque(entries))

    def take_entry(self) -> str | None:
        return self.entries.popleft() if self.entries else None

    def take_digit(self) -> str | None:
        if not self.entries:
            return None
        entry = self.entries.popleft()
        if len(entry) > 1:
            self.entries.appendleft(entry[1:])
        return entry[:1] or None


@dataclass(slots=True)
class AgiSessionResult:
    """What happened: ``status`` is Asterisk's AGISTATUS, ``commands`` every line received."""

    status: str
    commands: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    answered: bool = False
    hung_up_by_script: bool = False


def environment(info: AgiChannelInfo, host: str, port: int, script: str,
                thread_id: int = 140717705684672) -> list[tuple[str, str]]:
    """The ``agi_*`` block, keys and order exactly as Asterisk 22 sends them."""
    return [
        ("agi_network", "yes"), ("agi_network_script", script),
        ("agi_request", f"agi://{host}:{port}/{script}"), ("agi_channel", info.channel),
        ("agi_language", "en"), ("agi_type", "PJSIP"), ("agi_uniqueid", info.uniqueid),
        ("agi_version", AGI_VERSION), ("agi_callerid", info.caller_num),
        ("agi_calleridname", info.caller_name), ("agi_callingpres", "0"),
        ("agi_callingani2", "0"), ("agi_callington", "0"), ("agi_callingtns", "0"),
        ("agi_dnid", info.dnid), ("agi_rdnis", "unknown"), ("agi_context", info.context),
        ("agi_extension", info.extension), ("agi_priority", str(info.priority)),
        ("agi_enhanced", "0.0"), ("agi_accountcode", ""), ("agi_threadid", str(thread_id)),
    ]


class FastAgiClient:
    """One FastAGI session, Asterisk's side.

    ``on_variable(name, value)`` is called for each ``SET VARIABLE`` (the stand-in turns it into
    a ``VarSet`` event); ``pause(seconds)`` lets time pass for playback and digit timeouts
    (scaled by the world's clock; default: no wait).
    """

    def __init__(self, info: AgiChannelInfo, keys: CallerInput, *,
                 on_variable: Callable[[str, str], None] | None = None,
                 pause: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.info = info
        self.keys = keys
        self.on_variable = on_variable
        self.pause = pause
        self.variables: dict[str, str] = {}
        self._hangup = asyncio.Event()

    def hang_up(self) -> None:
        """The caller hangs up during the IVR."""
        self._hangup.set()

    async def run(self, url: str) -> AgiSessionResult:
        host, port, script = parse_agi_url(url)
        result = AgiSessionResult("SUCCESS", variables=self.variables)
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            result.status = "FAILURE"
            return result
        try:
            env = environment(self.info, host, port, script)
            writer.write("".join(f"{k}: {v}\n" for k, v in env).encode() + b"\n")
            await writer.drain()
            hangup_sent = False
            line_task: asyncio.Future[bytes] | None = None
            while True:
                if line_task is None:
                    line_task = asyncio.ensure_future(reader.readline())
                if not hangup_sent:
                    hang_task = asyncio.ensure_future(self._hangup.wait())
                    await asyncio.wait({line_task, hang_task},
                                       return_when=asyncio.FIRST_COMPLETED)
                    if not line_task.done():
                        # Asterisk tells the script once that the channel is gone.
                        writer.write(b"HANGUP\n")
                        await writer.drain()
                        hangup_sent = True
                        result.status = "HANGUP"
                        continue
                    hang_task.cancel()
                raw = await line_task
                line_task = None
                if not raw:
                    break
                try:
                    line = raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError as exc:
                    raise FastAgiError(f"FastAGI server sent non-UTF-8 bytes {raw!r}") from exc
                result.commands.append(line)
                if hangup_sent:
                    reply = DEAD
                else:
                    reply = await self._execute(line, result)
                writer.write(reply.encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
        return result

    async def _wait(self, seconds: float) -> None:
        if self.pause is not None:
            await self.pause(seconds)

    async def _execute(self, line: str, result: AgiSessionResult) -> str:
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            return UNKNOWN
        for size in (3, 2, 1):
            name = " ".join(words[:size]).upper()
            if name in _COMMANDS:
                verb, args = name, words[size:]
                break
        else:
            return UNKNOWN
        if verb == "ANSWER":
            result.answered = True
            return "200 result=0"
        if verb == "HANGUP":
            result.hung_up_by_script = True
            self._hangup.set()
            return "200 result=1"
        if verb == "CHANNEL STATUS":
            return "200 result=6"
        if verb in ("SET VARIABLE",):
            if len(args) < 2:
                return "520 Invalid command syntax.  Proper usage not available."
            self.variables[args[0]] = args[1]
            if self.on_variable is not None:
                self.on_variable(args[0], args[1])
            return "200 result=1"
        if verb == "GET VARIABLE":
            value = self._lookup(args[0] if args else "")
            return f"200 result=1 ({value})" if value is not None else "200 result=0"
        if verb == "GET FULL VARIABLE":
            text = args[0] if args else ""
            for name in _names(text):
                text = text.replace("${" + name + "}", self._lookup(name) or "")
            return f"200 result=1 ({text})"
        if verb == "GET DATA":
            timeout_s = (int(args[1]) / 1000.0) if len(args) > 1 and args[1].isdigit() else 5.0
            max_digits = int(args[2]) if len(args) > 2 and args[2].isdigit() else 1024
            entry = self.keys.take_entry()
            if not entry:
                await self._wait(timeout_s)
                return "200 result= (timeout)"
            digits = entry.split("#", 1)[0][:max_digits]
            if "#" in entry or len(digits) >= max_digits:
                return f"200 result={digits}"
            await self._wait(timeout_s)
            return f"200 result={digits} (timeout)"
        if verb in ("STREAM FILE", "GET OPTION", "CONTROL STREAM FILE"):
            escape = args[1] if len(args) > 1 else ""
            if escape and self.keys.entries and self.keys.entries[0][:1] in escape:
                digit = self.keys.take_digit()
                assert digit is not None
                return f"200 result={ord(digit)} endpos=4000"
            await self._wait(1.0)
            return "200 result=0 endpos=11234"
        if verb == "WAIT FOR DIGIT":
            digit = self.keys.take_digit()
            if digit is None:
                timeout_ms = int(args[0]) if args and args[0].lstrip("-").isdigit() else 0
                await self._wait(max(timeout_ms, 0) / 1000.0)
                return "200 result=0"
            return f"200 result={ord(digit)}"
        if verb.startswith("SAY ") or verb == "EXEC" or verb == "NOOP":
            return "200 result=0"
        if verb in ("VERBOSE", "SET MUSIC", "DATABASE PUT", "SET CALLERID"):
            return "200 result=1"
        return UNKNOWN

    def _lookup(self, name: str) -> str | None:
        builtin = {"CALLERID(num)": self.info.caller_num, "CALLERID(name)": self.info.caller_name,
                   "CHANNEL": self.info.channel, "UNIQUEID": self.info.uniqueid,
                   "EXTEN": self.info.extension, "CONTEXT": self.info.context}
        if name in self.variables:
            return self.variables[name]
        return builtin.get(name)


_COMMANDS = frozenset({
    "ANSWER", "HANGUP", "CHANNEL STATUS", "SET VARIABLE", "GET VARIABLE", "GET FULL VARIABLE",
    "GET DATA", "STREAM FILE", "GET OPTION", "CONTROL STREAM FILE", "WAIT FOR DIGIT",
    "SAY DIGITS", "SAY NUMBER", "SAY ALPHA", "SAY PHONETIC", "SAY DATE", "SAY TIME",
    "SAY DATETIME", "EXEC", "NOOP", "VERBOSE", "SET MUSIC", "DATABASE PUT", "SET CALLERID",
})


def _names(text: str) -> list[str]:
    names, rest = [], text
    while "${" in rest:
        start = rest.index("${") + 2
        end = rest.find("}", start)
        if end < 0:
            break
        names.append(rest[start:end])
        rest = rest[end + 1:]
    return names


def parse_agi_url(url: str) -> tuple[str, int, str]:
    """``agi://host:port/script`` -> (host, port, script); the port defaults to 4573."""
    if not url.startswith("agi://"):
        raise FastAgiError(f"not a FastAGI URL: {url!r} (expected agi://host:port/flow)")
    location, _, script = url[len("agi://"):].partition("/")
    host, _, port = location.partition(":")
    return host, int(port or "4573"), script
