"""Agent softphones: digest registration against a small real registrar on 127.0.0.1, and the
answering behaviour of a person (ring delay, busy while on a call and in wrap-up)."""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import threading

import pytest

from sim.sip.bots import AnswerBehaviour
from sim.sip.errors import LoadRunError
from sim.sip.generator import LoadOptions, run_load
from sim.sip.plan import AgentPlan, CallerScript, CallPlan, DtmfStep
from sim.sip.responder import ResponderFarm

pytestmark = pytest.mark.sip

REALM = "hotline-test"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Registrar:
    """Just enough of a SIP registrar: digest-challenges REGISTER, answers INVITE 480."""

    def __init__(self, passwords: dict[str, str]) -> None:
        self.passwords = passwords
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.nonce = secrets.token_hex(8)
        self.bindings: list[tuple[str, int]] = []  # (user, expires) of accepted REGISTERs
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Registrar:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            message = data.decode(errors="replace")
            method = message.split(" ", 1)[0]
            if method == "REGISTER":
                self.sock.sendto(self._register(message), peer)
            elif method == "INVITE":
                self.sock.sendto(_response(message, "480 Temporarily Unavailable"), peer)

    def _register(self, message: str) -> bytes:
        auth = _header(message, "Authorization")
        if auth is None:
            challenge = f'WWW-Authenticate: Digest realm="{REALM}", nonce="{self.nonce}"'
            return _response(message, "401 Unauthorized", challenge)
        fields = dict(re.findall(r'(\w+)="?([^",]+)"?', auth))
        user = fields["username"]
        ha1 = _md5(f"{user}:{REALM}:{self.passwords.get(user, '')}")
        expected = _md5(f"{ha1}:{self.nonce}:{_md5('REGISTER:' + fields['uri'])}")
        if user not in self.passwords or fields["response"] != expected:
            return _response(message, "403 Forbidden")
        contact = _header(message, "Contact") or ""
        expires = int(_header(message, "Expires") or
                      (re.search(r"expires=(\d+)", contact) or [None, "300"])[1])
        self.bindings.append((user, expires))
        return _response(message, "200 OK", f"Contact: {contact};expires={expires}"
                         if expires else "")


def _header(message: str, name: str) -> str | None:
    match = re.search(rf"^{name}:\s*(.*)$", message, re.MULTILINE | re.IGNORECASE)
    return match.group(1).strip() if match else None


def _response(request: str, status: str, extra: str = "") -> bytes:
    lines = [f"SIP/2.0 {status}"]
    for name in ("Via", "From", "Call-ID", "CSeq"):
        lines.append(f"{name}: {_header(request, name)}")
    lines.append(f"To: {_header(request, 'To')};tag=t{secrets.token_hex(4)}")
    if extra:
        lines.append(extra)
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def _plan(agents: AgentPlan) -> CallPlan:
    callers = tuple(CallerScript(i, 0.1 * i, f"06{i:08d}", (), 5.0, 1.0) for i in range(2))
    return CallPlan(dial="100", duration_s=0.3, callers=callers, agents=agents)


def test_agents_register_with_digest_then_unregister() -> None:
    passwords = {"1001": "pw-1001", "1002": "pw-1002"}
    with Registrar(passwords) as registrar:
        result = run_load(_plan(AgentPlan(("1001", "1002"), ("pw-1001", "pw-1002"))),
                          LoadOptions(targets=(f"127.0.0.1:{registrar.port}",), workers=1))
    assert sorted((r.account, r.code) for r in result.registrations
                  if r.code == 200)[:2] == [("1001", 200), ("1002", 200)]
    assert {user for user, expires in registrar.bindings if expires > 0} == {"1001", "1002"}
    assert {user for user, expires in registrar.bindings if expires == 0} == {"1001", "1002"}
    # the stand-in registrar routes no calls: the callers' INVITEs get its 480
    assert [(c.outcome, c.sip_code) for c in result.calls] == [("failed", 480)] * 2


def test_a_refused_registration_stops_the_run_with_the_agent_named() -> None:
    with Registrar({"1001": "pw-1001", "1002": "pw-1002"}) as registrar, \
            pytest.raises(LoadRunError, match=r"1002 \(403 Forbidden\)"):
        run_load(_plan(AgentPlan(("1001", "1002"), ("pw-1001", "wrong"))),
                 LoadOptions(targets=(f"127.0.0.1:{registrar.port}",), workers=1,
                             startup_timeout_s=20))


def test_an_agent_phone_is_busy_on_a_call_and_in_wrap_up() -> None:
    person = AnswerBehaviour(answer_after_s=(0.5, 0.5), dtmf=(DtmfStep(0.0, "D"),),
                             wrap_up_s=1.5, one_call_per_account=True)
    callers = (
        CallerScript(0, 0.0, "0600000000", (), 10.0, 1.0),  # rings 0.5 s, talks 1 s
        CallerScript(1, 0.5, "0600000001", (), 10.0, 1.0),  # agent on a call: 486
        CallerScript(2, 2.3, "0600000002", (), 10.0, 1.0),  # agent in wrap-up: 486
        CallerScript(3, 4.0, "0600000003", (), 10.0, 0.5),  # wrap-up over: answered
    )
    with ResponderFarm(1, person) as farm:
        result = run_load(CallPlan(dial="1001", duration_s=4.0, callers=callers),
                          LoadOptions(targets=tuple(farm.targets), workers=1))
    calls = {c.caller_id[-1]: c for c in result.calls}
    assert [(calls[k].outcome, calls[k].sip_code) for k in "0123"] == [
        ("completed", 200), ("failed", 486), ("failed", 486), ("completed", 200)]
    assert 0.5 <= calls["0"].agent_answer_s < 1.5


def test_an_agent_that_never_answers_lets_it_ring_until_the_caller_leaves() -> None:
    """RONA (the scenario's rona_probability): the phone rings, nobody picks up; Hotline's ring
    timeout (here: the caller's patience) ends it, and the agent side counts it missed."""
    absent = AnswerBehaviour(dtmf=(DtmfStep(0.0, "D"),), no_answer_probability=1.0)
    callers = (CallerScript(0, 0.0, "0600000000", (), 0.8, 1.0),)
    with ResponderFarm(1, absent) as farm:
        result = run_load(CallPlan(dial="1001", duration_s=0.1, callers=callers),
                          LoadOptions(targets=tuple(farm.targets), workers=1))
        farm.collect(timeout=5.0)
    [call] = result.calls
    assert (call.outcome, call.sip_answer_s, call.pdd_s is not None) == ("abandoned", None, True)
    assert 0.75 < call.held_s < 1.5
    assert [c.outcome for c in farm.calls] == ["missed"]
