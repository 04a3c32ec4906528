"""Recordings in the live engine: :class:`recording.control.RecordingController` wired to AMI.

The controller is pure; this observer feeds it every call transition the routing leader sees,
every ``recording_pause`` / ``recording_resume`` command and the leader's notes (the IVR's flow
and customer, ``HOTLINE_SENSITIVE`` around sensitive IVR nodes: :mod:`cti.notes`), then
carries out its outputs in order: MixMonitor / MixMonitorMute / StopMixMonitor through the
engine's AMI client (each answer reported back as ``ActionSettled``), metadata writes through
:class:`recording.repository.RecordingRepository` (in a worker thread: SQL is blocking), and
the finalisation (hash, duration) of every stopped segment.

It runs in the leader only (it needs the AMI session), as one task of the engine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cti.ami.client import AmiClient
from cti.clock import Clock
from cti.errors import AmiActionError, AmiError
from cti.notes import CallNote, ChannelVariable, HandedOver, IvrEntered
from cti.ports import Command
from cti.transitions import Answered, CallTransition
from recording.control import (
    ActionSettled,
    AmiRequest,
    ControlInput,
    CustomerIdentified,
    FlowEntered,
    PauseRequested,
    RecordingController,
    ResumeRequested,
    SegmentStopped,
)
from recording.repository import RecordingRepository
from recording.storage import RecordingStorage


class RecordingHook:
    """A :class:`cti.live.CallObserver` that drives the recordings of every call."""

    def __init__(self, controller: RecordingController, repository: RecordingRepository,
                 storage: RecordingStorage, clock: Clock,
                 logger: logging.Logger | None = None,
                 agent_of_extension: Mapping[str, str] | None = None) -> None:
        self.controller = controller
        # the tracker names agents by extension; recordings are searched and played by agent
        # id (an agent's token), so answers are translated when the mapping is given
        self.agent_of_extension = dict(agent_of_extension or {})
        self.repository = repository
        self.storage = storage
        self.clock = clock
        self.log = logger or logging.getLogger("cti.recording")
        self._inbox: asyncio.Queue[ControlInput] = asyncio.Queue()

    def on_transition(self, transition: CallTransition) -> None:
        if isinstance(transition, Answered) and transition.agent in self.agent_of_extension:
            transition = replace(transition, agent=self.agent_of_extension[transition.agent])
        self._inbox.put_nowait(transition)

    def on_command(self, command: Command, call_id: str | None) -> None:
        if call_id is None or command.type not in ("recording_pause", "recording_resume"):
            return
        kind = PauseRequested if command.type == "recording_pause" else ResumeRequested
        self._inbox.put_nowait(kind(call_id, self.clock.now(), "agent", command.agent))

    def on_note(self, note: CallNote) -> None:
        """The IVR's flow (when the IVR starts, again at the hand-over) and customer (before
        the call's Queued), and its sensitive nodes:
        ``HOTLINE_SENSITIVE`` 1/0 on the caller's channel pauses/resumes with source ``ivr``."""
        if isinstance(note, IvrEntered):
            self._inbox.put_nowait(FlowEntered(note.call_id, note.at, note.flow))
        elif isinstance(note, HandedOver):
            if note.request.flow:
                self._inbox.put_nowait(FlowEntered(note.call_id, note.at, note.request.flow))
            if note.request.customer_id:
                self._inbox.put_nowait(CustomerIdentified(note.call_id, note.at,
                                                          note.request.customer_id))
        elif isinstance(note, ChannelVariable) and note.name == "HOTLINE_SENSITIVE":
            kind = PauseRequested if note.value == "1" else ResumeRequested
            self._inbox.put_nowait(kind(note.call_id, note.at, "ivr", "sensitive IVR node"))

    async def run(self, client: AmiClient) -> None:
        while True:
            item = await self._inbox.get()
            try:
                await self._carry_out(client, self.controller.feed(item))
            except AmiError as exc:
                # AMI down: the controller keeps the request pending; the outage's resync
                # reports the call again.
                self.log.warning("recording action for call %s not sent: %s",
                                 getattr(item, "call_id", "?"), exc)

    async def _carry_out(self, client: AmiClient, outputs: list[Any]) -> None:
        for out in outputs:
            if isinstance(out, AmiRequest):
                try:
                    await client.send(out.action)
                    error = None
                except AmiActionError as exc:
                    error = str(exc)
                await self._carry_out(client, self.controller.feed(
                    ActionSettled(out.ref, self.clock.now(), error)))
                continue
            await asyncio.to_thread(self.repository.apply, out)
            if isinstance(out, SegmentStopped):
                await asyncio.to_thread(self.repository.finalise, out.call_id, out.segment,
                                        self.storage, at=out.at)
