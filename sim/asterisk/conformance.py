"""How the stand-in is compared with real Asterisk: message shapes and per-channel stories.

Two views of an AMI stream, computed the same way for a recorded transcript and for what the
stand-in sent, so tests can compare them:

* :func:`shapes` — for every message *type* (``("event", "DialEnd")``,
  ``("event", "UserEvent", "HotlineRona")``, ``("response", "Redirect", "Success")``...) the
  ordered field-name tuples seen. A response's type names the action it answers (matched by
  ActionID), so ``Response: Success`` to a Getvar and to a Redirect are different types.
* :func:`story` — the events of one channel, in order, each as a short tag
  (``VarSet:HOTLINE_CONTACT``, ``Newexten:Dial``, ``DialEnd:NOANSWER``...), leaving out what
  depends on media timing rather than on the call flow (:data:`MEDIA_NOISE`): RTCP reports,
  RTP QoS and periodic ``BRIDGEPEER`` variables, and Cdr records (their position varies with
  thread scheduling in Asterisk itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cti.ami.protocol import AmiMessage, AmiParser
from cti.ami.transcript import read_transcript

MEDIA_NOISE_EVENTS = frozenset({"RTCPReceived", "RTCPSent", "Cdr"})
MEDIA_NOISE_VARIABLES = ("BRIDGEPEER", "BRIDGEPVTCALLID", "RTPAUDIOQOS")

Shape = tuple[str, ...]
MessageType = tuple[str, ...]


def transcript_messages(path: str | Path) -> list[tuple[bool, AmiMessage]]:
    """``(from_server, message)`` for every AMI message of a recorded transcript."""
    out: list[tuple[bool, AmiMessage]] = []
    for run in read_transcript(path):
        parser = AmiParser(expect_banner=run.from_server and run.data.startswith(b"Asterisk"))
        parser.receive_data(run.data)
        out.extend((run.from_server, m) for m in parser.messages() if isinstance(m, AmiMessage))
    return out


def message_type(message: AmiMessage, actions: dict[str, str]) -> MessageType:
    if message.kind == "event":
        if message.name == "UserEvent":
            return ("event", "UserEvent", message.get("UserEvent") or "")
        return ("event", message.name)
    if message.kind == "response":
        action = actions.get(message.action_id or "", "?")
        return ("response", action, message.name)
    return (message.kind, message.name)


def shapes(stream: Iterable[tuple[bool, AmiMessage]]) -> dict[MessageType, set[Shape]]:
    """Field-name tuples per message type of the server's side of a stream."""
    actions: dict[str, str] = {}
    found: dict[MessageType, set[Shape]] = {}
    for from_server, message in stream:
        if not from_server:
            if message.action_id:
                actions[message.action_id] = message.name
            continue
        kind = message_type(message, actions)
        found.setdefault(kind, set()).add(tuple(key for key, _ in message.fields))
    return found


def _noise(message: AmiMessage) -> bool:
    if message.name in MEDIA_NOISE_EVENTS:
        return True
    return message.name == "VarSet" and (message.get("Variable") or "").startswith(
        MEDIA_NOISE_VARIABLES)


def _tag(message: AmiMessage) -> str:
    detail = {"VarSet": "Variable", "Newexten": "Application", "UserEvent": "UserEvent",
              "DialEnd": "DialStatus", "DialState": "DialStatus"}.get(message.name)
    return f"{message.name}:{message.get(detail) or ''}" if detail else message.name


def story(messages: Iterable[AmiMessage], channel: str) -> list[str]:
    """The flow-relevant events of ``channel`` (as Channel, or as BlindTransfer's transferee)."""
    return [_tag(m) for m in messages
            if m.kind == "event" and not _noise(m)
            and channel in (m.get("Channel"), m.get("TransfereeChannel"))]


def caller_channels(messages: Iterable[AmiMessage]) -> list[str]:
    """Caller channels (context from-callers or hotline-inbound at creation), in order."""
    return [m.get("Channel") or "" for m in messages
            if m.kind == "event" and m.name == "Newchannel"
            and m.get("Context") in ("from-callers", "hotline-inbound")]
