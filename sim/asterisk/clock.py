"""Simulated time for the stand-in: seconds of a scenario, run faster than real time.

A scenario speaks in simulated seconds ("the agent answers after 2 s, talks 30 s"); the clock
maps them onto the asyncio loop with a *scale*: ``scale=0.001`` runs a 30-second talk in 30 ms of
real time.

Simulated time is *logical*: it advances only when a scripted wait completes (a
:meth:`ScaledClock.sleep` started at ``t`` for ``d`` seconds sets the time to ``t + d`` when it
wakes), never by the real time spent in between. So a talk of 30 s lasts exactly 30 s in the
Cdr, in ``ANSWEREDTIME`` and in the MixMonitor WAV, however loaded the machine is; whatever the
engine does between two scripted waits (a Redirect, a MixMonitor) is stamped with the time of
the last wait. The scale only needs to leave the engine enough real time to react between
scripted steps (keep distinct steps at least a few milliseconds of real time apart).
"""

from __future__ import annotations

import asyncio

# 2026-11-22T12:53:20Z, the epoch of the recorded transcripts (Uniqueid 1795352000.x).
DEFAULT_EPOCH = 1795352000.0


class ScaledClock:
    """Logical simulated seconds, with waits run ``scale`` times real time."""

    def __init__(self, scale: float = 1.0, epoch: float = DEFAULT_EPOCH) -> None:
        if not scale > 0:
            raise ValueError(f"time scale must be > 0, got {scale!r} (0.001 runs 1 s in 1 ms)")
        self.scale = scale
        self.epoch = epoch
        self._elapsed = 0.0

    def now(self) -> float:
        """Simulated epoch seconds."""
        return self.epoch + self._elapsed

    def elapsed(self) -> float:
        """Simulated seconds since the clock was created."""
        return self._elapsed

    def real(self, seconds: float) -> float:
        """Real seconds for a simulated duration."""
        return max(0.0, seconds) * self.scale

    def advance_to(self, elapsed: float) -> None:
        """A wait that started earlier has completed at ``elapsed`` (never goes backwards)."""
        self._elapsed = max(self._elapsed, elapsed)

    async def sleep(self, seconds: float) -> None:
        start = self._elapsed
        await asyncio.sleep(self.real(seconds))
        self.advance_to(start + max(0.0, seconds))
