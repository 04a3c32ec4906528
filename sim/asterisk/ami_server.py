"""The stand-in's AMI server: one :class:`AmiSession` per TCP client.

A session greets with Asterisk's banner, parses the client's actions with the real sans-I/O
parser (:class:`cti.ami.protocol.AmiParser`, server side), answers each with a response whose
fields copy Asterisk's, and, once logged in with events on, receives every event the switch
emits. Responses are written before the events an action causes (``Response: Success`` to a
Redirect, then ``MusicOnHoldStop``...), as Asterisk does. Validation that can fail is done
before the response, so an ``Error`` never follows a partial effect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from cti.ami.protocol import AmiMessage, AmiParser, encode_banner
from cti.errors import AmiParseError
from sim.asterisk import messages as msg
from sim.asterisk.channels import Fields
from sim.asterisk.errors import ActionFailed, UnknownChannelError

if TYPE_CHECKING:
    from sim.asterisk.standin import AsteriskStandin

log = logging.getLogger(__name__)

NO_SUCH_CHANNEL = "No such channel"


def encode(fields: Fields) -> bytes:
    """AMI framing for messages the stand-in builds itself. Every value is either ours or was
    parsed from a CRLF-framed line, so none can contain a line break; this skips the checks of
    :func:`cti.ami.protocol.encode_message`, which the tests use to cross-check the bytes."""
    return ("".join([f"{key}: {value}\r\n" for key, value in fields]) + "\r\n").encode()


class AmiSession:
    """One AMI client connection."""

    def __init__(self, standin: AsteriskStandin, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, number: int) -> None:
        self.standin = standin
        self.reader = reader
        self.writer = writer
        self.number = number
        self.authenticated = False
        self.events_on = True
        self.username = ""
        self.actions: list[AmiMessage] = []
        self._closing = False

    # ----------------------------------------------------------------- I/O
    async def serve(self) -> None:
        parser = AmiParser(expect_banner=False)
        self.writer.write(encode_banner())
        try:
            while not self._closing:
                data = await self.reader.read(65536)
                parser.receive_data(data)
                if not data:
                    break
                while not self._closing:
                    try:
                        message = parser.next_message()
                    except AmiParseError:
                        self.send(msg.response("Error", None, [
                            ("Message", "Missing action in request")]))
                        continue
                    if message is None:
                        break
                    assert isinstance(message, AmiMessage)
                    self.dispatch(message)
                await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.close()

    def send(self, fields: Fields) -> None:
        self.send_bytes(encode(fields))

    def send_bytes(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def send_event(self, data: bytes) -> None:
        """An event already encoded once for every session."""
        if self.authenticated and self.events_on:
            self.send_bytes(data)

    def close(self) -> None:
        self._closing = True
        if not self.writer.is_closing():
            self.writer.close()
        self.standin._forget(self)

    # ----------------------------------------------------------------- dispatch
    def dispatch(self, message: AmiMessage) -> None:
        self.actions.append(message)
        action_id = message.get("ActionID")
        name = (message.get("Action") or "").lower()
        if message.kind != "action" or not name:
            self.send(msg.response("Error", action_id, [("Message", "Missing action in request")]))
            return
        if name not in ("login", "logoff", "challenge") and not self.authenticated:
            self.send(msg.response("Error", action_id, [("Message", "Permission denied")]))
            return
        handler = _HANDLERS.get(name)
        if handler is None:
            self.send(msg.response("Error", action_id, [(
                "Message", f"Invalid/unknown command: {message.get('Action')}. Use Action: "
                           "ListCommands to show available commands.")]))
            return
        try:
            handler(self, message, action_id)
        except (ActionFailed, UnknownChannelError) as exc:
            text = str(exc) if isinstance(exc, ActionFailed) else NO_SUCH_CHANNEL
            self.send(msg.response("Error", action_id, [("Message", text)]))

    def ok(self, action_id: str | None, message: str | None = None, extra: Fields = ()) -> None:
        fields: Fields = [("Message", message)] if message is not None else []
        self.send(msg.response("Success", action_id, [*fields, *extra]))


def _required(m: AmiMessage, key: str) -> str:
    value = m.get(key)
    if not value:
        raise ActionFailed(f"{key} not specified" if key != "Channel" else "No channel specified")
    return value


# --------------------------------------------------------------------- handlers
def _login(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    standin = s.standin
    if m.get("Username") != standin.username or m.get("Secret") != standin.secret:
        s.send(msg.response("Error", aid, [("Message", "Authentication failed")]))
        s.close()
        return
    s.authenticated, s.username = True, standin.username
    standin.logins += 1
    s.events_on = (m.get("Events") or "on").lower() not in ("off", "no", "false", "0")
    s.ok(aid, "Authentication accepted")
    peer = s.writer.get_extra_info("peername") or ("127.0.0.1", 0)
    s.send_event(encode(msg.fully_booted(standin.uptime())))
    s.send_event(encode(msg.successful_auth(
        s.username, f"0x{0x7f7258000000 + s.number * 0x1f40:x}",
        f"IPV4/TCP/{standin.host}/{standin.port}", f"IPV4/TCP/{peer[0]}/{peer[1]}",
        standin.clock.now())))


def _logoff(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    s.send(msg.response("Goodbye", aid, [("Message", "Thanks for all the fish.")]))
    s.close()


def _ping(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    s.send(msg.response("Success", aid, [
        ("Ping", "Pong"), ("Timestamp", f"{s.standin.clock.now():.6f}")]))


def _events(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    mask = (m.get("EventMask") or "on").lower()
    s.events_on = mask not in ("off", "no", "false", "0")
    s.send(msg.response("Success", aid, [("Events", "On" if s.events_on else "Off")]))


def _redirect(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    name = _required(m, "Channel")
    pbx = s.standin.pbx
    if name not in pbx.channels:
        raise ActionFailed(f"Channel does not exist: {name}")
    context, exten = _required(m, "Context"), _required(m, "Exten")
    priority = int(m.get("Priority") or "1")
    s.ok(aid, "Redirect successful")
    pbx.redirect(name, context, exten, priority)


def _hangup(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    pbx = s.standin.pbx
    ch = pbx.find(_required(m, "Channel"))
    cause = int(m.get("Cause") or "16")
    s.ok(aid, "Channel Hungup")
    pbx.hangup(ch.name, cause, requested=True)


def _setvar(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    variable = _required(m, "Variable")
    value = m.get("Value") or ""
    channel = m.get("Channel")
    if channel:
        s.standin.pbx.find(channel)
    s.ok(aid, "Variable Set")
    if channel:
        s.standin.pbx.set_variable(channel, variable, value)
    else:
        s.standin.globals[variable] = value


def _getvar(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    variable = _required(m, "Variable")
    channel = m.get("Channel")
    if channel:
        value = s.standin.pbx.find(channel).variables.get(variable, "")
    else:
        value = s.standin.globals.get(variable, "")
    s.send(msg.response("Success", aid, [("Variable", variable), ("Value", value)]))


def _mixmonitor(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    pbx = s.standin.pbx
    ch = pbx.find(_required(m, "Channel"))
    path = _required(m, "File")
    s.ok(aid)
    pbx.mixmonitor(ch.name, path, m.get("Options") or "", s.standin.recording_path(path))


def _mixmonitor_mute(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    pbx = s.standin.pbx
    ch = pbx.find(_required(m, "Channel"))
    direction = (m.get("Direction") or "both").lower()
    if direction not in ("read", "write", "both"):
        raise ActionFailed("Invalid direction specified. Must be read, write or both")
    state = (m.get("State") or "0").lower() in ("1", "on", "yes", "true")
    s.ok(aid)
    pbx.mixmonitor_mute(ch.name, direction, state)


def _stop_mixmonitor(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    pbx = s.standin.pbx
    ch = pbx.find(_required(m, "Channel"))
    if not pbx.is_recording(ch.name):
        raise ActionFailed("Could not stop monitoring channel")
    s.ok(aid)
    pbx.stop_mixmonitor(ch.name)


def _blind_transfer(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    pbx = s.standin.pbx
    ch = pbx.check_transfer(_required(m, "Channel"))
    context, exten = _required(m, "Context"), _required(m, "Exten")
    s.ok(aid, "Transfer succeeded")
    pbx.blind_transfer(ch.name, context, exten)


def _play_dtmf(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    ch = s.standin.pbx.find(_required(m, "Channel"))
    digit = _required(m, "Digit")
    s.ok(aid, "DTMF successfully queued")
    s.standin.dtmf_played.append((ch.name, digit))


def _bridge(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    pbx = s.standin.pbx
    a, b = pbx.find(_required(m, "Channel1")), pbx.find(_required(m, "Channel2"))
    s.ok(aid, "Channels have been bridged")
    pbx.bridge_channels(a.name, b.name)


def _originate(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    channel = _required(m, "Channel")
    s.ok(aid, "Originate successfully queued")
    s.standin.originate(aid, channel, m)


def _user_event(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    name = _required(m, "UserEvent")
    headers = [(k, v) for k, v in m.fields if k not in ("Action", "ActionID", "UserEvent")]
    s.ok(aid, "Event Sent")
    s.standin.broadcast(msg.event("UserEvent", "user,all", [("UserEvent", name), *headers]))


def _core_show_channels(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    pbx = s.standin.pbx
    now = s.standin.clock.now()
    s.send(msg.response("Success", aid, [("EventList", "start"),
                                         ("Message", "Channels will follow")]))
    channels = list(pbx.channels.values())
    for ch in channels:
        s.send(msg.list_item("CoreShowChannel", aid, [
            *ch.block(), ("Application", ch.application), ("ApplicationData", ch.app_data),
            ("Duration", msg.hms(now - ch.created_at)),
            ("BridgeId", ch.bridge.uniqueid if ch.bridge else "")]))
    s.send(msg.list_complete("CoreShowChannelsComplete", aid, len(channels)))


def _bridge_list(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    bridges = s.standin.pbx.bridges()
    s.send(msg.response("Success", aid, [("EventList", "start"),
                                         ("Message", "Bridge listing will follow")]))
    for bridge in bridges:
        s.send(msg.list_item("BridgeListItem", aid, bridge.block()))
    s.send(msg.list_complete("BridgeListComplete", aid, len(bridges)))


def _bridge_info(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    wanted = _required(m, "BridgeUniqueid")
    bridge = next((b for b in s.standin.pbx.bridges() if b.uniqueid == wanted), None)
    if bridge is None:
        raise ActionFailed(f"Bridge {wanted} not found")
    s.send(msg.response("Success", aid, [("EventList", "start"),
                                         ("Message", "Bridge channel listing will follow")]))
    for ch in bridge.channels:
        s.send(msg.list_item("BridgeInfoChannel", aid, ch.block()))
    s.send(msg.list_complete("BridgeInfoComplete", aid, len(bridge.channels), bridge.block()))


def _status(s: AmiSession, m: AmiMessage, aid: str | None) -> None:
    pbx = s.standin.pbx
    name = m.get("Channel")
    channels = [pbx.find(name)] if name else list(pbx.channels.values())
    now = s.standin.clock.now()
    s.send(msg.response("Success", aid, [("EventList", "start"),
                                         ("Message", "Channel status will follow")]))
    for ch in channels:
        fields = [("Event", "Status"), ("Privilege", "Call"), *ch.block(), ("Type", "PJSIP"),
                  ("DNID", pbx.inbound_exten if ch.role == "caller" else ""),
                  ("EffectiveConnectedLineNum", ch.connected_num),
                  ("EffectiveConnectedLineName", ch.connected_name), ("TimeToHangup", "0"),
                  ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""),
                  ("Application", ch.application), ("Data", ch.app_data),
                  ("Nativeformats", "(ulaw)"), ("Readformat", "ulaw"), ("Readtrans", ""),
                  ("Writeformat", "ulaw"), ("Writetrans", ""), ("Callgroup", "0"),
                  ("Pickupgroup", "0"), ("Seconds", str(int(now - ch.created_at)))]
        if aid is not None:
            fields.append(("ActionID", aid))
        s.send(fields)
    s.send(msg.list_complete("StatusComplete", aid, len(channels), [("Items", str(len(channels)))]))


_HANDLERS: dict[str, Callable[[AmiSession, AmiMessage, str | None], None]] = {
    "login": _login, "logoff": _logoff, "ping": _ping, "events": _events,
    "redirect": _redirect, "hangup": _hangup, "setvar": _setvar, "getvar": _getvar,
    "mixmonitor": _mixmonitor, "mixmonitormute": _mixmonitor_mute,
    "stopmixmonitor": _stop_mixmonitor, "blindtransfer": _blind_transfer,
    "playdtmf": _play_dtmf, "bridge": _bridge, "originate": _originate,
    "userevent": _user_event, "coreshowchannels": _core_show_channels,
    "bridgelist": _bridge_list, "bridgeinfo": _bridge_info, "status": _status,
}
