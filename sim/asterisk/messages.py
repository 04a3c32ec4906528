"""Builders for the AMI messages the stand-in sends, field for field as Asterisk 22 sends them.

Each function returns the ordered ``(key, value)`` list of one message; the field names, their
order and the style of their values were copied from the recorded transcripts in
``tests/fixtures/asterisk/`` (the conformance test compares them). Time-dependent values
(``Uptime``, Cdr times, ``Duration``) are computed from the stand-in's simulated clock.
"""

from __future__ import annotations

import time

from cti.transitions import CAUSE_TEXT
from sim.asterisk.channels import Bridge, Channel, Fields


def event(name: str, privilege: str, *parts: Fields) -> Fields:
    fields: Fields = [("Event", name), ("Privilege", privilege)]
    for part in parts:
        fields.extend(part)
    return fields


def on_channel(name: str, privilege: str, channel: Channel, extra: Fields = ()) -> Fields:
    return event(name, privilege, channel.block(), list(extra))


def var_set(channel: Channel, variable: str, value: str) -> Fields:
    return on_channel("VarSet", "dialplan,all", channel, [("Variable", variable), ("Value", value)])


def new_exten(channel: Channel, application: str, app_data: str) -> Fields:
    channel.application, channel.app_data = application, app_data
    return on_channel("Newexten", "dialplan,all", channel, [
        ("Extension", channel.exten), ("Application", application), ("AppData", app_data)])


def user_event(channel: Channel, name: str, headers: Fields) -> Fields:
    return on_channel("UserEvent", "user,all", channel, [("UserEvent", name), *headers])


def device_state(device: str, state: str) -> Fields:
    return event("DeviceStateChange", "call,all", [("Device", device), ("State", state)])


def hangup(channel: Channel, cause: int) -> Fields:
    return on_channel("Hangup", "call,all", channel, [
        ("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))])


def hangup_request(channel: Channel, cause: int | None) -> Fields:
    extra = [] if cause is None else [("Cause", str(cause))]
    return on_channel("HangupRequest", "call,all", channel, extra)


def soft_hangup_request(channel: Channel, cause: int = 16) -> Fields:
    return on_channel("SoftHangupRequest", "call,all", channel, [("Cause", str(cause))])


def dial(name: str, caller: Channel, agent: Channel, status: str | None) -> Fields:
    extra: Fields = agent.block("Dest")
    if name == "DialBegin":
        extra.append(("DialString", agent.endpoint))
    else:
        extra.append(("DialStatus", status or ""))
    return on_channel(name, "call,all", caller, extra)


def bridge_event(name: str, bridge: Bridge, channel: Channel | None = None) -> Fields:
    return event(name, "call,all", bridge.block(), channel.block() if channel else [])


def moh(name: str, channel: Channel) -> Fields:
    extra = [("Class", "default")] if name == "MusicOnHoldStart" else []
    return on_channel(name, "call,all", channel, extra)


def blind_transfer(transferer: Channel, transferee: Channel, bridge: Bridge, context: str,
                   exten: str) -> Fields:
    return event("BlindTransfer", "call,all", [("Result", "Success")],
                 transferer.block("Transferer"), transferee.block("Transferee"), bridge.block(),
                 [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)])


def cdr(caller: Channel, agent: Channel | None, start: float, answer: float | None,
        end: float, last_app: str, last_data: str, destination: str) -> Fields:
    def stamp(t: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
    billable = int(end - answer) if answer is not None else 0
    return event("Cdr", "cdr,all", [
        ("AccountCode", ""), ("Source", caller.caller_num), ("Destination", destination),
        ("DestinationContext", caller.context),
        ("CallerID", f'"{caller.caller_name}" <{caller.caller_num}>'),
        ("Channel", caller.name), ("DestinationChannel", agent.name if agent else ""),
        ("LastApplication", last_app), ("LastData", last_data), ("StartTime", stamp(start)),
        ("AnswerTime", stamp(answer) if answer is not None else ""), ("EndTime", stamp(end)),
        ("Duration", str(int(end - start))), ("BillableSeconds", str(billable)),
        ("Disposition", "ANSWERED" if answer is not None else "NO ANSWER"),
        ("AMAFlags", "DOCUMENTATION"), ("UniqueID", caller.uniqueid), ("UserField", ""),
    ])


def response(status: str, action_id: str | None, extra: Fields = ()) -> Fields:
    fields: Fields = [("Response", status)]
    if action_id is not None:
        fields.append(("ActionID", action_id))
    fields.extend(extra)
    return fields


def fully_booted(uptime: int) -> Fields:
    return event("FullyBooted", "system,all", [
        ("Uptime", str(uptime)), ("LastReload", str(uptime)), ("Status", "Fully Booted")])


def successful_auth(username: str, session_id: str, local: str, remote: str, now: float) -> Fields:
    millis = int(now * 1000) % 1000
    tv = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{millis:03d}+0000"
    return event("SuccessfulAuth", "security,all", [
        ("EventTV", tv), ("Severity", "Informational"), ("Service", "AMI"), ("EventVersion", "1"),
        ("AccountID", username), ("SessionID", session_id), ("LocalAddress", local),
        ("RemoteAddress", remote), ("UsingPassword", "0"), ("SessionTV", tv)])


def list_item(name: str, action_id: str | None, parts: Fields) -> Fields:
    fields: Fields = [("Event", name)]
    if action_id is not None:
        fields.append(("ActionID", action_id))
    return fields + parts


def list_complete(name: str, action_id: str | None, count: int, extra: Fields = ()) -> Fields:
    fields: Fields = [("Event", name)]
    if action_id is not None:
        fields.append(("ActionID", action_id))
    return [*fields, ("EventList", "Complete"), ("ListItems", str(count)), *extra]


def hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
