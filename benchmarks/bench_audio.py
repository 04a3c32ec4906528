"""Audio analytics speed: a 5-minute stereo 8 kHz 16-bit recording, read and analysed.

Builds a synthetic conversation (turns of tone bursts with pauses between words, a little
over-talk, a 40-second hold, background noise on both legs), writes it as a WAV file, and
times :func:`recording.analytics.analyse_file` on it (file read included). Prints one JSON
object; ``seconds_per_recording`` is the median of the timed runs.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from recording.analytics import analyse_file

RATE = 8000
DURATION_S = 300
RUNS = 20


def conversation(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = DURATION_S * RATE
    legs = rng.normal(0, 30, (n, 2))  # about -61 dBFS of line noise
    t = np.arange(n) / RATE
    cursor, speaker = 1.0, 0
    while cursor < DURATION_S - 5:
        if 120 <= cursor < 160:  # on hold
            cursor, speaker = 160.0, 1
            continue
        turn_end = cursor + rng.uniform(2, 12)
        while cursor < min(turn_end, DURATION_S - 1):
            word = rng.uniform(0.2, 0.6)
            span = (t >= cursor) & (t < cursor + word)
            legs[span, speaker] += 6000 * np.sin(2 * np.pi * (250 + 150 * speaker) * t[span])
            cursor += word + rng.uniform(0.05, 0.25)
        cursor += rng.uniform(-0.4, 1.5)  # a reply can start before the turn ends
        speaker = 1 - speaker
    return np.clip(np.round(legs), -32768, 32767).astype("<i2")


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "call.wav"
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(conversation().tobytes())
        analyse_file(path)  # warm up imports and caches
        timings = []
        for _ in range(RUNS):
            start = time.perf_counter()
            result = analyse_file(path)
            timings.append(time.perf_counter() - start)
        size = path.stat().st_size
    median = statistics.median(timings)
    print(json.dumps({
        "benchmark": "audio_analytics",
        "recording": {"duration_s": DURATION_S, "sample_rate": RATE, "channels": 2,
                      "bits": 16, "bytes": size},
        "runs": RUNS,
        "seconds_per_recording": round(median, 5),
        "seconds_best": round(min(timings), 5),
        "seconds_worst": round(max(timings), 5),
        "realtime_factor": round(DURATION_S / median, 1),
        "figures": {
            "caller_talk_s": result.legs["caller"].talk_s,
            "agent_talk_s": result.legs["agent"].talk_s,
            "overtalk_s": result.overtalk_s, "hold_s": result.hold_s,
            "agent_talk_ratio": result.agent_talk_ratio,
        },
        "python": platform.python_version(), "numpy": np.__version__,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
