"""How a SIP user agent is built, the identities it carries, and the build's hard limits.

Plain frozen data, importable without pjsua2 (the command line and the planning code use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.sip.errors import SipError, SipLimitExceeded

# PJSUA_MAX_ACC: every transport also holds one "local account" in the same table.
BUILD_MAX_ACCOUNTS = 8
# PJSUA_MAX_CALLS of pjsua2-python 2.15.1, measured: UaConfig.maxCalls above 4 is clamped to 4.
BUILD_MAX_CALLS = 4
DTMF_DIGITS = frozenset("0123456789*#ABCD")
# Conference port levels run 0..255 (a u-law-like scale of the mean amplitude); digital silence
# is 0, line noise a few units, a tone or speech tens.
AUDIBLE_LEVEL = 8
LEVEL_SAMPLE_S = 0.1
# RTP+RTCP for 4 calls, with room for pjsua to skip ports another program holds.
RTP_PORTS_PER_PROCESS = 40


@dataclass(frozen=True, slots=True)
class UaSettings:
    """How the endpoint is built. Ports 0 = any free port; ``None`` = no such transport."""

    bind_host: str = "127.0.0.1"
    udp_port: int | None = 0
    tcp_port: int | None = 0
    rtp_port: int = 0  # first RTP port tried (+2 per call); 0: random, retried on collision
    max_calls: int = BUILD_MAX_CALLS
    clock_rate: int = 8000
    codecs: tuple[str, ...] = ("PCMU/8000", "PCMA/8000")
    user_agent: str = "Hotline-SIP/0.1"
    log_level: int = 3
    # How long the pump may sleep in libHandleEvents when nothing happens. Commands wake it at
    # once (see UserAgent._wake), so this only bounds the idle wake-up rate; with TCP only
    # there is no wake-up datagram and commands wait up to 20 ms.
    poll_ms: int = 200
    sound_device: bool = False  # a person's softphone: the default sound card, not the null one

    def __post_init__(self) -> None:
        if not 1 <= self.max_calls <= BUILD_MAX_CALLS:
            raise SipLimitExceeded(
                f"max_calls {self.max_calls} is outside 1..{BUILD_MAX_CALLS}, the limit of this "
                "pjsua2 build per process; run more worker processes instead"
            )
        if self.udp_port is None and self.tcp_port is None:
            raise SipError("a user agent needs at least one transport: set udp_port or tcp_port")


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """A SIP identity. ``domain`` is the PBX (host[:port]) or, for direct calls, our address."""

    user: str
    domain: str
    password: str | None = field(default=None, repr=False)
    register: bool = False
    transport: str = "udp"
    display_name: str = ""

    def id_uri(self, user: str | None = None) -> str:
        uri = f"sip:{user or self.user}@{self.domain}"
        return f'"{self.display_name}" <{uri}>' if self.display_name else uri


def parse_headers(message: str) -> tuple[tuple[str, str], ...]:
    """The header fields of a raw SIP message (folded lines are not used by pjsip)."""
    head = message.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    fields: list[tuple[str, str]] = []
    for line in head.splitlines()[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields.append((name.strip(), value.strip()))
    return tuple(fields)
