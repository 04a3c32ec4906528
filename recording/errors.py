"""Errors of the recording package (control, storage, search and playback).

Every expected failure of ``recording`` is one of these; OS errors on the recording root are
translated in :mod:`recording.storage` and nowhere else::

    HotlineError
     └── RecordingError
          ├── StorageError                (the recording root cannot be read or written)
          │    └── UnsafePathError        (a stored path points outside the recording root)
          ├── RecordingNotFound           (no recording with that id)
          ├── RecordingGone               (purged at the end of its retention)
          ├── RecordingNotReady           (still recording, failed, or the call is not recorded)
          └── RangeNotSatisfiable         (an HTTP Range outside the file)

Access refusals are :class:`hotline.auth.Forbidden`, shared by every API.
"""

from __future__ import annotations

from hotline.errors import HotlineError


class RecordingError(HotlineError):
    """Root of the recording package's errors."""

    error_id = "recording_error"
    status = 400


class StorageError(RecordingError):
    error_id = "recording_storage_error"
    status = 500


class UnsafePathError(StorageError):
    """A path that would leave the recording root: traversal, absolute path or symlink."""

    error_id = "recording_path_unsafe"
    status = 403


class RecordingNotFound(RecordingError):
    error_id = "recording_not_found"
    status = 404


class RecordingGone(RecordingError):
    error_id = "recording_purged"
    status = 410


class RecordingNotReady(RecordingError):
    error_id = "recording_not_ready"
    status = 409


class RangeNotSatisfiable(RecordingError):
    error_id = "range_not_satisfiable"
    status = 416

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message, details={"size": size})
        self.size = size

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Range": f"bytes */{self.size}", "Accept-Ranges": "bytes"}
