"""Storage layout, metadata, finalising, verify and retention, on real WAV files and SQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import wave
from dataclasses import replace
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.db import Database, tables
from recording.control import (
    CustomerLinked,
    RecordingFailed,
    SegmentPaused,
    SegmentResumed,
    SegmentStarted,
    SegmentStopped,
)
from recording.errors import RecordingError, StorageError, UnsafePathError
from recording.repository import RecordingRepository, SearchQuery
from recording.retention import purge
from recording.storage import RecordingStorage, leg_paths, segment_path
from recording.verify import verify

T0 = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC).timestamp()
RATE = 8000


def write_wav(path: Path, seconds: float, *, channels: int = 1, freq: float = 440.0) -> bytes:
    """A real 16-bit PCM WAV with a tone; returns the file's bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    tone = (np.sin(2 * np.pi * freq * t) * 8000).astype("<i2")
    frames = np.repeat(tone[:, None], channels, axis=1) if channels > 1 else tone
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(frames.tobytes())
    return path.read_bytes()


def started(call_id: str, segment: int = 1, *, agent: str = "a001", queue: str = "billing",
            at: float = T0, retention_days: int = 90) -> SegmentStarted:
    local = dt.datetime.fromtimestamp(at, dt.UTC)
    path = segment_path(local, queue, agent, call_id, segment).as_posix()
    return SegmentStarted(call_id, segment, at, agent, queue, "cust-1", path,
                          "PJSIP/2001-1", False, retention_days, "test")


def record(repo: RecordingRepository, storage: RecordingStorage, call_id: str, *,
           seconds: float = 2.0, segment: int = 1, **kw: object) -> int:
    """One finished segment: rows written as the controller would, a real file, finalised."""
    start = started(call_id, segment, **kw)  # type: ignore[arg-type]
    repo.apply(start)
    write_wav(storage.root / start.path, seconds)
    repo.apply(SegmentStopped(call_id, segment, start.at + seconds))
    return repo.finalise(call_id, segment, storage, at=start.at + seconds + 1).id


@pytest.fixture
def storage(tmp_path: Path) -> RecordingStorage:
    return RecordingStorage(tmp_path / "recordings")


@pytest.fixture
def repo(database: Database) -> RecordingRepository:
    return RecordingRepository(database, dt.UTC)


# ---- layout and path safety ----

def test_layout_is_date_queue_agent_call_segment() -> None:
    when = dt.datetime(2026, 3, 7, 23, 59)
    assert segment_path(when, "billing", "a001", "1795352058.11", 2) == PurePosixPath(
        "2026/03/07/billing/a001/1795352058.11-2.wav")
    # ids can never add folders or climb out
    assert segment_path(when, "../..", "a/b", "..", 1) == PurePosixPath(
        "2026/03/07/_.._../a_b/_..-1.wav")
    assert segment_path(when, None, None, "c", 1).parts[3:5] == ("_none", "_none")


@pytest.mark.parametrize("crafted", ["../../etc/passwd", "/etc/passwd", "2026/../../x.wav",
                                     "", "~root/x.wav", "C:/x.wav", "a\x00b.wav"])
def test_crafted_paths_are_refused(storage: RecordingStorage, crafted: str) -> None:
    storage.root.mkdir(parents=True)
    with pytest.raises(UnsafePathError):
        storage.resolve(crafted)


