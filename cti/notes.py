"""What the routing leader tells its observers besides call transitions: a closed set.

The tracker's transitions say what happened to the channels; these say what the leader
learned around them, for the recordings (:mod:`cti.recording_hook`) and the call records
(:mod:`cti.call_records`):

* :class:`HandedOver`: the IVR's hand-over of a parked caller (flow, customer, path, ...),
  delivered *before* the call's ``Queued`` transition;
* :class:`ChannelVariable`: a ``HOTLINE_*`` variable the IVR or the dialplan set on one of the
  call's channels (``HOTLINE_SENSITIVE`` 1/0 around sensitive IVR nodes, ``HOTLINE_OUTCOME``);
* :class:`AgentChanged`: an agent's new state (wrap-up start and end);
* :class:`cti.effects.CallbackSettled`: a callback call ended (the customer leg's status).

An observer that wants them has an ``on_note(note)`` method (optional: see
:class:`cti.live.CallObserver`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cti.effects import CallbackSettled
from cti.ports import AgentStatus, QueueRequest


@dataclass(frozen=True, slots=True)
class HandedOver:
    call_id: str
    at: float
    request: QueueRequest


@dataclass(frozen=True, slots=True)
class ChannelVariable:
    call_id: str
    at: float
    uniqueid: str
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class AgentChanged:
    at: float
    status: AgentStatus


CallNote = HandedOver | ChannelVariable | AgentChanged | CallbackSettled

# the channel variables passed on as notes (others are the tracker's business only)
NOTED_VARIABLES = frozenset({"HOTLINE_SENSITIVE", "HOTLINE_OUTCOME", "HOTLINE_FLOW"})
