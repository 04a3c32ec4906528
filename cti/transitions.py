"""Call-level transitions: what the call tracker tells the rest of Hotline.

Asterisk reports channels (legs) one event at a time; the live engine, the screen-pop, the
statistics and the recordings care about *calls*: a caller started, was queued, an agent's phone
rang, the agent answered, put the caller on hold, transferred, or someone hung up. The
:class:`~cti.tracker.CallTracker` turns events into the frozen transitions below. Every
transition carries ``call_id`` (the call's Linkedid: the Uniqueid of its first channel, stable
for the whole call) and ``at`` (the time the tracker was given with the event).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class CallPhase(StrEnum):
    """Where a call is, seen from the call center."""

    DIALPLAN = "dialplan"  # in the IVR or elsewhere in the dialplan, not waiting for an agent
    WAITING = "waiting"  # queued: parked in Hotline's wait context
    RINGING = "ringing"  # a phone of the call is ringing (usually an agent's)
    TALKING = "talking"  # answered
    HELD = "held"  # answered, currently on hold
    ENDED = "ended"


class LegRole(StrEnum):
    CALLER = "caller"  # the customer side: the call's first non-agent leg
    AGENT = "agent"  # a phone in an agent context, or dialled by Hotline's connect context
    OTHER = "other"  # Local channels and other helper legs


HangupBy = Literal["caller", "agent", "system", "unknown"]

REASON_HANGUP = "hangup"
REASON_LOST = "lost during outage"


@dataclass(frozen=True, slots=True)
class CallStarted:
    call_id: str
    at: float
    uniqueid: str
    channel: str
    role: LegRole
    caller_id_num: str
    caller_id_name: str
    context: str
    exten: str


@dataclass(frozen=True, slots=True)
class Queued:
    """Hotline's dialplan parked the caller (``UserEvent HotlineQueued``)."""

    call_id: str
    at: float
    uniqueid: str
    channel: str
    contact_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class Ringing:
    """A leg of the call started ringing; ``agent`` is the extension for an agent's phone."""

    call_id: str
    at: float
    uniqueid: str
    channel: str
    agent: str | None


@dataclass(frozen=True, slots=True)
class Answered:
    """A dialled leg answered (DialEnd ANSWER), or was found bridged on resynchronisation."""

    call_id: str
    at: float
    uniqueid: str
    channel: str
    agent: str | None


@dataclass(frozen=True, slots=True)
class NotAnswered:
    """A dialled leg stopped ringing unanswered: NOANSWER, BUSY, CANCEL, CHANUNAVAIL, ...

    ``dial_status`` is ``UNKNOWN`` when the ringing leg vanished during an AMI outage.
    """

    call_id: str
    at: float
    uniqueid: str
    channel: str
    agent: str | None
    dial_status: str


@dataclass(frozen=True, slots=True)
class Rona:
    """Hotline's dialplan reports the agent did not answer and the caller waits again."""

    call_id: str
    at: float
    contact_id: str
    agent: str
    dial_status: str


@dataclass(frozen=True, slots=True)
class Held:
    call_id: str
    at: float
    uniqueid: str
    channel: str
    agent: str | None


@dataclass(frozen=True, slots=True)
class Unheld:
    call_id: str
    at: float
    uniqueid: str
    channel: str
    agent: str | None


@dataclass(frozen=True, slots=True)
class Transferred:
    """``transferer`` sent ``transferee`` elsewhere; the next Ringing/Answered say who took it.

    ``target`` is the extension for a blind transfer, the target channel for an attended one.
    """

    call_id: str
    at: float
    kind: Literal["blind", "attended"]
    transferer_channel: str
    transferer_agent: str | None
    transferee_channel: str | None
    target: str
    target_context: str


@dataclass(frozen=True, slots=True)
class Ended:
    """The call's last leg hung up (``reason`` hangup) or vanished during an AMI outage.

    ``phase`` is the phase when the hang-up started (``ringing`` for a caller who gave up while
    an agent's phone rang); ``hangup_by`` who started it: ``caller`` or ``agent`` when their
    phone hung up, ``system`` when Asterisk or an AMI action did, ``unknown`` for a lost call.
    ``cause`` is the Q.850 cause code, ``cause_text`` its text.
    """

    call_id: str
    at: float
    started_at: float
    phase: CallPhase
    hangup_by: HangupBy
    cause: int
    cause_text: str
    answered: bool
    agent: str | None
    contact_id: str | None
    reason: str = REASON_HANGUP


@dataclass(frozen=True, slots=True)
class CallAdopted:
    """A call found on resynchronisation that the tracker did not know (no CallStarted)."""

    call_id: str
    at: float
    started_at: float
    phase: CallPhase
    caller_uniqueid: str | None
    caller_channel: str | None
    caller_id_num: str
    contact_id: str | None
    agent: str | None
    bridge_id: str | None


CallTransition = (
    CallStarted | Queued | Ringing | Answered | NotAnswered | Rona | Held | Unheld | Transferred
    | Ended | CallAdopted
)


@dataclass(frozen=True, slots=True)
class LegView:
    uniqueid: str
    channel: str
    role: LegRole
    agent: str | None
    state: int
    context: str
    bridge_id: str | None
    held: bool


@dataclass(frozen=True, slots=True)
class CallView:
    """A read-only picture of a live call (``CallTracker.calls()``)."""

    call_id: str
    phase: CallPhase
    started_at: float
    contact_id: str | None
    queue: str | None
    agent: str | None
    answered: bool
    legs: tuple[LegView, ...]

    @property
    def caller(self) -> LegView | None:
        return next((leg for leg in self.legs if leg.role is LegRole.CALLER), None)


# Q.850 cause texts for the causes a call center sees (Asterisk's Cause-txt is used when given).
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    27: "Destination out of order",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    127: "Interworking, unspecified",
}
