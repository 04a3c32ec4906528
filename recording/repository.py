"""Recording metadata in the SQL database: writes from the controller, reads for search.

One row of ``recordings`` per segment (``call_id`` + ``segment``), with the path relative to
the recording root, size and SHA-256 once finalised, the retention date, the pauses as
offsets into the segment (``[{"at": 12.0, "until": 31.5, "source": "agent", "by": "a001"}]``)
and flags. ``status`` runs ``recording`` -> ``complete`` (or ``failed``) -> ``purged``. A
segment Asterisk did not write sets ``calls.recording_failed`` so the loss shows on the call.
Segments recorded before the customer was known get its id when it is (``CustomerLinked``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from hotline.db import Database, tables
from recording.control import (
    CustomerLinked,
    MetadataWrite,
    RecordingFailed,
    SegmentFlagged,
    SegmentPaused,
    SegmentResumed,
    SegmentStarted,
    SegmentStopped,
)
from recording.errors import RecordingError, RecordingNotFound
from recording.qa.sampling import as_utc
from recording.storage import RecordingStorage

R = tables.recordings
FLAG_FAILED = "recording_failed"


@dataclass(frozen=True, slots=True)
class RecordingRow:
    id: int
    call_id: str
    segment: int
    agent_id: str | None
    queue: str | None
    customer_id: str | None
    started_at: dt.datetime
    duration_s: float | None
    path: str
    size_bytes: int | None
    sha256: str | None
    retention_until: dt.date | None
    status: str
    pauses: list[dict[str, Any]]
    flags: list[str]
    qa_score: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "call_id": self.call_id, "segment": self.segment,
            "agent_id": self.agent_id, "queue": self.queue, "customer_id": self.customer_id,
            "started_at": self.started_at.isoformat(), "duration_s": self.duration_s,
            "size_bytes": self.size_bytes, "sha256": self.sha256,
            "retention_until": self.retention_until.isoformat() if self.retention_until else None,
            "status": self.status, "pauses": self.pauses, "flags": self.flags,
            "qa_score": self.qa_score,
        }


@dataclass(frozen=True, slots=True)
class SearchQuery:
    agent_id: str | None = None
    queue: str | None = None
    customer_id: str | None = None
    call_id: str | None = None
    started_from: dt.datetime | None = None
    started_to: dt.datetime | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    min_score: float | None = None
    max_score: float | None = None
    flag: str | None = None
    status: str | None = None
    limit: int = 100
    offset: int = 0


def _utc(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.UTC)


class RecordingRepository:
    """Reads and writes recording rows; ``tz`` dates the retention in local days."""

    def __init__(self, database: Database, tz: dt.tzinfo = dt.UTC) -> None:
        self.database = database
        self.tz = tz

    # ---- writes from the controller ----
    def apply(self, write: MetadataWrite) -> None:
        with self.database.begin() as conn:
            match write:
                case SegmentStarted():
                    self._started(conn, write)
                case SegmentPaused():
                    row = self._row(conn, write.call_id, write.segment)
                    pauses = [*row.pauses, {"at": self._offset(row, write.at), "until": None,
                                            "source": write.source, "by": write.by}]
                    self._update(conn, row.id, pauses=pauses)
                case SegmentResumed():
                    row = self._row(conn, write.call_id, write.segment)
                    self._update(conn, row.id, pauses=_close(row.pauses,
                                                             self._offset(row, write.at)))
                case SegmentStopped():
                    row = self._row(conn, write.call_id, write.segment)
                    end = self._offset(row, write.at)
                    self._update(conn, row.id, pauses=_close(row.pauses, end), duration_s=end)
                case RecordingFailed():
                    row = self._row(conn, write.call_id, write.segment)
                    self._fail(conn, row, write.reason, write.at)
                case SegmentFlagged():
                    row = self._row(conn, write.call_id, write.segment)
                    self._update(conn, row.id, flags=_add(row.flags, write.flag))
                case CustomerLinked():
                    # only rows still without a customer: a segment started after an earlier
                    # identification keeps the customer it was started with
                    conn.execute(R.update().where(
                        R.c.call_id == write.call_id, R.c.segment <= write.segment,
                        R.c.customer_id.is_(None)).values(customer_id=write.customer_id))

    def _started(self, conn: Connection, write: SegmentStarted) -> None:
        started = _utc(write.at)
        # The call row may not be written yet (the engine writes it in full at hang-up); the
        # recording needs it to exist, so a minimal one is created when absent.
        exists = conn.execute(sa.select(tables.calls.c.id)
                              .where(tables.calls.c.id == write.call_id)).first()
        if exists is None:
            conn.execute(tables.calls.insert().values(
                id=write.call_id, queue=write.queue, agent_id=write.agent_id,
                customer_id=write.customer_id, started_at=started, ivr_path=[], attributes={},
                flags=[], recording_failed=False))
        local_day = started.astimezone(self.tz).date()
        conn.execute(R.insert().values(
            call_id=write.call_id, segment=write.segment, agent_id=write.agent_id,
            queue=write.queue, customer_id=write.customer_id, started_at=started,
            path=write.path, status="recording", pauses=[], flags=[],
            retention_until=local_day + dt.timedelta(days=write.retention_days)))

    def _fail(self, conn: Connection, row: RecordingRow, reason: str, at: float) -> None:
        self._update(conn, row.id, status="failed", flags=_add(row.flags, FLAG_FAILED))
        call = conn.execute(sa.select(tables.calls.c.flags)
                            .where(tables.calls.c.id == row.call_id)).first()
        flags = _add(list(call.flags or []) if call else [], FLAG_FAILED)
        conn.execute(tables.calls.update().where(tables.calls.c.id == row.call_id)
                     .values(recording_failed=True, flags=flags))
        conn.execute(tables.audit_log.insert().values(
            at=_utc(at), actor="system", action="recording.failed",
            target=f"recording:{row.id}", details={"call_id": row.call_id,
                                                   "segment": row.segment, "reason": reason}))

    def finalise(self, call_id: str, segment: int, storage: RecordingStorage, *,
                 at: float) -> RecordingRow:
        """Hash and measure a stopped segment's file; flag the call when it is missing/empty."""
        with self.database.begin() as conn:
            row = self._row(conn, call_id, segment)
            if row.status != "recording":
                return row
            facts = storage.finalise(row.path)
            if not facts.exists or facts.size_bytes == 0:
                what = "is missing" if not facts.exists else "is empty"
                self._fail(conn, row, f"Asterisk wrote no audio: {row.path} {what}", at)
            else:
                self._update(conn, row.id, status="complete", size_bytes=facts.size_bytes,
                             sha256=facts.sha256,
                             duration_s=facts.duration_s if facts.duration_s is not None
                             else row.duration_s)
            return self._row(conn, call_id, segment)

    # ---- reads ----
    def get(self, recording_id: int) -> RecordingRow:
        with self.database.begin() as conn:
            found = conn.execute(self._select().where(R.c.id == recording_id)).first()
        if found is None:
            raise RecordingNotFound(f"no recording with id {recording_id}")
        return _row(found)

    def search(self, query: SearchQuery) -> list[RecordingRow]:
        """Recordings matching every filter given, newest first, one page of ``limit``."""
        if query.limit < 1 or query.offset < 0:
            raise RecordingError(f"a search needs limit >= 1 and offset >= 0, not limit "
                                 f"{query.limit} and offset {query.offset}")
        score = self._score_column()
        stmt = self._select()
        conditions: list[Any] = []
        for column, value in ((R.c.agent_id, query.agent_id), (R.c.queue, query.queue),
                              (R.c.customer_id, query.customer_id), (R.c.call_id, query.call_id),
                              (R.c.status, query.status)):
            if value is not None:
                conditions.append(column == value)
        # rows hold UTC and SQLite keeps no offset, so the bounds must be UTC too
        if query.started_from is not None:
            conditions.append(R.c.started_at >= as_utc(query.started_from))
        if query.started_to is not None:
            conditions.append(R.c.started_at < as_utc(query.started_to))
        if query.min_duration_s is not None:
            conditions.append(R.c.duration_s >= query.min_duration_s)
        if query.max_duration_s is not None:
            conditions.append(R.c.duration_s <= query.max_duration_s)
        if query.min_score is not None:
            conditions.append(score >= query.min_score)
        if query.max_score is not None:
            conditions.append(score <= query.max_score)
        stmt = stmt.where(*conditions).order_by(R.c.started_at.desc(), R.c.id.desc())
        if query.flag is None:  # the page is cut in SQL: a month of recordings is not read
            stmt = stmt.limit(query.limit).offset(query.offset)
            with self.database.begin() as conn:
                return [_row(r) for r in conn.execute(stmt)]
        # flags is a JSON list; filtering in Python keeps SQLite and PostgreSQL alike, so
        # rows are read only until the page is full
        page: list[RecordingRow] = []
        skip = query.offset
        with self.database.begin() as conn:
            result = conn.execute(stmt.execution_options(yield_per=500))
            try:
                for found in result:
                    row = _row(found)
                    if query.flag not in row.flags:
                        continue
                    if skip:
                        skip -= 1
                        continue
                    page.append(row)
                    if len(page) == query.limit:
                        break
            finally:
                result.close()  # a full page leaves PostgreSQL's server-side cursor open
        return page

    def iter_rows(self, page: int = 1000) -> Iterator[RecordingRow]:
        """Every recording by id, read a page at a time: a year of recordings is not held in
        memory, and no transaction stays open while the caller hashes files."""
        last = 0
        while True:
            with self.database.begin() as conn:
                rows = [_row(r) for r in conn.execute(
                    self._select().where(R.c.id > last).order_by(R.c.id).limit(page))]
            yield from rows
            if len(rows) < page:
                return
            last = rows[-1].id

    def expired(self, today: dt.date) -> list[RecordingRow]:
        """Rows past their retention date, not purged, and not kept in the QA library."""
        kept = sa.select(tables.qa_library.c.recording_id)
        stmt = self._select().where(R.c.retention_until < today, R.c.status != "purged",
                                    R.c.id.not_in(kept)).order_by(R.c.id)
        with self.database.begin() as conn:
            return [_row(r) for r in conn.execute(stmt)]

    def mark_purged(self, recording_id: int, *, actor: str, at: dt.datetime) -> None:
        with self.database.begin() as conn:
            conn.execute(R.update().where(R.c.id == recording_id).values(status="purged"))
            conn.execute(tables.audit_log.insert().values(
                at=at, actor=actor, action="recording.purge", target=f"recording:{recording_id}",
                details={}))

    def audit(self, *, actor: str, action: str, target: str, details: dict[str, Any],
              at: dt.datetime) -> None:
        with self.database.begin() as conn:
            conn.execute(tables.audit_log.insert().values(at=at, actor=actor, action=action,
                                                          target=target, details=details))

    # ---- helpers ----
    def _score_column(self) -> Any:
        evaluations = tables.qa_evaluations
        return (sa.select(sa.func.avg(evaluations.c.score))
                .where(evaluations.c.recording_id == R.c.id)
                .scalar_subquery())

    def _select(self) -> sa.Select[Any]:
        return sa.select(R, self._score_column().label("qa_score"))

    def _row(self, conn: Connection, call_id: str, segment: int) -> RecordingRow:
        found = conn.execute(self._select().where(R.c.call_id == call_id,
                                                  R.c.segment == segment)).first()
        if found is None:
            raise RecordingNotFound(f"no recording for call {call_id} segment {segment}")
        return _row(found)

    def _update(self, conn: Connection, recording_id: int, **values: Any) -> None:
        conn.execute(R.update().where(R.c.id == recording_id).values(**values))

    @staticmethod
    def _offset(row: RecordingRow, at: float) -> float:
        return round(max(0.0, at - row.started_at.timestamp()), 3)


def _row(found: Any) -> RecordingRow:
    m = found._mapping
    return RecordingRow(
        id=m["id"], call_id=m["call_id"], segment=m["segment"], agent_id=m["agent_id"],
        queue=m["queue"], customer_id=m["customer_id"], started_at=as_utc(m["started_at"]),
        duration_s=m["duration_s"], path=m["path"], size_bytes=m["size_bytes"],
        sha256=m["sha256"], retention_until=m["retention_until"], status=m["status"],
        pauses=list(m["pauses"] or []), flags=list(m["flags"] or []),
        qa_score=float(m["qa_score"]) if m["qa_score"] is not None else None,
    )


def _close(pauses: Sequence[dict[str, Any]], until: float) -> list[dict[str, Any]]:
    return [{**p, "until": until} if p.get("until") is None else dict(p) for p in pauses]


def _add(flags: Sequence[str], flag: str) -> list[str]:
    return list(flags) if flag in flags else [*flags, flag]
