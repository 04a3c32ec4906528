"""``hotline recordings verify|purge|list`` on a copy of the example deployment."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import wave
from pathlib import Path

import numpy as np
import pytest

from hotline.db import open_database
from recording import cli
from recording.control import SegmentStarted, SegmentStopped
from recording.repository import RecordingRepository
from recording.storage import RecordingStorage, segment_path

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC).timestamp()


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.handler(args)


@pytest.fixture
def deployed(deployment_copy: Path) -> tuple[Path, RecordingRepository, RecordingStorage]:
    """The example deployment with three finished recordings in its SQLite and root."""
    root = (deployment_copy / "../var/recordings").resolve()
    database = open_database("", data_dir=(deployment_copy / "../var/data").resolve())
    repo, storage = RecordingRepository(database), RecordingStorage(root)
    for index, (agent, days) in enumerate((("a001", 10), ("a002", 90), ("a001", 90))):
        call_id, at = f"c{index}", T0 + index * 3600
        path = segment_path(dt.datetime.fromtimestamp(at, dt.UTC), "billing", agent, call_id, 1)
        repo.apply(SegmentStarted(call_id, 1, at, agent, "billing", None, path.as_posix(),
                                  "PJSIP/2001-1", False, days, "test"))
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(target), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(8000)
            writer.writeframes((np.ones(8000 * (index + 1)) * 3000).astype("<i2").tobytes())
        repo.apply(SegmentStopped(call_id, 1, at + index + 1))
        repo.finalise(call_id, 1, storage, at=at + index + 1)
    database.close()
    database = open_database("", data_dir=(deployment_copy / "../var/data").resolve())
    return deployment_copy, RecordingRepository(database), storage


def test_verify_is_clean_then_reports_damage_with_exit_1(deployed, capsys) -> None:
    config, repo, storage = deployed
    assert run("recordings", "verify", "--config", str(config)) == 0
    assert "3 recording(s) checked" in capsys.readouterr().out
    rows = list(repo.iter_rows())
    (storage.root / rows[0].path).unlink()
    with (storage.root / rows[1].path).open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x7f\x7f")
    assert run("recordings", "verify", "--config", str(config), "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["missing"], report["mismatch"], report["orphan"]) == (1, 1, 0)
    assert {p["recording_id"] for p in report["problems"]} == {rows[0].id, rows[1].id}


def test_purge_dry_run_then_for_real(deployed, capsys) -> None:
    config, repo, storage = deployed
    assert run("recordings", "purge", "--config", str(config), "--dry-run",
               "--today", "2026-12-01") == 0
    out = capsys.readouterr().out
    assert "would purge 1 recording(s), 1 file(s)" in out
    assert all(r.status == "complete" for r in repo.iter_rows())
    assert run("recordings", "purge", "--config", str(config), "--today", "2026-12-01",
               "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["recordings"] == 1 and report["files_deleted"] == 1
    rows = list(repo.iter_rows())
    assert [r.status for r in rows] == ["purged", "complete", "complete"]
    assert not storage.exists(rows[0].path) and storage.exists(rows[1].path)
    assert run("recordings", "verify", "--config", str(config)) == 0


def test_list_filters_by_agent_and_day(deployed, capsys) -> None:
    config, _repo, _storage = deployed
    assert run("recordings", "list", "--config", str(config), "--agent", "a001", "--json") == 0
    found = json.loads(capsys.readouterr().out)
    assert [r["call_id"] for r in found["recordings"]] == ["c2", "c0"]
    assert run("recordings", "search", "--config", str(config), "--from", "2026-11-02") == 0
    assert capsys.readouterr().out.strip().endswith("0 recording(s)")
    assert run("recordings", "list", "--config", str(config), "--min-duration", "2") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[-1] == "2 recording(s)"
    assert " c2 " in lines[0] and "a001" in lines[0] and "2026-11-01 12:00" in lines[0]  # Berlin
