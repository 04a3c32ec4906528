"""The recordings API: search, metadata, playback with HTTP ranges, pause and resume.

``recording_router(...)`` builds a FastAPI ``APIRouter`` the live engine mounts; handlers are
short: check access, call the repository or storage, dump JSON. Access by role: ``qa``,
``supervisor`` and ``admin`` see every recording; an ``agent`` sees their own recordings only
when the deployment allows it (``agents_may_play_own`` in the recording policy) and is refused
everyone else's. Every playback request, and every refused one, is written to ``audit_log``.

Playback answers ``Range: bytes=...`` with ``206 Partial Content`` (``Content-Range``,
``Accept-Ranges: bytes``), so a browser's ``<audio>`` element can seek; a range outside the file
is ``416`` with ``Content-Range: bytes */<size>``. URLs carry recording ids, never paths, and
the stored path goes through :meth:`RecordingStorage.resolve`, which refuses anything outside
the recording root.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from hotline.auth import Forbidden, Principal
from hotline.db import Database
from recording.control import PauseRequested, ResumeRequested, SegmentView
from recording.errors import (
    RangeNotSatisfiable,
    RecordingGone,
    RecordingNotReady,
    StorageError,
)
from recording.repository import RecordingRepository, RecordingRow, SearchQuery
from recording.storage import RecordingStorage

REVIEWERS = ("qa", "supervisor", "admin")
CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RecordingControls(Protocol):
    """The live engine's side of pause/resume: a controller plus whoever executes its output."""

    def active_segment(self, call_id: str) -> SegmentView | None: ...

    def submit(self, request: PauseRequested | ResumeRequested) -> None: ...


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte positions (inclusive) for a ``Range`` header; None: whole file.

    Only single byte ranges are served; a header in another unit or with several ranges is
    ignored (the whole file is sent), as HTTP allows. Anything else that cannot be satisfied
    raises :class:`RangeNotSatisfiable`.
    """
    if header is None:
        return None
    text = header.strip().replace(" ", "")
    if not text.startswith("bytes=") or "," in text:
        return None
    match = _RANGE.match(text)
    if match is None or match.group(1) == match.group(2) == "":
        raise RangeNotSatisfiable(f"cannot read the range {header!r}; use bytes=START-END",
                                  size=size)
    first_text, last_text = match.groups()
    if first_text == "":  # suffix: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(f"the range {header!r} selects no byte of a {size}-byte "
                                      "recording", size=size)
        return max(0, size - length), size - 1
    first = int(first_text)
    last = size - 1 if last_text == "" else min(int(last_text), size - 1)
    if first >= size or (last_text != "" and int(last_text) < first):
        raise RangeNotSatisfiable(f"the range {header!r} is outside the recording's {size} "
                                  "bytes", size=size)
    return first, last


def _chunks(path: Path, first: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(first)
        remaining = length
        while remaining > 0:
            block = handle.read(min(CHUNK, remaining))
            if not block:
                return
            remaining -= len(block)
            yield block


def recording_router(
    database: Database,
    storage: RecordingStorage,
    principal_dep: Callable[..., Principal],
    allow_agents_own: bool,
    *,
    tz: dt.tzinfo = dt.UTC,
    controls: RecordingControls | None = None,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    """Routes under ``/recordings``; ``controls`` adds the pause/resume endpoints."""
    repository = RecordingRepository(database, tz)
    router = APIRouter(prefix="/recordings", tags=["recordings"])
    who_dep = Depends(principal_dep)

    def now() -> dt.datetime:
        return dt.datetime.fromtimestamp(clock(), dt.UTC)

    def local(value: dt.datetime | None) -> dt.datetime | None:
        # a time without an offset is the deployment's local time
        return value.replace(tzinfo=tz) if value is not None and value.tzinfo is None else value

    def ensure_may_play(who: Principal, row: RecordingRow) -> None:
        if who.role in REVIEWERS:
            return
        if who.role == "agent" and row.agent_id == who.subject:
            if allow_agents_own:
                return
            raise Forbidden(f"agent '{who.subject}' may not play recordings; this deployment "
                            "does not let agents hear their own calls")
        raise Forbidden(f"{who.role} '{who.subject}' may not play recording {row.id} of agent "
                        f"'{row.agent_id}'")

    def refused(who: Principal, recording_id: int, exc: Exception) -> None:
        repository.audit(actor=who.subject, action="recording.play_refused",
                         target=f"recording:{recording_id}",
                         details={"role": who.role, "reason": str(exc)}, at=now())

    @router.get("")
    def search(
        who: Principal = who_dep,
        agent: str | None = None, queue: str | None = None, customer: str | None = None,
        call_id: str | None = None, status: str | None = None, flag: str | None = None,
        started_from: dt.datetime | None = Query(None, alias="from"),  # noqa: B008
        started_to: dt.datetime | None = Query(None, alias="to"),  # noqa: B008
        min_duration: float | None = None, max_duration: float | None = None,
        min_score: float | None = None, max_score: float | None = None,
        limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        if who.role == "agent":
            if not allow_agents_own:
                raise Forbidden(f"agent '{who.subject}' may not search recordings; this "
                                "deployment does not let agents hear their own calls")
            if agent not in (None, who.subject):
                raise Forbidden(f"agent '{who.subject}' may not see recordings of agent "
                                f"'{agent}'")
            agent = who.subject
        elif who.role not in REVIEWERS:
            raise Forbidden(f"{who.role} '{who.subject}' may not search recordings")
        rows = repository.search(SearchQuery(
            agent_id=agent, queue=queue, customer_id=customer, call_id=call_id,
            started_from=local(started_from), started_to=local(started_to),
            min_duration_s=min_duration, max_duration_s=max_duration, min_score=min_score,
            max_score=max_score, flag=flag, status=status, limit=limit, offset=offset))
        return {"count": len(rows), "recordings": [r.as_json() for r in rows]}

    @router.get("/{recording_id}")
    def metadata(recording_id: int, who: Principal = who_dep) -> dict[str, Any]:
        row = repository.get(recording_id)
        ensure_may_play(who, row)
        return row.as_json() | {"audio_url": f"/recordings/{row.id}/audio"}

    @router.api_route("/{recording_id}/audio", methods=["GET", "HEAD"])
    def audio(recording_id: int, request: Request, who: Principal = who_dep) -> Response:
        row = repository.get(recording_id)
        try:
            ensure_may_play(who, row)
            if row.status == "purged":
                raise RecordingGone(f"recording {row.id} was purged at the end of its "
                                    f"retention ({row.retention_until})")
            if row.status != "complete":
                raise RecordingNotReady(f"recording {row.id} cannot be played: it is "
                                        f"{row.status}")
            path = storage.resolve(row.path)
            size = path.stat().st_size
        except OSError as exc:
            raise StorageError(f"cannot read the file of recording {row.id}: "
                               f"{exc.strerror}") from exc
        except (Forbidden, StorageError) as exc:
            refused(who, recording_id, exc)
            raise
        header = request.headers.get("range")
        span = parse_range(header, size)  # RangeNotSatisfiable: 416 with Content-Range
        first, last = span if span is not None else (0, size - 1)
        length = max(0, last - first + 1)
        headers = {"Accept-Ranges": "bytes", "Content-Length": str(length),
                   "Cache-Control": "private, no-store"}
        if row.sha256:
            headers["ETag"] = f'"{row.sha256}"'
        status = 200
        if span is not None:
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        repository.audit(actor=who.subject, action="recording.play",
                         target=f"recording:{row.id}",
                         details={"role": who.role, "call_id": row.call_id,
                                  "segment": row.segment, "range": header,
                                  "method": request.method}, at=now())
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers, media_type="audio/wav")
        return StreamingResponse(_chunks(path, first, length), status_code=status,
                                 headers=headers, media_type="audio/wav")

    if controls is not None:
        def toggle(call_id: str, who: Principal, pause: bool) -> dict[str, Any]:
            segment = controls.active_segment(call_id)
            if segment is None:
                raise RecordingNotReady(f"call {call_id} is not being recorded")
            if who.role == "agent":
                if segment.agent_id != who.subject:
                    raise Forbidden(f"agent '{who.subject}' is not on call {call_id}")
            elif who.role not in ("supervisor", "admin"):
                raise Forbidden(f"{who.role} '{who.subject}' may not pause recordings")
            kind = PauseRequested if pause else ResumeRequested
            controls.submit(kind(call_id, clock(), "agent", who.subject))
            repository.audit(actor=who.subject,
                             action="recording.pause" if pause else "recording.resume",
                             target=f"call:{call_id}", details={"segment": segment.segment},
                             at=now())
            after = controls.active_segment(call_id)
            return {"call_id": call_id, "segment": segment.segment,
                    "paused": after.paused if after is not None else pause}

        @router.post("/calls/{call_id}/pause", status_code=202)
        def pause(call_id: str, who: Principal = who_dep) -> dict[str, Any]:
            return toggle(call_id, who, True)

        @router.post("/calls/{call_id}/resume", status_code=202)
        def resume(call_id: str, who: Principal = who_dep) -> dict[str, Any]:
            return toggle(call_id, who, False)

    return router
