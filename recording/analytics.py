"""Audio analytics: who talked, who was silent, and for how long, measured on the recording.

A QA reviewer cannot listen to every call, but the recording itself says a lot before anyone
listens: an agent who talks 90% of the time, long dead air, caller and agent talking over each
other, a call that spends half its length on hold. This module measures those figures with
numpy so the sampler can send the odd calls to a reviewer.

**Input.** A WAV file, 16-bit PCM, 8 kHz (any rate works), mono or stereo. Stereo is the
layout we ask MixMonitor for: **left channel = caller** (what the caller said), **right channel
= agent**. A mono file is one mixed leg (``mixed``): talk and silence are measured, over-talk
and the agent/caller ratio cannot be and are ``None``.

**Voice activity (energy VAD).** Each leg is cut into 20 ms frames and each frame's RMS level
is taken in dBFS. The leg's noise floor is the 10th percentile of its frame levels; a frame is
*loud* when it is more than ``margin_db`` (12 dB) above that floor, the threshold being kept
between -55 and -35 dBFS (so digital silence does not make hiss look like speech, and a leg
that talks all the time is still measured against a speech-like level). Loud bursts shorter
than ``min_talk_s`` (60 ms: clicks) are dropped; then the *hangover* joins bursts separated by
pauses of at most ``hangover_s`` (300 ms, the gaps between words) into one stretch of talk.
The hangover only bridges gaps; it never extends talk past its last loud frame, so talk time
is not inflated. Everything is vectorised (run boundaries with ``np.diff``, fills with
cumulative sums): no Python loop over samples or frames.

**Figures.** Per leg: ``talk_s``, ``silence_s``, ``silence_ratio`` (silence / duration),
``longest_silence_s``, ``talk_segments``. For the call: ``overtalk_s`` (both legs talking in
the same frame), ``dead_air_s`` (the longest stretch where both are silent), ``hold_s`` and
``agent_talk_ratio`` = agent talk / (agent talk + caller talk), 0.5 when they talk equally.

**Hold.** A frame is on hold when it lies in a stretch where *both* legs are silent for at
least ``hold_min_s`` (10 s: longer than any natural pause in a conversation) or inside a hold
marker (``hold_marks``: ``(start_s, end_s)`` intervals from the call's Hold/Unhold events,
given by the caller of :func:`analyse_file`). Both are counted once where they overlap.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from hotline.db import Database, tables
from recording.errors import UnsafePathError
from recording.qa.errors import AnalyticsError, NotFound
from recording.storage import RecordingStorage

CALLER, AGENT, MIXED = "caller", "agent", "mixed"


@dataclass(frozen=True, slots=True)
class VadSettings:
    frame_s: float = 0.02
    margin_db: float = 12.0
    threshold_min_db: float = -55.0
    threshold_max_db: float = -35.0
    min_talk_s: float = 0.06
    hangover_s: float = 0.3
    hold_min_s: float = 10.0


@dataclass(frozen=True, slots=True)
class LegAnalytics:
    talk_s: float
    silence_s: float
    silence_ratio: float
    longest_silence_s: float
    talk_segments: int
    threshold_db: float


@dataclass(frozen=True, slots=True)
class AudioAnalytics:
    duration_s: float
    sample_rate: int
    channels: int
    legs: dict[str, LegAnalytics]
    overtalk_s: float | None
    dead_air_s: float
    hold_s: float
    agent_talk_ratio: float | None

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["version"] = 1
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AudioAnalytics:
        """The inverse of :meth:`as_json` (what ``recordings.analytics`` holds)."""
        values = {k: v for k, v in data.items() if k not in {"version", "legs"}}
        legs = {name: LegAnalytics(**leg) for name, leg in data["legs"].items()}
        return cls(legs=legs, **values)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """``(samples, rate)``: int16 samples shaped ``(n, channels)``."""
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError as exc:
        raise AnalyticsError(f"recording file {path} does not exist") from exc
    except (wave.Error, EOFError) as exc:
        raise AnalyticsError(f"{path} is not a readable PCM WAV file: {exc}") from exc
    except OSError as exc:  # a folder, no permission, an I/O error
        raise AnalyticsError(f"cannot read recording file {path}: {exc.strerror or exc}") \
            from exc
    if width != 2:
        raise AnalyticsError(f"{path} has {8 * width}-bit samples; audio analytics reads "
                             "16-bit PCM WAV only")
    if channels not in (1, 2):
        raise AnalyticsError(f"{path} has {channels} channels; expected 1 (mixed) or 2 "
                             "(left caller, right agent)")
    samples = np.frombuffer(raw, dtype="<i2")
    return samples[: len(samples) // channels * channels].reshape(-1, channels), rate


def analyse_file(path: Path, *, hold_marks: Sequence[tuple[float, float]] = (),
                 settings: VadSettings | None = None) -> AudioAnalytics:
    """Analyse one WAV recording (see the module docstring for the layout and figures)."""
    samples, rate = read_wav(Path(path))
    return analyse_samples(samples, rate, hold_marks=hold_marks, settings=settings)


def analyse_samples(samples: np.ndarray, rate: int, *,
                    hold_marks: Sequence[tuple[float, float]] = (),
                    settings: VadSettings | None = None) -> AudioAnalytics:
    """Analyse int16 samples shaped ``(n,)`` or ``(n, channels)``."""
    vad = settings or VadSettings()
    if samples.ndim == 1:
        samples = samples[:, None]
    channels = samples.shape[1]
    frame = round(vad.frame_s * rate)
    count = samples.shape[0] // frame
    if count == 0:
        raise AnalyticsError(f"the recording is shorter than one {vad.frame_s * 1000:g} ms "
                             f"frame ({samples.shape[0]} samples)")
    duration = samples.shape[0] / rate
    x = samples[: count * frame].astype(np.float32).reshape(count, frame, channels)
    power = np.einsum("fsc,fsc->fc", x, x, dtype=np.float64) / frame
    level_db = 10 * np.log10(power / 32768.0**2 + 1e-20)

    names = (CALLER, AGENT) if channels == 2 else (MIXED,)
    legs: dict[str, LegAnalytics] = {}
    active = np.empty((count, channels), dtype=bool)
    for index, name in enumerate(names):
        active[:, index], threshold = _voice(level_db[:, index], vad)
        legs[name] = _leg(active[:, index], threshold, duration, vad.frame_s)

    silent_all = ~active.any(axis=1)
    starts, ends = _runs(silent_all)
    lengths = ends - starts
    dead_air = float(lengths.max(initial=0) * vad.frame_s)
    long_silence = lengths * vad.frame_s >= vad.hold_min_s
    hold = _mask(count, starts[long_silence], ends[long_silence]) | _marks(count, hold_marks, vad)
    overtalk = ratio = None
    if channels == 2:
        overtalk = round(float(active.all(axis=1).sum() * vad.frame_s), 3)
        talked = legs[AGENT].talk_s + legs[CALLER].talk_s
        ratio = round(legs[AGENT].talk_s / talked, 4) if talked else None
    return AudioAnalytics(
        duration_s=round(duration, 3), sample_rate=rate, channels=channels, legs=legs,
        overtalk_s=overtalk, dead_air_s=round(dead_air, 3),
        hold_s=round(float(hold.sum() * vad.frame_s), 3), agent_talk_ratio=ratio,
    )


def _voice(level_db: np.ndarray, vad: VadSettings) -> tuple[np.ndarray, float]:
    floor = float(np.percentile(level_db, 10))
    threshold = float(np.clip(floor + vad.margin_db, vad.threshold_min_db,
                              vad.threshold_max_db))
    loud = level_db > threshold
    starts, ends = _runs(loud)
    clicks = (ends - starts) < round(vad.min_talk_s / vad.frame_s)
    loud &= ~_mask(loud.size, starts[clicks], ends[clicks])
    starts, ends = _runs(loud)
    gaps = starts[1:] - ends[:-1]
    bridged = gaps <= round(vad.hangover_s / vad.frame_s)
    return loud | _mask(loud.size, ends[:-1][bridged], starts[1:][bridged]), threshold


def _leg(active: np.ndarray, threshold: float, duration: float, frame_s: float) -> LegAnalytics:
    talk = float(active.sum() * frame_s)
    starts, ends = _runs(~active)
    longest = float((ends - starts).max(initial=0) * frame_s)
    # Silence counts the tail shorter than a frame too, so talk + silence = duration.
    return LegAnalytics(
        talk_s=round(talk, 3), silence_s=round(duration - talk, 3),
        silence_ratio=round(1 - talk / duration, 4), longest_silence_s=round(longest, 3),
        talk_segments=int(_runs(active)[0].size), threshold_db=round(threshold, 1),
    )


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and end (exclusive) frame of every run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    return edges[::2], edges[1::2]


def _mask(size: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A boolean mask that is True on every ``[start, end)``; intervals may overlap."""
    delta = np.zeros(size + 1, dtype=np.int64)
    np.add.at(delta, np.clip(starts, 0, size), 1)
    np.add.at(delta, np.clip(ends, 0, size), -1)
    return np.cumsum(delta[:size]) > 0


