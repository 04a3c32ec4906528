"""Matching AMI answers to the actions that asked for them, sans-I/O.

Asterisk answers an action with a ``Response`` carrying the action's ``ActionID``; a list action
is answered by ``Response: Success`` + ``EventList: start``, then item events and a final event
with ``EventList: Complete``, all with the same ActionID; an asynchronous Originate ends with an
``OriginateResponse`` event. Unrelated events are interleaved freely.

:class:`ActionTracker` holds the pending actions and is fed every message received:
``receive(message)`` says whether the message belonged to an action (so it must not be
dispatched as a live event) and returns a :class:`Settlement` when an action is complete.
Time is an argument (``register(..., now=)``, ``expire(now)``): no clock is read here. The
matching uses ActionID and EventList only, never the human text of ``Message``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cti.ami.actions import Action
from cti.ami.events import AmiEvent, parse_event
from cti.ami.protocol import AmiMessage
from cti.errors import (
    AmiActionError,
    AmiActionTimeout,
    AmiAuthError,
    AmiConnectionError,
    AmiError,
)

_SUCCESS = frozenset({"success", "goodbye", "follows"})


@dataclass(frozen=True, slots=True)
class ActionResult:
    """A successful answer: the response, plus the list items or completion event if any."""

    action: str
    action_id: str
    response: AmiMessage
    items: tuple[AmiMessage, ...] = ()
    completion: AmiMessage | None = None

    @property
    def message(self) -> str:
        return self.response.get("Message") or ""

    def get(self, key: str) -> str | None:
        """A field of the response (e.g. ``Value`` of Getvar, ``Ping`` of Ping)."""
        return self.response.get(key)

    @property
    def output(self) -> list[str]:
        """The ``Output`` lines of a Command response."""
        return self.response.get_all("Output")

    def events(self) -> list[AmiEvent]:
        """The list items as typed events (CoreShowChannel, BridgeListItem, Status, ...)."""
        return [parse_event(m) for m in self.items]

    def completion_event(self) -> AmiEvent | None:
        return None if self.completion is None else parse_event(self.completion)


@dataclass(frozen=True, slots=True)
class Settlement:
    """An action is over: ``result`` on success, ``error`` otherwise (exactly one is set)."""

    action_id: str
    result: ActionResult | None = None
    error: AmiError | None = None


@dataclass(slots=True)
class _Pending:
    action: Action
    action_id: str
    deadline: float
    timeout: float
    response: AmiMessage | None = None
    items: list[AmiMessage] = field(default_factory=list)
    listing: bool = False


class ActionTracker:
    """Pending actions keyed by ActionID.

    ``register`` assigns an ActionID (``<prefix>-<n>``) unless the action carries one and
    returns the action to send; ``receive`` claims answers; ``expire`` times actions out;
    ``fail_all`` settles everything when the connection is gone.
    """

    def __init__(self, id_prefix: str = "hotline") -> None:
        self._prefix = id_prefix
        self._counter = 0
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def register(self, action: Action, *, now: float, timeout: float) -> Action:
        action_id = action.action_id
        if action_id is None:
            self._counter += 1
            action_id = f"{self._prefix}-{self._counter}"
            action = action.with_id(action_id)
        if action_id in self._pending:
            raise ValueError(f"ActionID {action_id!r} is already pending; ActionIDs must be unique")
        self._pending[action_id] = _Pending(action, action_id, now + timeout, timeout)
        return action

    def receive(self, message: AmiMessage) -> tuple[bool, Settlement | None]:
        """``(claimed, settlement)``: claimed messages are answers, not live events."""
        action_id = message.action_id
        if action_id is None:
            return False, None
        pending = self._pending.get(action_id)
        if pending is None:
            return False, None
        kind = message.kind
        if kind == "response":
            return True, self._on_response(pending, message)
        if kind != "event":
            return False, None
        if pending.listing:
            list_state = message.get("EventList")
            if list_state is not None and list_state.lower() == "complete":
                return True, self._settle_ok(pending, completion=message)
            pending.items.append(message)
            return True, None
        completes_with = pending.action.completes_with
        if completes_with is not None and message.name == completes_with:
            if pending.response is None:
                # The completion overtook the response (possible on a busy session); keep the
                # response slot empty and settle on the event itself.
                pending.response = message
            return True, self._on_completion_event(pending, message)
        return False, None

    def _on_response(self, pending: _Pending, message: AmiMessage) -> Settlement | None:
        status = message.name.lower()
        if status not in _SUCCESS:
            return self._settle_error(pending, message.get("Message") or message.name)
        pending.response = message
        list_state = message.get("EventList")
        if list_state is not None and list_state.lower() == "start":
            pending.listing = True
            return None
        if pending.action.completes_with is not None:
            return None
        return self._settle_ok(pending)

    def _on_completion_event(self, pending: _Pending, event: AmiMessage) -> Settlement:
        response = event.get("Response")
        if response is not None and response.lower() not in _SUCCESS:
            reason = event.get("Reason")
            return self._settle_error(
                pending, f"{event.name} {response}" + (f" (reason {reason})" if reason else ""))
        return self._settle_ok(pending, completion=event)

    def _settle_ok(self, pending: _Pending, completion: AmiMessage | None = None) -> Settlement:
        del self._pending[pending.action_id]
        assert pending.response is not None
        result = ActionResult(pending.action.name, pending.action_id, pending.response,
                              tuple(pending.items), completion)
        return Settlement(pending.action_id, result=result)

    def _settle_error(self, pending: _Pending, reason: str) -> Settlement:
        del self._pending[pending.action_id]
        name = pending.action.name
        error_type = AmiAuthError if name.lower() == "login" else AmiActionError
        return Settlement(pending.action_id,
                          error=error_type(name, pending.action_id, reason))

    def expire(self, now: float) -> list[Settlement]:
        """Settle every action whose deadline has passed with AmiActionTimeout."""
        expired = [p for p in self._pending.values() if p.deadline <= now]
        for p in expired:
            del self._pending[p.action_id]
        return [Settlement(p.action_id,
                           error=AmiActionTimeout(p.action.name, p.action_id, p.timeout))
                for p in expired]

    def cancel(self, action_id: str) -> bool:
        """Forget an action (its waiter gave up); late answers then pass as unclaimed."""
        return self._pending.pop(action_id, None) is not None

    def fail_all(self, reason: str) -> list[Settlement]:
        """Settle everything pending with AmiConnectionError (the connection is gone).

        Actions are never re-sent on the next connection: a Redirect or Originate repeated
        after an outage could ring an agent twice; the caller decides.
        """
        pending, self._pending = self._pending, {}
        return [Settlement(p.action_id, error=AmiConnectionError(
            f"AMI connection lost before {p.action.name} ({p.action_id}) was answered: {reason}",
            details={"action": p.action.name, "action_id": p.action_id}))
            for p in pending.values()]

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self._pending.values()), default=None)
