"""asyncio helpers of the live engine.

redis-py 8's asyncio client can lose a task's cancellation while a command is in flight: the
task catches nothing, yet runs on as if never cancelled, so a TaskGroup shutting the engine
down waits forever. Every Redis await of the engine goes through :func:`redis_call`, which
runs the command as its own task and shields it, so a cancellation always reaches the caller
at once (the command itself completes or fails in the background, its outcome retrieved).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")
_log = logging.getLogger("cti.aio")


def _retrieve(task: asyncio.Future[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.debug("Redis command finished after its caller left: %r", task.exception())


async def redis_call(awaitable: Awaitable[T]) -> T:
    """Await a Redis command so that cancelling the caller always works (see above)."""
    task = asyncio.ensure_future(awaitable)
    task.add_done_callback(_retrieve)
    return await asyncio.shield(task)
