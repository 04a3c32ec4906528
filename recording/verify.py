"""``hotline recordings verify``: nothing is lost silently.

Compares the database with the recording root and reports every disagreement:

* **missing**: a complete recording whose file is gone;
* **mismatch**: a file whose size or SHA-256 differs from what was recorded at finalising
  (corrupted, truncated or replaced);
* **orphan**: a file under the root that no recording row names;
* **unsafe**: a row whose path would lead outside the root (never followed).

Rows still ``recording``, already ``failed`` (flagged on their call) or ``purged`` are not
expected to have a verified file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from recording.errors import UnsafePathError
from recording.repository import RecordingRepository
from recording.storage import RecordingStorage, leg_paths


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # missing, mismatch, orphan, unsafe
    path: str
    recording_id: int | None
    detail: str

    def __str__(self) -> str:
        rid = f"recording {self.recording_id}: " if self.recording_id is not None else ""
        return f"{self.kind:<8} {rid}{self.path}: {self.detail}"


@dataclass(slots=True)
class VerifyReport:
    checked: int = 0
    files: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, kind: str) -> int:
        return sum(1 for p in self.problems if p.kind == kind)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "checked": self.checked, "files": self.files,
            "missing": self.count("missing"), "mismatch": self.count("mismatch"),
            "orphan": self.count("orphan"), "unsafe": self.count("unsafe"),
            "problems": [{"kind": p.kind, "path": p.path, "recording_id": p.recording_id,
                          "detail": p.detail} for p in self.problems],
        }


def verify(repository: RecordingRepository, storage: RecordingStorage) -> VerifyReport:
    report = VerifyReport()
    known: set[str] = set()
    for row in repository.iter_rows():
        if row.status == "purged":
            continue
        known.add(row.path)
        if row.status == "recording":  # Asterisk may still be writing it and its legs
            known.update(p.as_posix() for p in leg_paths(PurePosixPath(row.path)))
            continue
        if row.status != "complete":
            continue
        report.checked += 1
        try:
            facts = storage.facts(row.path)
        except UnsafePathError as exc:
            report.problems.append(Problem("unsafe", row.path, row.id, exc.message))
            continue
        if not facts.exists:
            report.problems.append(Problem("missing", row.path, row.id,
                                           f"the file of call {row.call_id} segment "
                                           f"{row.segment} is gone"))
        elif facts.size_bytes != row.size_bytes or facts.sha256 != row.sha256:
            report.problems.append(Problem(
                "mismatch", row.path, row.id,
                f"expected {row.size_bytes} bytes sha256 {str(row.sha256)[:12]}..., found "
                f"{facts.size_bytes} bytes sha256 {str(facts.sha256)[:12]}..."))
    for path in storage.walk():
        report.files += 1
        if path not in known:
            report.problems.append(Problem("orphan", path, None,
                                           "no recording row names this file"))
    return report
