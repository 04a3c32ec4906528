"""The safe expression language: parsed once, evaluated with plain data, errors located."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.config.hours import Calendar, CalendarSpec, Holiday
from ivr.errors import ExpressionError, FlowRuntimeError
from ivr.expr import compile_expression

OFFICE = Calendar.build(
    "office",
    CalendarSpec(timezone="Europe/Berlin", weekly={"mon-fri": "08:00-20:00"},
                 holidays=["de"]),
    {"de": [Holiday(date=dt.date(2026, 12, 25), name="Christmas Day")]},
)
MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0)


def value(text: str, **variables: object) -> object:
    return compile_expression(text, {"office": OFFICE}).evaluate(variables)


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("7 % 4 - -1", 4),
    ("'a' + 'b'", "ab"),
    ("'gold' in ['gold', 'platinum']", True),
    ("'x' not in ['gold']", True),
    ("not 1 == 1 or 2 >= 2 and 'b' > 'a'", True),
    ("len('0123456789') == 10", True),
    ("startswith('0900123', '0900') and endswith('abc', 'c')", True),
    ("upper('de') + lower('EN')", "DEen"),
    ("int('42') + number('1.5')", 43.5),
    ("str(12.0)", "12"),
    ("none == none", True),
    ("\"it's\"", "it's"),
])
def test_constant_expressions(text: str, expected: object) -> None:
    assert value(text) == expected


def test_variables_fields_and_missing_customer() -> None:
    gold = {"tier": "gold", "balance": 12.5}
    assert value("customer.tier == 'gold' and customer.balance > 10", customer=gold) is True
    # an unknown caller has customer = none: its fields read as none, conditions are false
    assert value("customer.tier == 'gold'", customer=None) is False
    assert value("customer.tier", customer={"id": "1"}) is None


def test_time_and_calendars() -> None:
    assert value("now.hour >= 9 and now.weekday == 0", now=MONDAY_10) is True
    assert value("open('office')", now=MONDAY_10) is True
    assert value("open('office')", now=dt.datetime(2026, 12, 25, 10)) is False
    assert value("holiday('office')", now=dt.datetime(2026, 12, 25, 10)) == "Christmas Day"
    assert value("holiday('office')", now=MONDAY_10) is None


def test_names_and_calendars_are_reported_for_the_validator() -> None:
    expression = compile_expression("open('office') and customer.tier == x", {})
    assert expression.names == {"now", "customer", "x"}
    assert expression.calendars == {"office"}


@pytest.mark.parametrize(("text", "message", "column"), [
    ("a ==", "expected a value (a name, a number or text in quotes) at character 5, "
             "found the end", 5),
    ("a $ b", "unexpected character '$' at character 3", 3),
    ("(1 + 2", "expected ')' at character 7, found the end", 7),
    ("a b", "expected an operator such as 'and', 'or' or '==' at character 3, found 'b'", 3),
    ("evil(1)", "unknown function 'evil' at character 1; available: endswith, holiday, int, "
                "len, lower, number, open, startswith, str, upper", 1),
    ("open(cal)", "open() needs a calendar name in quotes, like open('office') "
                  "(at character 6)", 6),
    ("len(1, 2)", "len() takes 1 argument, not 2 (at character 1)", 1),
    ("__import__('os')", "unknown function '__import__' at character 1; available: endswith, "
                         "holiday, int, len, lower, number, open, startswith, str, upper", 1),
    ("", "the expression is empty", 1),
])
def test_syntax_errors_say_where(text: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text)
    assert str(caught.value) == message
    assert caught.value.column == column


@pytest.mark.parametrize(("text", "variables", "message"), [
    ("x > 1", {}, "variable 'x' is not set"),
    ("x > 1", {"x": "2"}, "cannot compare text '2' with a number 1 using '>'"),
    ("x + 1", {"x": "a"}, "cannot compute text 'a' + a number 1"),
    ("1 / x", {"x": 0}, "division by zero in 1 / 0"),
    ("int(x)", {"x": "abc"}, "'abc' is not a number"),
    ("x.y", {"x": 3}, "a number 3 has no field 'y'"),
])
def test_runtime_errors_are_flow_runtime_errors(text: str, variables: dict[str, object],
                                                message: str) -> None:
    expression = compile_expression(text)
    with pytest.raises(FlowRuntimeError) as caught:
        expression.evaluate(variables)
    assert str(caught.value) == message


@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6), st.integers(1, 1000))
def test_arithmetic_and_comparison_agree_with_python(a: int, b: int, c: int) -> None:
    expression = compile_expression("a * b + a % c - b < c and not a == b or a >= b")
    expected = (a * b + a % c - b < c and a != b) or a >= b
    assert expression.evaluate({"a": a, "b": b, "c": c}) is expected


@given(st.text(alphabet="0123456789#*", max_size=12), st.text(alphabet="0123456789", max_size=3))
def test_startswith_and_len_agree_with_python(digits: str, prefix: str) -> None:
    expression = compile_expression("startswith(d, p) and len(d) > 2")
    assert expression.evaluate({"d": digits, "p": prefix}) == (
        digits.startswith(prefix) and len(digits) > 2)
