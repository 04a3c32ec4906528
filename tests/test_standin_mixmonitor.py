"""MixMonitor on the stand-in writes real WAV files recording code can check end to end."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from sim.asterisk import AgentScript, AsteriskStandin, World
from sim.asterisk.mixmonitor import AGENT_TONE_HZ, CALLER_TONE_HZ, RATE
from sim.asterisk.probe import AmiProbe


def read_wav(path: Path) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        data = np.frombuffer(wav.readframes(params.nframes), dtype="<i2")
    return params, data.reshape(-1, params.nchannels)


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(float) ** 2))) if len(samples) else 0.0


async def talking_call(standin: AsteriskStandin) -> tuple[World, AmiProbe, str]:
    world = World(standin)
    world.add_agent("1001", script=AgentScript(answer_after=1.0, hangs_up=False))
    probe = await AmiProbe.connect(standin.port)
    await probe.login()
    caller = await world.call(world.add_caller("2001"))
    await probe.action("Redirect", Channel=caller.channel, Context="hotline-connect",
                       Exten="1001", Priority="1")
    await world.wait_for(lambda: caller.state == "talking")
    assert caller.channel is not None
    return world, probe, caller.channel


@pytest.mark.parametrize("stereo", [True, False])
async def test_wav_has_the_call_duration_and_silence_while_muted(tmp_path: Path, stereo: bool):
    async with AsteriskStandin(time_scale=0.002, recordings_root=tmp_path) as standin:
        _, probe, channel = await talking_call(standin)
        started = await probe.action("MixMonitor", Channel=channel,
                                     File="/var/spool/asterisk/monitor/call.wav",
                                     Options="D" if stereo else "")
        assert started.name == "Success"
        await standin.clock.sleep(2.0)
        await probe.action("MixMonitorMute", Channel=channel, Direction="read", State="1")
        await standin.clock.sleep(1.5)
        await probe.action("MixMonitorMute", Channel=channel, Direction="read", State="0")
        await standin.clock.sleep(1.0)
        await probe.action("StopMixMonitor", Channel=channel)
        await probe.wait_event("MixMonitorStop", Channel=channel)
        await probe.close()

    path = tmp_path / "var/spool/asterisk/monitor/call.wav"
    params, frames = read_wav(path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (
        2 if stereo else 1, 2, RATE)
    assert params.nframes == int(4.5 * RATE)

    def window(start: float, end: float) -> np.ndarray:
        return frames[int(start * RATE):int(end * RATE)]

    if stereo:
        caller, agent = window(0.0, 2.0), window(2.0, 3.5)
        assert dominant_hz(caller[:, 0]) == pytest.approx(CALLER_TONE_HZ, abs=2)
        assert dominant_hz(caller[:, 1]) == pytest.approx(AGENT_TONE_HZ, abs=2)
        assert rms(agent[:, 0]) == 0.0          # the caller's side is muted
        assert rms(agent[:, 1]) > 1000          # the agent is still heard
        assert rms(window(3.5, 4.5)[:, 0]) > 1000
    else:
        mixed = frames[:, 0]
        muted = window(2.0, 3.5)[:, 0]
        assert dominant_hz(muted) == pytest.approx(AGENT_TONE_HZ, abs=2)
        assert rms(muted) < rms(mixed[: 2 * RATE])


async def test_hangup_closes_the_recording_without_mixmonitorstop(tmp_path: Path):
    async with AsteriskStandin(time_scale=0.002, recordings_root=tmp_path) as standin:
        world, probe, channel = await talking_call(standin)
        await probe.action("MixMonitor", Channel=channel, File="rec/hangup.wav")
        await standin.clock.sleep(3.0)
        world.hang_up(world.agents["1001"])
        await probe.wait_event("Hangup", Channel=channel)
        (recording,) = standin.recordings
        assert recording.closed and recording.duration == pytest.approx(3.0)
        assert not any(m.name == "MixMonitorStop" for m in probe.events())
        filename = await probe.wait_event("VarSet", Variable="MIXMONITOR_FILENAME")
        assert filename.get("Value") == "rec/hangup.wav"
        await probe.close()
    params, _ = read_wav(tmp_path / "rec/hangup.wav")
    assert params.nframes == 3 * RATE


async def test_hold_silences_the_agent_in_the_callers_recording(tmp_path: Path):
    async with AsteriskStandin(time_scale=0.002, recordings_root=tmp_path) as standin:
        world, probe, channel = await talking_call(standin)
        await probe.action("MixMonitor", Channel=channel, File="held.wav", Options="D")
        await standin.clock.sleep(1.0)
        world.hold(world.agents["1001"])
        await standin.clock.sleep(2.0)
        world.unhold(world.agents["1001"])
        await standin.clock.sleep(1.0)
        await probe.action("StopMixMonitor", Channel=channel)
        await probe.close()
    _, frames = read_wav(tmp_path / "held.wav")
    assert rms(frames[RATE:3 * RATE, 1]) == 0.0
    assert rms(frames[3 * RATE:, 1]) > 1000
