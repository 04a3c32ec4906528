"""The sans-I/O interpreter: commands out, results in, fallbacks instead of dead air."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ivr_helpers import CONFIG, deployment

from ivr.commands import (
    Abandoned,
    Digits,
    Failure,
    Gather,
    Hangup,
    Lookup,
    LookupFailure,
    LookupResult,
    Menu,
    Play,
    Queue,
    SensitiveEnd,
    SensitiveStart,
    SetVariable,
)
from ivr.errors import IvrError, UnknownFlowError
from ivr.flow import FlowSet
from ivr.interpreter import CallSession
from ivr.loader import load_flows
from ivr.tester import run_flow, run_test, run_tests

NOW = dt.datetime(2026, 11, 23, 10, 0)
MAIN_FLOWS = load_flows(CONFIG)[0]  # the shipped flows, loaded once (a FlowSet is immutable)

FLOWS = {
    "menu": """\
        start: ask
        fallback: agent
        nodes:
          ask:
            type: menu
            prompt: p/ask
            options: {1: one, "0": agent}
            timeout_s: 3
            retries: 2
            invalid_prompt: p/invalid
            timeout_prompt: p/timeout
            fallback: agent
            store: choice
          one:
            type: hangup
            prompt: p/bye
          agent:
            type: queue
            queue: general
    """,
    "card": """\
        start: card
        nodes:
          card:
            type: gather
            prompt: p/card
            store: card
            min_digits: 4
            max_digits: 4
            pattern: "^4[0-9]{3}$"
            retries: 1
            sensitive: true
            next: agent
          agent:
            type: queue
            queue: billing
            attributes: {card: card, caller: caller_id}
    """,
    "broken": """\
        start: compute
        fallback: rescue
        nodes:
          compute:
            type: set
            variables: {n: "int(caller_id) + 1"}
            next: agent
          agent:
            type: queue
            queue: billing
          rescue:
            type: queue
            queue: complaints
            attributes: {why: "'rescued'"}
    """,
    "nofallback": """\
        start: compute
        nodes:
          compute:
            type: set
            variables: {n: "int(caller_id) + 1"}
            next: agent
          agent:
            type: queue
            queue: billing
    """,
    "export": """\
        start: mark
        nodes:
          mark:
            type: set
            variables: {segment: "'retail'", score: "2 * 21"}
            export: true
            next: lookup
          lookup:
            type: lookup
            next: agent
          agent:
            type: queue
            queue: general
            priority: "score - 40"
    """,
    "spin": """\
        start: a
        fallback: agent
        nodes:
          a:
            type: set
            variables: {n: 1}
            next: b
          b:
            type: branch
            conditions:
              - {if: "n > 1", next: agent}
            else: a
          agent:
            type: queue
            queue: general
    """,
    "outer": """\
        start: call
        nodes:
          call:
            type: subflow
            flow: inner
            next: agent
          agent:
            type: queue
            queue: general
            attributes: {got: got}
    """,
    "inner": """\
        start: put
        nodes:
          put:
            type: set
            variables: {got: "'from inner'"}
            next: back
          back:
            type: return
    """,
}


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> FlowSet:
    root = deployment(tmp_path_factory.mktemp("ivr"), FLOWS)
    return load_flows(root)[0]


def session(flows: FlowSet, name: str, caller: str = "0301234567") -> CallSession:
    return CallSession(flows, name, caller_id=caller, now=NOW, uniqueid="1795351674.2")


def test_menu_retries_with_the_right_prompts_then_falls_back(flows: FlowSet) -> None:
    call = session(flows, "menu")
    first = call.start()
    assert first == Menu("ask", ("p/ask",), ("1", "0"), 3.0, 1, 1, "en")
    second = call.send(Digits("7"))
    assert isinstance(second, Menu)
    assert (second.prompts, second.attempt) == (("p/invalid", "p/ask"), 2)
    third = call.send(Digits(""))
    assert isinstance(third, Menu)
    assert (third.prompts, third.attempt) == (("p/timeout", "p/ask"), 3)
    outcome = call.send(Digits("9"))
    assert isinstance(outcome, Queue) and outcome.queue == "general"
    assert call.done and call.outcome is outcome
    assert outcome.path == ("ask", "agent")
    assert outcome.inputs == {"ask": "(no valid choice)"}


def test_menu_choice_is_stored_and_recorded(flows: FlowSet) -> None:
    call = session(flows, "menu")
    call.start()
    play = call.send(Digits("1"))
    assert play == Play("one", ("p/bye",), "en")
    assert call.send(None) == Hangup()
    assert call.variables["choice"] == "1"
    assert call.inputs == {"ask": "1"}
    with pytest.raises(IvrError, match="already ended with Hangup"):
        call.send(None)


def test_sensitive_gather_pauses_recording_and_masks_digits(flows: FlowSet) -> None:
    call = session(flows, "card")
    assert call.start() == SensitiveStart("card")
    gather = call.send(None)
    assert isinstance(gather, Gather) and gather.sensitive and gather.pattern == "^4[0-9]{3}$"
    retry = call.send(Digits("5111#"))  # fails the pattern: one retry
    assert isinstance(retry, Gather) and retry.attempt == 2
    assert call.send(Digits("4111#")) == SensitiveEnd("card")
    outcome = call.send(None)
    assert isinstance(outcome, Queue)
    assert outcome.attributes == {"card": "****", "caller": "0301234567"}
    assert outcome.inputs == {"card": "****"}
    assert call.variables["card"] == "4111"  # the flow itself still has the real value


def test_sensitive_gather_without_valid_input_still_ends_the_pause(flows: FlowSet) -> None:
    call = session(flows, "card")
    call.start()
    call.send(None)
    call.send(Digits(""))
    assert call.send(Digits("12")) == SensitiveEnd("card")
    outcome = call.send(None)  # no gather fallback, no flow fallback: the default queue
    assert isinstance(outcome, Queue) and outcome.queue == "general"
    assert outcome.failure is not None and "no valid input for 'card'" in outcome.failure


def test_runtime_failure_takes_the_flow_fallback_and_is_logged(
        flows: FlowSet, caplog: pytest.LogCaptureFixture) -> None:
    call = session(flows, "broken", caller="anonymous")
    with caplog.at_level(logging.WARNING, logger="ivr.call"):
        outcome = call.start()
    assert isinstance(outcome, Queue)
    assert (outcome.queue, outcome.attributes) == ("complaints", {"why": "rescued"})
    assert call.path == ["compute", "rescue"]
    assert call.failures == ["compute: 'anonymous' is not a number"]
    assert "call 1795351674.2: flow 'broken' node 'compute' failed" in caplog.text


def test_failure_without_fallback_goes_to_the_default_queue(flows: FlowSet) -> None:
    outcome = session(flows, "nofallback", caller="anonymous").start()
    assert isinstance(outcome, Queue) and outcome.queue == "general"
    assert outcome.failure == "flow 'nofallback' node 'compute': 'anonymous' is not a number"


def test_no_default_queue_and_no_fallback_hangs_up_rather_than_hanging(flows: FlowSet) -> None:
    bare = dataclasses.replace(flows, default_queue=None)
    outcome = session(bare, "nofallback", caller="x").start()
    assert isinstance(outcome, Hangup) and outcome.reason.startswith("failure:")


def test_exported_variables_and_lookup(flows: FlowSet) -> None:
    call = session(flows, "export")
    assert call.start() == SetVariable("SEGMENT", "retail")
    assert call.send(None) == SetVariable("SCORE", "42")
    lookup = call.send(None)
    assert lookup == Lookup("lookup", "phone", "0301234567", 2.0)
    outcome = call.send(LookupResult({"id": "C-7", "tier": "gold"}))
    assert isinstance(outcome, Queue)
    assert (outcome.priority, outcome.customer_id) == (2, "C-7")


@pytest.mark.parametrize("answer", [LookupFailure("timeout"), Failure("socket error")])
def test_lookup_failure_without_error_path_is_a_fallback(flows: FlowSet, answer: object) -> None:
    call = session(flows, "export")
    call.start()
    call.send(None)
    call.send(None)
    outcome = call.send(answer)  # type: ignore[arg-type]
    assert isinstance(outcome, Queue) and outcome.queue == "general"
    assert outcome.failure is not None


def test_a_flow_that_runs_in_circles_is_stopped(flows: FlowSet) -> None:
    call = CallSession(flows, "spin", caller_id="1", now=NOW, max_steps=50)
    outcome = call.start()
    assert isinstance(outcome, Queue) and outcome.queue == "general"
    assert "50 steps" in call.failures[0]


def test_subflow_returns_with_its_variables(flows: FlowSet) -> None:
    call = session(flows, "outer")
    outcome = call.start()
    assert isinstance(outcome, Queue)
    assert outcome.attributes == {"got": "from inner"}
    assert outcome.path == ("call", "inner/put", "inner/back", "agent")


def test_caller_hanging_up_mid_flow(flows: FlowSet) -> None:
    call = session(flows, "card")
    call.start()
    call.send(None)
    assert call.hang_up() == Abandoned("card")
    assert call.done


def test_unknown_flow_and_misuse() -> None:
    empty = FlowSet({}, "general", "v0")
    with pytest.raises(UnknownFlowError, match="there is no IVR flow 'main' \\(flows: none\\)"):
        CallSession(empty, "main", caller_id="1", now=NOW)
    call = CallSession(MAIN_FLOWS, "main", caller_id="1", now=NOW, uniqueid="9.1")
    with pytest.raises(IvrError, match=r"call 9\.1: send\(\) before start\(\)"):
        call.send(None)
    call.start()
    with pytest.raises(IvrError, match=r"call 9\.1: the session has already started"):
        call.start()


def test_the_shipped_flows_pass_their_own_test_cases() -> None:
    reports = run_tests(MAIN_FLOWS)
    assert len(reports) >= 8
    assert [r.name for r in reports if not r.passed] == []


def test_a_wrong_expectation_is_reported() -> None:
    test = MAIN_FLOWS.get("main").tests[0]
    wrong = dataclasses.replace(test, expect_outcome={"type": "queue", "queue": "sales",
                                                      "attributes": {"vip": True}})
    report = run_test(MAIN_FLOWS, "main", wrong)
    assert report.problems == ("outcome queue was 'billing', expected 'sales'",
                               "outcome attributes.vip was False, expected True")


def test_offline_run_with_digits_and_time(tmp_path: Path) -> None:
    run = run_flow(MAIN_FLOWS, "main", caller="+4930", digits=["2", "3", "2"],
                   at=dt.datetime(2026, 12, 25, 10), find=lambda by, value: None)
    assert run.path[-2:] == ["sales_closed", "sales_voicemail"]
    assert run.outcome == {"type": "voicemail", "mailbox": "300@hotline"}
    assert run.variables["lang"] == "en"


class ExplodingRecord(Mapping[str, object]):
    """A customer record from a faulty lookup adapter: reading any field raises."""

    def __getitem__(self, key: str) -> object:
        raise RuntimeError("record store connection reset")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_an_unexpected_exception_is_logged_and_still_falls_back(
        caplog: pytest.LogCaptureFixture) -> None:
    call = CallSession(MAIN_FLOWS, "main", caller_id="1", now=NOW, uniqueid="77.1")
    call.start()
    call.send(None)
    assert isinstance(call.send(Digits("1")), Lookup)
    with caplog.at_level(logging.ERROR, logger="ivr.call"):
        outcome = call.send(LookupResult(ExplodingRecord()))
    # vip_check fails; main's fallback is the operator queue
    assert isinstance(outcome, Play) and outcome.node == "operator"
    assert "call 77.1: unexpected error in flow 'main' node 'vip_check'" in caplog.text
    assert "RuntimeError: record store connection reset" in caplog.text
    assert call.failures == ["vip_check: unexpected RuntimeError: record store connection reset"]


def test_failure_messages_never_show_sensitive_digits(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"pin": """\
        start: pin
        nodes:
          pin:
            type: gather
            prompt: p/pin
            store: pin
            sensitive: true
            next: check
          check:
            type: branch
            conditions:
              - {if: "pin > 1000", next: agent}
            else: agent
          agent:
            type: queue
            queue: general
        """})
    flows, _ = load_flows(root)
    run = run_flow(flows, "pin", caller="1", digits=["4711"], at=NOW)
    assert run.failures == ["check: cannot compare text '****' with a number 1000 using '>'"]
    assert run.variables["pin"] == "****"
    assert "4711" not in repr(run.as_json())


QUEUES = {"billing", "technical", "sales", "complaints", "general"}


@settings(max_examples=150, deadline=None)
@given(
    # half the callers head for the card payment (language, balance, account, pay, card)
    prefix=st.sampled_from([[], ["1", "5", "0123456789", "1", "4111111111111111#"]]),
    script=st.lists(st.one_of(
        st.sampled_from(["1", "2", "3", "4", "5", "9", "0", "", "0123456789",
                         "4111111111111111#"]),
        st.text(alphabet="0123456789*#", max_size=17),
    ), max_size=8),
    known=st.booleans(),
    customer=st.fixed_dictionaries({
        "id": st.text(alphabet="C-0123456789", min_size=1, max_size=6),
        "tier": st.sampled_from(["gold", "platinum", "standard", ""]),
        "balance": st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False),
                             st.text(max_size=5)),
    }),
    lookup_fails=st.booleans(),
    hour=st.integers(0, 23),
    day=st.integers(20, 31),
)
def test_any_caller_behaviour_ends_in_an_outcome(prefix: list[str], script: list[str],
                                                 known: bool, customer: dict[str, object],
                                                 lookup_fails: bool, hour: int,
                                                 day: int) -> None:
    script = prefix + script
    record = customer if known else None
    run = run_flow(MAIN_FLOWS, "main", caller="+4930", digits=script,
                   at=dt.datetime(2026, 12, day, hour), find=lambda by, value: record,
                   lookup_error="timeout" if lookup_fails else None)
    outcome = run.outcome
    assert outcome is not None and outcome["type"] in {"queue", "callback", "voicemail",
                                                       "hangup"}
    if outcome["type"] in {"queue", "callback"}:
        assert outcome["queue"] in QUEUES
    shown = repr(run.as_json())
    for entry in script:  # a card number typed in never leaves the flow unmasked
        digits = entry.rstrip("#")
        if len(digits) == 16 and digits.isdigit():
            assert digits not in shown
    assert len(run.path) < 60


def test_a_subflow_run_on_its_own_ends_in_the_default_queue(flows: FlowSet) -> None:
    outcome = session(flows, "inner").start()
    assert isinstance(outcome, Queue) and outcome.queue == "general"
    assert outcome.failure == ("flow 'inner' reached a 'return' node but was not called as a "
                               "subflow")
