"""What the routing leader tells its observers besides call transitions: a closed set.

The tracker's transitions say what happened to the channels; these say what the leader
learned around them, for the recordings (:mod:`cti.recording_hook`) and the call records
(:mod:`cti.call_records`):

* :class:`IvrEntered`: the caller's channel started the IVR (``Newexten`` of ``AGI`` with
  ``agi://host:port/<flow>``), so the flow is known from the IVR's first node on;
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
class IvrEntered:
    call_id: str
    at: float
    flow: str


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


CallNote = IvrEntered | HandedOver | ChannelVariable | AgentChanged | CallbackSettled


def flow_of_agi(app_data: str) -> str | None:
    """``agi://hotline:4573/main?x=1`` -> ``main``; None for anything but a FastAGI URL."""
    if not app_data.startswith("agi://"):
        return None
    script = app_data[len("agi://"):].partition("/")[2]
    flow = script.partition("?")[0].partition(",")[0].strip("/")
    return flow or None

# the channel variables passed on as notes (others are the tracker's business only)
NOTED_VARIABLES = frozenset({"HOTLINE_SENSITIVE", "HOTLINE_OUTCOME", "HOTLINE_FLOW"})
