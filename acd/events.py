"""What happens to agents and contacts: the Router's input, a closed set.

Each event carries ``t``, seconds since the Unix epoch (a simulation may start at any epoch),
and events reach the Router in time order. The live engine logs these same events, so a day in
production can be replayed through ``hotline route replay`` and give the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AgentLogin:
    """The agent signs in; not ready (reason ``login``) unless ``ready``."""

    t: float
    agent: str
    ready: bool = False


@dataclass(frozen=True, slots=True)
class AgentReady:
    """The agent is available; during wrap-up this ends the wrap-up."""

    t: float
    agent: str


@dataclass(frozen=True, slots=True)
class AgentNotReady:
    """The agent is unavailable for ``reason`` (break, lunch, training, ...).

    While on a contact or in wrap-up this takes effect afterwards: no automatic return to ready.
    """

    t: float
    agent: str
    reason: str


@dataclass(frozen=True, slots=True)
class AgentLogout:
    t: float
    agent: str


@dataclass(frozen=True, slots=True)
class ContactArrive:
    """The IVR queues a contact.

    ``skills`` narrows the queue's requirements (skill -> minimum level, the higher level wins);
    ``channel`` defaults to the queue's channel; ``queue`` ``None`` means the default queue.
    """

    t: float
    contact: str
    queue: str | None
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    customer: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class OfferAccept:
    t: float
    contact: str
    agent: str


@dataclass(frozen=True, slots=True)
class OfferReject:
    """The agent declined: the agent goes not ready ('rejected'), the contact keeps its place."""

    t: float
    contact: str
    agent: str


@dataclass(frozen=True, slots=True)
class OfferTimeout:
    """Ring, no answer (RONA): the agent goes not ready ('rona'), the contact keeps its place."""

    t: float
    contact: str
    agent: str


@dataclass(frozen=True, slots=True)
class ContactAbandon:
    """The caller hung up while waiting or while offered.

    ``reason`` ``callback`` means the caller left the queue by accepting a callback offer; it is
    counted apart from abandons.
    """

    t: float
    contact: str
    reason: str = "hangup"


@dataclass(frozen=True, slots=True)
class ContactEnd:
    """A connected contact is over; the agent goes to wrap-up (the queue's ``wrap_up_s``)."""

    t: float
    contact: str


@dataclass(frozen=True, slots=True)
class WrapupEnd:
    """The agent finishes wrap-up early or after extending it."""

    t: float
    agent: str


@dataclass(frozen=True, slots=True)
class WrapupExtend:
    """Adds ``seconds`` to the wrap-up; ``None`` holds it until ``wrapup_end`` or ready."""

    t: float
    agent: str
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Tick:
    """Only lets time pass: applies the timers due by ``t`` (see ``Router.next_deadline``)."""

    t: float


Event = (
    AgentLogin | AgentReady | AgentNotReady | AgentLogout | ContactArrive | OfferAccept
    | OfferReject | OfferTimeout | ContactAbandon | ContactEnd | WrapupEnd | WrapupExtend | Tick
)

EVENT_TYPES: dict[str, type] = {
    "agent_login": AgentLogin,
    "agent_ready": AgentReady,
    "agent_not_ready": AgentNotReady,
    "agent_logout": AgentLogout,
    "contact_arrive": ContactArrive,
    "offer_accept": OfferAccept,
    "offer_reject": OfferReject,
    "offer_timeout": OfferTimeout,
    "contact_abandon": ContactAbandon,
    "contact_end": ContactEnd,
    "wrapup_end": WrapupEnd,
    "wrapup_extend": WrapupExtend,
    "tick": Tick,
}
