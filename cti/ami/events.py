"""Typed AMI events: the closed vocabulary the call tracker and resynchronisation read.

:func:`parse_event` turns an :class:`~cti.ami.protocol.AmiMessage` whose first field is
``Event:`` into one of the frozen dataclasses below, or into :class:`UnknownEvent` (which keeps
every field) for the many events Hotline does not interpret (RTCP, Cdr, Newexten, ...).

Asterisk describes a channel with the same block of fields in every event (``Channel``,
``ChannelState``, ``CallerIDNum``, ..., ``Uniqueid``, ``Linkedid``), sometimes several times
with a prefix (``DestChannel`` in DialBegin, ``TransfererChannel`` in BlindTransfer). Each block
becomes a :class:`ChannelSnapshot`. ``Uniqueid`` names one channel (a *leg*); ``Linkedid`` is
the Uniqueid of the channel that started the call and is shared by every leg of it, so the
tracker groups legs into calls by Linkedid. Bridges are described by ``Bridge*`` fields
(:class:`BridgeSnapshot`).

Every typed event keeps its source message in ``message`` (excluded from equality) for the
fields Hotline does not type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cti.ami.protocol import AmiMessage
from cti.errors import AmiEventError

# ChannelState values (include/asterisk/channelstate.h).
STATE_DOWN = 0
STATE_RSRVD = 1
STATE_OFFHOOK = 2
STATE_DIALING = 3
STATE_RING = 4
STATE_RINGING = 5
STATE_UP = 6
STATE_BUSY = 7

_SNAPSHOT_KEYS = (
    "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
    "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
    "Priority", "Uniqueid", "Linkedid",
)
_PREFIXED: dict[str, tuple[str, ...]] = {}


def _keys(prefix: str) -> tuple[str, ...]:
    keys = _PREFIXED.get(prefix)
    if keys is None:
        keys = tuple(prefix + k for k in _SNAPSHOT_KEYS)
        _PREFIXED[prefix] = keys
    return keys


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """One channel (leg) as an event describes it."""

    name: str
    uniqueid: str
    linkedid: str
    state: int
    state_desc: str
    caller_id_num: str
    caller_id_name: str
    connected_line_num: str
    connected_line_name: str
    context: str
    exten: str
    priority: int | None
    language: str = ""
    account_code: str = ""

    @property
    def technology(self) -> str:
        """``PJSIP`` for ``PJSIP/1001-0000000c``."""
        return self.name.partition("/")[0]

    @property
    def endpoint(self) -> str:
        """``1001`` for ``PJSIP/1001-0000000c``, ``700@from-callers`` for a Local channel."""
        resource = self.name.partition("/")[2]
        base, dash, _ = resource.rpartition("-")
        return base if dash else resource


@dataclass(frozen=True, slots=True)
class BridgeSnapshot:
    uniqueid: str
    bridge_type: str
    technology: str
    num_channels: int | None


def _int(msg: AmiMessage, key: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise AmiEventError(
            f"AMI event {msg.name}: field {key} should be an integer, got {value!r}"
        ) from None


def _required(msg: AmiMessage, key: str) -> str:
    value = msg.get(key)
    if value is None:
        raise AmiEventError(f"AMI event {msg.name} lacks the field {key} its type needs")
    return value


def channel_snapshot(msg: AmiMessage, prefix: str = "") -> ChannelSnapshot:
    """The channel block of ``msg`` (with ``prefix``, e.g. ``Dest``); AmiEventError if absent."""
    (k_chan, k_state, k_desc, k_cnum, k_cname, k_lnum, k_lname, k_lang, k_acct, k_ctx, k_ext,
     k_prio, k_uid, k_lid) = _keys(prefix)
    # The channel block is written by one Asterisk function with fixed spellings, so the
    # exact-case index is enough here (and this is the hottest path of event ingest).
    get = msg._index.get
    name = get(k_chan)
    uniqueid = get(k_uid)
    if name is None or uniqueid is None:
        raise AmiEventError(
            f"AMI event {msg.name} lacks {k_chan if name is None else k_uid}; "
            "it cannot be tied to a channel"
        )
    state = _int(msg, k_state, get(k_state))
    return ChannelSnapshot(
        name=name,
        uniqueid=uniqueid,
        linkedid=get(k_lid) or uniqueid,
        state=STATE_DOWN if state is None else state,
        state_desc=get(k_desc) or "",
        caller_id_num=get(k_cnum) or "",
        caller_id_name=get(k_cname) or "",
        connected_line_num=get(k_lnum) or "",
        connected_line_name=get(k_lname) or "",
        context=get(k_ctx) or "",
        exten=get(k_ext) or "",
        priority=_int(msg, k_prio, get(k_prio)),
        language=get(k_lang) or "",
        account_code=get(k_acct) or "",
    )


def _optional_snapshot(msg: AmiMessage, prefix: str = "") -> ChannelSnapshot | None:
    if msg.get(prefix + "Channel") is None or msg.get(prefix + "Uniqueid") is None:
        return None
    return channel_snapshot(msg, prefix)


def bridge_snapshot(msg: AmiMessage, prefix: str = "Bridge") -> BridgeSnapshot:
    return BridgeSnapshot(
        uniqueid=_required(msg, prefix + "Uniqueid"),
        bridge_type=msg.get(prefix + "Type") or "",
        technology=msg.get(prefix + "Technology") or "",
        num_channels=_int(msg, prefix + "NumChannels", msg.get(prefix + "NumChannels")),
    )


# --- channel life cycle -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Newchannel:
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Newstate:
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NewConnectedLine:
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NewCallerid:
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class HangupRequest:
    """The channel driver asked to hang up: the far end (phone) hung up."""

    channel: ChannelSnapshot
    cause: int | None
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SoftHangupRequest:
    """Asterisk itself asked the channel to hang up (AMI Hangup, bridge teardown, ...)."""

    channel: ChannelSnapshot
    cause: int | None
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Hangup:
    channel: ChannelSnapshot
    cause: int
    cause_text: str
    message: AmiMessage = field(compare=False, repr=False)


# --- dialling -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialBegin:
    """``channel`` dials ``dest``; ``channel`` is None when Originate dials the first leg."""

    channel: ChannelSnapshot | None
    dest: ChannelSnapshot
    dial_string: str
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DialState:
    channel: ChannelSnapshot | None
    dest: ChannelSnapshot
    dial_status: str
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DialEnd:
    """``dial_status``: ANSWER, NOANSWER, BUSY, CANCEL, CHANUNAVAIL, CONGESTION, ..."""

    channel: ChannelSnapshot | None
    dest: ChannelSnapshot
    dial_status: str
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class OriginateResponse:
    """Final result of an asynchronous Originate (``response`` Success or Failure)."""

    action_id: str | None
    response: str
    channel_name: str
    uniqueid: str | None
    reason: int | None
    message: AmiMessage = field(compare=False, repr=False)


# --- bridges ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BridgeCreate:
    bridge: BridgeSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BridgeEnter:
    bridge: BridgeSnapshot
    channel: ChannelSnapshot
    swap_uniqueid: str | None
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BridgeLeave:
    bridge: BridgeSnapshot
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BridgeDestroy:
    bridge: BridgeSnapshot
    message: AmiMessage = field(compare=False, repr=False)


# --- hold and transfer --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hold:
    channel: ChannelSnapshot
    music_class: str
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Unhold:
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BlindTransfer:
    """``transferer`` sent ``transferee`` to ``extension``@``context``."""

    result: str
    transferer: ChannelSnapshot
    transferee: ChannelSnapshot | None
    bridge: BridgeSnapshot | None
    is_external: bool
    context: str
    extension: str
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class AttendedTransfer:
    """``orig_transferer`` (talking to the transferee) joined them to ``transfer_target``."""

    result: str
    orig_transferer: ChannelSnapshot
    second_transferer: ChannelSnapshot | None
    transferee: ChannelSnapshot | None
    transfer_target: ChannelSnapshot | None
    dest_type: str
    is_external: bool
    message: AmiMessage = field(compare=False, repr=False)


# --- media --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MusicOnHoldStart:
    channel: ChannelSnapshot
    music_class: str
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class MusicOnHoldStop:
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class MixMonitorStart:
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class MixMonitorStop:
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class MixMonitorMute:
    channel: ChannelSnapshot
    direction: str
    muted: bool
    message: AmiMessage = field(compare=False, repr=False)


# --- variables and user events ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VarSet:
    """``channel`` is None for a global variable."""

    channel: ChannelSnapshot | None
    variable: str
    value: str
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class UserEvent:
    """A dialplan ``UserEvent(name, Key: value, ...)`` Hotline does not type further."""

    name: str
    channel: ChannelSnapshot | None
    headers: tuple[tuple[str, str], ...]
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class HotlineQueued:
    """Hotline's dialplan parked the caller to wait (``UserEvent(HotlineQueued, ...)``)."""

    channel: ChannelSnapshot
    contact_id: str
    queue: str
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class HotlineRona:
    """The agent did not answer; the dialplan sends the caller back to wait."""

    channel: ChannelSnapshot
    contact_id: str
    agent: str
    dial_status: str
    message: AmiMessage = field(compare=False, repr=False)


