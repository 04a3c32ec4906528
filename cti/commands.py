"""Sending agent and supervisor commands to the routing leader (the ``commands`` stream).

Any process appends; the leader applies them in stream order and records the last id it
applied (``commands:applied``) in the same fenced write as their effects, so a command is
applied exactly once across restarts and failovers.
"""

from __future__ import annotations

from cti.ports import Command
from hotline.store import StateStore


async def submit(store: StateStore, command: Command) -> str:
    """Append ``command`` to the ``commands`` stream; returns its stream id."""
    return await store.append(store.key("commands"), command.to_json())
