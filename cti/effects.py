"""What the routing engine asks its driver to do: a closed set of frozen effects.

:class:`cti.engine.RoutingEngine` is pure; each input returns a list of these, in order, and
:class:`cti.live.LiveEngine` carries them out: log Router events to Redis (fenced), write the
agents/contacts hashes, publish statuses, pop the agent's screen and redirect the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acd.events import Event
from cti.ports import AgentStatus, CallbackRequest


@dataclass(frozen=True, slots=True)
class RouterLogged:
    """``event`` was applied to the Router: append it to ``router:log`` (replay format)."""

    event: Event


@dataclass(frozen=True, slots=True)
class OfferPlaced:
    """Pop ``agent``'s screen, wait for the pop's ack, then Redirect ``channel`` to the agent.

    ``pop`` holds everything the screen-pop shows except the customer record, which the driver
    looks up (I/O) by ``customer_id`` or caller id.
    """

    contact: str
    call_id: str
    agent: str
    extension: str
    channel: str
    pop: dict[str, Any]
    callback: str | None = None  # a callback: Originate the agent, then this number


@dataclass(frozen=True, slots=True)
class CallbackSettled:
    """A callback call ended: ``dial_status`` is the customer leg's (ANSWER, NOANSWER, BUSY,
    ...); ``retry`` is the next attempt to append to the ``callbacks`` stream, if any."""

    contact: str
    call_id: str
    at: float
    agent: str | None
    number: str
    queue: str
    customer_id: str | None
    origin_call: str
    attempt: int
    dial_status: str
    retry: CallbackRequest | None


@dataclass(frozen=True, slots=True)
class RingStarted:
    """The agent's phone rings for ``contact``: the driver logs the pop lead time."""

    contact: str
    call_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class AgentUpdated:
    status: AgentStatus


@dataclass(frozen=True, slots=True)
class ContactUpdated:
    """``record`` is the contact's JSON for the ``contacts`` hash; ``None`` removes it."""

    contact: str
    record: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class QueuesTouched:
    """Queue figures changed (waiting count, metrics): publish fresh QueueStatus soon."""

    queues: tuple[str, ...]


Effect = (RouterLogged | OfferPlaced | RingStarted | AgentUpdated | ContactUpdated | QueuesTouched
          | CallbackSettled)
