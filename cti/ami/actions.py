"""AMI actions Hotline sends, as values, and their serialisation.

An :class:`Action` is a name, ordered fields and how it completes. Most actions complete with
their ``Response``; list actions (CoreShowChannels, BridgeList, BridgeInfo, Status, ...)
announce ``EventList: start`` in the response and complete with the ``EventList: Complete``
event carrying the same ActionID, which the :class:`~cti.ami.correlate.ActionTracker` detects
from the protocol fields alone. An asynchronous ``Originate`` completes with the
``OriginateResponse`` event: the action says so itself (``completes_with``), because nothing in
the immediate response distinguishes "queued" from "done" but its text.

The builders below (``redirect(...)``, ``mixmonitor(...)``, ...) are the vocabulary the live
engine and ``recording/`` use; ``Action(name, fields)`` covers anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cti.ami.protocol import encode_message

# Fields whose values are never shown in logs or reprs.
SECRET_FIELDS = frozenset({"secret", "key"})


@dataclass(frozen=True, slots=True)
class Action:
    """One AMI request. ``action_id`` is assigned by the tracker when None."""

    name: str
    fields: tuple[tuple[str, str], ...] = ()
    action_id: str | None = None
    completes_with: str | None = None

    def with_id(self, action_id: str) -> Action:
        return Action(self.name, self.fields, action_id, self.completes_with)

    def encode(self) -> bytes:
        head = [("Action", self.name)]
        if self.action_id is not None:
            head.append(("ActionID", self.action_id))
        return encode_message([*head, *self.fields])

    def redacted(self) -> dict[str, str]:
        """Fields for logging, secrets masked."""
        return {k: ("***" if k.lower() in SECRET_FIELDS else v) for k, v in self.fields}

    def __repr__(self) -> str:
        return f"Action({self.name!r}, {self.redacted()!r}, action_id={self.action_id!r})"


def _fields(**kw: str | int | None) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(v)) for k, v in kw.items() if v is not None)


def _variables(variables: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(("Variable", f"{k}={v}") for k, v in (variables or {}).items())


def login(username: str, secret: str, *, events: str = "on") -> Action:
    return Action("Login", (("Username", username), ("Secret", secret), ("Events", events)))


def logoff() -> Action:
    return Action("Logoff")


def ping() -> Action:
    return Action("Ping")


def originate(
    channel: str,
    *,
    context: str | None = None,
    exten: str | None = None,
    priority: int | None = 1,
    application: str | None = None,
    data: str | None = None,
    timeout_ms: int | None = None,
    caller_id: str | None = None,
    variables: Mapping[str, str] | None = None,
    asynchronous: bool = True,
) -> Action:
    """Originate ``channel`` into a dialplan location or an application.

    With ``asynchronous`` (the default) the action completes with ``OriginateResponse``, i.e.
    when the first leg answered or failed, without blocking the AMI session meanwhile.
    """
    if application is None:
        base = _fields(Channel=channel, Context=context, Exten=exten, Priority=priority)
    else:
        base = _fields(Channel=channel, Application=application, Data=data)
    extra = _fields(Timeout=timeout_ms, CallerID=caller_id,
                    Async="true" if asynchronous else None)
    return Action("Originate", base + extra + _variables(variables),
                  completes_with="OriginateResponse" if asynchronous else None)


def redirect(channel: str, context: str, exten: str, priority: int = 1) -> Action:
    return Action("Redirect", _fields(Channel=channel, Context=context, Exten=exten,
                                      Priority=priority))


def blind_transfer(channel: str, context: str, exten: str) -> Action:
    return Action("BlindTransfer", _fields(Channel=channel, Context=context, Exten=exten))


def hangup(channel: str, cause: int | None = None) -> Action:
    return Action("Hangup", _fields(Channel=channel, Cause=cause))


def setvar(variable: str, value: str, channel: str | None = None) -> Action:
    return Action("Setvar", _fields(Channel=channel, Variable=variable, Value=value))


def getvar(variable: str, channel: str | None = None) -> Action:
    return Action("Getvar", _fields(Channel=channel, Variable=variable))


def mixmonitor(channel: str, file: str, options: str | None = None,
               command: str | None = None) -> Action:
    return Action("MixMonitor", _fields(Channel=channel, File=file, Options=options,
                                        Command=command))


def stop_mixmonitor(channel: str, mixmonitor_id: str | None = None) -> Action:
    return Action("StopMixMonitor", _fields(Channel=channel, MixMonitorID=mixmonitor_id))


def mixmonitor_mute(channel: str, muted: bool, direction: str = "both") -> Action:
    """Mute (``muted``) or unmute the recording of ``direction``: read, write or both."""
    return Action("MixMonitorMute", _fields(Channel=channel, Direction=direction,
                                            State=1 if muted else 0))


def bridge(channel1: str, channel2: str, tone: str | None = None) -> Action:
    return Action("Bridge", _fields(Channel1=channel1, Channel2=channel2, Tone=tone))


def play_dtmf(channel: str, digit: str, duration_ms: int | None = None) -> Action:
    return Action("PlayDTMF", _fields(Channel=channel, Digit=digit, Duration=duration_ms))


def core_show_channels() -> Action:
    return Action("CoreShowChannels")


def bridge_list(bridge_type: str | None = None) -> Action:
    return Action("BridgeList", _fields(BridgeType=bridge_type))


def bridge_info(bridge_uniqueid: str) -> Action:
    return Action("BridgeInfo", _fields(BridgeUniqueid=bridge_uniqueid))


def status(channel: str | None = None) -> Action:
    return Action("Status", _fields(Channel=channel))


def user_event(name: str, headers: Iterable[tuple[str, str]] = ()) -> Action:
    return Action("UserEvent", (("UserEvent", name), *headers))


def command(cli: str) -> Action:
    """Run an Asterisk CLI command; the result's ``output`` holds its lines."""
    return Action("Command", (("Command", cli),))
