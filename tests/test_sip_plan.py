"""Call plans, tone audio and report arithmetic: the pure parts of the SIP load layer."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.sip.audio import check_media, tone_strength, write_tone
from sim.sip.errors import AudioFileError, LoadPlanError, SipLimitExceeded
from sim.sip.plan import (
    CallerScript,
    CallPlan,
    DtmfStep,
    parse_dtmf_steps,
    peak_concurrency,
    plan_from_options,
)
from sim.sip.report import distribution
from sim.sip.useragent import BUILD_MAX_CALLS, UaSettings, parse_headers

pytestmark = pytest.mark.sip


def test_dtmf_steps_parse_and_sort() -> None:
    assert parse_dtmf_steps("1234#@4.5, 1@2") == (DtmfStep(2.0, "1"), DtmfStep(4.5, "1234#"))
    assert parse_dtmf_steps("") == ()


@pytest.mark.parametrize(("text", "fragment"), [
    ("12", "needs a time"), ("1x@2", "0-9 * # A-D"), ("1@soon", "'soon'"), ("1@-1", "negative"),
])
def test_bad_dtmf_steps_name_the_step(text: str, fragment: str) -> None:
    with pytest.raises(LoadPlanError, match=fragment.replace("*", r"\*")):
        parse_dtmf_steps(text)


def test_plan_from_options_is_reproducible_and_poisson() -> None:
    one = plan_from_options(dial="100", rate_per_s=5, duration_s=400, talk_median_s=30,
                            talk_sigma=0.4, patience_mean_s=60, seed=3)
    two = plan_from_options(dial="100", rate_per_s=5, duration_s=400, talk_median_s=30,
                            talk_sigma=0.4, patience_mean_s=60, seed=3)
    assert one == two
    assert abs(len(one.callers) - 2000) < 4 * math.sqrt(2000)
    starts = [c.start_s for c in one.callers]
    assert starts == sorted(starts) and starts[0] > 0 and starts[-1] < 400
    talk = np.array([c.talk_s for c in one.callers])
    assert abs(np.median(talk) - 30) < 2
    assert abs(np.mean([c.patience_s for c in one.callers]) - 60) < 6
    assert len({c.caller_id for c in one.callers}) == len(one.callers)


def test_caller_ids_cycle_through_the_pool() -> None:
    plan = plan_from_options(dial="1", rate_per_s=10, duration_s=2, caller_ids=("a", "b"),
                             seed=1)
    assert [c.caller_id for c in plan.callers[:4]] == ["a", "b", "a", "b"]


@pytest.mark.parametrize("field", ["rate_per_s", "duration_s", "talk_median_s",
                                   "patience_mean_s"])
def test_non_positive_options_are_refused(field: str) -> None:
    options = {"dial": "1", "rate_per_s": 1.0, "duration_s": 1.0, field: 0.0}
    with pytest.raises(LoadPlanError, match="positive"):
        plan_from_options(**options)


def test_digits_may_not_contain_the_answer_marker() -> None:
    caller = CallerScript(0, 0, "1", (DtmfStep(1, "12D"),), 10, 10)
    with pytest.raises(LoadPlanError, match="answer marker 'D'"):
        CallPlan(dial="1", duration_s=1, callers=(caller,))
    # with another marker the same digits are fine and kept as written
    plan = CallPlan(dial="1", duration_s=1, callers=(caller,), answer_marker="A")
    assert plan.callers[0].dtmf[0].digits == "12D"


def test_peak_concurrency_bounds_overlapping_calls() -> None:
    callers = tuple(CallerScript(i, float(i), str(i), (), 1.0, 2.0) for i in range(10))
    # each call holds 1 s setup + 1 s patience + 2 s talk = 4 s; one starts every second
    assert peak_concurrency(CallPlan(dial="1", duration_s=10, callers=callers)) == 4


def test_settings_refuse_more_calls_than_the_build_holds() -> None:
    with pytest.raises(SipLimitExceeded, match=f"1..{BUILD_MAX_CALLS}"):
        UaSettings(max_calls=BUILD_MAX_CALLS + 1)


def test_headers_of_a_raw_invite() -> None:
    invite = ("INVITE sip:100@h SIP/2.0\r\nCall-ID: abc@h\r\nX-Hotline-Call-Id: c-7\r\n"
              "Content-Length: 0\r\n\r\nv=0\r\nx: body")
    assert parse_headers(invite) == (("Call-ID", "abc@h"), ("X-Hotline-Call-Id", "c-7"),
                                     ("Content-Length", "0"))


@settings(max_examples=25, deadline=None)
@given(st.floats(min_value=200, max_value=3400))
def test_a_written_tone_is_found_at_its_frequency(tmp_path_factory: pytest.TempPathFactory,
                                                   frequency: float) -> None:
    path = write_tone(tmp_path_factory.mktemp("tone") / "t.wav", frequency, 1.0)
    check = check_media(path, (frequency, 150.0 if frequency > 400 else 3600.0))
    assert check.tones_hz == (frequency,)
    assert check.audible and abs(check.rms - 0.3 * 32767 / math.sqrt(2)) < 100


def test_silence_is_not_audible(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "quiet.wav", 440, 1.0, amplitude=0.0)
    check = check_media(path, (440.0,))
    assert (check.audible, check.tones_hz) == (False, ())
    assert tone_strength(np.zeros(0), 8000, 440) == 0.0


def test_unreadable_wav_is_an_audio_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000nope")
    with pytest.raises(AudioFileError, match=r"bad\.wav"):
        check_media(bad)


def test_distribution_percentiles() -> None:
    d = distribution([None, *map(float, range(1, 101))])
    assert d == {"count": 100, "mean": 50.5, "p50": 50.5, "p90": 90.1, "p95": 95.05,
                 "max": 100.0}
    assert distribution([None])["p50"] is None
