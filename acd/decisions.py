"""What the Router decides: its output, a closed set.

Every decision carries ``t``, the moment it takes effect. Decisions made by a timer carry the
timer's due time, not the time of the call that let time pass, so the live engine (which ticks
a little late) and the simulator (which ticks exactly) record the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Offer:
    """Reserve ``agent`` for ``contact``: ring the agent's ``extension``.

    The driver answers with offer_accept, offer_reject or offer_timeout (after
    ``ring_timeout_s``, usually ``settings.ring_timeout_s``).
    """

    t: float
    contact: str
    agent: str
    queue: str
    channel: str
    extension: str
    ring_timeout_s: float


@dataclass(frozen=True, slots=True)
class OfferCancelled:
    """Stop ringing ``agent``: the contact went away while offered."""

    t: float
    contact: str
    agent: str
    reason: str


@dataclass(frozen=True, slots=True)
class Queued:
    """No eligible agent is free: the contact waits (music on hold) in ``queue``."""

    t: float
    contact: str
    queue: str


@dataclass(frozen=True, slots=True)
class Escalated:
    """Escalation step ``step`` (0-based) of ``queue`` widened who may take the contact."""

    t: float
    contact: str
    queue: str
    step: int
    action: str


@dataclass(frozen=True, slots=True)
class Overflowed:
    """The contact moved to another queue, keeping its enqueue time and place."""

    t: float
    contact: str
    from_queue: str
    to_queue: str
    step: int


@dataclass(frozen=True, slots=True)
class CallbackOffered:
    """Offer the caller a callback; the contact keeps waiting until the driver says otherwise."""

    t: float
    contact: str
    queue: str
    step: int


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """The agent's state as the floor sees it: logged_out, ready, not_ready (with ``reason``),
    reserved, busy or wrap_up."""

    t: float
    agent: str
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class ContactDone:
    """The contact left the Router: ``handled``, ``abandoned`` or ``callback``.

    ``wait_s`` runs from the enqueue time to the answer (handled) or to leaving (otherwise).
    """

    t: float
    contact: str
    queue: str
    outcome: str
    wait_s: float


Decision = (
    Offer | OfferCancelled | Queued | Escalated | Overflowed | CallbackOffered
    | AgentStateChanged | ContactDone
)

DECISION_TYPES: dict[str, type] = {
    "offer": Offer,
    "offer_cancelled": OfferCancelled,
    "queued": Queued,
    "escalated": Escalated,
    "overflowed": Overflowed,
    "callback_offered": CallbackOffered,
    "agent_state": AgentStateChanged,
    "contact_done": ContactDone,
}
