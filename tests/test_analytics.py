"""Audio analytics on real WAV files with known talk and silence (tones over noise)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from test_qa_support import RATE, add_recording, leg, write_wav

from hotline.db import Database, tables
from recording.analytics import AudioAnalytics, analyse_file, analyse_recording, analyse_samples
from recording.qa.errors import AnalyticsError, NotFound

FRAME = 0.02


def test_a_conversation_with_known_talk_silence_overtalk_and_hold(tmp_path: Path) -> None:
    # caller 0-5 s and 30-35 s, agent 4-14 s: 1 s of over-talk, then 16 s and 25 s of silence
    caller = leg(60, [(0, 5), (30, 35)], frequency=300, seed=1)
    agent = leg(60, [(4, 14)], frequency=520, seed=2)
    result = analyse_file(write_wav(tmp_path / "call.wav", caller, agent))
    assert (result.duration_s, result.channels, result.sample_rate) == (60.0, 2, RATE)
    c, a = result.legs["caller"], result.legs["agent"]
    assert c.talk_s == pytest.approx(10.0, abs=FRAME)
    assert a.talk_s == pytest.approx(10.0, abs=FRAME)
    assert (c.talk_segments, a.talk_segments) == (2, 1)
    assert c.silence_ratio == pytest.approx(50 / 60, abs=0.001)
    assert c.longest_silence_s == pytest.approx(25.0, abs=FRAME)
    assert a.longest_silence_s == pytest.approx(46.0, abs=FRAME)
    assert result.overtalk_s == pytest.approx(1.0, abs=FRAME)
    assert result.dead_air_s == pytest.approx(25.0, abs=FRAME)
    assert result.hold_s == pytest.approx(16.0 + 25.0, abs=2 * FRAME)
    assert result.agent_talk_ratio == pytest.approx(0.5, abs=0.002)


def test_segment_edges_off_the_frame_grid_are_within_one_frame(tmp_path: Path) -> None:
    caller = leg(20, [(1.013, 4.291), (9.505, 12.777)], seed=3)
    agent = leg(20, [(4.9, 9.1)], seed=4, frequency=700)
    result = analyse_file(write_wav(tmp_path / "call.wav", caller, agent))
    assert result.legs["caller"].talk_s == pytest.approx(3.278 + 3.272, abs=2 * FRAME)
    assert result.legs["agent"].talk_s == pytest.approx(4.2, abs=2 * FRAME)
    assert result.overtalk_s == 0
    assert result.agent_talk_ratio == pytest.approx(4.2 / (4.2 + 6.55), abs=0.005)


def test_hangover_bridges_pauses_between_words_but_not_longer_ones() -> None:
    words = [(1 + 0.6 * i, 1.4 + 0.6 * i) for i in range(5)]  # 0.4 s words, 0.2 s pauses
    phrases = [(1 + 1.0 * i, 1.4 + 1.0 * i) for i in range(5)]  # 0.6 s pauses
    samples = np.stack([leg(10, words), leg(10, phrases, seed=5)], axis=1)
    result = analyse_samples(samples.astype(np.int16), RATE)
    speech, phrased = result.legs["caller"], result.legs["agent"]
    assert speech.talk_segments == 1
    assert speech.talk_s == pytest.approx(5 * 0.6 - 0.2, abs=FRAME)  # first word to last
    assert phrased.talk_segments == 5
    assert phrased.talk_s == pytest.approx(5 * 0.4, abs=FRAME)  # never extended past a word


def test_clicks_are_not_talk() -> None:
    caller = leg(5, [(1.0, 1.02), (2.0, 2.02), (3.0, 3.5)])
    result = analyse_samples(np.round(caller).astype(np.int16), RATE)
    assert result.legs["mixed"].talk_segments == 1
    assert result.legs["mixed"].talk_s == pytest.approx(0.5, abs=FRAME)


def test_a_loud_line_and_a_leg_that_never_stops() -> None:
    noisy = leg(30, [(2, 12)], level_dbfs=-15, noise_dbfs=-45, seed=6)
    chatty = leg(30, [(0, 30)], level_dbfs=-25, seed=7, frequency=350)
    result = analyse_samples(np.stack([noisy, chatty], axis=1).astype(np.int16), RATE)
    assert result.legs["caller"].talk_s == pytest.approx(10, abs=FRAME)
    assert result.legs["agent"].talk_s == pytest.approx(30, abs=FRAME)
    assert result.legs["agent"].longest_silence_s == 0
    assert result.hold_s == 0


def test_hold_markers_and_long_silences_count_once() -> None:
    caller = leg(60, [(0, 10), (40, 60)], seed=8)
    agent = leg(60, [(5, 12), (45, 50)], seed=9, frequency=600)
    samples = np.stack([caller, agent], axis=1).astype(np.int16)
    assert analyse_samples(samples, RATE).hold_s == pytest.approx(28, abs=FRAME)  # 12-40
    marked = analyse_samples(samples, RATE, hold_marks=[(8, 20), (30, 45), (50, 52)])
    assert marked.hold_s == pytest.approx(45 - 8 + 2, abs=2 * FRAME)  # 8-45 and 50-52
    with pytest.raises(AnalyticsError, match="hold marker ends before it starts"):
        analyse_samples(samples, RATE, hold_marks=[(20, 10)])


def test_a_mono_recording_is_one_mixed_leg(tmp_path: Path) -> None:
    result = analyse_file(write_wav(tmp_path / "mono.wav", leg(12, [(2, 4), (6, 9)])))
    assert list(result.legs) == ["mixed"]
    assert result.legs["mixed"].talk_s == pytest.approx(5, abs=FRAME)
    assert result.overtalk_s is None and result.agent_talk_ratio is None


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(5, 60), st.integers(25, 200)), min_size=1, max_size=6))
def test_talk_time_is_exact_on_frame_aligned_segments(layout: list[tuple[int, int]]) -> None:
    """Segments of 5+ frames separated by 25+ frames of silence are measured to the frame."""
    segments, cursor = [], 10
    for length, gap in layout:
        segments.append((cursor * FRAME, (cursor + length) * FRAME))
        cursor += length + gap
    duration = cursor * FRAME
    result = analyse_samples(np.round(leg(duration, segments)).astype(np.int16), RATE)
    mixed = result.legs["mixed"]
    assert mixed.talk_segments == len(segments)
    assert mixed.talk_s == pytest.approx(sum(n for n, _ in layout) * FRAME, abs=1e-6)
    assert mixed.talk_s + mixed.silence_s == pytest.approx(duration, abs=1e-3)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(AnalyticsError, match="does not exist"):
        analyse_file(tmp_path / "missing.wav")
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(AnalyticsError, match="is not a readable PCM WAV file"):
        analyse_file(tmp_path / "text.wav")
    with pytest.raises(AnalyticsError, match=r"cannot read recording file .*: Is a directory"):
        analyse_file(tmp_path)
    eight = write_wav(tmp_path / "eight.wav", leg(1, [(0, 1)]), width=1)
    with pytest.raises(AnalyticsError, match="has 8-bit samples; audio analytics reads 16-bit"):
        analyse_file(eight)
    with wave.open(str(tmp_path / "short.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(b"\0\0" * 10)
    with pytest.raises(AnalyticsError, match="shorter than one 20 ms frame"):
        analyse_file(tmp_path / "short.wav")


def test_analytics_are_stored_with_the_recording(database: Database, tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    (root / "2026").mkdir(parents=True)
    write_wav(root / "2026" / "call.wav", leg(20, [(1, 6)]), leg(20, [(7, 15)], seed=2))
    recording = add_recording(database, agent="a001", path="2026/call.wav")
    result = analyse_recording(database, recording, root)
    with database.begin() as conn:
        stored = conn.execute(sa.select(tables.recordings.c.analytics)
                              .where(tables.recordings.c.id == recording)).scalar_one()
    assert AudioAnalytics.from_json(stored) == result
    assert stored["legs"]["agent"]["talk_s"] == pytest.approx(8, abs=FRAME)


def test_a_recording_path_outside_the_root_is_refused(database: Database,
                                                      tmp_path: Path) -> None:
    write_wav(tmp_path / "secret.wav", leg(2, [(0, 1)]))
    (tmp_path / "root").mkdir()
    sneaky = add_recording(database, agent="a001", path="../secret.wav")
    with pytest.raises(AnalyticsError, match="points outside the recording root"):
        analyse_recording(database, sneaky, tmp_path / "root")
    with pytest.raises(NotFound, match="there is no recording 999"):
        analyse_recording(database, 999, tmp_path / "root")
