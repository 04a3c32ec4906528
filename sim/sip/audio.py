"""Test audio: tone WAVs to play into calls, and checks on what came back.

A load test cannot listen. It proves media instead: each side plays a pure tone at its own
frequency (callers 440 Hz, answering side 1000 Hz by default) and records what it receives. A
recording whose RMS is above the silence floor shows audio arrived; the strength of each tone's
frequency bin shows *whose* audio it was, so a caller that hears the far end's tone proves the far
end -> caller direction, and a caller that hears its own tone echoed back proves the round trip.
These are pure functions over numpy arrays and WAV files (16-bit mono PCM, what pjsua writes).
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.sip.errors import AudioFileError

CALLER_TONE_HZ = 440.0
ANSWER_TONE_HZ = 1000.0
# 16-bit full scale is 32767; -50 dBFS of line noise is about 100. Silence in pjsua is exact 0s.
SILENCE_RMS = 100.0


@dataclass(frozen=True, slots=True)
class MediaCheck:
    """What one recording says about the audio a call received."""

    seconds: float
    rms: float
    tones_hz: tuple[float, ...]  # the frequencies asked about that are clearly present

    @property
    def audible(self) -> bool:
        return self.rms > SILENCE_RMS


def write_tone(path: Path, frequency_hz: float, seconds: float = 1.0, *, rate: int = 8000,
               amplitude: float = 0.3) -> Path:
    """Write a sine tone as a 16-bit mono WAV (whole periods, so it loops without a click)."""
    if not 0 < frequency_hz < rate / 2:
        raise AudioFileError(f"tone {frequency_hz} Hz is not between 0 and {rate / 2} Hz")
    periods = max(1, round(seconds * frequency_hz))
    samples = round(periods * rate / frequency_hz)
    t = np.arange(samples) / rate
    pcm = (np.sin(2 * np.pi * frequency_hz * t) * amplitude * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def read_pcm(path: Path) -> tuple[np.ndarray, int]:
    """Samples (float, full scale 32767) and sample rate of a 16-bit mono WAV."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise AudioFileError(
                    f"{path} is {wav.getnchannels()} channel(s) of {8 * wav.getsampwidth()} bit; "
                    "expected 16-bit mono PCM"
                )
            rate = wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise AudioFileError(f"cannot read WAV {path}: {error}") from error
    return np.frombuffer(frames, dtype="<i2").astype(np.float64), rate


def tone_strength(samples: np.ndarray, rate: int, frequency_hz: float) -> float:
    """Share of the signal's energy within +-20 Hz of ``frequency_hz`` (0..1)."""
    if samples.size == 0:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    total = float(spectrum.sum())
    if total == 0.0:
        return 0.0
    band = (freqs > frequency_hz - 20) & (freqs < frequency_hz + 20)
    return float(spectrum[band].sum()) / total


def check_media(path: Path, tones_hz: tuple[float, ...] = (), *, window_s: float = 0.2,
                min_share: float = 0.1, min_windows: float = 0.1) -> MediaCheck:
    """RMS of a recording and which of ``tones_hz`` it clearly contains.

    The recording is cut into ``window_s`` windows, because a call's audio is not steady: DTMF
    sent as RFC 4733 events replaces audio packets (silence on the far side), IVR prompts come
    before any agent. A tone counts as present when it carries at least ``min_share`` of the
    energy in at least ``min_windows`` of the audible windows (and in three of them at least).
    """
    samples, rate = read_pcm(path)
    rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
    step = max(1, int(window_s * rate))
    windows = [samples[i:i + step] for i in range(0, samples.size - step + 1, step)]
    audible = [w for w in windows if float(np.sqrt(np.mean(w**2))) > SILENCE_RMS]
    present = []
    for tone in tones_hz:
        hits = sum(1 for w in audible if tone_strength(w, rate, tone) >= min_share)
        # short calls (an early abandon) have few windows: one clear window is enough there
        if audible and hits >= max(min(3, len(audible)), min_windows * len(audible)):
            present.append(tone)
    return MediaCheck(seconds=samples.size / rate, rms=rms, tones_hz=tuple(present))
