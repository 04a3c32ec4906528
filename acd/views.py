"""Read-only views of the Router's agents and contacts, for screens, resynchronisation and
tests; the Router's own records stay private and mutable."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentView:
    """An agent as the floor sees it; ``wrap_until`` is ``inf`` while wrap-up is held."""

    id: str
    state: str
    reason: str
    since: float
    contacts: tuple[str, ...]
    wrap_until: float | None


@dataclass(frozen=True, slots=True)
class ContactView:
    """A contact in the Router; ``requirement`` lists the skill sets any one of which an agent
    must meet now (escalation steps included)."""

    id: str
    state: str
    queue: str
    entry_queue: str
    channel: str
    priority: int
    enqueue_t: float
    agent: str | None
    requirement: tuple[tuple[tuple[str, int], ...], ...]
