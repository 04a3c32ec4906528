"""Two pjsua2 user agents in separate processes, calling each other on 127.0.0.1 (no PBX).

One loopback responder process answers; one caller worker process (spawned by the generator)
places the calls. A single short run (module fixture) covers set-up and answer, DTMF both ways,
media both ways, hang-up from either side and refused calls; each test asserts one aspect.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.sip.audio import ANSWER_TONE_HZ, CALLER_TONE_HZ, read_pcm
from sim.sip.bots import AnswerBehaviour, AnsweredCall, CallResult
from sim.sip.generator import LoadOptions, run_load
from sim.sip.plan import CallerScript, CallPlan, DtmfStep
from sim.sip.responder import ResponderFarm

pytestmark = pytest.mark.sip

CALLER_DIGITS = "1234#"
RESPONDER_DIGITS = "*0987"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    audio = tmp_path_factory.mktemp("audio")
    behaviour = AnswerBehaviour(
        dtmf=(DtmfStep(0.2, "D"), DtmfStep(0.5, RESPONDER_DIGITS)),
        reject_from=(("^486", 486), ("^603", 603)),
        hangup_after_s=3.0,
        record=True,
    )
    plan = CallPlan(dial="100", duration_s=1.0, callers=(
        # hangs up itself 1.5 s after the human answer, before the responder's 3 s
        CallerScript(0, 0.0, "0601", (DtmfStep(0.3, CALLER_DIGITS),), 20.0, 1.5),
        # would talk 30 s: the responder hangs up first, 3 s after answering
        CallerScript(1, 0.05, "0602", (), 20.0, 30.0),
        CallerScript(2, 0.1, "4860", (), 20.0, 1.0),
        CallerScript(3, 0.15, "6030", (), 20.0, 1.0),
    ))
    with ResponderFarm(1, behaviour) as farm:
        result = run_load(plan, LoadOptions(targets=tuple(farm.targets), per_target_calls=4,
                                            workers=1, record_dir=audio))
        farm.collect(timeout=5.0)
        answered = list(farm.calls)
    by_caller = {call.caller: call for call in answered}
    return {"calls": {c.caller_id: c for c in result.calls}, "responder": by_caller,
            "audio": audio}


def test_call_is_set_up_and_answered(run: dict) -> None:
    call: CallResult = run["calls"]["0601"]
    assert call.outcome == "completed"
    assert call.sip_code == 200
    assert 0 < call.pdd_s <= call.sip_answer_s < call.agent_answer_s < 5
    assert run["responder"]["0601"].outcome == "answered"


def test_dtmf_arrives_both_ways(run: dict) -> None:
    assert run["calls"]["0601"].digits_sent == CALLER_DIGITS
    assert run["responder"]["0601"].digits_heard == CALLER_DIGITS
    assert run["calls"]["0601"].digits_heard == RESPONDER_DIGITS


def _peak_frequencies(path: Path, count: int) -> list[float]:
    samples, rate = read_pcm(path)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    peaks: list[float] = []
    for index in np.argsort(spectrum)[::-1]:
        if all(abs(freqs[index] - p) > 50 for p in peaks):
            peaks.append(float(freqs[index]))
        if len(peaks) == count:
            return peaks
    return peaks


def test_recording_contains_the_far_tone_and_our_echo(run: dict) -> None:
    # The caller played 440 Hz; the responder played 1000 Hz and echoed the caller back.
    recording = run["audio"] / "caller-0.wav"
    peaks = _peak_frequencies(recording, 2)
    assert min(abs(p - ANSWER_TONE_HZ) for p in peaks) < 10
    assert min(abs(p - CALLER_TONE_HZ) for p in peaks) < 10
    call = run["calls"]["0601"]
    assert call.heard_far_tone and call.heard_echo


def test_responder_heard_the_caller_tone(run: dict) -> None:
    answered: AnsweredCall = run["responder"]["0601"]
    assert answered.heard_caller_tone is True


def test_received_levels_show_audio_both_ways(run: dict) -> None:
    caller, responder = run["calls"]["0601"], run["responder"]["0601"]
    # tones at 0.3 of full scale read about 34 on the bridge's 0..255 level scale
    assert caller.rx_level > 20 and responder.rx_level > 20
    # the responder's DTMF replaces its audio for 1 s of a 2 s call; the caller's, for 0.8 s
    assert caller.rx_audible_share > 0.4 and responder.rx_audible_share > 0.4


def test_hang_up_from_either_side(run: dict) -> None:
    caller_side, responder_side = run["calls"]["0601"], run["calls"]["0602"]
    assert run["responder"]["0601"].hung_up_by_bot is False
    assert 1.4 < caller_side.talk_s < 2.5
    assert run["responder"]["0602"].hung_up_by_bot is True
    assert responder_side.outcome == "completed"
    # hung up 3 s after answering, the human marker came 0.2 s after answering
    assert 2.5 < responder_side.talk_s < 4.0


@pytest.mark.parametrize(("caller", "code"), [("4860", 486), ("6030", 603)])
def test_refused_call_reports_its_status(run: dict, caller: str, code: int) -> None:
    call = run["calls"][caller]
    assert (call.outcome, call.sip_code, call.sip_answer_s) == ("failed", code, None)
    assert run["responder"][caller].outcome == "rejected"
