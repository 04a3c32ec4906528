"""MixMonitor emulation: real WAV files with synthetic, recognisable voices.

Asterisk's MixMonitor records a channel's two audio directions: *read* (what the channel's
party says) and *write* (what it hears, i.e. the other party). The stand-in has no audio, so it
synthesises one: the caller's voice is a 400 Hz tone, the agent's a 1000 Hz tone, and silence
wherever a party is not heard (not yet bridged, on hold, muted with ``MixMonitorMute``). The file
is 8 kHz 16-bit PCM, mono (the two directions mixed) or, with option ``D``, stereo (left =
read, right = write), as long as the recording lasted in *simulated* seconds, so recording and
QA code can be tested end to end: duration, silence during a mute, which voice is where.
"""

from __future__ import annotations

import math
import struct
import wave
from dataclasses import dataclass, field
from pathlib import Path

RATE = 8000
AMPLITUDE = 8000
CALLER_TONE_HZ = 400
AGENT_TONE_HZ = 1000


def _period(freq: int) -> list[int]:
    samples = RATE // math.gcd(RATE, freq)
    return [int(AMPLITUDE * math.sin(2 * math.pi * freq * i / RATE)) for i in range(samples)]


def _signal(freq: int | None, count: int) -> list[int]:
    if freq is None or count <= 0:
        return [0] * max(count, 0)
    period = _period(freq)
    reps = count // len(period) + 1
    return (period * reps)[:count]


@dataclass(frozen=True, slots=True)
class Segment:
    """From ``start`` (simulated seconds) on, which voices each direction carries."""

    start: float
    read_voice: int | None
    write_voice: int | None


@dataclass(slots=True)
class Recording:
    """One MixMonitor on one channel; ``closed`` once the WAV file is complete on disk."""

    channel: str
    path: Path
    stereo: bool
    started_at: float
    own_tone: int
    peer_tone: int
    segments: list[Segment] = field(default_factory=list)
    muted_read: bool = False
    muted_write: bool = False
    stopped_at: float | None = None
    closed: bool = False

    def update(self, now: float, *, alive: bool, hears_peer: bool) -> None:
        read = self.own_tone if alive and not self.muted_read else None
        write = self.peer_tone if alive and hears_peer and not self.muted_write else None
        if self.segments and (self.segments[-1].read_voice, self.segments[-1].write_voice) == (
                read, write):
            return
        self.segments.append(Segment(now, read, write))

    @property
    def duration(self) -> float:
        end = self.stopped_at if self.stopped_at is not None else self.started_at
        return end - self.started_at

    def write(self, stopped_at: float) -> None:
        """Render the segments and write the WAV file (parents created, like Asterisk)."""
        self.stopped_at = stopped_at
        read: list[int] = []
        write: list[int] = []
        bounds = [s.start for s in self.segments[1:]] + [stopped_at]
        for seg, end in zip(self.segments, bounds, strict=True):
            count = round((end - self.started_at) * RATE) - len(read)
            read += _signal(seg.read_voice, count)
            write += _signal(seg.write_voice, count)
        if self.stereo:
            frames = [v for pair in zip(read, write, strict=True) for v in pair]
        else:
            frames = [(r + w) // 2 for r, w in zip(read, write, strict=True)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(self.path), "wb") as out:
            out.setnchannels(2 if self.stereo else 1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(struct.pack(f"<{len(frames)}h", *frames))
        self.closed = True


class RecordingDesk:
    """The MixMonitors running on the switch, by channel name; ``all`` keeps every one."""

    def __init__(self) -> None:
        self.all: list[Recording] = []
        self._active: dict[str, list[Recording]] = {}

    def start(self, channel: str, path: Path, stereo: bool, now: float, own_tone: int,
              peer_tone: int) -> Recording:
        rec = Recording(channel, path, stereo, now, own_tone, peer_tone)
        self.all.append(rec)
        self._active.setdefault(channel, []).append(rec)
        return rec

    def is_active(self, channel: str) -> bool:
        return bool(self._active.get(channel))

    def mute(self, channel: str, direction: str, state: bool) -> None:
        for rec in self._active.get(channel, []):
            if direction in ("read", "both"):
                rec.muted_read = state
            if direction in ("write", "both"):
                rec.muted_write = state

    def refresh(self, channel: str, now: float, *, alive: bool, hears_peer: bool) -> None:
        for rec in self._active.get(channel, []):
            rec.update(now, alive=alive, hears_peer=hears_peer)

    def close(self, channel: str, now: float) -> int:
        """Stop and write every recording of ``channel``; returns how many there were."""
        recs = self._active.pop(channel, [])
        for rec in recs:
            rec.update(now, alive=False, hears_peer=False)
            rec.write(now)
        return len(recs)
