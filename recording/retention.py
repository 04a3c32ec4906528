"""Retention: recordings are kept for their queue's ``retention_days``, then purged.

The date is fixed when a segment starts (``recordings.retention_until``), so changing the
policy later does not shorten what callers were told. :func:`purge` deletes the files of rows
past their date and marks the rows ``purged`` (the row stays, for the call's history and the
audit log); recordings in the QA training library are kept. ``dry_run`` reports without
touching anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from recording.repository import RecordingRepository, RecordingRow
from recording.storage import RecordingStorage


@dataclass(slots=True)
class PurgeReport:
    today: dt.date
    dry_run: bool
    purged: list[RecordingRow] = field(default_factory=list)
    files_deleted: int = 0
    bytes_freed: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(), "dry_run": self.dry_run,
            "recordings": len(self.purged), "files_deleted": self.files_deleted,
            "bytes_freed": self.bytes_freed,
            "ids": [row.id for row in self.purged],
        }


def purge(repository: RecordingRepository, storage: RecordingStorage, *, today: dt.date,
          now: dt.datetime, actor: str = "system", dry_run: bool = False) -> PurgeReport:
    """Purge every recording whose ``retention_until`` is before ``today``."""
    report = PurgeReport(today=today, dry_run=dry_run)
    for row in repository.expired(today):
        report.purged.append(row)
        if dry_run:
            if storage.exists(row.path):  # what a real run would delete
                report.files_deleted += 1
                report.bytes_freed += row.size_bytes or 0
            continue
        if storage.delete(row.path):
            report.files_deleted += 1
            report.bytes_freed += row.size_bytes or 0
        repository.mark_purged(row.id, actor=actor, at=now)
    return report
