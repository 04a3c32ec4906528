"""Staffing search, shrinkage rounding, and interval staffing from a forecast CSV."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.erlang import ErlangAResult, erlang_a, erlang_c
from sim.errors import AnalyticsInputError, ForecastError, StaffingError
from sim.intraday_forecast import load_forecast, parse_forecast
from sim.staffing import StaffingTargets, _fewest, scheduled_agents, staff, staff_intervals


def figures(calls, aht, agents, target, patience):
    if agents <= 0:
        return None
    if patience is None:
        return erlang_c(calls_per_hour=calls, aht_s=aht, agents=agents, target_s=target)
    return erlang_a(
        calls_per_hour=calls, aht_s=aht, agents=agents, target_s=target, patience_s=patience
    )


def test_textbook_example_needs_14_agents_and_20_scheduled() -> None:
    result = staff(
        calls_per_hour=200, aht_s=180, targets=StaffingTargets(20, service_level=0.8), shrinkage=0.3
    )
    assert (result.agents_needed, result.agents_scheduled) == (14, 20)
    assert result.figures.agents == 14


targets_strategy = (
    st.tuples(
        st.floats(min_value=0.0, max_value=60.0),
        st.one_of(st.none(), st.floats(min_value=0.5, max_value=0.95)),
        st.one_of(st.none(), st.floats(min_value=2.0, max_value=120.0)),
        st.one_of(st.none(), st.floats(min_value=0.01, max_value=0.2)),
    )
    .filter(lambda t: t[1:] != (None, None, None))
    .map(lambda t: StaffingTargets(*t))
)


@settings(max_examples=80, deadline=None)
@example(calls=1.0, aht=30.0, targets=StaffingTargets(5e-324, max_abandon=0.125), patience=10.0)
@given(
    calls=st.floats(min_value=0.5, max_value=20000.0),
    aht=st.floats(min_value=30.0, max_value=900.0),
    targets=targets_strategy,
    patience=st.one_of(st.none(), st.floats(min_value=10.0, max_value=900.0)),
)
def test_staffing_is_the_fewest_agents_meeting_every_target(calls, aht, targets, patience) -> None:
    if patience is None and targets.max_abandon is not None:
        with pytest.raises(AnalyticsInputError, match="needs a patience"):
            staff(calls_per_hour=calls, aht_s=aht, targets=targets, patience_s=patience)
        return
    result = staff(calls_per_hour=calls, aht_s=aht, targets=targets, patience_s=patience)
    n = result.agents_needed
    at_n = figures(calls, aht, n, targets.target_s, patience)
    assert result.figures == at_n
    fewer = figures(calls, aht, n - 1, targets.target_s, patience)

    def meets(f) -> bool:
        if f is None or (patience is None and not f.stable):
            return False
        ok = targets.service_level is None or f.service_level >= targets.service_level
        ok = ok and (targets.asa_s is None or f.asa_s <= targets.asa_s)
        abandon = f.p_abandon if isinstance(f, ErlangAResult) else 0.0
        return ok and (targets.max_abandon is None or abandon <= targets.max_abandon)

    assert meets(at_n)
    assert not meets(fewer)
    assert result.agents_scheduled == n


@pytest.mark.parametrize(
    ("needed_calls", "shrinkage", "needed", "scheduled"),
    [(200, 0.3, 14, 20), (200, 0.0, 14, 14), (200, 0.5, 14, 28), (200, 0.35, 14, 22)],
)
def test_shrinkage_rounds_up_exactly(needed_calls, shrinkage, needed, scheduled) -> None:
    result = staff(
        calls_per_hour=needed_calls,
        aht_s=180,
        targets=StaffingTargets(20, service_level=0.8),
        shrinkage=shrinkage,
    )
    assert (result.agents_needed, result.agents_scheduled) == (needed, scheduled)


def test_shrinkage_is_exact_where_floating_point_is_not() -> None:
    assert 21 / (1 - 0.3) > 30  # the trap: 30.000000000000004
    assert scheduled_agents(21, 0.3) == 30
    assert scheduled_agents(69, 0.31) == 100


@given(needed=st.integers(min_value=1, max_value=3000), percent=st.integers(0, 99))
def test_scheduled_is_smallest_count_covering_shrinkage(needed: int, percent: int) -> None:
    """ceil(needed / (1 - s)) with s as written: the smallest m with m * (1 - s) >= needed."""
    keep = 1 - Fraction(percent, 100)
    scheduled = scheduled_agents(needed, percent / 100)
    assert scheduled * keep >= needed
    assert (scheduled - 1) * keep < needed


def test_search_brackets_and_bisects_instead_of_scanning() -> None:
    calls: list[int] = []

    def fake_figures(agents: int) -> int:
        calls.append(agents)
        return agents

    needed, _ = _fewest(fake_figures, lambda agents: agents >= 2137, known_short=1999, load=1999.5)
    assert needed == 2137
    assert len(calls) <= 2 * math.ceil(math.log2(2137 - 1999)) + 2


def test_search_steps_down_when_fewer_agents_than_the_load_suffice() -> None:
    """With impatient callers an abandonment target can be met below the offered load."""
    targets = StaffingTargets(20, max_abandon=0.5)
    result = staff(calls_per_hour=36000, aht_s=360, targets=targets, patience_s=30)
    assert result.agents_needed < result.figures.offered_load
    assert result.figures.p_abandon <= 0.5
    below = erlang_a(
        calls_per_hour=36000, aht_s=360, agents=result.agents_needed - 1, target_s=20, patience_s=30
    )
    assert below.p_abandon > 0.5


def test_staffing_2000_agent_load() -> None:
    result = staff(calls_per_hour=24000, aht_s=300, targets=StaffingTargets(20, service_level=0.8))
    assert result.agents_needed == 2017
    assert result.figures.service_level >= 0.8
    below = erlang_c(calls_per_hour=24000, aht_s=300, agents=2016, target_s=20)
    assert below.service_level < 0.8


def test_no_calls_need_no_agents() -> None:
    result = staff(
        calls_per_hour=0, aht_s=300, targets=StaffingTargets(20, service_level=0.8), shrinkage=0.3
    )
    assert (result.agents_needed, result.agents_scheduled) == (0, 0)
    assert result.figures.service_level == 1.0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "no staffing target given"),
        ({"service_level": 80}, "service_level must be a fraction strictly between 0 and 1"),
        ({"service_level": 1.0}, "got 1.0"),
        ({"asa_s": 0}, "asa_s must be > 0 seconds, got 0"),
        ({"max_abandon": -0.1}, "max_abandon must be a fraction strictly between 0 and 1"),
        ({"asa_s": math.nan}, "asa_s must be a finite number, got nan"),
    ],
)
def test_bad_targets_are_refused(kwargs, fragment) -> None:
    with pytest.raises(AnalyticsInputError) as caught:
        StaffingTargets(20, **kwargs)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("shrinkage", [1.0, -0.1, 30.0])
def test_bad_shrinkage_is_refused(shrinkage) -> None:
    with pytest.raises(AnalyticsInputError, match=f"shrinkage must be .* got {shrinkage}"):
        staff(
            calls_per_hour=100,
            aht_s=180,
            targets=StaffingTargets(20, asa_s=30),
            shrinkage=shrinkage,
        )


def test_search_gives_up_past_its_limit() -> None:
    """Every valid target is reachable in exact arithmetic; the limit guards a broken metric."""
    with pytest.raises(StaffingError, match="no staffing up to 1060 agents meets the targets"):
        _fewest(lambda agents: agents, lambda agents: False, known_short=5, load=5.5)


FORECAST = """\
interval,calls,aht
# overnight is closed
08:00,100,180