def test_a_symlink_leading_outside_the_root_is_refused(storage: RecordingStorage,
                                                       tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not a recording")
    link = storage.root / "2026" / "x.wav"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    with pytest.raises(UnsafePathError, match="outside the recording root"):
        storage.resolve("2026/x.wav")
    inside = storage.root / "2026" / "real.wav"
    write_wav(inside, 0.1)
    (storage.root / "2026" / "alias.wav").symlink_to(inside)
    assert storage.resolve("2026/alias.wav") == inside.resolve()


# ---- metadata and finalising ----

def test_segment_rows_carry_layout_pauses_checksum_and_retention(
        repo: RecordingRepository, storage: RecordingStorage, database: Database) -> None:
    start = started("c1", retention_days=30)
    repo.apply(start)
    repo.apply(SegmentPaused("c1", 1, T0 + 10, "agent", "a001"))
    repo.apply(SegmentResumed("c1", 1, T0 + 25.5))
    repo.apply(SegmentPaused("c1", 1, T0 + 40, "ivr", "card"))
    data = write_wav(storage.root / start.path, 45)
    repo.apply(SegmentStopped("c1", 1, T0 + 45))
    row = repo.finalise("c1", 1, storage, at=T0 + 46)
    assert row.status == "complete" and row.path == "2026/11/22/billing/a001/c1-1.wav"
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size_bytes == len(data)
    assert row.duration_s == pytest.approx(45.0)
    assert row.retention_until == dt.date(2026, 12, 22)
    assert row.pauses == [
        {"at": 10.0, "until": 25.5, "source": "agent", "by": "a001"},
        {"at": 40.0, "until": 45.0, "source": "ivr", "by": "card"},  # closed at the stop
    ]
    with database.begin() as conn:
        call = conn.execute(sa.select(tables.calls).where(tables.calls.c.id == "c1")).one()
    assert call.recording_failed is False and call.queue == "billing"


def test_split_legs_are_merged_into_one_stereo_file(repo: RecordingRepository,
                                                    storage: RecordingStorage) -> None:
    start = started("c2")
    repo.apply(start)
    caller, agent = (storage.root / p for p in leg_paths(PurePosixPath(start.path)))
    write_wav(caller, 1.0, freq=300)
    write_wav(agent, 1.5, freq=900)
    write_wav(storage.root / start.path, 1.5)  # Asterisk's mixed file, replaced
    repo.apply(SegmentStopped("c2", 1, T0 + 2))
    row = repo.finalise("c2", 1, storage, at=T0 + 3)
    assert not caller.exists() and not agent.exists()
    with wave.open(str(storage.root / row.path)) as reader:
        assert reader.getnchannels() == 2 and reader.getnframes() == int(1.5 * RATE)
        frames = np.frombuffer(reader.readframes(reader.getnframes()), "<i2").reshape(-1, 2)
    assert np.abs(frames[: RATE, 0]).max() > 7000  # caller on the left for a second
    assert np.abs(frames[RATE:, 0]).max() == 0
    assert np.abs(frames[:, 1]).max() > 7000
    assert row.duration_s == pytest.approx(1.5)


@pytest.mark.parametrize("written", [None, b""])
def test_a_file_asterisk_did_not_write_flags_the_call(
        repo: RecordingRepository, storage: RecordingStorage, database: Database,
        written: bytes | None) -> None:
    start = started("c3")
    repo.apply(start)
    if written is not None:
        target = storage.root / start.path
        target.parent.mkdir(parents=True)
        target.write_bytes(written)
    repo.apply(SegmentStopped("c3", 1, T0 + 5))
    row = repo.finalise("c3", 1, storage, at=T0 + 6)
    assert row.status == "failed" and row.flags == ["recording_failed"]
    with database.begin() as conn:
        call = conn.execute(sa.select(tables.calls).where(tables.calls.c.id == "c3")).one()
        audit = conn.execute(sa.select(tables.audit_log)).all()
    assert call.recording_failed is True and call.flags == ["recording_failed"]
    assert [a.action for a in audit] == ["recording.failed"]
    assert ("missing" if written is None else "empty") in audit[0].details["reason"]


def test_a_mixmonitor_refusal_flags_the_call(repo: RecordingRepository,
                                             database: Database) -> None:
    repo.apply(started("c4"))
    repo.apply(RecordingFailed("c4", 1, T0 + 1, "Asterisk refused MixMonitor: No such channel"))
    (row,) = repo.search(SearchQuery(flag="recording_failed"))
    assert row.call_id == "c4" and row.status == "failed"
    with database.begin() as conn:
        assert conn.execute(sa.select(tables.calls.c.recording_failed)).scalar_one() is True


def test_two_segments_of_one_call_are_linked(repo: RecordingRepository,
                                             storage: RecordingStorage) -> None:
    record(repo, storage, "c5", segment=1, agent="a001")
    record(repo, storage, "c5", segment=2, agent="a002", at=T0 + 60)
    rows = repo.search(SearchQuery(call_id="c5"))
    assert [(r.segment, r.agent_id) for r in rows] == [(2, "a002"), (1, "a001")]


def test_a_late_customer_is_written_to_the_segments_started_without_one(
        repo: RecordingRepository, storage: RecordingStorage) -> None:
    # record_from call_start: segment 1 (IVR and wait) is stopped, segment 2 still open, both
    # started before the customer was known; segment 3 of another identification keeps its own
    anonymous = {"customer_id": None}
    first = replace(started("c6", 1, agent="_none"), **anonymous)
    repo.apply(first)
    write_wav(storage.root / first.path, 2.0)
    repo.apply(SegmentStopped("c6", 1, T0 + 2))
    repo.finalise("c6", 1, storage, at=T0 + 3)
    repo.apply(replace(started("c6", 2, at=T0 + 2), **anonymous))
    repo.apply(replace(started("c6", 3, at=T0 + 9), customer_id="cust-other"))
    repo.apply(replace(started("c7", 1), **anonymous))
    repo.apply(CustomerLinked("c6", 3, T0 + 10, "cust-42"))
    rows = repo.search(SearchQuery(call_id="c6"))
    assert sorted((r.segment, r.customer_id, r.status) for r in rows) == [
        (1, "cust-42", "complete"), (2, "cust-42", "recording"), (3, "cust-other", "recording")]
    assert [r.segment for r in repo.search(SearchQuery(customer_id="cust-42"))] == [2, 1]
    (other,) = repo.search(SearchQuery(call_id="c7"))
    assert other.customer_id is None  # another call is untouched


def test_search_pages_newest_first_with_and_without_a_flag(
        repo: RecordingRepository) -> None:
    for i in range(7):
        repo.apply(started(f"p{i}", at=T0 + 60 * i))
        if i % 2 == 0:  # p0, p2, p4, p6 fail
            repo.apply(RecordingFailed(f"p{i}", 1, T0 + 60 * i + 1, "no such channel"))

    def calls(**query: object) -> list[str]:
        return [r.call_id for r in repo.search(SearchQuery(**query))]  # type: ignore[arg-type]

    assert calls(limit=3) == ["p6", "p5", "p4"]
    assert calls(limit=3, offset=3) == ["p3", "p2", "p1"]
    assert calls(limit=3, offset=6) == ["p0"]
    assert calls(flag="recording_failed", limit=2) == ["p6", "p4"]
    assert calls(flag="recording_failed", limit=2, offset=2) == ["p2", "p0"]
    assert calls(flag="recording_failed", offset=4) == []
    for bad in ({"limit": 0}, {"limit": -1}, {"offset": -1}):
        with pytest.raises(RecordingError, match="limit >= 1 and offset >= 0"):
            calls(**bad)


def test_every_row_is_read_page_by_page(repo: RecordingRepository) -> None:
    for i in range(5):
        repo.apply(started(f"r{i}", at=T0 - 60 * i))  # ids ascend while start times descend
    for page in (1, 2, 5, 6):
        assert [r.call_id for r in repo.iter_rows(page=page)] == [f"r{i}" for i in range(5)]


# ---- verify ----

def test_verify_catches_a_corrupted_a_missing_and_an_orphan_file(
        repo: RecordingRepository, storage: RecordingStorage) -> None:
    ids = [record(repo, storage, f"v{i}") for i in range(3)]
    assert verify(repo, storage).ok
    corrupted, missing = repo.get(ids[0]), repo.get(ids[1])
    target = storage.root / corrupted.path
    data = bytearray(target.read_bytes())
    data[500] ^= 0xFF  # one flipped byte, same size
    target.write_bytes(bytes(data))
    (storage.root / missing.path).unlink()
    write_wav(storage.root / "2026/11/22/billing/a001/stray.wav", 0.2)
    report = verify(repo, storage)
    assert not report.ok and report.checked == 3 and report.files == 3
    assert sorted((p.kind, p.recording_id, p.path) for p in report.problems) == [
        ("mismatch", corrupted.id, corrupted.path),
        ("missing", missing.id, missing.path),
        ("orphan", None, "2026/11/22/billing/a001/stray.wav"),
    ]


def test_verify_reports_a_row_pointing_outside_the_root(
        repo: RecordingRepository, storage: RecordingStorage, database: Database) -> None:
    rid = record(repo, storage, "v9")
    with database.begin() as conn:
        conn.execute(tables.recordings.update().where(tables.recordings.c.id == rid)
                     .values(path="../../etc/passwd"))
    kinds = [p.kind for p in verify(repo, storage).problems]
    assert kinds == ["unsafe", "orphan"]  # and the real file is now nobody's


# ---- retention ----

def test_purge_deletes_expired_files_keeps_the_library_and_dry_run_touches_nothing(
        repo: RecordingRepository, storage: RecordingStorage, database: Database) -> None:
    old = record(repo, storage, "p1", retention_days=10)
    kept = record(repo, storage, "p2", retention_days=10)
    young = record(repo, storage, "p3", retention_days=400)
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    with database.begin() as conn:
        conn.execute(tables.qa_library.insert().values(recording_id=kept, added_by="qa1",
                                                        created_at=now))
    dry = purge(repo, storage, today=dt.date(2027, 1, 1), now=now, dry_run=True)
    assert [r.id for r in dry.purged] == [old] and dry.files_deleted == 1
    assert storage.exists(repo.get(old).path) and repo.get(old).status == "complete"

    report = purge(repo, storage, today=dt.date(2027, 1, 1), now=now, actor="cli")
    assert [r.id for r in report.purged] == [old] and report.files_deleted == 1
    assert report.bytes_freed == repo.get(old).size_bytes
    assert repo.get(old).status == "purged" and not storage.exists(repo.get(old).path)
    assert repo.get(kept).status == "complete" and repo.get(young).status == "complete"
    assert verify(repo, storage).ok  # a purged row expects no file
    assert purge(repo, storage, today=dt.date(2027, 1, 1), now=now).purged == []
    with database.begin() as conn:
        audit = conn.execute(sa.select(tables.audit_log.c.actor, tables.audit_log.c.action,
                                       tables.audit_log.c.target)).all()
    assert [tuple(a) for a in audit] == [("cli", "recording.purge", f"recording:{old}")]


def test_purge_boundary_is_the_retention_date_itself(repo: RecordingRepository,
                                                     storage: RecordingStorage) -> None:
    rid = record(repo, storage, "p4", retention_days=5)
    until = repo.get(rid).retention_until
    assert until is not None
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    assert purge(repo, storage, today=until, now=now).purged == []  # kept through its last day
    assert len(purge(repo, storage, today=until + dt.timedelta(days=1), now=now).purged) == 1


def test_walk_skips_symlinks(storage: RecordingStorage, tmp_path: Path) -> None:
    write_wav(storage.root / "a" / "x.wav", 0.1)
    os.symlink(tmp_path, storage.root / "a" / "loop")
    assert list(storage.walk()) == ["a/x.wav"]


def test_walk_says_when_the_root_is_not_a_folder_or_a_folder_cannot_be_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert list(RecordingStorage(tmp_path / "not-yet").walk()) == []  # nothing recorded yet
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match=r"recording root .*file is not a folder"):
        list(RecordingStorage(tmp_path / "file").walk())
    storage = RecordingStorage(tmp_path / "recordings")
    write_wav(storage.root / "a" / "x.wav", 0.1)
    (storage.root / "b").mkdir()
    real_scandir = os.scandir

    def scandir(path: object) -> object:  # as root, permissions cannot make a folder unreadable
        if str(path).endswith("/b"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(StorageError, match=r"cannot read .*/b under the recording root: "
                                           "Permission denied"):
        list(storage.walk())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "/", "a", "b.wav", "~", "\\", "link", "C:",
                                 "outside.wav"]), min_size=1, max_size=8))
def test_whatever_the_stored_path_resolve_stays_inside_the_root(tmp_path_factory, parts) -> None:
    base = tmp_path_factory.mktemp("fuzz")
    storage = RecordingStorage(base / "root")
    write_wav(storage.root / "a" / "b.wav", 0.01)
    (base / "outside.wav").write_bytes(b"secret")
    if not (storage.root / "link").exists():
        (storage.root / "link").symlink_to(base)
    crafted = "".join(parts)
    try:
        resolved = storage.resolve(crafted)
    except StorageError:  # UnsafePathError included
        return
    assert resolved.is_relative_to(storage.root.resolve())
