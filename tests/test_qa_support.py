"""Shared helpers of the QA and audio analytics tests (no tests here): calls and recordings
written into a real database, and synthetic WAV files with known talk and silence."""

from __future__ import annotations

import datetime as dt
import itertools
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hotline.db import Database, tables

RATE = 8000
T0 = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)  # Monday of ISO week 2026-W47
_ids = itertools.count(1)


def add_recording(database: Database, *, agent: str | None, started_at: dt.datetime = T0,
                  duration_s: float | None = 180.0, queue: str = "billing",
                  satisfaction: int | None = None, flags: Sequence[str] = (),
                  call_flags: Sequence[str] = (), analytics: dict | None = None,
                  status: str = "complete", path: str | None = None) -> int:
    call_id = f"call-{next(_ids)}"
    with database.begin() as conn:
        conn.execute(tables.calls.insert().values(
            id=call_id, queue=queue, agent_id=agent, started_at=started_at,
            satisfaction=satisfaction, flags=list(call_flags), ivr_path=[], attributes={},
            recording_failed=False, talk_s=duration_s))
        result = conn.execute(tables.recordings.insert().values(
            call_id=call_id, segment=1, agent_id=agent, queue=queue, started_at=started_at,
            duration_s=duration_s, path=path or f"2026/11/16/{queue}/{agent}/{call_id}.wav",
            status=status, pauses=[], flags=list(flags), analytics=analytics))
        return int(result.inserted_primary_key[0])


def tone(duration_s: float, frequency: float, level_dbfs: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(duration_s * rate)) / rate
    amplitude = 32768 * 10 ** (level_dbfs / 20) * np.sqrt(2)  # RMS level -> peak
    return amplitude * np.sin(2 * np.pi * frequency * t)


def leg(duration_s: float, segments: Sequence[tuple[float, float]], *, frequency: float = 440,
        level_dbfs: float = -20, noise_dbfs: float = -60, seed: int = 0,
        rate: int = RATE) -> np.ndarray:
    """One channel: tones on the ``(start_s, end_s)`` segments, Gaussian noise everywhere."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(0, 32768 * 10 ** (noise_dbfs / 20), round(duration_s * rate))
    for start, end in segments:
        a, b = round(start * rate), round(end * rate)
        signal[a:b] += tone((b - a) / rate, frequency, level_dbfs, rate)
    return signal


def write_wav(path: Path, *channels: np.ndarray, rate: int = RATE, width: int = 2) -> Path:
    data = np.stack(channels, axis=1) if len(channels) > 1 else channels[0][:, None]
    pcm = np.clip(np.round(data), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(pcm.shape[1])
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes() if width == 2 else (pcm // 256 + 128).astype(np.uint8)
                        .tobytes())
    return path
