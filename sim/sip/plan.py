"""A call plan: what every simulated caller and agent will do in a load run, decided up front.

The plan is plain data, built before any SIP traffic starts, so a run is reproducible from its
seed and another source (a scenario YAML of ``config/sim/``) can produce the same structure.
Times are seconds from the start of the run (``start_s``) or from an event of the call itself:

    INVITE ──(post-dial delay)── 180 ── 200 OK (IVR answers) ── digits ── human answers ── talk
      |                                     |  dtmf[i].after_s  |                          |
      '── patience_s: no human by then -> the caller hangs up (abandon)     talk_s ───────'

"Human answers" is signalled in-band: the answering agent's softphone sends ``answer_marker``
(RFC 4733 digit ``D`` by default, which no IVR prompt asks for) the moment it picks up, because a
PBX answers the caller's SIP leg long before any agent does. With ``answer_marker`` None, the
SIP 200 OK counts as the human answer (a PBX-less run against the loopback responder, say).

Two sources build a plan: ``plan_from_options`` (Poisson arrivals at one rate, the same digits
for everyone) and ``sim.sip.scenario_plan.plan_from_scenario``, which maps a scenario file:

* arrival profile (calls per interval)  -> ``start_s`` of each ``CallerScript`` (Poisson within
  each interval at that interval's rate)
* IVR digit choices with probabilities  -> ``dtmf`` steps (digits and the delay after answer)
* patience distribution                 -> ``patience_s`` per caller
* talk-time distribution (lognormal)    -> ``talk_s`` per caller
* caller-ID pool / real customers       -> ``caller_id`` (a customer's number makes pops real)
* agents: count, answer delay, wrap-up  -> ``AgentPlan``
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.sip.errors import LoadPlanError
from sim.sip.settings import DTMF_DIGITS


@dataclass(frozen=True, slots=True)
class DtmfStep:
    """Press ``digits`` ``after_s`` seconds after the call is answered (SIP 200 OK)."""

    after_s: float
    digits: str


@dataclass(frozen=True, slots=True)
class CallerScript:
    """One simulated caller.

    A plan built from a scenario also records what the IVR walk expects of the call:
    ``ivr_outcome`` (``queue:billing``, ``hangup``, ``callback:sales``, ``ivr_abandoned``...),
    ``ivr_path`` (the node ids, as the screen-pop's ``ivr_path`` shows them) and ``ivr_s`` (the
    walk's duration from the answer). A caller whose walk ends without an agent has
    ``hangup_after_s``: it hangs up that long after the answer unless the PBX ends the call first.
    """

    index: int
    start_s: float
    caller_id: str
    dtmf: tuple[DtmfStep, ...]
    patience_s: float
    talk_s: float
    hangup_after_s: float | None = None
    ivr_outcome: str = ""
    ivr_path: tuple[str, ...] = ()
    ivr_s: float = 0.0


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """Auto-answering agent softphones that register with the PBX."""

    users: tuple[str, ...]
    passwords: tuple[str, ...]
    ring_to_answer_s: tuple[float, float] = (2.0, 6.0)  # uniform between the two
    wrap_up_s: float = 10.0  # after a call the softphone answers 486 Busy Here for this long
    max_talk_s: float | None = None  # the agent hangs up first after this long, if set
    no_answer_probability: float = 0.0  # share of offers left ringing (RONA)

    def __post_init__(self) -> None:
        if len(self.users) != len(self.passwords):
            raise LoadPlanError(
                f"{len(self.users)} agent users but {len(self.passwords)} passwords")
        low, high = self.ring_to_answer_s
        if not 0 <= low <= high:
            raise LoadPlanError(f"ring-to-answer range {low}..{high} s is not ordered and >= 0")
        if not 0 <= self.no_answer_probability <= 1:
            raise LoadPlanError(f"no-answer probability {self.no_answer_probability} must be "
                                "between 0 and 1")


@dataclass(frozen=True, slots=True)
class CallPlan:
    """Everything a load run does. ``dial`` is the request URI every caller INVITEs."""

    dial: str
    duration_s: float
    callers: tuple[CallerScript, ...]
    agents: AgentPlan | None = None
    answer_marker: str | None = "D"
    seed: int = 0
    # What a plan built from a scenario replays (name, window, scale...), for the report.
    scenario: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.answer_marker is not None and self.answer_marker not in DTMF_DIGITS:
            raise LoadPlanError(f"answer marker {self.answer_marker!r} is not a DTMF digit")
        for caller in self.callers:
            for step in caller.dtmf:
                if self.answer_marker is not None and self.answer_marker in step.digits:
                    raise LoadPlanError(
                        f"caller {caller.index} presses {step.digits!r}, which contains the "
                        f"answer marker {self.answer_marker!r}; choose another marker"
                    )


def parse_dtmf_steps(text: str) -> tuple[DtmfStep, ...]:
    """``"1@2,1234#@4.5"`` -> press 1 at 2 s after answer, then 1234# at 4.5 s."""
    steps: list[DtmfStep] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        digits, sep, after = part.partition("@")
        if not sep:
            raise LoadPlanError(f"DTMF step {part!r} needs a time: write DIGITS@SECONDS, e.g. 1@2")
        if not digits or set(digits) - DTMF_DIGITS:
            raise LoadPlanError(f"DTMF step {part!r}: digits must be 0-9 * # A-D")
        try:
            seconds = float(after)
        except ValueError:
            raise LoadPlanError(
                f"DTMF step {part!r}: {after!r} is not a number of seconds") from None
        if seconds < 0:
            raise LoadPlanError(f"DTMF step {part!r}: time {seconds} s is negative")
        steps.append(DtmfStep(seconds, digits))
    return tuple(sorted(steps, key=lambda step: step.after_s))


def plan_from_options(
    *,
    dial: str,
    rate_per_s: float,
    duration_s: float,
    dtmf: str = "",
    talk_median_s: float = 60.0,
    talk_sigma: float = 0.5,
    patience_mean_s: float = 120.0,
    caller_ids: tuple[str, ...] = (),
    caller_id_start: int = 33_100_000_000,
    agents: AgentPlan | None = None,
    answer_marker: str | None = "D",
    seed: int = 0,
) -> CallPlan:
    """A plan with Poisson arrivals, exponential patience and lognormal talk time.

    Caller ids come from ``caller_ids`` in turn, else are consecutive numbers from
    ``caller_id_start``.
    """
    for name, value in (("rate", rate_per_s), ("duration", duration_s),
                        ("talk median", talk_median_s), ("patience", patience_mean_s)):
        if not (value > 0 and math.isfinite(value)):
            raise LoadPlanError(f"{name} must be a positive number, got {value}")
    if talk_sigma < 0:
        raise LoadPlanError(f"talk sigma must be >= 0, got {talk_sigma}")
    steps = parse_dtmf_steps(dtmf)
    rng = np.random.default_rng(seed)
    callers: list[CallerScript] = []
    t = float(rng.exponential(1 / rate_per_s))
    while t < duration_s:
        index = len(callers)
        number = caller_ids[index % len(caller_ids)] if caller_ids else str(caller_id_start + index)
        callers.append(CallerScript(
            index=index,
            start_s=round(t, 3),
            caller_id=number,
            dtmf=steps,
            patience_s=round(float(rng.exponential(patience_mean_s)), 3),
            talk_s=round(float(rng.lognormal(math.log(talk_median_s), talk_sigma)), 3),
        ))
        t += float(rng.exponential(1 / rate_per_s))
    return CallPlan(dial=dial, duration_s=duration_s, callers=tuple(callers), agents=agents,
                    answer_marker=answer_marker, seed=seed)


def peak_concurrency(plan: CallPlan, setup_s: float = 1.0) -> int:
    """Upper bound of calls up at once if every caller used its whole patience plus talk."""
    def hold(caller: CallerScript) -> float:
        last_digit = caller.dtmf[-1].after_s if caller.dtmf else 0.0
        return setup_s + last_digit + caller.patience_s + caller.talk_s
    return peak_overlap((c.start_s, c.start_s + hold(c)) for c in plan.callers)


def peak_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """Most ``(start, end)`` intervals open at once (one ending as another starts: not both)."""
    edges = sorted(edge for start, end in intervals for edge in ((start, 1), (end, -1)))
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak
