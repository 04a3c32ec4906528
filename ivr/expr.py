"""The safe expression language of IVR flows: parsed once, evaluated many times.

Administrators write conditions and values as short expressions::

    customer.tier == 'gold' and open('office')
    len(account) == 10 and not startswith(caller_id, '0900')
    now.hour >= 18 or holiday('office')

The grammar is small and closed (no attribute access on Python objects, no calls other than the
functions below, no ``eval``)::

    expr    := or
    or      := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | compare
    compare := sum (('=='|'!='|'<'|'<='|'>'|'>='|'in'|'not' 'in') sum)?
    sum     := product (('+'|'-') product)*
    product := unary (('*'|'/'|'%') unary)*
    unary   := '-' unary | postfix
    postfix := atom ('.' NAME)*
    atom    := NUMBER | STRING | true | false | none | NAME | NAME '(' args ')'
             | '(' expr ')' | '[' args ']'

:func:`compile_expression` turns the text into a tree of closures, so a running call pays one
Python call per operator and never re-parses. A field of ``none`` (a caller with no customer
record) reads as ``none``, so ``customer.tier == 'gold'`` is simply false for unknown callers;
everything else that cannot work (an unset variable, comparing text with a number) raises
:class:`~ivr.errors.FlowRuntimeError`, which sends the caller to the flow's fallback.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ivr.errors import ExpressionError, FlowRuntimeError

Variables = Mapping[str, Any]
Evaluator = Callable[[Variables], Any]


class CalendarLike(Protocol):
    def is_open(self, when: dt.datetime) -> bool: ...
    def holiday(self, when: dt.datetime) -> str | None: ...


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|%|\(|\)|\[|\]|,|\.)
""", re.VERBOSE)

