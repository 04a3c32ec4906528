"""The stand-in continues the dialplan after the IVR exactly as extensions_hotline.conf does,
reading the variables ivr/fastagi.py sets (HOTLINE_OUTCOME, HOTLINE_QUEUE, HOTLINE_TRANSFER)."""

from __future__ import annotations

import pytest

from sim.asterisk import AsteriskStandin


def apps(standin: AsteriskStandin, channel: str) -> list[tuple[str, str, str]]:
    return [(m.get("Context") or "", m.get("Application") or "", m.get("AppData") or "")
            for m in standin.events if m.name == "Newexten" and m.get("Channel") == channel]


def queued(standin: AsteriskStandin, channel: str) -> list[str]:
    return [m.get("Queue") or "" for m in standin.events
            if m.name == "UserEvent" and m.get("Channel") == channel]


@pytest.fixture
async def standin():
    async with AsteriskStandin(time_scale=0.002) as s:
        yield s


def ivr_call(standin: AsteriskStandin, **variables: str) -> str:
    ch = standin.pbx.call_in_ivr("2001", None, "agi://127.0.0.1:4573/main")
    for name, value in variables.items():
        standin.pbx.set_variable(ch.name, name, value)
    return ch.name


async def test_a_transfer_goes_to_hotline_transfer_with_hotline_transfer_and_queues_on_no_answer(
        standin):
    channel = ivr_call(standin, HOTLINE_OUTCOME="transfer", HOTLINE_TRANSFER="5550100")
    standin.pbx.finish_ivr(channel, "SUCCESS")
    steps = apps(standin, channel)
    assert ("hotline-inbound", "Goto", "hotline-transfer,5550100,1") in steps
    assert ("hotline-transfer", "Dial", "PJSIP/5550100,30") in steps
    assert queued(standin, channel) == ["general"]


@pytest.mark.parametrize("outcome", ["voicemail", "callback", "hangup"])
async def test_voicemail_callback_and_hangup_end_at_bye(standin, outcome):
    channel = ivr_call(standin, HOTLINE_OUTCOME=outcome)
    standin.pbx.finish_ivr(channel, "SUCCESS")
    assert apps(standin, channel)[-1][1] == "Hangup"
    assert channel not in standin.pbx.channels and queued(standin, channel) == []


async def test_a_queue_outcome_raises_hotline_queued_with_hotline_queue(standin):
    channel = ivr_call(standin, HOTLINE_OUTCOME="queue", HOTLINE_QUEUE="billing")
    standin.pbx.finish_ivr(channel, "SUCCESS")
    assert queued(standin, channel) == ["billing"]


async def test_an_unreachable_ivr_falls_back_to_general(standin):
    channel = ivr_call(standin)
    standin.pbx.finish_ivr(channel, "FAILURE")
    assert queued(standin, channel) == ["general"]
    assert ("hotline-inbound", "Set", "HOTLINE_QUEUE=general") in apps(standin, channel)
