"""The contract between Hotline's processes, all of it carried by Redis.

Any number of ``hotline serve`` processes share one Redis. One of them holds the routing lease
and is the **leader**: it alone owns the :class:`acd.Router`, reads AMI events, decides offers
and sends AMI actions. Every process (the leader included) serves the HTTP API, the WebSockets
and FastAGI. Nothing but Redis connects them, so this module is the whole interface:

Keys (``StateStore.key(...)`` adds the ``hotline:`` namespace)
    ``agents``            hash  agent id  -> :class:`AgentStatus` JSON (written by the leader)
    ``queues``            hash  queue     -> :class:`QueueStatus` JSON (written by the leader)
    ``contacts``          hash  contact   -> waiting/offered contact JSON (written by the leader)
    ``router:snapshot``   JSON  ``{"log_id", "router"}``: the Router's snapshot and the last
                          ``router:log`` entry it includes, guarded by the fencing token
    ``router:log``        stream of Router events in the replay format (``hotline route replay``)
    ``commands``          stream of :class:`Command` JSON, appended by any process, applied by
                          the leader in order (it stores the last id it applied)
    ``lease:routing``     the routing lease (``hotline.store.Lease``)
    ``commands:applied``  id of the last ``commands`` entry the leader applied (fenced write)
    ``ivr:<contact>``     :class:`QueueRequest` JSON: what the IVR (any process's FastAGI) knew
                          when it queued the caller; read by the leader on ``HotlineQueued``
    ``callbacks``         stream of :class:`CallbackRequest` JSON: callers who asked to be
                          called back (appended by the IVR of any process, and by the leader
                          for a retry); the leader registers each with the Router
    ``callbacks:applied`` id of the last ``callbacks`` entry the leader registered (fenced write)

Pub/sub channels (named with the same namespace prefix as the keys)
    ``pop:<agent>``       :class:`ScreenPop` for that agent's WebSocket(s)
    ``popack``            :class:`PopAck`: an API process delivered a pop to a WebSocket; the
                          leader waits for it (up to ``POP_ACK_TIMEOUT_S``) before it redirects
                          the caller to the agent's phone, so the pop arrives before the ring
    ``agent:<agent>``     :class:`AgentStatus` after every change of that agent
    ``supervisor``        :class:`AgentStatus` and :class:`QueueStatus` updates for supervisors

Every message is JSON with a ``type`` field; ``cti/schemas/ws_messages.json`` is the schema of
what WebSocket clients receive, checked in tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

POP_ACK_TIMEOUT_S = 0.25

CommandType = Literal[
    "agent_login", "agent_logout", "agent_ready", "agent_not_ready", "wrapup_end",
    "wrapup_extend", "recording_pause", "recording_resume",
]


@dataclass(frozen=True, slots=True)
class Command:
    """An agent or supervisor action for the leader to apply (``by`` is who asked)."""

    type: CommandType
    agent: str
    by: str
    reason: str | None = None
    seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True, slots=True)
class AgentStatus:
    type: Literal["agent_state"]
    agent: str
    name: str
    extension: str
    state: str  # logged_out, ready, not_ready, reserved, busy, wrap_up
    reason: str | None
    since: float  # epoch seconds
    contacts: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueueStatus:
    type: Literal["queue_state"]
    queue: str
    waiting: int
    longest_wait_s: float
    agents_ready: int
    agents_busy: int
    metrics: dict[str, Any]  # the Router's metrics for this queue (see docs/metrics.md)


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """What the agent's screen shows before the phone rings."""

    type: Literal["pop"]
    pop_id: str
    call_id: str
    contact: str
    agent: str
    queue: str
    caller_id: str
    wait_s: float
    customer: dict[str, Any] | None
    ivr_path: list[str]
    inputs: dict[str, str]  # collected IVR input, sensitive values masked
    attributes: dict[str, Any]
    sent_at: float  # epoch seconds, when the leader published it


@dataclass(frozen=True, slots=True)
class PopAck:
    type: Literal["pop_ack"]
    pop_id: str
    agent: str
    delivered_at: float  # epoch seconds, when the WebSocket send completed


@dataclass(frozen=True, slots=True)
class QueueRequest:
    """A caller the IVR handed to the ACD (the FastAGI ``queue`` step), keyed by contact id.

    The contact id is the caller channel's ``HOTLINE_CONTACT`` (the dialplan sets it to the
    channel's Uniqueid). Whichever process ran the IVR writes it under ``ivr:<contact>``; the
    leader reads it when the dialplan reports the caller parked (``UserEvent HotlineQueued``).
    """

    type: Literal["queue_request"]
    contact: str
    channel: str
    caller_id: str
    queue: str
    skills: dict[str, int]
    priority: int
    attributes: dict[str, Any]
    customer_id: str | None
    ivr_path: list[str]
    inputs: dict[str, str]  # sensitive values already masked by the IVR
    language: str
    at: float  # epoch seconds
    flow: str | None = None  # the IVR flow that queued the caller (absent from older writers)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueueRequest:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


QUEUE_REQUEST_TTL_S = 3600.0

# A callback whose customer did not answer (or the line was busy) is tried again after
# CALLBACK_RETRY_S, at most CALLBACK_ATTEMPTS times in all; then it is given up (logged).
CALLBACK_ATTEMPTS = 3
CALLBACK_RETRY_S = 300.0


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A caller the IVR's ``callback`` step kept a place for: call ``number`` back.

    ``contact`` is ``cb-<Uniqueid of the asking call>``; ``at`` (epoch seconds) when the caller
    asked, which is the contact's wait start; ``due_at`` holds a retry back until then.
    """

    type: Literal["callback_request"]
    contact: str
    call_id: str  # the call in which the caller asked
    number: str
    queue: str
    priority: int
    attributes: dict[str, Any]
    customer_id: str | None
    ivr_path: list[str]
    inputs: dict[str, str]
    language: str
    at: float
    flow: str | None = None
    attempt: int = 1
    due_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallbackRequest:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def to_message(value: AgentStatus | QueueStatus | ScreenPop | PopAck) -> dict[str, Any]:
    return asdict(value)
