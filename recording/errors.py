"""Errors of the recording package (control, storage, search and playback).

Every expected failure of ``recording`` is one of these; OS errors on the recording root are
translated in :mod:`recording.storage` and nowhere else::

    HotlineError
     └── RecordingError
          ├── PolicyError                 (a policy asked something it cannot answer)
          ├── StorageError                (the recording root cannot be read or written)
          │    └── UnsafePathError        (a stored path points outside the recording root)
          ├── RecordingNotFound           (no recording, or no file, with that id)
          ├── RecordingAccessDenied       (the caller may not hear this recording)
          └── RangeNotSatisfiable         (an HTTP Range outside the file)
"""

from __future__ import annotations

from hotline.errors import HotlineError


class RecordingError(HotlineError):
    """Root of the recording package's errors."""

    error_id = "recording_error"
    status = 400


class PolicyError(RecordingError):
    error_id = "recording_policy_error"


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


class RecordingAccessDenied(RecordingError):
    error_id = "forbidden"
    status = 403


class RangeNotSatisfiable(RecordingError):
    error_id = "range_not_satisfiable"
    status = 416

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message, details={"size": size})
        self.size = size