08:30,250,200
09:00,0,200
"""


def test_interval_staffing_matches_staffing_each_row(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    path.write_text(FORECAST, encoding="utf-8")
    intervals = load_forecast(path, interval_minutes=30)
    assert [(i.start, i.calls, i.aht_s, i.line) for i in intervals] == [
        ("08:00", 100.0, 180.0, 3),
        ("08:30", 250.0, 200.0, 5),
        ("09:00", 0.0, 200.0, 6),
    ]
    targets = StaffingTargets(20, service_level=0.8)
    rows = staff_intervals(intervals, targets=targets, shrinkage=0.3)
    first = staff(calls_per_hour=200, aht_s=180, targets=targets, shrinkage=0.3)
    second = staff(calls_per_hour=500, aht_s=200, targets=targets, shrinkage=0.3)
    assert [row.staffing for row in rows[:2]] == [first, second]
    assert rows[0].staffing.agents_scheduled == 20
    assert rows[2].staffing.agents_scheduled == 0


def test_interval_length_scales_the_rate() -> None:
    quarter = parse_forecast(
        "interval,calls,aht\n08:15,50,180\n", source="f.csv", interval_minutes=15
    )
    assert quarter[0].calls_per_hour == 200.0


def test_columns_may_come_in_any_order_and_dates_are_allowed() -> None:
    rows = parse_forecast(
        "\ufeffAHT, Calls ,interval\r\n240,10,2026-11-23T08:00\r\n240,12,2026-11-23 09:00\r\n",
        source="f.csv",
        interval_minutes=60,
    )
    assert [(r.start, r.calls, r.aht_s) for r in rows] == [
        ("2026-11-23T08:00", 10.0, 240.0),
        ("2026-11-23 09:00", 12.0, 240.0),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "time,calls,aht\n08:00,1,2\n",
            "day.csv:1: header must name the columns interval,calls,aht, got 'time,calls,aht'",
        ),
        (
            "interval,calls,aht\n08:00,1,2\n08:30,many,180\n",
            "day.csv:3: calls must be a number, got 'many'",
        ),
        ("interval,calls,aht\n\n08:00,-4,180\n", "day.csv:3: calls must be >= 0, got -4"),
        ("interval,calls,aht\n08:00,4,0\n", "day.csv:2: aht must be > 0 seconds, got 0"),
        ("interval,calls,aht\n08:00,4,nan\n", "day.csv:2: aht must be a finite number, got 'nan'"),
        (
            "interval,calls,aht\n08:15,4,180\n",
            "day.csv:2: interval '08:15' does not start on a 30-minute boundary",
        ),
        (
            "interval,calls,aht\n08:30,4,180\n08:00,4,180\n",
            "day.csv:3: interval '08:00' does not come after '08:30'",
        ),
        (
            "interval,calls,aht\n08:30,4,180\n08:30,4,180\n",
            "day.csv:3: interval '08:30' does not come after '08:30'",
        ),
        (
            "interval,calls,aht\n08:00,4,180\n2026-11-23T09:00,4,180\n",
            "day.csv:3: interval '2026-11-23T09:00' mixes HH:MM and date-time starts",
        ),
        (
            "interval,calls,aht\n8h,4,180\n",
            "day.csv:2: interval must be HH:MM or YYYY-MM-DDTHH:MM, got '8h'",
        ),
        ("interval,calls,aht\n2026-11-23T08:00+01:00,4,180\n", "day.csv:2: interval "),
        (
            "interval,calls,aht\n08:00,4,180,9\n",
            "day.csv:2: expected 3 fields (interval,calls,aht), got 4",
        ),
        ("interval,calls,aht\n", "day.csv: no intervals"),
        ("", "day.csv: no intervals"),
        ('interval,calls,aht\n"08:00,4,180\n', "day.csv:"),
    ],
)
def test_bad_forecast_rows_give_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "day.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ForecastError) as caught:
        load_forecast(path, interval_minutes=30)
    assert str(caught.value).startswith(str(path.parent / message.split(":")[0]))
    assert message in str(caught.value)


def test_unreadable_forecast_and_bad_interval_length(tmp_path: Path) -> None:
    with pytest.raises(ForecastError, match=r"missing\.csv: cannot read the forecast"):
        load_forecast(tmp_path / "missing.csv", interval_minutes=30)
    with pytest.raises(ForecastError, match="must be one of 15, 30, 60 minutes, got 20"):
        parse_forecast("interval,calls,aht\n", source="f.csv", interval_minutes=20)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"interval,calls,aht\n\xff\xfe\n")
    with pytest.raises(ForecastError, match="not UTF-8"):
        load_forecast(binary, interval_minutes=30)


def test_a_long_patience_at_a_heavy_load_is_staffed_not_refused() -> None:
    """Only counts near the load are ever evaluated: one agent's Erlang A (ten million queue
    states here, past its limit) must not be computed just to validate the patience."""
    targets = StaffingTargets(20, service_level=0.8)
    result = staff(calls_per_hour=36000, aht_s=360, targets=targets, patience_s=1e6)
    assert result.figures.service_level >= 0.8
    below = erlang_a(calls_per_hour=36000, aht_s=360, agents=result.agents_needed - 1,
                     target_s=20, patience_s=1e6)
    assert below.service_level < 0.8


def test_an_invalid_patience_is_refused_before_the_search() -> None:
    with pytest.raises(AnalyticsInputError, match=r"patience_s must be > 0, got -5"):
        staff(calls_per_hour=100, aht_s=180, targets=StaffingTargets(20, service_level=0.8),
              patience_s=-5)
