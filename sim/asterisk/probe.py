"""A bare AMI client for observing the stand-in: send actions, collect every message.

Hotline's real client is :class:`cti.ami.client.AmiClient`; this one exists so the stand-in's
own tests (and anyone debugging a scenario) can look at the raw stream with no engine logic in
between: every message received is kept in order in :attr:`AmiProbe.received`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from cti.ami.protocol import AmiMessage, AmiParser, Banner, encode_message


class AmiProbe:
    """``await AmiProbe.connect(port)``, then :meth:`login`, :meth:`action`, :meth:`wait_event`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.banner: Banner | None = None
        self.received: list[AmiMessage] = []
        self.sent: list[AmiMessage] = []
        self.raw = bytearray()
        self.closed = asyncio.Event()
        self._parser = AmiParser(expect_banner=True)
        self._new = asyncio.Event()
        self._ids = itertools.count(1)
        self._task = asyncio.get_running_loop().create_task(self._read(), name="ami-probe")

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> AmiProbe:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def _read(self) -> None:
        while True:
            data = await self.reader.read(65536)
            self._parser.receive_data(data)
            if not data:
                break
            self.raw += data
            for message in self._parser.messages():
                if isinstance(message, Banner):
                    self.banner = message
                else:
                    self.received.append(message)
            self._new.set()
        self.writer.close()
        self.closed.set()
        self._new.set()

    async def send(self, fields: list[tuple[str, str]]) -> None:
        self.sent.append(AmiMessage(tuple(fields)))
        self.writer.write(encode_message(fields))
        await self.writer.drain()

    async def action(self, name: str, timeout: float = 5.0, **headers: str) -> AmiMessage:
        """Send ``Action: name`` with a fresh ActionID and return its response."""
        action_id = f"probe-{next(self._ids)}"
        start = len(self.received)
        await self.send([("Action", name), ("ActionID", action_id),
                         *((k, str(v)) for k, v in headers.items())])
        return await self.wait_for(
            lambda m: m.kind == "response" and m.action_id == action_id, timeout, start)

    async def login(self, username: str = "cti", secret: str = "cti-secret") -> AmiMessage:
        return await self.action("Login", Username=username, Secret=secret)

    async def wait_for(self, predicate: Callable[[AmiMessage], bool],
                       timeout: float = 5.0, start: int = 0) -> AmiMessage:
        """The first received message from index ``start`` on matching ``predicate``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = start
        while True:
            for message in self.received[seen:]:
                if predicate(message):
                    return message
            seen = len(self.received)
            if self.closed.is_set():
                raise ConnectionError("the AMI connection closed before the message arrived")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no matching AMI message within {timeout} s")
            self._new.clear()
            try:
                await asyncio.wait_for(self._new.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_event(self, name: str, timeout: float = 5.0, **fields: str) -> AmiMessage:
        return await self.wait_for(
            lambda m: m.kind == "event" and m.name == name
            and all(m.get(k) == v for k, v in fields.items()), timeout)

    def events(self, channel: str | None = None) -> list[AmiMessage]:
        return [m for m in self.received if m.kind == "event"
                and channel in (None, m.get("Channel"), m.get("TransfereeChannel"))]

    async def close(self) -> None:
        self.writer.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
