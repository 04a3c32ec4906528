"""What the interpreter asks a driver to do, what the driver answers, and how a call ends.

The interpreter (:class:`ivr.interpreter.CallSession`) never touches a channel. It returns a
*command*; the driver (FastAGI runtime, offline tester, simulator) carries it out and sends
back the *result* the command names, or ``None``:

=================  ==============================================  ============================
command            the driver                                      result to send
=================  ==============================================  ============================
Play               plays the prompts in order                      None
Menu               plays the prompts and waits for one choice      Digits ('' = timeout)
Gather             plays the prompts and collects digits           Digits ('' = timeout)
Say                says a value (digits, number, amount, date)     None
SetVariable        sets a channel variable (optional to honour)    None
Lookup             looks up the customer (by phone or account)     LookupResult / LookupFailure
SensitiveStart/End pauses / resumes recording                      None
=================  ==============================================  ============================

Any command may instead be answered with :class:`Failure` (the driver could not do it): the
interpreter then takes the flow's fallback. The *outcomes* (Queue, Transfer, Voicemail,
Callback, Hangup) end the flow: the driver carries them out and the session is done. All of
them are frozen, slotted and shared: identical commands are built once per flow, so never
mutate the mappings they carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Play:
    node: str
    prompts: tuple[str, ...]
    language: str


@dataclass(frozen=True, slots=True)
class Menu:
    """Wait for one choice among ``options`` (each a string of digits, ``'1'``, ``'0'``, ...)."""

    node: str
    prompts: tuple[str, ...]
    options: tuple[str, ...]
    timeout_s: float
    max_digits: int
    attempt: int
    language: str


@dataclass(frozen=True, slots=True)
class Gather:
    """Collect ``min_digits``..``max_digits`` digits; input must fully match ``pattern``."""

    node: str
    prompts: tuple[str, ...]
    variable: str
    min_digits: int
    max_digits: int
    terminator: str
    timeout_s: float
    inter_digit_timeout_s: float
    pattern: str | None
    attempt: int
    sensitive: bool
    language: str


@dataclass(frozen=True, slots=True)
class Say:
    node: str
    kind: Literal["digits", "number", "amount", "date"]
    value: str  # digits/number: text of the number; amount: "12.50"; date: ISO "2026-12-24"
    language: str


@dataclass(frozen=True, slots=True)
class SetVariable:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Lookup:
    node: str
    by: Literal["phone", "account"]
    value: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class SensitiveStart:
    """Pause recordings and stop logging input: a caller is about to key in a secret."""

    node: str


@dataclass(frozen=True, slots=True)
class SensitiveEnd:
    node: str


# -- outcomes ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Queue:
    """Hand the caller to the ACD.

    ``skills`` are the extra skills the flow asks for (language, VIP) on top of the queue's own;
    ``attributes`` are the flow's declared screen-pop values (sensitive ones masked); ``path``
    is the list of node ids the caller went through and ``inputs`` what they keyed in (masked
    where sensitive). ``failure`` is set when the caller arrived here through a fallback.
    """

    queue: str
    skills: Mapping[str, int]
    priority: int
    attributes: Mapping[str, Any]
    customer_id: str | None
    path: tuple[str, ...]
    inputs: Mapping[str, str]
    language: str
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    destination: str
    context: str


@dataclass(frozen=True, slots=True)
class Voicemail:
    mailbox: str


@dataclass(frozen=True, slots=True)
class Callback:
    """Keep the caller's place in ``queue`` and call ``number`` back when an agent is free."""

    queue: str
    number: str
    priority: int
    attributes: Mapping[str, Any]
    customer_id: str | None
    path: tuple[str, ...]
    inputs: Mapping[str, str]
    language: str


@dataclass(frozen=True, slots=True)
class Hangup:
    reason: str = "flow"


@dataclass(frozen=True, slots=True)
class Abandoned:
    """Not a command: the outcome recorded when the caller hung up inside the flow."""

    node: str


Command = Play | Menu | Gather | Say | SetVariable | Lookup | SensitiveStart | SensitiveEnd
Outcome = Queue | Transfer | Voicemail | Callback | Hangup
OUTCOMES = (Queue, Transfer, Voicemail, Callback, Hangup)


# -- results -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Digits:
    """What the caller keyed in; ``''`` means nothing before the timeout."""

    value: str


@dataclass(frozen=True, slots=True)
class LookupResult:
    customer: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class LookupFailure:
    reason: str  # "timeout", "lookup service unavailable", ...


@dataclass(frozen=True, slots=True)
class Failure:
    """The driver could not carry out the command; the flow takes its fallback."""

    reason: str


Result = Digits | LookupResult | LookupFailure | Failure | None


def outcome_json(outcome: Outcome | Abandoned | None) -> dict[str, Any] | None:
    """An outcome as the plain JSON the tester prints (``{"type": "queue", ...}``)."""
    if outcome is None:
        return None
    kind = type(outcome).__name__.lower()
    data: dict[str, Any] = {"type": kind}
    for name in outcome.__slots__:  # type: ignore[attr-defined]
        value = getattr(outcome, name)
        if isinstance(value, Mapping):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        data[name] = value
    return data


__all__ = [
    "OUTCOMES", "Abandoned", "Callback", "Command", "Digits", "Failure", "Gather", "Hangup",
    "Lookup", "LookupFailure", "LookupResult", "Menu", "Outcome", "Play", "Queue", "Result",
    "Say", "SensitiveEnd", "SensitiveStart", "SetVariable", "Transfer", "Voicemail",
]
