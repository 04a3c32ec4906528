"""Hotline's bridge to the Asterisk Manager Interface (AMI).

Layers, from the wire up (see docs/ami.md):

* :mod:`cti.ami.protocol` — sans-I/O framing: :class:`AmiParser` (bytes in, messages out) and
  :func:`encode_message`;
* :mod:`cti.ami.events` — typed events (:func:`parse_event`), a closed set of frozen dataclasses
  plus :class:`~cti.ami.events.UnknownEvent`;
* :mod:`cti.ami.actions` — :class:`Action` values and builders (``redirect``, ``originate``...);
* :mod:`cti.ami.correlate` — :class:`ActionTracker`: answers matched to actions by ActionID and
  EventList, typed results and errors, timeouts;
* :mod:`cti.ami.client` — :class:`AmiClient`: asyncio session with login, keep-alive, reconnect
  with backoff, resync hook, handler isolation;
* :mod:`cti.ami.snapshot` — resynchronising a :class:`cti.tracker.CallTracker` over the client;
* :mod:`cti.ami.transcript` — reading the recorded transcripts (tests, benchmark, stand-in).
"""

from cti.ami.actions import Action
from cti.ami.client import AmiClient, AmiSettings, AmiStats
from cti.ami.correlate import ActionResult, ActionTracker, Settlement
from cti.ami.events import AmiEvent, parse_event
from cti.ami.protocol import AmiMessage, AmiParser, Banner, encode_banner, encode_message

__all__ = [
    "Action",
    "ActionResult",
    "ActionTracker",
    "AmiClient",
    "AmiEvent",
    "AmiMessage",
    "AmiParser",
    "AmiSettings",
    "AmiStats",
    "Banner",
    "Settlement",
    "encode_banner",
    "encode_message",
    "parse_event",
]
