"""Scenario files -> call plans: arrivals follow the profile, digits fit the real IVR flow.

Digits are checked by replaying each caller's timed DTMF script through the real interpreter
with a small stand-in for the PBX's side of the dialogue: it plays prompts for the scenario's
``prompt_s``, waits ``timeout_s`` for a menu key or the first digit of a gather and
``inter_digit_timeout_s`` for each next one, and notices when the caller hangs up. The walk
that built the plan and this replay share no code but the interpreter.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.cli import main
from ivr.commands import Digits, Gather, Lookup, LookupResult, Menu, Play, Say
from ivr.customers import CsvCustomers
from ivr.interpreter import CallSession
from sim.plan import compile_scenario
from sim.scenario import Scenario, load_scenario
from sim.sip.errors import LoadPlanError
from sim.sip.plan import CallerScript
from sim.sip.scenario_plan import (
    AgentCredentials,
    ScenarioWindow,
    parse_start,
    plan_from_scenario,
)

MONDAY = dt.datetime(2026, 11, 2, 0, 0)


@pytest.fixture(scope="module")
def hotline60() -> Scenario:
    return load_scenario("hotline-60")


@pytest.fixture(scope="module")
def mmc_abandon() -> Scenario:
    return load_scenario("mmc-abandon")


def replay(scenario: Scenario, caller: CallerScript, window_start: dt.datetime,
           customers: CsvCustomers | None = None) -> tuple[list[str], str]:
    """The path and outcome the flow takes for this caller's timed digits (at the time of day
    the caller calls in the scenario: business hours matter)."""
    ivr = scenario.spec.ivr
    assert ivr is not None
    settings = scenario.deployment.settings
    zone = ZoneInfo(settings.timezone if settings else "UTC")
    keys = [(step.after_s, step.digits) for step in caller.dtmf]
    assert all(len(digits) == 1 for _, digits in keys)
    session = CallSession(scenario.deployment.sections["ivr"], ivr.flow, caller_id=caller.caller_id,
                          now=window_start.replace(tzinfo=zone)
                          + dt.timedelta(seconds=caller.start_s))
    clock = 0.0
    hang_up = caller.hangup_after_s if caller.hangup_after_s is not None else math.inf
    command: Any = session.start()
    while session.outcome is None:
        result: Any = None
        if isinstance(command, Play):
            clock += ivr.prompt_s * len(command.prompts)
        elif isinstance(command, Say):
            clock += ivr.say_s
        elif isinstance(command, Lookup):
            clock += ivr.lookup_s
            found = None
            if customers is not None:
                found = customers.find(command.by, command.value if command.by == "account"
                                       else caller.caller_id)
            result = LookupResult(found)
        elif isinstance(command, Menu | Gather):
            clock += ivr.prompt_s * len(command.prompts)
            deadline = clock + command.timeout_s
            typed = ""
            while keys and keys[0][0] <= deadline and keys[0][0] >= clock:
                at, digit = keys.pop(0)
                typed += digit
                clock = at
                if isinstance(command, Menu) or len(typed) >= command.max_digits or \
                        (command.terminator and digit == command.terminator):
                    break
                deadline = at + command.inter_digit_timeout_s
            if not typed:
                if hang_up <= deadline:
                    session.hang_up()
                    return session.path, "ivr_abandoned"
                clock = deadline
            result = Digits(typed)
        command = session.send(result)
    assert not keys, f"caller {caller.index}: digits left over after the flow ended: {keys}"
    outcome = session.outcome
    name = type(outcome).__name__.lower()
    detail = getattr(outcome, "queue", None) or getattr(outcome, "mailbox", None)
    return session.path, f"{name}:{detail}" if detail else name


def test_arrivals_follow_the_intraday_profile(hotline60: Scenario) -> None:
    plan = plan_from_scenario(hotline60, ScenarioWindow(MONDAY, 86400), dial="100", seed=5)
    expected = compile_scenario(hotline60).rates[:24]
    per_hour = Counter(int(c.start_s // 3600) for c in plan.callers)
    total = sum(expected) * 3600
    assert plan.scenario is not None and plan.scenario["expected_calls"] == round(total, 2)
    assert abs(len(plan.callers) - total) < 4 * math.sqrt(total)
    chi2 = sum((per_hour[h] - rate * 3600) ** 2 / (rate * 3600)
               for h, rate in enumerate(expected))
    assert chi2 < 51.2  # chi-square, 24 degrees of freedom, p = 0.001
    assert per_hour[10] > 8 * per_hour[3]  # the morning peak against the night
    starts = [c.start_s for c in plan.callers]
    assert starts == sorted(starts) and starts[0] > 0 and starts[-1] < 86400


def test_rate_factor_and_weekday_scale_the_volume(hotline60: Scenario) -> None:
    def calls(start: dt.datetime, factor: float = 1.0) -> int:
        return len(plan_from_scenario(hotline60, ScenarioWindow(start, 4 * 3600,
                                                                rate_factor=factor),
                                      dial="1", seed=2).callers)

    monday, sunday = MONDAY.replace(hour=8), MONDAY.replace(day=8, hour=8)
    assert calls(monday, 2.0) / calls(monday) == pytest.approx(2.0, rel=0.1)
    assert calls(sunday) / calls(monday) == pytest.approx(0.50 / 1.15, rel=0.15)


def test_digits_are_what_the_flow_accepts_and_the_path_is_recorded(hotline60: Scenario) -> None:
    plan = plan_from_scenario(hotline60, ScenarioWindow(MONDAY.replace(hour=9), 1800),
                              dial="100", seed=11)
    outcomes = Counter(c.ivr_outcome for c in plan.callers)
    assert {"queue:billing", "queue:technical", "ivr_abandoned"} <= set(outcomes)
    for caller in plan.callers:
        path, outcome = replay(hotline60, caller, MONDAY.replace(hour=9))
        assert (path, outcome) == (list(caller.ivr_path), caller.ivr_outcome), caller
        assert "D" not in "".join(step.digits for step in caller.dtmf)
        if outcome.startswith("queue:"):
            assert caller.hangup_after_s is None
            assert caller.patience_s > caller.ivr_s
        else:
            assert caller.hangup_after_s is not None and caller.hangup_after_s >= caller.ivr_s


def test_known_customers_call_from_their_numbers_and_key_their_accounts(
        hotline60: Scenario, tmp_path: Path) -> None:
    csv = tmp_path / "customers.csv"
    rows = [f"C-{i},Customer {i},+4930555{i:04d},{1000000000 + i},"
            f"{'gold' if i % 2 else 'standard'},{10 + i}.5" for i in range(40)]
    csv.write_text("id,name,phone,account,tier,balance\n" + "\n".join(rows) + "\n")
    customers = CsvCustomers.load(csv)
    plan = plan_from_scenario(hotline60, ScenarioWindow(MONDAY.replace(hour=10), 3600),
                              dial="100", customers=customers, seed=3)
    known = [c for c in plan.callers if c.caller_id.startswith("+4930555")]
    assert abs(len(known) / len(plan.callers) - 0.65) < 0.06  # ivr.customers.known
    for caller in known:
        assert replay(hotline60, caller, MONDAY.replace(hour=10), customers) == (
            list(caller.ivr_path), caller.ivr_outcome)
    record = {r["phone"]: r for r in customers.records}
    vip = [c for c in known if record[c.caller_id]["tier"] == "gold"]
    assert vip and all("vip_priority" in c.ivr_path for c in vip)
    keyed = [c for c in known if "account/find" in c.ivr_path]
    assert keyed and all("account/unknown" not in c.ivr_path for c in keyed)
    assert any("balance_amount" in c.ivr_path for c in known)  # self-service with a record


def test_patience_and_talk_follow_the_scenario_and_scale(mmc_abandon: Scenario) -> None:
    window = ScenarioWindow(None, 20 * 3600, max_wait_s=1e9)
    plain = plan_from_scenario(mmc_abandon, window, dial="1", seed=4)
    fast = plan_from_scenario(mmc_abandon, ScenarioWindow(None, 20 * 3600, scale=60,
                                                          max_wait_s=1e9), dial="1", seed=4)
    n = len(plain.callers)
    assert abs(n - 4000) < 4 * math.sqrt(4000)
    patience = [c.patience_s for c in plain.callers]
    talk = [c.talk_s for c in plain.callers]
    assert sum(patience) / n == pytest.approx(120, rel=0.06)  # exponential, mean 120 s
    assert sum(talk) / n == pytest.approx(180, rel=0.06)  # exponential, mean 180 s
    assert fast.duration_s == pytest.approx(20 * 60)
    for slow, quick in zip(plain.callers, fast.callers, strict=True):
        assert quick.start_s == pytest.approx(slow.start_s / 60, abs=0.002)
        assert quick.talk_s == pytest.approx(slow.talk_s / 60, abs=0.002)
        assert quick.patience_s == pytest.approx(slow.patience_s / 60, abs=0.002)
    capped = plan_from_scenario(mmc_abandon, ScenarioWindow(None, 3600, max_wait_s=30),
                                dial="1", seed=4)
    assert max(c.patience_s for c in capped.callers) == 30


def test_same_seed_same_plan_other_seed_other_plan(hotline60: Scenario) -> None:
    window = ScenarioWindow(parse_start("11:00", hotline60), 900, scale=5)
    one = plan_from_scenario(hotline60, window, dial="100", seed=8)
    assert one == plan_from_scenario(hotline60, window, dial="100", seed=8)
    other = plan_from_scenario(hotline60, window, dial="100", seed=9)
    assert [c.start_s for c in one.callers] != [c.start_s for c in other.callers]


def test_agents_take_the_scenarios_answer_time_wrap_up_and_rona(hotline60: Scenario) -> None:
    credentials = AgentCredentials(("1001", "1002"), ("pw1", "pw2"))
    plan = plan_from_scenario(hotline60, ScenarioWindow(MONDAY.replace(hour=9), 600, scale=2),
                              dial="100", agents=credentials, seed=1)
    assert plan.agents is not None
    assert plan.agents.ring_to_answer_s == (0.0, 0.0)  # answer_s: 0
    assert plan.agents.no_answer_probability == 0.01  # rona_probability
    assert plan.agents.wrap_up_s == 0.0  # wrap-up is routing.yaml's, held by Hotline
    chosen = AgentCredentials(("1001",), ("pw",), ring_to_answer_s=(1.0, 3.0), wrap_up_s=5.0)
    mine = plan_from_scenario(hotline60, ScenarioWindow(MONDAY.replace(hour=9), 600),
                              dial="100", agents=chosen, seed=1)
    assert mine.agents is not None
    assert (mine.agents.ring_to_answer_s, mine.agents.wrap_up_s) == ((1.0, 3.0), 5.0)


@pytest.mark.parametrize(("window", "fragment"), [
    (ScenarioWindow(dt.datetime(2026, 10, 1, 10, 0), 3600),
     "--start 2026-10-01T10:00 is before scenario 'hotline-60' starts (2026-11-02T00:00)"),
    (ScenarioWindow(dt.datetime(2026, 12, 2, 10, 0), 3600), "ends after scenario 'hotline-60'"),
    (ScenarioWindow(MONDAY.replace(hour=3), 1, rate_factor=0.001), "has no calls in the window"),
])
def test_windows_outside_the_scenario_are_refused(hotline60: Scenario, window: ScenarioWindow,
                                                  fragment: str) -> None:
    with pytest.raises(LoadPlanError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        plan_from_scenario(hotline60, window, dial="1")


def test_bad_window_values_are_refused(hotline60: Scenario) -> None:
    with pytest.raises(LoadPlanError, match="--scale must be a positive number, got -2"):
        ScenarioWindow(scale=-2)
    with pytest.raises(LoadPlanError, match="--duration must be a positive number, got nan"):
        ScenarioWindow(duration_s=math.nan)
    assert parse_start("10:30", hotline60) == dt.datetime(2026, 11, 2, 10, 30)
    for text in ("25:00", "tomorrow"):
        with pytest.raises(LoadPlanError, match=f"--start '{text}'"):
            parse_start(text, hotline60)


@pytest.mark.parametrize(("argv", "message"), [
    (["mmc", "--rate", "2"], "--rate does not go with a SCENARIO, which sets it (scale the "
     "volume with --rate-factor)"),
    (["mmc", "--dtmf", "1@2"], "--dtmf does not go with a SCENARIO"),
    (["--rate", "1", "--duration", "2", "--scale", "10"], "--scale replays a scenario"),
    (["--rate", "1"], "give a SCENARIO to replay"),
    (["nowhere"], "there is no scenario 'nowhere'"),
    (["mmc", "--start", "noon"], "--start 'noon' is neither"),
    (["mmc", "--customers", "/nonexistent.csv"], "the customer file does not exist"),
    (["mmc", "--customers", "{tmp}/nophone.csv"], "nophone.csv: no customer has a phone number"),
    (["mmc", "--pop-url", "ws://127.0.0.1:9/ws/agent"], "--pop-url needs --agents-file"),
    (["mmc", "--agents-file", "{tmp}/agents.csv", "--pop-url", "ws://127.0.0.1:9/ws/agent"],
     "--pop-url: agent 1002 has no token in"),
])
def test_cli_refuses_bad_input_in_one_line(argv: list[str], message: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nophone.csv").write_text("id,name\nC-1,Erika\n")
    (tmp_path / "agents.csv").write_text("1001,pw1,htl_token\n1002,pw2\n")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    assert main(["load", "run", *argv, "--dry-run"]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_cli_dry_run_prints_the_scenario_plan(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["load", "run", "hotline-60", "--start", "2026-11-02T10:00", "--duration", "600",
            "--scale", "10", "--rate-factor", "0.5", "--seed", "4", "--dry-run"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["scenario"] == {
        "name": "hotline-60", "start": "2026-11-02T10:00", "duration_s": 600.0, "scale": 10.0,
        "rate_factor": 0.5, "max_wait_s": 600.0,
        "expected_calls": printed["scenario"]["expected_calls"], "target_s": 20.0,
        "scenario_agents": "shifts"}
    scenario = load_scenario("hotline-60")
    plan = plan_from_scenario(scenario, ScenarioWindow(dt.datetime(2026, 11, 2, 10), 600,
                                                       scale=10, rate_factor=0.5),
                              dial="100", seed=4)
    assert printed["calls"] == len(plan.callers) > 0
    assert printed["duration_s"] == 60.0
    assert [c["ivr_path"] for c in printed["callers"]] == [list(c.ivr_path) for c in plan.callers]
    assert sum(printed["by_ivr_outcome"].values()) == len(plan.callers)


def test_option_plans_still_work_without_a_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "run", "--rate", "2", "--duration", "5", "--dtmf", "1@2", "--seed",
                 "1", "--dry-run"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["scenario"] is None and printed["calls"] > 0
    assert all(c["dtmf"] == [{"after_s": 2.0, "digits": "1"}] for c in printed["callers"])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), hour=st.integers(0, 23), scale=st.sampled_from([1, 7, 60]))
def test_every_plan_is_well_formed(hotline60: Scenario, seed: int, hour: int,
                                   scale: int) -> None:
    try:
        plan = plan_from_scenario(hotline60, ScenarioWindow(MONDAY.replace(hour=hour), 600,
                                                            scale=scale), dial="1", seed=seed)
    except LoadPlanError as error:  # a quiet night hour may have no call in ten minutes
        assert "has no calls in the window" in str(error)
        return
    assert plan.duration_s == pytest.approx(600 / scale, abs=0.001)
    for caller in plan.callers:
        assert 0 <= caller.start_s < plan.duration_s
        times = [step.after_s for step in caller.dtmf]
        assert times == sorted(times) and all(t <= caller.ivr_s + 1e-9 for t in times)
        leaves = caller.hangup_after_s
        assert (leaves is None) == caller.ivr_outcome.startswith("queue:")
        assert caller.patience_s > (caller.ivr_s if leaves is None else leaves)
        assert caller.ivr_path[0] == "welcome" and caller.talk_s > 0
