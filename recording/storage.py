"""Recording files on disk: the layout, safe path resolution, finalising and listing.

Files live under one root in a layout a person can browse:
``<root>/YYYY/MM/DD/<queue>/<agent>/<call_id>-<segment>.wav`` (the date is the local date of
the segment's start in the deployment's time zone). The database stores the path *relative*
to the root; every path read back from the database goes through
:meth:`RecordingStorage.resolve`, which refuses absolute paths, ``..`` and symlinks that lead
outside the root, so a crafted row can never hand out ``/etc/passwd``.

With ``split_legs`` Asterisk writes the caller (``-caller.wav``) and agent (``-agent.wav``)
feeds beside the mixed file; :meth:`RecordingStorage.finalise` merges them into one stereo
file (left: caller, right: agent) at the segment's path and removes the leg files, so every
segment is exactly one file. OS errors are translated into :class:`StorageError` here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from recording.errors import StorageError, UnsafePathError

_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]")
NO_AGENT = "_none"
NO_QUEUE = "_none"
LEG_SUFFIXES = ("-caller.wav", "-agent.wav")


def _component(value: str | None, empty: str) -> str:
    """One path component from an id: no separators, no hidden or dot-only names."""
    if not value:
        return empty
    cleaned = _UNSAFE.sub("_", value)
    return "_" + cleaned if cleaned.startswith(".") else cleaned


def segment_path(started: dt.datetime, queue: str | None, agent: str | None, call_id: str,
                 segment: int) -> PurePosixPath:
    """The relative path of a segment in the layout (``started`` in local time)."""
    return PurePosixPath(
        f"{started:%Y}", f"{started:%m}", f"{started:%d}",
        _component(queue, NO_QUEUE), _component(agent, NO_AGENT),
        f"{_component(call_id, 'call')}-{segment}.wav",
    )


def leg_paths(relative: PurePosixPath) -> tuple[PurePosixPath, PurePosixPath]:
    """The caller and agent leg files Asterisk writes beside ``relative``."""
    stem = relative.name.removesuffix(".wav")
    return (relative.with_name(stem + LEG_SUFFIXES[0]), relative.with_name(stem + LEG_SUFFIXES[1]))


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What finalising found: ``size_bytes`` 0 and ``sha256`` None when the file is missing."""

    exists: bool
    size_bytes: int
    sha256: str | None
    duration_s: float | None  # None when the file is not a readable WAV


class RecordingStorage:
    """The recording root on this machine."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def resolve(self, relative: str | PurePosixPath, *, must_exist: bool = True) -> Path:
        """The real file for a stored relative path, refusing anything outside the root."""
        text = str(relative)
        pure = PurePosixPath(text)
        if not text or "\x00" in text or pure.is_absolute() or text.startswith(("\\", "~")) \
                or ".." in pure.parts or re.match(r"^[A-Za-z]:", text):
            raise UnsafePathError(f"recording path {text!r} is not a plain path inside the "
                                  "recording root; it is refused")
        root = self.root.resolve()
        candidate = root.joinpath(*pure.parts)
        try:
            real = candidate.resolve(strict=must_exist)
        except FileNotFoundError as exc:
            raise StorageError(f"recording file {text!r} is missing under {root}") from exc
        except OSError as exc:
            raise StorageError(f"cannot read recording file {text!r}: {exc.strerror}") from exc
        if not real.is_relative_to(root):
            raise UnsafePathError(f"recording path {text!r} leads outside the recording root "
                                  f"{root} (through a symlink); it is refused")
        return real

    def exists(self, relative: str | PurePosixPath) -> bool:
        try:
            return self.resolve(relative).is_file()
        except StorageError:
            return False

    def facts(self, relative: str | PurePosixPath) -> FileFacts:
        """Size, SHA-256 and WAV duration of a stored file (missing: ``exists`` false)."""
        try:
            path = self.resolve(relative)
        except UnsafePathError:
            raise
        except StorageError:
            return FileFacts(False, 0, None, None)
        if not path.is_file():
            return FileFacts(False, 0, None, None)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            size = path.stat().st_size
        except OSError as exc:
            raise StorageError(f"cannot read recording file {str(relative)!r}: "
                               f"{exc.strerror}") from exc
        return FileFacts(True, size, digest.hexdigest(), wav_duration(path))

    def finalise(self, relative: str | PurePosixPath) -> FileFacts:
        """Merge leg files if present, then return the final file's facts."""
        caller, agent = leg_paths(PurePosixPath(str(relative)))
        if self.exists(caller) and self.exists(agent):
            target = self.resolve(relative, must_exist=False)
            merge_legs(self.resolve(caller), self.resolve(agent), target)
            for leg in (caller, agent):
                self.delete(leg)
        return self.facts(relative)

    def delete(self, relative: str | PurePosixPath) -> bool:
        """Delete a stored file; False when it was already gone."""
        try:
            path = self.resolve(relative)
        except UnsafePathError:
            raise
        except StorageError:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot delete recording file {str(relative)!r}: "
                               f"{exc.strerror}") from exc
        return True

    def walk(self) -> Iterator[str]:
        """Every regular file under the root, as relative POSIX paths (symlinks skipped)."""
        root = self.root.resolve()
        if not root.exists():
            return  # nothing recorded yet
        if not root.is_dir():
            raise StorageError(f"the recording root {root} is not a folder; fix "
                               "paths.recordings_dir in hotline.yaml")

        def unreadable(exc: OSError) -> None:  # os.walk would skip the folder in silence
            raise StorageError(f"cannot read {exc.filename} under the recording root: "
                               f"{exc.strerror}") from exc

        for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=False):
            dirs.sort()
            for name in sorted(files):
                path = Path(folder, name)
                if path.is_symlink() or not path.is_file():
                    continue
                yield path.relative_to(root).as_posix()


def wav_duration(path: Path) -> float | None:
    try:
        with wave.open(str(path), "rb") as reader:
            rate = reader.getframerate()
            return reader.getnframes() / rate if rate else None
    except (wave.Error, EOFError, OSError):
        return None


def merge_legs(caller: Path, agent: Path, target: Path) -> None:
    """Write a stereo WAV (left caller, right agent) from two mono 16-bit WAV legs."""
    try:
        left, rate = _read_mono(caller)
        right, rate_right = _read_mono(agent)
    except (wave.Error, EOFError, OSError) as exc:
        raise StorageError(f"cannot merge leg files {caller.name} and {agent.name}: {exc}") \
            from exc
    if rate != rate_right:
        raise StorageError(f"leg files {caller.name} ({rate} Hz) and {agent.name} "
                           f"({rate_right} Hz) have different sample rates")
    frames = max(len(left), len(right))
    stereo = np.zeros((frames, 2), dtype="<i2")
    stereo[: len(left), 0] = left
    stereo[: len(right), 1] = right
    partial = target.with_name(target.name + ".part")
    try:
        with wave.open(str(partial), "wb") as writer:
            writer.setnchannels(2)
            writer.setsampwidth(2)
            writer.setframerate(rate)
            writer.writeframes(stereo.tobytes())
        os.replace(partial, target)
    except OSError as exc:
        raise StorageError(f"cannot write {target}: {exc.strerror}") from exc


def _read_mono(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as reader:
        if reader.getsampwidth() != 2 or reader.getnchannels() != 1:
            raise wave.Error(f"{path.name} is not 16-bit mono")
        return (np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2"),
                reader.getframerate())
