"""The user agent's guards (in a child process, pjsua being a process singleton) and the
softphone CLI driven from a pipe against a loopback responder."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sim.sip.bots import AnswerBehaviour
from sim.sip.plan import DtmfStep
from sim.sip.responder import ResponderFarm

pytestmark = pytest.mark.sip

GUARDS = textwrap.dedent("""
    from sim.sip.errors import EndpointBusy, SipLimitExceeded, UnknownCall, UserAgentStopped
    from sim.sip.useragent import AccountSpec, UaSettings, UserAgent

    ua = UserAgent(UaSettings()).start()  # udp + tcp: two of the 8 account slots
    try:
        UserAgent().start()
    except EndpointBusy as error:
        print("busy:", error)
    made = 0
    try:
        for n in range(10):
            ua.add_account(AccountSpec(f"u{n}", "127.0.0.1"))
            made += 1
    except SipLimitExceeded as error:
        print("accounts:", made, error)
    try:
        ua.hangup(999)
    except UnknownCall as error:
        print("unknown:", error)
    ua.close()
    try:
        ua.make_call(1, "sip:x@127.0.0.1")
    except UserAgentStopped as error:
        print("stopped:", error)
    again = UserAgent(UaSettings(tcp_port=None)).start()  # the singleton is free again
    print("restarted", again.udp_port > 0)
    again.close()
""")


def test_guards_turn_pjsua_aborts_into_errors() -> None:
    done = subprocess.run([sys.executable, "-c", GUARDS], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("busy: a SIP user agent already runs in this process")
    assert lines[1].startswith("accounts: 6 account 'u6' would be number 7")
    assert lines[2].startswith("unknown: call 999 is not a live call")
    assert lines[3].startswith("stopped: the SIP user agent is not running")
    assert lines[4] == "restarted True"


def test_softphone_dials_sends_dtmf_and_hangs_up() -> None:
    behaviour = AnswerBehaviour(dtmf=(DtmfStep(0.1, "D"), DtmfStep(0.3, "42")))
    with ResponderFarm(1, behaviour) as farm:
        script = "dial 100\nsleep 1.2\ndtmf 19\nsleep 0.6\nhangup\nsleep 0.3\nquit\n"
        done = subprocess.run(
            [sys.executable, "-m", "sim.sip.phone", "--user", "1001", "--pbx", farm.targets[0],
             "--no-register"], input=script, capture_output=True, text=True, timeout=60)
        answered = farm.collect(timeout=5.0)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in (f"[dialling] sip:100@{farm.targets[0]}", "[early] 180 Ringing",
                     "[confirmed] 200 OK", "[dtmf] D", "[dtmf] 4", "[dtmf] 2", "[ended] 200"):
        assert expected in out
    assert [call.digits_heard for call in answered] == ["19"]
