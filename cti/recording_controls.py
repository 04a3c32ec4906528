"""Pause/resume of live recordings from any process: :class:`recording.http.RecordingControls`.

The recording controller runs in the routing leader, but the API that receives "pause the
recording of call X" may run in any ``hotline serve`` process. So the controls read the call's
current segment from the database (the row with status ``recording``; it is paused while its
last pause has no ``until``), and send the request to the leader as a ``recording_pause`` /
``recording_resume`` command on the ``commands`` stream, in the name of the segment's agent.
The leader applies it in stream order like every other command (cti.recording_hook).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future

import sqlalchemy as sa

from cti.commands import submit
from cti.ports import Command
from hotline.db import Database, tables
from hotline.store import StateStore
from recording.control import PauseRequested, ResumeRequested, SegmentView

COMMAND_TIMEOUT_S = 5.0


class StoreRecordingControls:
    """Controls for the recording API, backed by the database and the ``commands`` stream.

    ``submit`` is called from the API's worker threads (the recording routes are plain
    functions), so the command is handed to ``loop``, the loop that owns the Redis client.
    """

    def __init__(self, database: Database, store: StateStore,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.database = database
        self.store = store
        self.loop = loop

    def active_segment(self, call_id: str) -> SegmentView | None:
        R = tables.recordings
        with self.database.begin() as conn:
            row = conn.execute(
                sa.select(R.c.segment, R.c.agent_id, R.c.path, R.c.pauses)
                .where(R.c.call_id == call_id, R.c.status == "recording")
                .order_by(R.c.segment.desc()).limit(1)).first()
        if row is None:
            return None
        pauses = list(row.pauses or [])
        paused = bool(pauses) and pauses[-1].get("until") is None
        return SegmentView(call_id, row.segment, row.agent_id, row.path, paused, False)

    def submit(self, request: PauseRequested | ResumeRequested) -> None:
        segment = self.active_segment(request.call_id)
        if segment is None or segment.agent_id is None:
            return  # the call ended meanwhile; nothing to pause
        kind = "recording_pause" if isinstance(request, PauseRequested) else "recording_resume"
        command = Command(kind, segment.agent_id, request.by)
        future: Future[str] = asyncio.run_coroutine_threadsafe(submit(self.store, command),
                                                               self.loop)
        future.result(COMMAND_TIMEOUT_S)
