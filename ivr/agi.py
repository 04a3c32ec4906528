"""The FastAGI wire protocol as pure functions: no sockets, no asyncio.

A FastAGI session, as Asterisk 22 speaks it (``tests/fixtures/asterisk/fastagi_session.txt``):

1. Asterisk connects and sends the channel's *environment*, one ``agi_name: value`` line each,
   ended by an empty line (every line ends in LF).
2. The server sends one command per line (``STREAM FILE hello-world ""``) and reads one reply:
   ``200 result=0 endpos=11234``, ``200 result=1 (2001)``, ``200 result= (timeout)``;
   ``510 Invalid or unknown command``; ``511 Command Not Permitted on a dead channel...``;
   ``520-Invalid command syntax...`` continued up to a line starting ``520 ``.
3. When the caller hangs up, Asterisk writes ``HANGUP`` on its own line; commands then fail
   (``result=-1`` or 511). Closing the socket ends the AGI and the dialplan continues.

:class:`EnvironmentParser` and :class:`ReplyParser` are fed lines and say when they are
complete; :func:`format_command` quotes arguments. The runtime (:mod:`ivr.fastagi`) owns I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ivr.errors import AgiProtocolError, CallerHungUp

MAX_ENV_LINES = 200
_REPLY = re.compile(r"^(\d{3})(?:[ -](.*))?$")
_RESULT = re.compile(r"^result=(\S*)(?:\s+\((.*?)\))?(.*)$")


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The ``agi_*`` variables Asterisk sends first (``agi_`` prefix removed)."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    @property
    def flow(self) -> str:
        """The flow named in the URL: ``agi://host:4573/main?x=1`` -> ``main``."""
        script = self.get("network_script") or self.get("request").rpartition("/")[2]
        return script.partition("?")[0].strip("/")

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid")

    @property
    def channel(self) -> str:
        return self.get("channel")

    @property
    def caller_id(self) -> str:
        number = self.get("callerid")
        return "" if number == "unknown" else number

    @property
    def caller_name(self) -> str:
        name = self.get("calleridname")
        return "" if name == "unknown" else name

    @property
    def dnid(self) -> str:
        dnid = self.get("dnid")
        return "" if dnid == "unknown" else dnid

    @property
    def language(self) -> str:
        return self.get("language", "en")


class EnvironmentParser:
    """Feed the first lines of a session; ``feed`` returns True at the empty line."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.lines = 0

    def feed(self, line: str) -> bool:
        line = line.rstrip("\r\n")
        if line == "":
            if not self.values:
                raise AgiProtocolError("the AGI environment is empty")
            return True
        self.lines += 1
        if self.lines > MAX_ENV_LINES:
            raise AgiProtocolError(f"the AGI environment has more than {MAX_ENV_LINES} lines")
        name, sep, value = line.partition(":")
        if not sep or not name.startswith("agi_"):
            raise AgiProtocolError(f"not an AGI environment line: {line[:80]!r}")
        self.values[name[4:]] = value[1:] if value.startswith(" ") else value
        return False

    def environment(self) -> AgiEnvironment:
        return AgiEnvironment(dict(self.values))


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One reply: ``code`` 200 with ``result`` (and ``data`` in brackets), or an error code."""

    code: int
    result: str = ""
    data: str | None = None
    extra: str = ""
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def number(self) -> int:
        try:
            return int(self.result)
        except ValueError:
            raise AgiProtocolError(f"expected a number in {self.text!r}") from None

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"


class ReplyParser:
    """Feed reply lines; ``feed`` returns the :class:`AgiReply` once complete, else None.

    Raises :class:`~ivr.errors.CallerHungUp` on ``HANGUP`` and :class:`AgiProtocolError` on garbage.
    """

    def __init__(self) -> None:
        self._usage: list[str] | None = None

    def feed(self, line: str) -> AgiReply | None:
        line = line.rstrip("\r\n")
        if self._usage is not None:
            if line.startswith("520 "):
                usage = self._usage
                self._usage = None
                return AgiReply(520, text="\n".join(usage))
            self._usage.append(line)
            return None
        if line == "HANGUP":
            raise CallerHungUp("Asterisk reported that the caller hung up (HANGUP)")
        match = _REPLY.match(line)
        if match is None:
            raise AgiProtocolError(f"not an AGI reply: {line[:80]!r}")
        code, rest = int(match.group(1)), match.group(2) or ""
        if code == 520 and line.startswith("520-"):
            self._usage = [rest]
            return None
        if code != 200:
            return AgiReply(code, text=line)
        result = _RESULT.match(rest)
        if result is None:
            raise AgiProtocolError(f"a 200 reply without result=: {line[:80]!r}")
        return AgiReply(200, result.group(1), result.group(2), result.group(3).strip(), line)


def quote(argument: str) -> str:
    """One AGI argument: bare when safe, else in double quotes with ``"`` and ``\\`` escaped."""
    if "\n" in argument or "\r" in argument:
        raise AgiProtocolError(f"an AGI argument cannot contain a line break: {argument!r}")
    if argument and re.fullmatch(r"[A-Za-z0-9_./:@,+*#()${}=-]+", argument):
        return argument
    return '"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(verb: str, *arguments: str) -> bytes:
    """``format_command("STREAM FILE", "hello-world", "")`` -> ``STREAM FILE hello-world ""``."""
    parts = [verb, *(quote(str(a)) for a in arguments)]
    return (" ".join(parts) + "\n").encode("utf-8")