def _marks(size: int, marks: Sequence[tuple[float, float]], vad: VadSettings) -> np.ndarray:
    if not marks:
        return np.zeros(size, dtype=bool)
    spans = np.asarray(marks, dtype=np.float64).reshape(-1, 2)
    if (spans[:, 1] < spans[:, 0]).any():
        raise AnalyticsError(f"a hold marker ends before it starts: {marks!r}")
    starts = np.floor(spans[:, 0] / vad.frame_s).astype(np.int64)
    ends = np.ceil(spans[:, 1] / vad.frame_s).astype(np.int64)
    return _mask(size, starts, ends)


# --- storage ----------------------------------------------------------------------------------

def store_analytics(database: Database, recording_id: int, analytics: AudioAnalytics) -> None:
    """Write ``analytics`` into ``recordings.analytics`` (JSON)."""
    with database.begin() as conn:
        result = conn.execute(tables.recordings.update()
                              .where(tables.recordings.c.id == recording_id)
                              .values(analytics=analytics.as_json()))
    if result.rowcount == 0:
        raise NotFound(f"there is no recording {recording_id}")


def analyse_recording(database: Database, recording_id: int, root: Path, *,
                      hold_marks: Sequence[tuple[float, float]] = (),
                      settings: VadSettings | None = None) -> AudioAnalytics:
    """Analyse a stored recording (its ``path`` is relative to ``root``) and store the result."""
    with database.begin() as conn:
        row = conn.execute(sa.select(tables.recordings.c.path)
                           .where(tables.recordings.c.id == recording_id)).first()
    if row is None:
        raise NotFound(f"there is no recording {recording_id}")
    try:
        # must_exist=False: a missing or unreadable file is reported by read_wav.
        path = RecordingStorage(root).resolve(row.path, must_exist=False)
    except UnsafePathError as exc:
        raise AnalyticsError(f"recording {recording_id} points outside the recording root: "
                             f"{row.path!r}") from exc
    analytics = analyse_file(path, hold_marks=hold_marks, settings=settings)
    store_analytics(database, recording_id, analytics)
    return analytics


def missing_analytics(database: Database) -> list[int]:
    """Ids of complete recordings that have no analytics yet, oldest first."""
    r = tables.recordings
    with database.begin() as conn:
        return list(conn.execute(sa.select(r.c.id)
                                 .where(r.c.status == "complete", sa.or_(
                                     r.c.analytics.is_(None),
                                     # a Python None written into a JSON column is JSON null
                                     sa.cast(r.c.analytics, sa.Text) == "null"))
                                 .order_by(r.c.started_at, r.c.id)).scalars())
