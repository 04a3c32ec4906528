"""Erlang C and Erlang A against independent exact references and known properties.

References here share no code and no derivation with sim/erlang.py: Erlang C from the textbook
formula in exact rational (or high-precision decimal) arithmetic, Erlang A from the birth-death
chain in decimal arithmetic plus the hypoexponential (partial fractions) density of the offered
wait, whereas the module uses logs, windows and a negative-binomial form.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.erlang import ErlangCResult, erlang_a, erlang_c
from sim.errors import AnalyticsInputError, SimError


def exact_erlang_c(load: Fraction, agents: int) -> Fraction:
    """C(n, a) = (a^n/n! * n/(n-a)) / (sum_{k<n} a^k/k! + a^n/n! * n/(n-a)), in rationals.

    Scaled by n!/a^0 to stay in integers: term_k = p^k q^(n-k) n!/k! for a = p/q.
    """
    p, q, n = load.numerator, load.denominator, agents
    falling = [1] * (n + 1)  # falling[k] = n!/k!
    for k in range(n - 1, -1, -1):
        falling[k] = falling[k + 1] * (k + 1)
    idle = sum(p**k * q ** (n - k) * falling[k] for k in range(n))
    wait = Fraction(p**n * n * q, n * q - p)
    return wait / (idle + wait)


def decimal_erlang_a(load: float, agents: int, ratio: float, *, tol: str = "1e-45"):
    """State weights of M/M/n+M in 60-digit decimals: idle mass and queued weights w_{n+j}."""
    with localcontext() as ctx:
        ctx.prec = 60
        a, r = Decimal(load), Decimal(ratio)
        term, idle = Decimal(1), Decimal(0)
        for k in range(agents):
            idle += term
            term = term * a / (k + 1)
        queued = [term]  # term is now a^n/n!
        j = 1
        while True:
            nxt = queued[-1] * a / (agents + j * r)
            queued.append(nxt)
            if nxt < queued[-2] and nxt < Decimal(tol) * (idle + sum(queued)):
                break
            j += 1
        return idle, queued


def reference_erlang_a(calls_per_hour, aht_s, agents, target_s, patience_s):
    """p_wait, p_abandon, service_level, asa_s by partial fractions of the offered wait.

    With j callers ahead the offered wait is a sum of exponentials of rates n*mu + m*theta,
    m = 0..j; its density is sum_m c_m lam_m exp(-lam_m v), c_m = prod_{k!=m} lam_k/(lam_k-lam_m).
    A caller is answered iff patience ~ Exp(theta) exceeds that wait.
    """
    mu, theta = 1 / aht_s, 1 / patience_s
    idle, queued = decimal_erlang_a(
        calls_per_hour * aht_s / 3600, agents, aht_s / patience_s, tol="1e-30"
    )
    with localcontext() as ctx:
        ctx.prec = 90
        th, big_t = Decimal(theta), Decimal(target_s)
        total = idle + sum(queued)
        answered = in_time = wait_answered = Decimal(0)
        for j, weight in enumerate(queued):
            rates = [Decimal(agents * mu) + m * th for m in range(j + 1)]
            for m, lam in enumerate(rates):
                coef = Decimal(1)
                for k, other in enumerate(rates):
                    if k != m:
                        coef *= other / (other - lam)
                answered += weight * coef * lam / (lam + th)
                in_time += weight * coef * lam / (lam + th) * (1 - (-(lam + th) * big_t).exp())
                wait_answered += weight * coef * lam / (lam + th) ** 2
        p_answered = (idle + answered) / total
        return {
            "p_wait": float(sum(queued) / total),
            "p_abandon": float(1 - p_answered),
            "service_level": float((idle + in_time) / total),
            "asa_s": float(wait_answered / total / p_answered),
            "occupancy": float(Decimal(calls_per_hour * aht_s / 3600) * p_answered / agents),
        }


@pytest.mark.parametrize("load", [Fraction(1, 2), Fraction(3), Fraction(29, 4), Fraction(199, 10)])
@pytest.mark.parametrize("extra", [1, 2, 5])
def test_erlang_c_matches_exact_rational_formula(load: Fraction, extra: int) -> None:
    agents = math.floor(load) + extra
    aht, target = 240.0, 15.0
    result = erlang_c(
        calls_per_hour=float(load) * 3600 / aht, aht_s=aht, agents=agents, target_s=target
    )
    c = exact_erlang_c(load, agents)
    assert result.p_wait == pytest.approx(float(c), rel=1e-12)
    gap = agents - load
    expected_sl = 1 - float(c) * math.exp(-float(gap) * target / aht)
    assert result.service_level == pytest.approx(expected_sl, rel=1e-12)
    assert result.asa_s == pytest.approx(float(c * aht / gap), rel=1e-12)
    assert result.occupancy == pytest.approx(float(load / agents), rel=1e-15)
    assert result.stable


def test_textbook_example_100_calls_per_half_hour() -> None:
    """Call Centre Helper's worked Erlang C example: 100 calls per 30 min, AHT 180 s, 20 s target.

    That is 10 Erlangs; 14 agents are needed for 80/20 (13 fall just short), 20 after 30%
    shrinkage. Probability of waiting with 14 agents: 17.41%.
    """
    thirteen = erlang_c(calls_per_hour=200, aht_s=180, agents=13, target_s=20)
    fourteen = erlang_c(calls_per_hour=200, aht_s=180, agents=14, target_s=20)
    assert fourteen.offered_load == 10.0
    assert round(fourteen.p_wait, 4) == 0.1741
    assert round(thirteen.p_wait, 4) == 0.2853
    assert thirteen.service_level < 0.8 <= fourteen.service_level
    assert round(fourteen.service_level, 4) == 0.8884
    assert round(fourteen.asa_s, 2) == 7.84


@pytest.mark.parametrize(
    ("load", "agents"),
    [
        (Fraction(19999, 10), 2000),
        (Fraction(1999999, 1000), 2000),
        (Fraction(1900), 2000),
        (Fraction(1500), 2000),
        (Fraction(2), 2000),
    ],
)
def test_erlang_c_exact_at_2000_agents_and_near_saturation(load: Fraction, agents: int) -> None:
    aht = 300.0
    result = erlang_c(
        calls_per_hour=float(load) * 3600 / aht, aht_s=aht, agents=agents, target_s=20
    )
    exact = exact_erlang_c(load, agents)
    if exact > Fraction(1, 10**300):
        assert result.p_wait == pytest.approx(float(exact), rel=1e-9)
    else:
        assert result.p_wait == 0.0 or result.p_wait == pytest.approx(float(exact), rel=1e-6)
    assert 0.0 <= result.service_level <= 1.0
    assert math.isfinite(result.asa_s)


def test_erlang_c_is_continuous_next_to_saturation() -> None:
    aht, target = 300.0, 20.0
    figures = [
        erlang_c(calls_per_hour=load * 3600 / aht, aht_s=aht, agents=2000, target_s=target)
        for load in (1999.97, 1999.98, 1999.99)
    ]
    for before, after in itertools.pairwise(figures):
        assert after.p_wait > before.p_wait
        assert after.service_level < before.service_level
        assert after.asa_s > before.asa_s
        assert after.p_wait - before.p_wait < 1e-3
    # ASA ~ C * AHT / (n - a): doubling the gap halves it (C ~ 1 this close to saturation).
    assert figures[0].asa_s / figures[2].asa_s == pytest.approx(1 / 3, rel=1e-2)


@pytest.mark.parametrize("agents", [10, 12])
def test_erlang_c_at_or_beyond_capacity_says_unstable(agents: int) -> None:
    result = erlang_c(
        calls_per_hour=agents * 3600 / 180 * (1 + (agents - 10) / 10),
        aht_s=180,
        agents=10,
        target_s=20,
    )
    assert result == ErlangCResult(10, result.offered_load, 1.0, 0.0, math.inf, 1.0, False)
    assert result.offered_load >= 10


def test_no_calls_means_no_waiting() -> None:
    c = erlang_c(calls_per_hour=0, aht_s=180, agents=1, target_s=0)
    a = erlang_a(calls_per_hour=0, aht_s=180, agents=1, target_s=0, patience_s=30)
    assert (c.p_wait, c.service_level, c.asa_s, c.occupancy) == (0.0, 1.0, 0.0, 0.0)
    assert (a.p_wait, a.p_abandon, a.service_level, a.asa_s) == (0.0, 0.0, 1.0, 0.0)


@pytest.mark.parametrize(
    ("calls_per_hour", "aht_s", "agents", "target_s", "patience_s"),
    [
        (100, 180, 5, 20, 60),  # a = n
        (64, 180, 2, 30, 90),  # overloaded: a = 3.2 on 2 agents
        (160, 180, 10, 20, 600),  # lightly loaded, patient callers
        (100, 180, 3, 0, 40),  # target 0: service level = answered at once
        (40, 120, 1, 45, 20),  # single agent, impatient callers
    ],
)
def test_erlang_a_matches_partial_fraction_reference(
    calls_per_hour, aht_s, agents, target_s, patience_s
) -> None:
    got = erlang_a(
        calls_per_hour=calls_per_hour,
        aht_s=aht_s,
        agents=agents,
        target_s=target_s,
        patience_s=patience_s,
    )
    want = reference_erlang_a(calls_per_hour, aht_s, agents, target_s, patience_s)
    for key, value in want.items():
        assert getattr(got, key) == pytest.approx(value, rel=1e-10, abs=1e-14), key


@pytest.mark.parametrize("load", [1999.9, 2300.0, 1700.0])
def test_erlang_a_exact_at_2000_agents(load: float) -> None:
    aht, patience, agents = 300.0, 150.0, 2000
    got = erlang_a(
        calls_per_hour=load * 3600 / aht, aht_s=aht, agents=agents, target_s=20, patience_s=patience
    )
    idle, queued = decimal_erlang_a(load, agents, aht / patience)
    total = idle + sum(queued)
    ratio = Decimal(aht / patience)
    abandon = sum(w * (j + 1) * ratio / (agents + (j + 1) * ratio) for j, w in enumerate(queued))
    assert got.p_wait == pytest.approx(float(sum(queued) / total), rel=1e-9)
    assert got.p_abandon == pytest.approx(float(abandon / total), rel=1e-9)
    assert 0.0 <= got.service_level <= 1.0 and math.isfinite(got.asa_s)
    neighbour = erlang_a(
        calls_per_hour=(load + 0.01) * 3600 / aht,
        aht_s=aht,
        agents=agents,
        target_s=20,
        patience_s=patience,
    )
    assert abs(neighbour.service_level - got.service_level) < 1e-4
    assert neighbour.p_abandon >= got.p_abandon


def test_erlang_a_overloaded_abandons_the_excess() -> None:
    """Far above capacity nearly every agent is busy and the excess load hangs up: (a-n)/a."""
    got = erlang_a(
        calls_per_hour=2500 * 3600 / 300, aht_s=300, agents=2000, target_s=20, patience_s=600
    )
    assert got.p_abandon == pytest.approx(0.2, rel=1e-6)
    assert got.occupancy == pytest.approx(1.0, rel=1e-6)
    # Fluid limit: served callers wait log(a/n) * patience.
    assert got.asa_s == pytest.approx(math.log(2500 / 2000) * 600, rel=1e-2)


@pytest.mark.parametrize(("load", "agents"), [(8.0, 10), (95.0, 100), (1990.0, 2000)])
def test_erlang_a_tends_to_erlang_c_as_patience_grows(load: float, agents: int) -> None:
    aht, target = 200.0, 20.0
    c = erlang_c(calls_per_hour=load * 3600 / aht, aht_s=aht, agents=agents, target_s=target)
    gaps = []
    for patience in (1e5, 1e7, 1e9):
        a = erlang_a(
            calls_per_hour=load * 3600 / aht,
            aht_s=aht,
            agents=agents,
            target_s=target,
            patience_s=patience,
        )
        gaps.append(abs(a.service_level - c.service_level))
        assert a.p_abandon < 1e-3
    assert gaps[0] > gaps[1] > gaps[2]
    a = erlang_a(
        calls_per_hour=load * 3600 / aht, aht_s=aht, agents=agents, target_s=target, patience_s=1e9
    )
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-4)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-4)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-4)
    assert a.occupancy == pytest.approx(c.occupancy, rel=1e-4)


traffic = st.tuples(
    st.floats(min_value=1.0, max_value=5000.0),  # calls per hour
    st.floats(min_value=30.0, max_value=900.0),  # AHT
    st.floats(min_value=0.0, max_value=120.0),  # target
)


@settings(max_examples=60, deadline=None)
@given(traffic, st.integers(min_value=0, max_value=20))
def test_erlang_c_improves_with_every_agent(values, extra: int) -> None:
    calls, aht, target = values
    agents = math.floor(calls * aht / 3600) + 1 + extra
    now = erlang_c(calls_per_hour=calls, aht_s=aht, agents=agents, target_s=target)
    more = erlang_c(calls_per_hour=calls, aht_s=aht, agents=agents + 1, target_s=target)
    assert more.p_wait <= now.p_wait and more.asa_s <= now.asa_s
    assert now.service_level <= more.service_level <= 1.0
    later = erlang_c(calls_per_hour=calls, aht_s=aht, agents=agents, target_s=target + 5)
    assert later.service_level >= now.service_level
    assert 0.0 <= now.p_wait <= 1.0 and 0.0 <= now.occupancy < 1.0


@settings(max_examples=60, deadline=None)
@given(traffic, st.integers(min_value=1, max_value=60), st.floats(min_value=5.0, max_value=1800.0))
@example((1044.0, 43.0, 58.0), 7, 1783.0)  # overloaded: service levels ~1e-16 must not be noise
def test_erlang_a_improves_with_agents_and_patience(values, agents: int, patience: float) -> None:
    calls, aht, target = values
    kwargs = {"calls_per_hour": calls, "aht_s": aht, "target_s": target}
    now = erlang_a(agents=agents, patience_s=patience, **kwargs)
    more = erlang_a(agents=agents + 1, patience_s=patience, **kwargs)
    calmer = erlang_a(agents=agents, patience_s=patience * 2, **kwargs)
    assert more.p_abandon <= now.p_abandon + 1e-15 and more.p_wait <= now.p_wait + 1e-15
    assert more.service_level >= now.service_level - 1e-15
    assert more.asa_s <= now.asa_s * (1 + 1e-12)
    assert calmer.p_abandon <= now.p_abandon + 1e-15
    assert 0.0 <= now.p_abandon <= now.p_wait <= 1.0
    assert 0.0 <= now.service_level <= 1.0 - now.p_abandon + 1e-12
    assert 0.0 <= now.occupancy <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"calls_per_hour": -1.0}, "calls_per_hour must be >= 0, got -1.0"),
        ({"aht_s": 0.0}, "aht_s must be > 0, got 0.0"),
        ({"agents": 0}, "agents must be at least 1, got 0"),
        ({"agents": 2.5}, "agents must be a whole number, got 2.5"),
        ({"agents": True}, "agents must be a whole number, got True"),
        ({"target_s": -5}, "target_s must be >= 0, got -5"),
        ({"calls_per_hour": math.nan}, "calls_per_hour must be a finite number, got nan"),
        ({"patience_s": 0}, "patience_s must be > 0, got 0"),
        ({"patience_s": math.inf}, "patience_s must be a finite number, got inf"),
    ],
)
def test_bad_inputs_are_named_with_their_value(kwargs, fragment: str) -> None:
    base = {
        "calls_per_hour": 100.0,
        "aht_s": 180.0,
        "agents": 5,
        "target_s": 20.0,
        "patience_s": 60.0,
    }
    with pytest.raises(AnalyticsInputError) as caught:
        erlang_a(**{**base, **kwargs})
    assert fragment in str(caught.value)
    assert isinstance(caught.value, SimError)
    if "patience_s" not in kwargs:
        del base["patience_s"]
        with pytest.raises(AnalyticsInputError, match=fragment.replace("(", r"\(")):
            erlang_c(**{**base, **kwargs})


def test_erlang_a_refuses_an_astronomic_queue() -> None:
    # 1.5x overload, patience ~32 years: about 3e9 callers would be waiting.
    with pytest.raises(AnalyticsInputError, match=r"would queue about 3\.33e\+09 callers"):
        erlang_a(
            calls_per_hour=3000 * 3600 / 300, aht_s=300, agents=2000, target_s=20, patience_s=1e9
        )
    # Just below capacity and practically infinite patience: the queue decays too slowly.
    with pytest.raises(AnalyticsInputError, match="more than 5000000 queue states"):
        erlang_a(
            calls_per_hour=1999.999 * 3600 / 300,
            aht_s=300,
            agents=2000,
            target_s=20,
            patience_s=1e15,
        )


def test_tiny_shortfalls_keep_their_relative_accuracy() -> None:
    """1 - service_level and p_wait of a generously staffed queue are not rounded to zero."""
    c = erlang_c(calls_per_hour=200, aht_s=180, agents=40, target_s=20)
    a = erlang_a(calls_per_hour=200, aht_s=180, agents=40, target_s=20, patience_s=6e7)
    exact_c = float(exact_erlang_c(Fraction(10), 40))
    assert c.p_wait == pytest.approx(exact_c, rel=1e-12)
    assert 1 - c.service_level == pytest.approx(exact_c * math.exp(-30 * 20 / 180), rel=1e-3)
    assert 1 - a.service_level == pytest.approx(1 - c.service_level, rel=1e-3)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-6)
    assert 0 < a.p_abandon < a.p_wait * 180 / 6e7