# --- list items (answers to CoreShowChannels, BridgeList, BridgeInfo, Status) -------------


@dataclass(frozen=True, slots=True)
class CoreShowChannel:
    channel: ChannelSnapshot
    application: str
    application_data: str
    duration: str
    bridge_id: str | None
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BridgeListItem:
    bridge: BridgeSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BridgeInfoChannel:
    channel: ChannelSnapshot
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Status:
    channel: ChannelSnapshot
    bridge_id: str | None
    application: str
    seconds: int | None
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ListComplete:
    """The ``...Complete`` event (``EventList: Complete``) that closes a list response."""

    name: str
    action_id: str | None
    list_items: int | None
    message: AmiMessage = field(compare=False, repr=False)


# --- system -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FullyBooted:
    status: str
    uptime: int | None
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Asterisk is stopping (``restart`` True when it will come back)."""

    shutdown: str
    restart: bool
    message: AmiMessage = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """Any event outside the typed vocabulary; ``message`` keeps every field."""

    name: str
    message: AmiMessage


AmiEvent = (
    Newchannel | Newstate | NewConnectedLine | NewCallerid | HangupRequest | SoftHangupRequest
    | Hangup | DialBegin | DialState | DialEnd | OriginateResponse | BridgeCreate | BridgeEnter
    | BridgeLeave | BridgeDestroy | Hold | Unhold | BlindTransfer | AttendedTransfer
    | MusicOnHoldStart | MusicOnHoldStop | MixMonitorStart | MixMonitorStop | MixMonitorMute
    | VarSet | UserEvent | HotlineQueued | HotlineRona | CoreShowChannel | BridgeListItem
    | BridgeInfoChannel | Status | ListComplete | FullyBooted | Shutdown | UnknownEvent
)


def _yes(value: str | None) -> bool:
    return (value or "").lower() in ("yes", "true", "1", "on")


def _user_event(m: AmiMessage) -> AmiEvent:
    name = _required(m, "UserEvent")
    if name == "HotlineQueued":
        return HotlineQueued(channel_snapshot(m), _required(m, "Contact"),
                             m.get("Queue") or "", m)
    if name == "HotlineRona":
        return HotlineRona(channel_snapshot(m), _required(m, "Contact"),
                           _required(m, "Agent"), m.get("DialStatus") or "", m)
    skip = {"Event", "Privilege", "UserEvent", *_SNAPSHOT_KEYS}
    headers = tuple((k, v) for k, v in m.fields if k not in skip)
    return UserEvent(name, _optional_snapshot(m), headers, m)


def _status(m: AmiMessage) -> AmiEvent:
    return Status(channel_snapshot(m), m.get("BridgeID") or None, m.get("Application") or "",
                  _int(m, "Seconds", m.get("Seconds")), m)


_PARSERS: dict[str, Callable[[AmiMessage], AmiEvent]] = {
    "Newchannel": lambda m: Newchannel(channel_snapshot(m), m),
    "Newstate": lambda m: Newstate(channel_snapshot(m), m),
    "NewConnectedLine": lambda m: NewConnectedLine(channel_snapshot(m), m),
    "NewCallerid": lambda m: NewCallerid(channel_snapshot(m), m),
    "HangupRequest": lambda m: HangupRequest(
        channel_snapshot(m), _int(m, "Cause", m.get("Cause")), m),
    "SoftHangupRequest": lambda m: SoftHangupRequest(
        channel_snapshot(m), _int(m, "Cause", m.get("Cause")), m),
    "Hangup": lambda m: Hangup(
        channel_snapshot(m), _int(m, "Cause", m.get("Cause")) or 0, m.get("Cause-txt") or "", m),
    "DialBegin": lambda m: DialBegin(
        _optional_snapshot(m), channel_snapshot(m, "Dest"), m.get("DialString") or "", m),
    "DialState": lambda m: DialState(
        _optional_snapshot(m), channel_snapshot(m, "Dest"), m.get("DialStatus") or "", m),
    "DialEnd": lambda m: DialEnd(
        _optional_snapshot(m), channel_snapshot(m, "Dest"), _required(m, "DialStatus"), m),
    "OriginateResponse": lambda m: OriginateResponse(
        m.get("ActionID"), _required(m, "Response"), m.get("Channel") or "",
        None if m.get("Uniqueid") in (None, "<unknown>") else m.get("Uniqueid"),
        _int(m, "Reason", m.get("Reason")), m),
    "BridgeCreate": lambda m: BridgeCreate(bridge_snapshot(m), m),
    "BridgeEnter": lambda m: BridgeEnter(
        bridge_snapshot(m), channel_snapshot(m), m.get("SwapUniqueid") or None, m),
    "BridgeLeave": lambda m: BridgeLeave(bridge_snapshot(m), channel_snapshot(m), m),
    "BridgeDestroy": lambda m: BridgeDestroy(bridge_snapshot(m), m),
    "Hold": lambda m: Hold(channel_snapshot(m), m.get("MusicClass") or "", m),
    "Unhold": lambda m: Unhold(channel_snapshot(m), m),
    "BlindTransfer": lambda m: BlindTransfer(
        _required(m, "Result"), channel_snapshot(m, "Transferer"),
        _optional_snapshot(m, "Transferee"),
        bridge_snapshot(m) if m.get("BridgeUniqueid") else None,
        _yes(m.get("IsExternal")), m.get("Context") or "", m.get("Extension") or "", m),
    "AttendedTransfer": lambda m: AttendedTransfer(
        _required(m, "Result"), channel_snapshot(m, "OrigTransferer"),
        _optional_snapshot(m, "SecondTransferer"), _optional_snapshot(m, "Transferee"),
        _optional_snapshot(m, "TransferTarget"), m.get("DestType") or "",
        _yes(m.get("IsExternal")), m),
    "MusicOnHoldStart": lambda m: MusicOnHoldStart(channel_snapshot(m), m.get("Class") or "", m),
    "MusicOnHoldStop": lambda m: MusicOnHoldStop(channel_snapshot(m), m),
    "MixMonitorStart": lambda m: MixMonitorStart(channel_snapshot(m), m),
    "MixMonitorStop": lambda m: MixMonitorStop(channel_snapshot(m), m),
    "MixMonitorMute": lambda m: MixMonitorMute(
        channel_snapshot(m), m.get("Direction") or "", _yes(m.get("State")), m),
    "VarSet": lambda m: VarSet(
        _optional_snapshot(m), _required(m, "Variable"), m.get("Value") or "", m),
    "UserEvent": _user_event,
    "CoreShowChannel": lambda m: CoreShowChannel(
        channel_snapshot(m), m.get("Application") or "", m.get("ApplicationData") or "",
        m.get("Duration") or "", m.get("BridgeId") or None, m),
    "BridgeListItem": lambda m: BridgeListItem(bridge_snapshot(m), m),
    "BridgeInfoChannel": lambda m: BridgeInfoChannel(channel_snapshot(m), m),
    "Status": _status,
    "FullyBooted": lambda m: FullyBooted(
        m.get("Status") or "", _int(m, "Uptime", m.get("Uptime")), m),
    "Shutdown": lambda m: Shutdown(m.get("Shutdown") or "", _yes(m.get("Restart")), m),
}


def parse_event(message: AmiMessage) -> AmiEvent:
    """The typed form of an ``Event:`` message; raises AmiEventError on a malformed one."""
    name = message.name
    parser = _PARSERS.get(name)
    if parser is not None:
        return parser(message)
    list_state = message.get("EventList")
    if list_state is not None and list_state.lower() == "complete":
        return ListComplete(name, message.get("ActionID"),
                            _int(message, "ListItems", message.get("ListItems")), message)
    return UnknownEvent(name, message)


def event_channel(event: AmiEvent) -> ChannelSnapshot | None:
    """The main channel an event is about (for logging with the call's ids), if any."""
    channel = getattr(event, "channel", None)
    if isinstance(channel, ChannelSnapshot):
        return channel
    for attr in ("dest", "transferer", "orig_transferer"):
        channel = getattr(event, attr, None)
        if isinstance(channel, ChannelSnapshot):
            return channel
    return None
