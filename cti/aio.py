"""asyncio helpers of the live engine.

Every Redis await of the engine goes through :func:`redis_call`, so that cancelling a task
always takes effect at once even while a command is in flight (redis-py's asyncio client can
swallow a cancellation); see :func:`hotline.store.shielded`, which does the work.
"""

from __future__ import annotations

from hotline.store import shielded as redis_call

__all__ = ["redis_call"]
