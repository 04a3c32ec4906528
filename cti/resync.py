"""What Asterisk reports after a (re)connect, as one value the call tracker reconciles with.

After an AMI outage Hotline cannot know which events it missed, so it asks Asterisk for the
present: ``CoreShowChannels`` (every channel, with its Linkedid and BridgeId), ``BridgeList``
(every bridge) and, for the channels of waiting callers, ``Getvar HOTLINE_CONTACT`` (the
contact id Hotline's dialplan stored on the channel). :class:`ResyncSnapshot` holds those
answers; :meth:`cti.tracker.CallTracker.resync` compares them with what it knew.
``cti.ami.snapshot.collect_snapshot`` gathers one over a live AMI client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cti.ami.events import BridgeListItem, CoreShowChannel


@dataclass(frozen=True, slots=True)
class ResyncSnapshot:
    """``contacts`` maps a channel's Uniqueid to its HOTLINE_CONTACT value (when set)."""

    channels: tuple[CoreShowChannel, ...]
    bridges: tuple[BridgeListItem, ...] = ()
    contacts: Mapping[str, str] = field(default_factory=dict)


def parse_duration(text: str) -> float | None:
    """Seconds in a CoreShowChannel ``Duration`` (``HH:MM:SS``); None if absent or odd."""
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, seconds = (int(p) for p in parts)
    return float(hours * 3600 + minutes * 60 + seconds)
