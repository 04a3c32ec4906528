"""What a user agent tells its owner: a closed set of plain, frozen events.

pjsua2 reports through C++ callbacks on ``Account`` and ``Call`` subclasses. The user agent turns
each callback into one of the dataclasses below and puts it on a thread-safe queue, so no pjsua2
object, callback or thread ever reaches the code that drives calls. Calls and accounts are named
by small integer handles the user agent hands out (pjsua recycles its own call ids, ours are never
reused within a process). ``at`` is the user agent's clock (``time.monotonic`` unless injected)
read inside the callback, i.e. as close to the network event as Python can get.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class CallPhase(Enum):
    """The INVITE session's state, as pjsip names it."""

    CALLING = "calling"  # our INVITE is out, nothing heard yet
    INCOMING = "incoming"  # an INVITE arrived, not answered yet
    EARLY = "early"  # a provisional response (180 Ringing, 183 Session Progress)
    CONNECTING = "connecting"  # 200 OK sent or received, waiting for the ACK
    CONFIRMED = "confirmed"  # answered: the call is up
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class RegistrationChanged:
    """A REGISTER transaction finished (``code`` 200 = registered; ``expires`` 0 = unregistered)."""

    account: int
    code: int
    reason: str
    expires: int
    at: float


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """An INVITE reached one of our accounts; answer, ring or reject it by ``call``."""

    call: int
    account: int
    remote_uri: str
    sip_call_id: str
    headers: tuple[tuple[str, str], ...]
    at: float

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class CallStateChanged:
    """The call moved to ``phase``; ``code`` is the last SIP status seen (180, 200, ...)."""

    call: int
    phase: CallPhase
    code: int
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over; its handle is dead. ``code`` is the final SIP status (486, 603, 200...).

    ``rx_level`` is the mean level (0..255) of the audio received while media was up, and
    ``rx_audible_share`` the share of 100 ms samples above silence; both None without media.
    """

    call: int
    code: int
    reason: str
    connected_s: float
    at: float
    rx_level: float | None = None
    rx_audible_share: float | None = None


@dataclass(frozen=True, slots=True)
class MediaReady:
    """Audio is flowing (or can flow) on the call: playback and recording are attached now."""

    call: int
    at: float


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """One RFC 4733 (or SIP INFO) digit from the far end."""

    call: int
    digit: str
    method: str
    at: float


@dataclass(frozen=True, slots=True)
class UserAgentFailed:
    """The pump thread stopped on an error; every later command raises UserAgentStopped."""

    error: str
    at: float


SipEvent = (
    RegistrationChanged
    | IncomingCall
    | CallStateChanged
    | CallEnded
    | MediaReady
    | DtmfReceived
    | UserAgentFailed
)
