"""The AMI wire format, sans-I/O (in the manner of h11).

The Asterisk Manager Interface is a text protocol over TCP. On connect Asterisk sends one banner
line (``Asterisk Call Manager/11.0.0``); afterwards both sides exchange *messages*: lines of
``Key: Value`` ended by CRLF, a message ended by an empty line. A client sends actions
(``Action: Redirect``), Asterisk answers with responses (``Response: Success``) and pushes events
(``Event: Hangup``). Keys may repeat (``Output:`` lines of a ``Command`` response,
``Variable:`` lines of an ``Originate``), so a message keeps its fields as an ordered tuple.

:class:`AmiParser` is fed bytes in chunks of any size (``receive_data``) and hands back whole
messages (``next_message`` / ``messages``); it never touches a socket, so the same parser serves
the asyncio client, the Asterisk stand-in (which parses *actions*) and the benchmarks.
:func:`encode_message` is the inverse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from cti.errors import AmiEncodeError, AmiParseError

CRLF = b"\r\n"
BANNER_PREFIX = "Asterisk Call Manager/"
# One "Key: Value" line; a key holds no colon, a value may (``Data: a: b``).
_FIELD = re.compile(r"([^\r\n:]*): ([^\r\n]*)")
# A message larger than this without its terminating blank line is not AMI (or is an attack).
MAX_MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Banner:
    """The greeting line Asterisk sends first: ``Asterisk Call Manager/<version>``."""

    version: str


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One AMI message: ordered ``(key, value)`` fields, duplicates kept.

    ``get`` returns the first value of a key (exact case first, then case-insensitive, because
    AMI keys are case-insensitive in principle though Asterisk spells them consistently);
    ``get_all`` returns every value of a repeated key.
    """

    fields: tuple[tuple[str, str], ...]
    _index: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)
    # Lower-cased keys, built on the first lookup that misses the exact spelling.
    _folded: dict[str, str] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        index = self._index
        for key, value in reversed(self.fields):
            index[key] = value  # reversed: the first occurrence wins

    @property
    def kind(self) -> str:
        """``event``, ``response``, ``action`` or ``unknown``, from the first field's key."""
        if not self.fields:
            return "unknown"
        first = self.fields[0][0].lower()
        return first if first in ("event", "response", "action") else "unknown"

    @property
    def name(self) -> str:
        """The value of the first field: the event name, response status or action name."""
        return self.fields[0][1] if self.fields else ""

    @property
    def action_id(self) -> str | None:
        """``ActionID`` as Asterisk spells it (exact lookup: this is on every message's path)."""
        return self._index.get("ActionID")

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self._index.get(key)
        if value is not None:
            return value
        folded = self._folded
        if not folded and self.fields:
            for k, v in reversed(self.fields):
                folded[k.lower()] = v
        value = folded.get(key.lower())
        return default if value is None else value

    def get_all(self, key: str) -> list[str]:
        lowered = key.lower()
        return [v for k, v in self.fields if k.lower() == lowered]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def as_dict(self) -> dict[str, str]:
        """First value of each key (for logging and generic consumers)."""
        return dict(self._index)


def _parse_message(lines: list[str]) -> AmiMessage:
    fields: list[tuple[str, str]] = []
    # Legacy ``Response: Follows`` (Command before Asterisk 14) carries raw text lines; they
    # become ``Output`` fields, the form modern Asterisk uses.
    legacy_body = bool(lines) and lines[0] == "Response: Follows"
    for line in lines:
        key, sep, value = line.partition(": ")
        if sep:
            fields.append((key, value))
        elif line.endswith(":") and " " not in line:
            fields.append((line[:-1], ""))
        elif legacy_body:
            if line != "--END COMMAND--":
                fields.append(("Output", line))
        else:
            raise AmiParseError(
                f"AMI line without 'Key: Value' form: {line!r} (in a message starting "
                f"{lines[0]!r})"
            )
    return AmiMessage(tuple(fields))


