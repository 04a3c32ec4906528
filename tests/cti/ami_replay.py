"""Replaying the recorded Asterisk transcripts through the real parser and ActionTracker.

Imported by the cti tests as ``ami_replay`` (the tests folder is not a package).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from cti.ami.actions import Action
from cti.ami.correlate import ActionTracker, Settlement
from cti.ami.events import AmiEvent, parse_event
from cti.ami.protocol import AmiMessage, AmiParser, Banner
from cti.ami.transcript import read_transcript

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk"
AMI_TRANSCRIPTS = sorted(p.name for p in FIXTURES.glob("*.txt") if not p.name.startswith("fastagi"))


@dataclass
class Replay:
    banner: Banner | None = None
    actions: list[Action] = field(default_factory=list)
    events: list[AmiEvent] = field(default_factory=list)  # live events (not claimed by actions)
    settlements: dict[str, Settlement] = field(default_factory=dict)
    messages: int = 0


def action_from_message(message: AmiMessage) -> Action:
    """The Action a transcript's client sent, keeping its recorded ActionID."""
    fields = tuple((k, v) for k, v in message.fields if k not in ("Action", "ActionID"))
    asynchronous = (message.get("Async") or "").lower() == "true"
    completes_with = "OriginateResponse" if message.name == "Originate" and asynchronous else None
    return Action(message.name, fields, message.get("ActionID"), completes_with)


@functools.cache
def replay_transcript(name: str) -> Replay:
    """Feed a transcript: client actions are registered, server bytes parsed and correlated.

    Cached: callers must not mutate the result.
    """
    tracker = ActionTracker()
    server = AmiParser()
    result = Replay()
    for run in read_transcript(FIXTURES / name):
        if not run.from_server:
            client = AmiParser(expect_banner=False)
            client.receive_data(run.data)
            for message in client.messages():
                assert isinstance(message, AmiMessage)
                action = action_from_message(message)
                result.actions.append(action)
                tracker.register(action, now=0.0, timeout=60.0)
            continue
        server.receive_data(run.data)
        for message in server.messages():
            result.messages += 1
            if isinstance(message, Banner):
                result.banner = message
                continue
            claimed, settlement = tracker.receive(message)
            if settlement is not None:
                result.settlements[settlement.action_id] = settlement
            if not claimed:
                assert message.kind == "event", message
                result.events.append(parse_event(message))
    assert len(tracker) == 0, "every recorded action got its complete answer"
    return result
