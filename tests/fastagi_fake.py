"""A fake Asterisk for FastAGI tests: speaks the recorded wire format over a real socket.

It connects like Asterisk's ``AGI(agi://...)``, sends the environment lines of the recorded
session (``tests/fixtures/asterisk/fastagi_session.txt``, with the flow name and caller
swapped in when asked), then answers each command with the reply Asterisk gave in the
recording, or with what a scripted caller does (digits for ``GET DATA``, a hang-up).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "asterisk" / "fastagi_session.txt"


def transcript() -> list[tuple[str, str]]:
    """(direction, line with its LF) for every protocol line of the recording."""
    with FIXTURE.open(newline="") as handle:
        return [(line[:3], line[4:]) for line in handle if line.startswith(("<<< ", ">>> "))]


def recorded() -> tuple[list[str], dict[str, str]]:
    """The environment lines and, per command verb, the reply Asterisk sent in the recording."""
    lines = transcript()
    end = next(i for i, (d, text) in enumerate(lines) if d == "<<<" and text == "\n")
    env = [text for _, text in lines[: end + 1]]
    replies: dict[str, str] = {}
    command = ""
    for direction, text in lines[end + 1:]:
        if direction == ">>>":
            command = " ".join(text.split()[:2])
        else:
            replies.setdefault(command, text)
    return env, replies


ENV, REPLIES = recorded()
Answer = Callable[[str], list[str] | None]  # command line -> reply lines (None: default)


@dataclass
class FakeCall:
    flow: str = "main"
    caller: str = "2001"
    uniqueid: str = "1795351674.2"
    digits: list[str] = field(default_factory=list)
    answer: Answer | None = None
    commands: list[str] = field(default_factory=list)
    closed_by_server: bool = False

    def environment(self) -> bytes:
        out = []
        for line in ENV:
            if line.startswith("agi_network_script:"):
                line = f"agi_network_script: {self.flow}\n"
            elif line.startswith("agi_request:"):
                line = f"agi_request: agi://127.0.0.1:4573/{self.flow}\n"
            elif line.startswith("agi_callerid:"):
                line = f"agi_callerid: {self.caller}\n"
            elif line.startswith("agi_uniqueid:"):
                line = f"agi_uniqueid: {self.uniqueid}\n"
            out.append(line)
        return "".join(out).encode()

    def reply(self, command: str) -> list[str]:
        custom = self.answer(command) if self.answer else None
        if custom is not None:
            return custom
        verb = " ".join(command.split()[:2])
        if verb == "GET DATA":
            digits = self.digits.pop(0) if self.digits else ""
            return [f"200 result={digits}\n" if digits else "200 result= (timeout)\n"]
        if verb == "HANGUP":
            return ["200 result=1\n"]
        if verb in REPLIES:
            return [REPLIES[verb]]
        if verb.split()[0] in {"EXEC", "SAY"}:
            return [REPLIES["EXEC Playback"]]
        return ["510 Invalid or unknown command\n"]

    async def run(self, port: int) -> FakeCall:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(self.environment())
        await writer.drain()
        try:
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                if not line:
                    self.closed_by_server = True
                    break
                command = line.decode().rstrip("\n")
                self.commands.append(command)
                replies = self.reply(command)
                if not replies:  # the caller hangs up: Asterisk closes the AGI socket
                    break
                writer.write("".join(replies).encode())
                await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()
        return self
