"""Run flows offline with scripted input: the administrator's way to try a flow.

:func:`run_flow` plays the caller: every ``Menu`` or ``Gather`` takes the next entry of the
digit script (``''`` or a used-up script means the caller pressed nothing), every ``Lookup`` is
answered from a customer source, every other command just succeeds. It returns the path of
node ids, the prompts played, the variables (sensitive ones masked) and the outcome.
:func:`run_tests` runs the test cases written in the flow files themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ivr.commands import (
    Digits,
    Gather,
    Lookup,
    LookupFailure,
    LookupResult,
    Menu,
    Result,
    outcome_json,
)
from ivr.flow import FlowSet, FlowTest
from ivr.interpreter import CallSession, mask

Finder = Callable[[str, str], Mapping[str, Any] | None]  # (by, value) -> customer or None


@dataclass(slots=True)
class Run:
    flow: str
    path: list[str]
    prompts: list[str]
    variables: dict[str, Any]
    outcome: dict[str, Any] | None
    failures: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow, "path": self.path, "prompts": self.prompts,
            "variables": self.variables, "outcome": self.outcome, "failures": self.failures,
        }


def run_flow(
    flows: FlowSet,
    flow: str,
    *,
    caller: str,
    digits: tuple[str, ...] | list[str],
    at: dt.datetime,
    find: Finder | None = None,
    lookup_error: str | None = None,
    uniqueid: str = "offline-test",
) -> Run:
    session = CallSession(flows, flow, caller_id=caller, now=at, uniqueid=uniqueid)
    script = list(digits)
    command = session.start()
    while not session.done:
        result: Result = None
        if isinstance(command, Menu | Gather):
            result = Digits(script.pop(0) if script else "")
        elif isinstance(command, Lookup):
            if lookup_error is not None:
                result = LookupFailure(lookup_error)
            else:
                result = LookupResult(find(command.by, command.value) if find else None)
        command = session.send(result)
    variables = {
        name: mask(value) if name in session.sensitive and value is not None else _plain(value)
        for name, value in session.variables.items()
    }
    return Run(flow, session.path, session.prompts, variables,
               outcome_json(session.outcome), session.failures)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class TestReport:
    flow: str
    file: str
    line: int
    name: str
    problems: tuple[str, ...]
    run: Run

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"flow": self.flow, "file": self.file, "line": self.line, "name": self.name,
                "passed": self.passed, "problems": list(self.problems),
                "path": self.run.path, "outcome": self.run.outcome}


DEFAULT_TEST_TIME = dt.datetime(2026, 1, 5, 10, 0)  # a Monday morning, when the office is open


def run_tests(flows: FlowSet, names: list[str] | None = None) -> list[TestReport]:
    reports = []
    for name in names or sorted(flows.flows):
        flow = flows.get(name)
        for test in flow.tests:
            reports.append(run_test(flows, name, test))
    return reports


def run_test(flows: FlowSet, flow_name: str, test: FlowTest) -> TestReport:
    flow = flows.get(flow_name)
    customer = test.customer
    run = run_flow(flows, flow_name, caller=test.caller, digits=test.digits,
                   at=test.at or DEFAULT_TEST_TIME, find=lambda _by, _value: customer,
                   lookup_error=test.lookup_error)
    problems: list[str] = []
    if test.expect_path is not None and tuple(run.path) != test.expect_path:
        problems.append(f"path was {' > '.join(run.path)}, expected "
                        f"{' > '.join(test.expect_path)}")
    if test.expect_prompts is not None and tuple(run.prompts) != test.expect_prompts:
        problems.append(f"prompts were {', '.join(run.prompts)}, expected "
                        f"{', '.join(test.expect_prompts)}")
    if test.expect_outcome is not None:
        problems.extend(f"outcome {p}" for p in _differences(test.expect_outcome, run.outcome))
    return TestReport(flow_name, flow.file, test.line, test.name, tuple(problems), run)


def _differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where ``actual`` differs from ``expected``; mappings compare only the expected keys."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{where or 'value'} was {actual!r}, expected {dict(expected)!r}"]
        problems = []
        for key, value in expected.items():
            label = f"{where}.{key}" if where else str(key)
            if key not in actual:
                problems.append(f"{label} is missing (expected {value!r})")
            else:
                problems.extend(_differences(value, actual[key], label))
        return problems
    if expected != actual or (type(expected) is bool and type(actual) is not bool):
        return [f"{where} was {actual!r}, expected {expected!r}"]
    return []