KEYWORDS = {"and", "or", "not", "in", "true", "false", "none"}
DATE_FIELDS = {"hour", "minute", "weekday", "day", "month", "year"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number, string, name, op, keyword, end
    text: str
    column: int  # 1-based


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(
                f"unexpected character {text[position]!r} at character {position + 1}",
                position + 1,
            )
        kind = match.lastgroup or ""
        value = match.group()
        if kind != "space":
            if kind == "name" and value in KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, value, position + 1))
        position = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression: call ``evaluate(variables)``.

    ``names`` are the variables it reads (for the validator's read-before-set check) and
    ``calendars`` the calendar names it passes to ``open()``/``holiday()``.
    """

    text: str
    evaluate: Evaluator
    names: frozenset[str]
    calendars: frozenset[str]


def compile_expression(
    text: str | int | float | bool, calendars: Mapping[str, CalendarLike] | None = None
) -> Expression:
    """Parse ``text`` once; raise :class:`ExpressionError` (with its column) if it is malformed.

    A YAML number or boolean is accepted as a constant expression.
    """
    if isinstance(text, bool | int | float):
        constant = text
        return Expression(str(text), lambda _v: constant, frozenset(), frozenset())
    parser = _Parser(text, calendars or {})
    evaluate = parser.parse()
    return Expression(text, evaluate, frozenset(parser.names), frozenset(parser.calendars))


def _fail(message: str) -> FlowRuntimeError:
    return FlowRuntimeError(message)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true/false"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


class _Parser:
    def __init__(self, text: str, calendars: Mapping[str, CalendarLike]) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.calendars_known = calendars
        self.names: set[str] = set()
        self.calendars: set[str] = set()

    # -- token helpers ------------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.accept(kind, text)
        if token is None:
            raise self.error(f"expected {what}")
        return token

    def error(self, message: str) -> ExpressionError:
        token = self.current
        found = "the end" if token.kind == "end" else repr(token.text)
        return ExpressionError(
            f"{message} at character {token.column}, found {found}", token.column
        )

    # -- grammar --------------------------------------------------------------------------------
    def parse(self) -> Evaluator:
        if self.current.kind == "end":
            raise ExpressionError("the expression is empty", 1)
        result = self.parse_or()
        if self.current.kind != "end":
            raise self.error("expected an operator such as 'and', 'or' or '=='")
        return result

    def parse_or(self) -> Evaluator:
        left = self.parse_and()
        while self.accept("keyword", "or"):
            right = self.parse_and()
            left = (lambda a, b: lambda v: bool(a(v)) or bool(b(v)))(left, right)
        return left

    def parse_and(self) -> Evaluator:
        left = self.parse_not()
        while self.accept("keyword", "and"):
            right = self.parse_not()
            left = (lambda a, b: lambda v: bool(a(v)) and bool(b(v)))(left, right)
        return left

    def parse_not(self) -> Evaluator:
        if self.accept("keyword", "not"):
            inner = self.parse_not()
            return lambda v: not inner(v)
        return self.parse_compare()

    def parse_compare(self) -> Evaluator:
        left = self.parse_sum()
        token = self.current
        if token.kind == "op" and token.text in {"==", "!=", "<", "<=", ">", ">="}:
            self.index += 1
            return _comparison(token.text, left, self.parse_sum())
        if self.accept("keyword", "in"):
            return _membership(left, self.parse_sum(), negate=False)
        if token.kind == "keyword" and token.text == "not":
            self.index += 1
            self.expect("keyword", "in", "'in' after 'not'")
            return _membership(left, self.parse_sum(), negate=True)
        return left

    def parse_sum(self) -> Evaluator:
        left = self.parse_product()
        while self.current.kind == "op" and self.current.text in {"+", "-"}:
            op = self.current.text
            self.index += 1
            left = _arithmetic(op, left, self.parse_product())
        return left

    def parse_product(self) -> Evaluator:
        left = self.parse_unary()
        while self.current.kind == "op" and self.current.text in {"*", "/", "%"}:
            op = self.current.text
            self.index += 1
            left = _arithmetic(op, left, self.parse_unary())
        return left

    def parse_unary(self) -> Evaluator:
        if self.accept("op", "-"):
            inner = self.parse_unary()

            def negate(v: Variables) -> Any:
                value = inner(v)
                if not _is_number(value):
                    raise _fail(f"cannot put a minus sign before {_kind(value)} {value!r}")
                return -value
            return negate
        return self.parse_postfix()

    def parse_postfix(self) -> Evaluator:
        value = self.parse_atom()
        while self.accept("op", "."):
            token = self.accept("name")
            if token is None:
                raise self.error("expected a field name after '.'")
            value = _field(value, token.text)
        return value

    def parse_atom(self) -> Evaluator:
        token = self.current
        if token.kind == "number":
            self.index += 1
            number = float(token.text) if "." in token.text else int(token.text)
            return lambda _v: number
        if token.kind == "string":
            self.index += 1
            text = re.sub(r"\\(.)", r"\1", token.text[1:-1])
            return lambda _v: text
        if token.kind == "keyword" and token.text in {"true", "false", "none"}:
            self.index += 1
            constant = {"true": True, "false": False, "none": None}[token.text]
            return lambda _v: constant
        if self.accept("op", "("):
            inner = self.parse_or()
            self.expect("op", ")", "')'")
            return inner
        if self.accept("op", "["):
            items = self.parse_args("]")
            return lambda v: [item(v) for item in items]
        if token.kind == "name":
            self.index += 1
            if self.accept("op", "("):
                return self.parse_call(token)
            return self.variable(token.text)
        raise self.error("expected a value (a name, a number or text in quotes)")

    def parse_args(self, closing: str) -> list[Evaluator]:
        items: list[Evaluator] = []
        if self.accept("op", closing):
            return items
        while True:
            items.append(self.parse_or())
            if self.accept("op", closing):
                return items
            self.expect("op", ",", f"',' or '{closing}'")

    def variable(self, name: str) -> Evaluator:
        self.names.add(name)

        def read(v: Variables) -> Any:
            try:
                return v[name]
            except KeyError:
                raise _fail(f"variable '{name}' is not set") from None
        return read

    def parse_call(self, name: Token) -> Evaluator:
        if name.text not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function '{name.text}' at character {name.column}; available: "
                + ", ".join(sorted(FUNCTIONS)),
                name.column,
            )
        arg_token = self.current
        args = self.parse_args(")")
        arity = {"startswith": 2, "endswith": 2}.get(name.text, 1)
        if len(args) != arity:
            raise ExpressionError(
                f"{name.text}() takes {arity} argument{'s' if arity > 1 else ''}, "
                f"not {len(args)} (at character {name.column})",
                name.column,
            )
        if name.text in {"open", "holiday"}:
            return self.calendar_call(name, arg_token)
        return _FUNCTIONS[name.text](*args)

    def calendar_call(self, name: Token, arg: Token) -> Evaluator:
        if arg.kind != "string":
            raise ExpressionError(
                f"{name.text}() needs a calendar name in quotes, like {name.text}('office') "
                f"(at character {arg.column})",
                arg.column,
            )
        calendar_name = arg.text[1:-1]
        self.calendars.add(calendar_name)
        self.names.add("now")
        calendar = self.calendars_known.get(calendar_name)
        if calendar is None:
            def missing(_v: Variables) -> Any:
                raise _fail(f"calendar '{calendar_name}' is not defined in hours.yaml")
            return missing
        if name.text == "open":
            return lambda v: calendar.is_open(v["now"])
        return lambda v: calendar.holiday(v["now"])


def _field(base: Evaluator, field: str) -> Evaluator:
    def read(v: Variables) -> Any:
        value = base(v)
        if value is None:
            return None
        if isinstance(value, Mapping):
            return value.get(field)
        if isinstance(value, dt.datetime) and field in DATE_FIELDS:
            return value.weekday() if field == "weekday" else getattr(value, field)
        raise _fail(f"{_kind(value)} {value!r} has no field '{field}'")
    return read


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _comparison(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    if op == "==":
        return lambda v: left(v) == right(v)
    if op == "!=":
        return lambda v: left(v) != right(v)
    compare = _COMPARE[op]

    def ordered(v: Variables) -> bool:
        a, b = left(v), right(v)
        if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return compare(a, b)
        raise _fail(f"cannot compare {_kind(a)} {a!r} with {_kind(b)} {b!r} using '{op}'")
    return ordered


def _membership(left: Evaluator, right: Evaluator, *, negate: bool) -> Evaluator:
    def member(v: Variables) -> bool:
        item, container = left(v), right(v)
        if type(container) is list:  # the usual case: "x in ['gold', 'platinum']"
            return (item in container) != negate
        if container is None:
            return negate
        if isinstance(container, str) and not isinstance(item, str):
            raise _fail(f"cannot look for {_kind(item)} {item!r} inside text {container!r}")
        if not isinstance(container, str | list | tuple | Mapping | set | frozenset):
            raise _fail(f"'in' needs text or a list on its right, not {_kind(container)}")
        return (item in container) != negate
    return member


def _arithmetic(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    def compute(v: Variables) -> Any:
        a, b = left(v), right(v)
        if op == "+" and isinstance(a, str) and isinstance(b, str):
            return a + b
        if not (_is_number(a) and _is_number(b)):
            raise _fail(f"cannot compute {_kind(a)} {a!r} {op} {_kind(b)} {b!r}")
        if op in {"/", "%"} and b == 0:
            raise _fail(f"division by zero in {a!r} {op} {b!r}")
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a / b if op == "/" else a % b
    return compute


def _len(arg: Evaluator) -> Evaluator:
    def length(v: Variables) -> int:
        value = arg(v)
        if value is None:
            return 0
        if not isinstance(value, str | list | tuple | Mapping):
            raise _fail(f"len() needs text or a list, not {_kind(value)} {value!r}")
        return len(value)
    return length


def _text_test(method: str) -> Callable[[Evaluator, Evaluator], Evaluator]:
    def build(text: Evaluator, part: Evaluator) -> Evaluator:
        def test(v: Variables) -> bool:
            value, prefix = text(v), part(v)
            if value is None:
                return False
            if not isinstance(value, str) or not isinstance(prefix, str):
                raise _fail(f"{method}() needs text, not {_kind(value)} and {_kind(prefix)}")
            return bool(getattr(value, method)(prefix))
        return test
    return build


def _case(method: str) -> Callable[[Evaluator], Evaluator]:
    def build(arg: Evaluator) -> Evaluator:
        def convert(v: Variables) -> Any:
            value = arg(v)
            if value is None:
                return None
            if not isinstance(value, str):
                raise _fail(f"{method}() needs text, not {_kind(value)} {value!r}")
            return getattr(value, method)()
        return convert
    return build


def _str(arg: Evaluator) -> Evaluator:
    def convert(v: Variables) -> str:
        value = arg(v)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return convert


def _number(integer: bool) -> Callable[[Evaluator], Evaluator]:
    def build(arg: Evaluator) -> Evaluator:
        def convert(v: Variables) -> Any:
            value = arg(v)
            if _is_number(value):
                return int(value) if integer else value
            if isinstance(value, str):
                try:
                    number = float(value.strip())
                except ValueError:
                    raise _fail(f"{value!r} is not a number") from None
                return int(number) if integer or number.is_integer() else number
            raise _fail(f"cannot turn {_kind(value)} {value!r} into a number")
        return convert
    return build


_FUNCTIONS: dict[str, Callable[..., Evaluator]] = {
    "len": _len,
    "startswith": _text_test("startswith"),
    "endswith": _text_test("endswith"),
    "lower": _case("lower"),
    "upper": _case("upper"),
    "str": _str,
    "int": _number(True),
    "number": _number(False),
}

# every function an expression may call: the calendar ones, compiled by the parser itself, and
# the plain ones above
FUNCTIONS = frozenset({"open", "holiday", *_FUNCTIONS})
