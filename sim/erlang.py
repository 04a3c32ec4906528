"""Erlang C and Erlang A: what a given number of agents means for callers.

Picture one queue in front of ``n`` agents. Calls arrive at random (a Poisson process,
``calls_per_hour``), each keeps an agent busy for an exponential time with mean ``aht_s`` (the
average handle time), and a caller who finds every agent busy waits in line, first come first
served. The *offered load* ``a = calls_per_hour * aht_s / 3600`` is the number of agents the
traffic would keep busy if nobody ever waited (in Erlangs).

* **Erlang C** (M/M/n) assumes callers wait forever. It only has a steady state when
  ``a < n``; at ``a >= n`` the queue grows without bound. We do not raise then: the result has
  ``stable=False``, ``p_wait=1``, ``service_level=0``, ``asa_s=inf`` and ``occupancy=1``, which is
  what the system tends to, and lets a staffing search treat such a count as "not enough".
* **Erlang A** (M/M/n+M, Palm's model) adds exponential patience with mean ``patience_s``: a
  waiting caller hangs up at rate ``1/patience_s``. Abandonment makes it stable at any load.

Definitions used throughout (and in the CLI's JSON):

``p_wait``
    Probability an arriving call finds all agents busy (it has to queue).
``service_level``
    Calls *answered* within ``target_s`` divided by *all* arriving calls. For Erlang C that is
    ``P(wait <= target)``; for Erlang A an abandoned call never counts as answered in time,
    even if it hung up before the target.
``asa_s``
    Average speed of answer: mean wait of answered calls (those answered at once count 0 s).
``p_abandon``
    (Erlang A) probability an arriving call hangs up before reaching an agent.
``occupancy``
    Fraction of agent time spent on calls: carried load / agents.

Everything is computed from logarithms of the unnormalised state weights (``a^k / k!`` and the
queue's birth-death products), combined with log-sum-exp, and summed only over the terms that are
not negligible (below ``exp(-60)`` of the largest one), so results stay exact for thousands of
agents and for loads a hair below ``n``. docs/planning.md derives every formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from sim.errors import AnalyticsInputError

# Terms more than this many nats below the largest one are dropped (exp(-60) ~ 1e-26).
_NEGLIGIBLE = 60.0
# Erlang A: refuse to hold more than this many queue states (memory ~ 8 bytes each, a few arrays).
_MAX_QUEUE_STATES = 5_000_000


@dataclass(frozen=True, slots=True)
class ErlangCResult:
    """Steady-state figures of an M/M/n queue (no abandonment)."""

    agents: int
    offered_load: float
    p_wait: float
    service_level: float
    asa_s: float
    occupancy: float
    stable: bool


@dataclass(frozen=True, slots=True)
class ErlangAResult:
    """Steady-state figures of an M/M/n+M queue (exponential patience)."""

    agents: int
    offered_load: float
    p_wait: float
    p_abandon: float
    service_level: float
    asa_s: float
    occupancy: float


def offered_load(calls_per_hour: float, aht_s: float) -> float:
    """Offered load in Erlangs: agents the traffic would keep busy."""
    check_number("calls_per_hour", calls_per_hour, minimum=0.0, inclusive=True)
    check_number("aht_s", aht_s, minimum=0.0, inclusive=False)
    return float(calls_per_hour) * float(aht_s) / 3600.0


def erlang_c(*, calls_per_hour: float, aht_s: float, agents: int, target_s: float) -> ErlangCResult:
    """Erlang C figures for ``agents`` agents; see the module docstring for definitions.

    ``C = (a^n/n! * n/(n-a)) / (sum_{k<n} a^k/k! + a^n/n! * n/(n-a))``,
    ``service_level = 1 - C * exp(-(n - a) * target_s / aht_s)``,
    ``asa_s = C * aht_s / (n - a)``, ``occupancy = a / n``.
    """
    load = offered_load(calls_per_hour, aht_s)
    n = _check_agents(agents)
    check_number("target_s", target_s, minimum=0.0, inclusive=True)
    if load == 0.0:
        return ErlangCResult(n, 0.0, 0.0, 1.0, 0.0, 0.0, True)
    if load >= n:
        return ErlangCResult(n, load, 1.0, 0.0, math.inf, 1.0, False)
    log_idle = _log_poisson_sum(load, n)
    log_wait = n * math.log(load) - math.lgamma(n + 1) + math.log(n) - math.log(n - load)
    log_total = _logaddexp(log_idle, log_wait)
    p_wait = math.exp(log_wait - log_total)
    p_idle = math.exp(log_idle - log_total)
    decay = (n - load) * float(target_s) / float(aht_s)
    late = p_wait * math.exp(-decay)
    # 1 - late cancels when late ~ 1 (C ~ 1, short target); then add the two non-negative parts.
    service_level = 1.0 - late if late < 0.5 else p_idle + p_wait * -math.expm1(-decay)
    asa_s = p_wait * float(aht_s) / (n - load)
    return ErlangCResult(n, load, p_wait, service_level, asa_s, load / n, True)


def erlang_a(
    *,
    calls_per_hour: float,
    aht_s: float,
    agents: int,
    target_s: float,
    patience_s: float,
) -> ErlangAResult:
    """Erlang A figures for ``agents`` agents and mean patience ``patience_s``.

    State ``k`` = calls in the system. ``pi_k ~ a^k/k!`` for ``k <= n`` and
    ``pi_{n+j} = pi_n * prod_{i=1..j} a / (n + i*r)`` with ``r = aht_s / patience_s``.
    A call that finds ``j`` others queued is answered with probability ``n / (n + (j+1) r)``,
    answered within ``T`` with that probability times ``P(K >= j+1)`` where ``K`` is negative
    binomial (``n/r + 1`` successes, success probability ``exp(-T/patience_s)``), and waits on
    average ``aht_s * sum_{m=1..j+1} 1/(n + m r)`` when answered. Derivation: docs/planning.md.
    """
    load = offered_load(calls_per_hour, aht_s)
    n = _check_agents(agents)
    check_number("target_s", target_s, minimum=0.0, inclusive=True)
    check_number("patience_s", patience_s, minimum=0.0, inclusive=False)
    if load == 0.0:
        return ErlangAResult(n, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    aht = float(aht_s)
    ratio = aht / float(patience_s)  # r = theta / mu
    queue_log = _queue_log_weights(load, n, ratio)
    log_idle = _log_poisson_sum(load, n)
    log_full = n * math.log(load) - math.lgamma(n + 1) + queue_log  # log pi_{n+j}, unnormalised
    shift = max(log_idle, float(log_full.max()))
    idle = math.exp(log_idle - shift)
    ahead_plus_one = np.arange(1, queue_log.size + 1, dtype=float)  # j + 1
    in_time, late = _answered_in_time_given_answered(
        n, ratio, float(target_s), float(patience_s), queue_log.size
    )
    mean_wait_if_answered = aht * np.cumsum(1.0 / (n + ahead_plus_one * ratio))
    queued = np.exp(log_full - shift)
    answered_given_j = n / (n + ahead_plus_one * ratio)
    abandon_given_j = ahead_plus_one * ratio / (n + ahead_plus_one * ratio)

    total = idle + _sum(queued)
    answered_late_or_not = queued * answered_given_j
    p_wait = _sum(queued) / total
    p_abandon = _sum(queued * abandon_given_j) / total
    p_answered = (idle + _sum(answered_late_or_not)) / total
    # 1 - service_level = abandoned + answered late; whichever side is small is summed directly.
    missed = _sum(queued * (abandon_given_j + answered_given_j * late)) / total
    if missed < 0.5:
        service_level = 1.0 - missed
    else:
        service_level = (idle + _sum(answered_late_or_not * in_time)) / total
    asa_s = _sum(answered_late_or_not * mean_wait_if_answered) / total / p_answered
    occupancy = min(1.0, load * p_answered / n)
    return ErlangAResult(n, load, p_wait, p_abandon, service_level, asa_s, occupancy)


def _log_poisson_sum(load: float, agents: int) -> float:
    """``log(sum_{k=0}^{agents-1} load^k / k!)`` over the non-negligible window of ``k``.

    The terms are a Poisson shape peaking at ``k ~ min(load, agents - 1)``; ``15 sqrt(load) + 60``
    below and ``25 sqrt(load) + 100`` above the peak they are smaller than ``exp(-60)`` of it.
    """
    top = agents - 1
    centre = min(float(top), load)
    spread = math.sqrt(load)
    low = max(0, math.floor(centre - 15.0 * spread - 60.0))
    high = min(top, math.ceil(load + 25.0 * spread + 100.0))
    ks = np.arange(low, high + 1)
    log_terms = ks * math.log(load) - np.fromiter(
        (math.lgamma(k + 1.0) for k in range(low, high + 1)), dtype=float, count=ks.size
    )
    peak = float(log_terms.max())
    return peak + math.log(_sum(np.exp(log_terms - peak)))


def _queue_log_weights(load: float, agents: int, ratio: float) -> np.ndarray:
    """``L_j = sum_{i=1..j} log(a / (n + i r))`` for ``j = 0..J``, ``L_0 = 0``.

    The weights rise while ``n + i r < a`` and fall after; ``J`` is the first index past the peak
    whose remaining tail (bounded by a geometric series, times ``j`` for the moments) is below
    ``exp(-60)`` of the peak. Built in growing chunks so that ``J`` needs no guess.
    """
    peak_index = max(0.0, (load - agents) / ratio)
    if peak_index > _MAX_QUEUE_STATES:
        raise AnalyticsInputError(
            f"Erlang A with offered load {load:.6g} Erlangs on {agents} agents and patience "
            f"{1.0 / ratio:.6g} x AHT would queue about {peak_index:.3g} callers, more than the "
            f"{_MAX_QUEUE_STATES} states computed; use a shorter patience or more agents"
        )
    pieces = [np.zeros(1)]
    offset, best, start, size = 0.0, 0.0, 1, 1024
    while True:
        idx = np.arange(start, start + size, dtype=float)
        logs = offset + np.cumsum(np.log(load / (agents + idx * ratio)))
        best = max(best, float(logs.max()))
        rho_next = load / (agents + (idx + 1.0) * ratio)
        with np.errstate(divide="ignore", invalid="ignore"):
            tail_bound = logs + np.log(idx + 2.0) - 2.0 * np.log1p(-np.minimum(rho_next, 1.0))
        done = (idx > peak_index) & (rho_next < 1.0) & (tail_bound < best - _NEGLIGIBLE)
        if done.any():
            pieces.append(logs[: int(np.argmax(done)) + 1])
            return np.concatenate(pieces)
        pieces.append(logs)
        offset, start, size = float(logs[-1]), start + size, size * 2
        if start > _MAX_QUEUE_STATES:
            raise AnalyticsInputError(
                f"Erlang A with offered load {load:.6g} Erlangs on {agents} agents and patience "
                f"{1.0 / ratio:.6g} x AHT would need more than {_MAX_QUEUE_STATES} queue states; "
                "use a shorter patience, more agents, or Erlang C if nobody abandons"
            )


def _answered_in_time_given_answered(
    agents: int, ratio: float, target_s: float, patience_s: float, states: int
) -> tuple[np.ndarray, np.ndarray]:
    """``P(K >= j+1)`` and ``P(K <= j)`` for ``j = 0..states-1``.

    An answered call that found ``j`` ahead was answered within T with the first probability,
    late with the second.

    ``K ~ NegativeBinomial(n/r + 1 successes, p = exp(-T/patience))`` counts failures; its pmf is
    built in logs by the recursion ``pmf_k = pmf_{k-1} * (n/r + k)/k * (1 - p)``. Tails are sums
    of positive terms (``1 - cdf`` only where it is at least 1/2), so tiny service levels of a
    hopelessly overloaded queue keep their relative accuracy instead of rounding noise.
    """
    x = target_s / patience_s
    fail = -math.expm1(-x)
    if fail == 0.0:  # target 0 (or so small that nobody can be answered "within" it)
        return np.zeros(states), np.ones(states)
    log_fail = math.log(fail)
    shape = agents / ratio
    ks = np.arange(1, states, dtype=float)
    log_pmf = -(shape + 1.0) * x + np.concatenate(
        (np.zeros(1), np.cumsum(np.log1p(shape / ks) + log_fail))
    )
    pmf = np.exp(log_pmf)
    within = float(np.sum(pmf))
    beyond = (
        1.0 - within
        if within < 0.5
        else _negative_binomial_tail(float(log_pmf[-1]), states, shape, log_fail)
    )
    # P(K >= j+1) = beyond + sum_{k=j+1}^{states-1} pmf_k
    from_k = np.concatenate((np.cumsum(pmf[::-1])[::-1], np.zeros(1)))
    return np.minimum(1.0, beyond + from_k[1:]), np.minimum(1.0, np.cumsum(pmf))


def _negative_binomial_tail(log_last: float, first: int, shape: float, log_fail: float) -> float:
    """``sum_{k >= first} pmf_k`` given ``log pmf_{first-1}``, summed until negligible."""
    total, start, size = 0.0, first, 1024
    while True:
        ks = np.arange(start, start + size, dtype=float)
        log_terms = log_last + np.cumsum(np.log1p(shape / ks) + log_fail)
        total += float(np.sum(np.exp(log_terms)))
        log_ratio_next = np.log1p(shape / (ks + 1.0)) + log_fail
        if total == 0.0:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = log_terms - np.log(-np.expm1(np.minimum(log_ratio_next, 0.0)))
        if bool(((log_ratio_next < 0.0) & (bound < math.log(total) - _NEGLIGIBLE)).any()):
            return total
        log_last, start, size = float(log_terms[-1]), start + size, size * 2
        if start > _MAX_QUEUE_STATES:
            raise AnalyticsInputError(
                f"the Erlang A service level needs more than {_MAX_QUEUE_STATES} terms of the "
                "waiting-time distribution; use a shorter target or a longer patience"
            )


def _sum(values: np.ndarray) -> float:
    # numpy sums pairwise: relative error ~ eps * log2(size) for the positive terms summed here.
    return float(np.sum(values))


def _logaddexp(x: float, y: float) -> float:
    high, low = (x, y) if x >= y else (y, x)
    return high + math.log1p(math.exp(low - high))


def check_number(name: str, value: object, *, minimum: float, inclusive: bool) -> None:
    """Refuse a ``value`` that is not a finite number ``>= minimum`` (``>`` if not inclusive)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise AnalyticsInputError(f"{name} must be a finite number, got {value!r}")
    if value < minimum or (not inclusive and value == minimum):
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise AnalyticsInputError(f"{name} must be {bound}, got {value!r}")


def _check_agents(agents: object) -> int:
    if isinstance(agents, bool) or not isinstance(agents, int | np.integer):
        raise AnalyticsInputError(f"agents must be a whole number, got {agents!r}")
    if agents < 1:
        raise AnalyticsInputError(f"agents must be at least 1, got {agents}")
    return int(agents)
