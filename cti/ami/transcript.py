"""Reading the recorded Asterisk transcripts (``tests/fixtures/asterisk/*.txt``).

A transcript is ``#`` header lines, then protocol lines prefixed ``>>> `` (client to Asterisk)
or ``<<< `` (Asterisk to client), each keeping its original terminator. :func:`read_transcript`
returns the byte runs in order, merged per direction, so a test, the benchmark or the Asterisk
stand-in can replay exactly what Asterisk sent (``from_server``) or what the client sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TO_SERVER = ">>> "
FROM_SERVER = "<<< "


@dataclass(frozen=True, slots=True)
class TranscriptRun:
    """Consecutive bytes in one direction: ``from_server`` True for Asterisk's side."""

    from_server: bool
    data: bytes


def read_transcript(path: str | Path) -> list[TranscriptRun]:
    runs: list[TranscriptRun] = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#"):
                continue
            if line.startswith(FROM_SERVER):
                from_server = True
            elif line.startswith(TO_SERVER):
                from_server = False
            else:
                raise ValueError(f"{path}:{number}: line without a direction marker: {line!r}")
            data = line[len(FROM_SERVER):].encode("utf-8")
            if runs and runs[-1].from_server == from_server:
                runs[-1] = TranscriptRun(from_server, runs[-1].data + data)
            else:
                runs.append(TranscriptRun(from_server, data))
    return runs


def server_bytes(path: str | Path) -> bytes:
    """Everything Asterisk sent in the transcript, as one stream."""
    return b"".join(run.data for run in read_transcript(path) if run.from_server)


def client_bytes(path: str | Path) -> bytes:
    """Everything the client sent in the transcript, as one stream."""
    return b"".join(run.data for run in read_transcript(path) if not run.from_server)