class AmiParser:
    """Incremental AMI parser: ``receive_data(bytes)`` then ``next_message()``.

    ``expect_banner`` is true on the client side (Asterisk greets first) and false on the
    server side (the stand-in parses the client's actions). ``receive_data(b"")`` signals end
    of stream; ``at_eof`` then tells whether the stream ended cleanly between messages.

    A malformed message raises :class:`AmiParseError` from ``next_message`` *after* it has been
    consumed, so the caller may log it and carry on with the next one.
    """

    __slots__ = ("_buffer", "_eof", "_expect_banner", "_pos")

    def __init__(self, *, expect_banner: bool = True) -> None:
        self._buffer = bytearray()
        self._pos = 0
        self._expect_banner = expect_banner
        self._eof = False

    def receive_data(self, data: bytes) -> None:
        if not data:
            self._eof = True
            return
        if self._pos:
            del self._buffer[: self._pos]
            self._pos = 0
        self._buffer += data

    @property
    def at_eof(self) -> bool:
        """True once end of stream was signalled and no partial message is left over."""
        return self._eof and not self._buffer[self._pos :].strip()

    @property
    def buffered(self) -> int:
        return len(self._buffer) - self._pos

    def next_message(self) -> Banner | AmiMessage | None:
        """The next complete message, or None until more bytes arrive."""
        buf = self._buffer
        pos = self._pos
        if self._expect_banner:
            end = buf.find(b"\n", pos)
            if end < 0:
                self._check_size()
                return None
            line = bytes(buf[pos:end]).rstrip(b"\r").decode("utf-8", "replace")
            self._pos = end + 1
            self._expect_banner = False
            if not line.startswith(BANNER_PREFIX):
                raise AmiParseError(
                    f"expected the AMI banner {BANNER_PREFIX!r}..., got {line!r}: "
                    "is this port an Asterisk manager port?"
                )
            return Banner(line[len(BANNER_PREFIX) :])
        # Skip blank lines between messages (some peers send an extra CRLF).
        while buf.startswith(CRLF, pos) or buf.startswith(b"\n", pos):
            pos += 2 if buf.startswith(CRLF, pos) else 1
        self._pos = pos
        end = buf.find(b"\r\n\r\n", pos)
        if end >= 0:
            chunk = bytes(buf[pos:end])
            self._pos = end + 4
            text = chunk.decode("utf-8", "replace")
            pairs = _FIELD.findall(text)
            if len(pairs) == text.count("\r\n") + 1:
                return AmiMessage(tuple(pairs))  # every line is "Key: Value"
            lines = text.split("\r\n")
        else:
            # Tolerate bare-LF framing (seen from some proxies), at the cost of a slower path.
            end = buf.find(b"\n\n", pos)
            if end < 0:
                self._check_size()
                return None
            chunk = bytes(buf[pos:end])
            self._pos = end + 2
            lines = [ln.rstrip("\r") for ln in chunk.decode("utf-8", "replace").split("\n")]
        return _parse_message(lines)

    def messages(self) -> Iterator[Banner | AmiMessage]:
        """Every complete message currently buffered."""
        while (message := self.next_message()) is not None:
            yield message

    def _check_size(self) -> None:
        if len(self._buffer) - self._pos > MAX_MESSAGE_BYTES:
            size = len(self._buffer) - self._pos
            self._buffer.clear()
            self._pos = 0
            raise AmiParseError(
                f"AMI message exceeds {MAX_MESSAGE_BYTES} bytes without an end "
                f"({size} bytes buffered); the buffer was discarded"
            )


def encode_message(fields: Iterable[tuple[str, str]]) -> bytes:
    """Serialise fields as one AMI message, refusing values that would break the framing."""
    parts: list[str] = []
    for key, value in fields:
        if not key or any(c in key for c in "\r\n:") or key != key.strip():
            raise AmiEncodeError(f"invalid AMI field name {key!r}")
        if "\r" in value or "\n" in value:
            raise AmiEncodeError(
                f"AMI field {key} contains a line break ({value!r}); strip it before sending"
            )
        parts.append(f"{key}: {value}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


def encode_banner(version: str = "11.0.0") -> bytes:
    """The greeting a server (the stand-in) sends first."""
    return f"{BANNER_PREFIX}{version}\r\n".encode()
