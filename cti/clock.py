"""The live engine's clock, injected: wall time in production, faster time in tests and demos.

The Router's timers (escalation steps, end of wrap-up) are in seconds of this clock. A test on
the stand-in running at ``time_scale=0.01`` gives the engine a :class:`ScaledClock` with the
same scale, so a 30 s wrap-up ends after 0.3 s of real time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Epoch seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock."""
        ...


class WallClock:
    """Real time."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Time running ``1/scale`` times faster than real time, from ``epoch`` (default: now)."""

    def __init__(self, scale: float, epoch: float | None = None) -> None:
        if not scale > 0:
            raise ValueError(f"time scale must be > 0, got {scale!r}")
        self.scale = scale
        self.epoch = time.time() if epoch is None else epoch
        self._start = time.monotonic()

    def now(self) -> float:
        return self.epoch + (time.monotonic() - self._start) / self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) * self.scale)
