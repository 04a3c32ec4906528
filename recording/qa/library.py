"""The library of exemplary calls: recordings QA keeps to teach what good sounds like.

A reviewer who hears a call worth imitating adds it with a note ("calms an angry caller
without promising a refund"); coaching sessions and new agents' training draw from the list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hotline.db import Database, DatabaseError, tables
from recording.qa.errors import ConflictError, NotFound
from recording.qa.sampling import as_utc


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    recording_id: int
    agent_id: str | None
    queue: str | None
    started_at: dt.datetime
    duration_s: float | None
    added_by: str
    note: str
    added_at: dt.datetime
    best_score: float | None

    def as_json(self) -> dict[str, object]:
        return {
            "recording_id": self.recording_id, "agent_id": self.agent_id, "queue": self.queue,
            "started_at": self.started_at.isoformat(), "duration_s": self.duration_s,
            "added_by": self.added_by, "note": self.note, "added_at": self.added_at.isoformat(),
            "best_score": self.best_score,
        }


def add(database: Database, recording_id: int, *, added_by: str, note: str,
        now: dt.datetime) -> None:
    lib, r = tables.qa_library, tables.recordings
    try:
        with database.begin() as conn:
            if conn.execute(sa.select(r.c.id).where(r.c.id == recording_id)).first() is None:
                raise NotFound(f"there is no recording {recording_id}")
            if conn.execute(sa.select(lib.c.recording_id)
                            .where(lib.c.recording_id == recording_id)).first() is not None:
                raise ConflictError(f"recording {recording_id} is already in the library")
            conn.execute(lib.insert().values(recording_id=recording_id, added_by=added_by,
                                             note=note, created_at=now))
    except DatabaseError as exc:
        # Two reviewers adding the same call at once: the primary key decides.
        if isinstance(exc.__cause__, IntegrityError):
            raise ConflictError(f"recording {recording_id} is already in the library") from exc
        raise


def remove(database: Database, recording_id: int) -> None:
    lib = tables.qa_library
    with database.begin() as conn:
        gone = conn.execute(lib.delete().where(lib.c.recording_id == recording_id)).rowcount
    if not gone:
        raise NotFound(f"recording {recording_id} is not in the library")


def entries(database: Database, *, queue: str | None = None) -> list[LibraryEntry]:
    """The library, newest first, with the best QA score each call received."""
    lib, r, e = tables.qa_library, tables.recordings, tables.qa_evaluations
    best = (sa.select(e.c.recording_id, sa.func.max(e.c.score).label("best"))
            .group_by(e.c.recording_id).subquery())
    query = (
        sa.select(lib, r.c.agent_id, r.c.queue, r.c.started_at, r.c.duration_s, best.c.best)
        .select_from(lib.join(r, lib.c.recording_id == r.c.id)
                     .outerjoin(best, best.c.recording_id == lib.c.recording_id))
        .order_by(lib.c.created_at.desc(), lib.c.recording_id)
    )
    if queue is not None:
        query = query.where(r.c.queue == queue)
    with database.begin() as conn:
        rows = conn.execute(query).all()
    return [LibraryEntry(row.recording_id, row.agent_id, row.queue, as_utc(row.started_at),
                         row.duration_s, row.added_by, row.note or "", as_utc(row.created_at),
                         row.best) for row in rows]
