"""Errors of the routing core.

Every failure the Router can report is an :class:`AcdError`; the command line prints its
message as it is and the live engine logs it with the contact and agent ids::

    HotlineError
     └── AcdError
          ├── IllegalTransition     an event that the agent's or contact's state does not allow
          ├── UnknownAgent          an agent id that routing.yaml does not define
          ├── UnknownContact        a contact id the Router is not holding
          ├── UnknownQueue          a queue name that routing.yaml does not define
          ├── UnknownSkill          a skill the IVR asked for that routing.yaml does not define
          ├── DuplicateContact      a contact id that is already waiting, offered or connected
          ├── TimeWentBackwards     an event older than the last one the Router saw
          ├── EventFormatError      a recorded event that is not valid (replay files, logs)
          ├── ReplayError           a replay file that cannot be read, or a refused event in it
          └── SnapshotError         a snapshot that does not fit the routing configuration

An error raised by ``Router.handle`` carries ``decisions``: those of the timers that fell due
before the refused event (the Router keeps them applied, as ``tick(event.t)`` would have).
"""

from __future__ import annotations

from hotline.errors import HotlineError


class AcdError(HotlineError):
    error_id = "acd_error"


class IllegalTransition(AcdError):
    """``event`` is not allowed while ``subject`` (an agent or a contact) is in ``state``."""

    error_id = "acd_illegal_transition"
    status = 409

    def __init__(self, kind: str, subject: str, state: str, event: str, hint: str = "") -> None:
        message = f"{kind} '{subject}' is {state}; {event} is not allowed in that state"
        if hint:
            message += f" ({hint})"
        super().__init__(message, details={kind: subject, "state": state, "event": event})
        self.kind, self.subject, self.state, self.event = kind, subject, state, event


class UnknownAgent(AcdError):
    error_id = "acd_unknown_agent"
    status = 404

    def __init__(self, agent: str) -> None:
        super().__init__(
            f"agent '{agent}' is not defined in routing.yaml; add it under 'agents'",
            details={"agent": agent},
        )


class UnknownContact(AcdError):
    error_id = "acd_unknown_contact"
    status = 404

    def __init__(self, contact: str, event: str) -> None:
        super().__init__(
            f"{event} names contact '{contact}', which the router is not holding "
            "(never arrived, or already finished)",
            details={"contact": contact, "event": event},
        )


class UnknownQueue(AcdError):
    error_id = "acd_unknown_queue"
    status = 404

    def __init__(self, queue: str, known: list[str]) -> None:
        super().__init__(
            f"queue '{queue}' is not defined in routing.yaml; known queues: {', '.join(known)}",
            details={"queue": queue},
        )


class UnknownSkill(AcdError):
    error_id = "acd_unknown_skill"

    def __init__(self, skill: str, contact: str) -> None:
        super().__init__(
            f"contact '{contact}' requires skill '{skill}', which routing.yaml does not define",
            details={"skill": skill, "contact": contact},
        )


class DuplicateContact(AcdError):
    error_id = "acd_duplicate_contact"
    status = 409

    def __init__(self, contact: str) -> None:
        super().__init__(
            f"contact '{contact}' is already in the router; contact ids must be unique while live",
            details={"contact": contact},
        )


class TimeWentBackwards(AcdError):
    error_id = "acd_time_went_backwards"

    def __init__(self, t: float, last: float) -> None:
        super().__init__(
            f"event time {t} is before the router's time {last}; events must come in time order",
            details={"t": t, "last": last},
        )


class EventFormatError(AcdError):
    error_id = "acd_event_format"


class ReplayError(AcdError):
    """A problem at ``file:line`` of a replayed event stream."""

    error_id = "acd_replay"


class SnapshotError(AcdError):
    error_id = "acd_snapshot"
