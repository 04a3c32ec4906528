"""Channels and bridges of the stand-in, and the AMI field blocks that describe them.

Asterisk describes a channel in every event with the same fourteen fields, in the same order
(``Channel``, ``ChannelState``, ..., ``Uniqueid``, ``Linkedid``), sometimes behind a prefix
(``DestChannel`` in DialBegin, ``TransfererChannel`` in BlindTransfer); a bridge with eight
``Bridge*`` fields. :class:`Channel` and :class:`Bridge` hold exactly what those blocks need, plus
the few facts the stand-in's dialplan emulation tracks (variables, music on hold, the bridge it is
in). Names and ids follow Asterisk: ``PJSIP/2001-00000001`` and Uniqueid ``<epoch>.<sequence>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Fields = list[tuple[str, str]]

STATE_DESC = {0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing",
              6: "Up", 7: "Busy"}
UNKNOWN = "<unknown>"


@dataclass(slots=True)
class Channel:
    """One leg of a call (a caller's or an agent's phone channel)."""

    name: str
    uniqueid: str
    linkedid: str
    endpoint: str
    caller_num: str
    caller_name: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    connected_num: str = UNKNOWN
    connected_name: str = UNKNOWN
    role: str = "caller"                 # caller | agent | originated
    created_at: float = 0.0
    answered_at: float | None = None
    application: str = ""
    app_data: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    in_moh: bool = False
    bridge: Bridge | None = None
    alive: bool = True

    @property
    def device(self) -> str:
        return f"PJSIP/{self.endpoint}"

    def block(self, prefix: str = "") -> Fields:
        """The channel snapshot fields, in Asterisk's order."""
        return [
            (prefix + "Channel", self.name),
            (prefix + "ChannelState", str(self.state)),
            (prefix + "ChannelStateDesc", STATE_DESC[self.state]),
            (prefix + "CallerIDNum", self.caller_num),
            (prefix + "CallerIDName", self.caller_name),
            (prefix + "ConnectedLineNum", self.connected_num),
            (prefix + "ConnectedLineName", self.connected_name),
            (prefix + "Language", "en"),
            (prefix + "AccountCode", ""),
            (prefix + "Context", self.context),
            (prefix + "Exten", self.exten),
            (prefix + "Priority", str(self.priority)),
            (prefix + "Uniqueid", self.uniqueid),
            (prefix + "Linkedid", self.linkedid),
        ]

    def goto(self, context: str, exten: str, priority: int) -> None:
        self.context, self.exten, self.priority = context, exten, priority


@dataclass(slots=True)
class Bridge:
    """A two-party basic bridge (what Dial creates when the agent answers)."""

    uniqueid: str
    technology: str = "simple_bridge"
    channels: list[Channel] = field(default_factory=list)

    def block(self, prefix: str = "Bridge") -> Fields:
        return [
            (prefix + "Uniqueid", self.uniqueid),
            (prefix + "Type", "basic"),
            (prefix + "Technology", self.technology),
            (prefix + "Creator", UNKNOWN),
            (prefix + "Name", UNKNOWN),
            (prefix + "NumChannels", str(len(self.channels))),
            (prefix + "VideoSourceMode", "none"),
        ]

    def peer_of(self, channel: Channel) -> Channel | None:
        return next((c for c in self.channels if c is not channel), None)
