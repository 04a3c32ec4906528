"""The load generator against loopback responders: counts, report, CLI."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from hotline.cli import main
from sim.scenario import load_scenario
from sim.sip.bots import AnswerBehaviour
from sim.sip.errors import LoadRunError
from sim.sip.generator import LoadOptions, Progress, run_load
from sim.sip.plan import CallerScript, CallPlan, DtmfStep, plan_from_options
from sim.sip.report import summarize, to_html
from sim.sip.responder import ResponderFarm
from sim.sip.scenario_plan import ScenarioWindow, plan_from_scenario

pytestmark = pytest.mark.sip

# Responders send the human-answer marker 1.5 s after answering: a caller with 0.4 s of patience
# abandons, one with 15 s does not. Numbers starting 0699 are refused busy.
BEHAVIOUR = AnswerBehaviour(dtmf=(DtmfStep(1.5, "D"),), reject_from=(("^0699", 486),))


@pytest.fixture(scope="module")
def farm() -> ResponderFarm:
    with ResponderFarm(2, BEHAVIOUR) as responders:
        yield responders


def test_short_scenario_counts_every_outcome(farm: ResponderFarm, tmp_path: Path) -> None:
    callers = []
    for index in range(9):
        kind = index % 3  # 0: completes, 1: abandons, 2: refused
        callers.append(CallerScript(
            index=index, start_s=0.15 * index,
            caller_id=("0611" if kind != 2 else "0699") + f"{index:04d}",
            dtmf=(DtmfStep(0.1, "1"),), patience_s=0.4 if kind == 1 else 15.0, talk_s=0.5))
    for index in (9, 10):  # the IVR walk ends without an agent: the caller leaves after 0.3 s
        callers.append(CallerScript(index, 0.15 * index, f"0611{index:04d}", (), 15.0, 0.5,
                                    hangup_after_s=0.3, ivr_outcome="hangup"))
    plan = CallPlan(dial="100", duration_s=1.5, callers=tuple(callers))

    result = run_load(plan, LoadOptions(targets=tuple(farm.targets), per_target_calls=4,
                                        workers=3))
    report = summarize(result)

    summary = report["summary"]
    assert summary["outcomes"] == {"completed": 3, "abandoned": 3, "ivr_ended": 2, "failed": 3,
                                   "dropped": 0, "not_started": 0, "lost": 0}
    assert summary["by_ivr_outcome"] == {"": {"abandoned": 3, "completed": 3, "failed": 3},
                                         "hangup": {"ivr_ended": 2}}
    assert summary["failed_by_sip_status"] == {"486": 3}
    assert summary["invite_to_agent_answer_s"]["count"] == 3
    assert summary["invite_to_agent_answer_s"]["p50"] > 1.5
    assert summary["media"]["audio_received"] == {"checked": 8, "ok": 8, "share": 1.0}
    assert summary["media"]["far_tone_heard"]["checked"] == 0  # no recordings asked for
    abandoned = [c for c in result.calls if c.outcome == "abandoned"]
    assert all(0.35 < c.held_s < 1.5 and c.agent_answer_s is None for c in abandoned)
    assert [c["index"] for c in report["calls"]] == list(range(11))
    assert all(0.25 < c.held_s < 1.0 for c in result.calls if c.outcome == "ivr_ended")
    page = to_html(report)
    assert "<table>" in page and "data:image/png;base64," in page
    json.dumps(report)  # the report is JSON as it stands


def test_cli_run_writes_reports_matching_the_plan(farm: ResponderFarm, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ids = tmp_path / "callers.txt"
    ids.write_text("0611000001\n0699000002\n0611000003\n")
    args = ["load", "run", "--rate", "4", "--duration", "1.5", "--talk-median", "0.5",
            "--patience", "30", "--dtmf", "12@0.1", "--caller-ids", str(ids), "--seed", "7",
            "--per-target-calls", "4", "--quiet", "--json",
            "--report-html", str(tmp_path / "r.html"), "--report-json", str(tmp_path / "r.json")]
    for target in farm.targets:
        args += ["--pbx", target]

    assert main(args) == 0

    printed = json.loads(capsys.readouterr().out)
    planned = plan_from_options(dial="100", rate_per_s=4, duration_s=1.5, dtmf="12@0.1",
                                talk_median_s=0.5, patience_mean_s=30,
                                caller_ids=("0611000001", "0699000002", "0611000003"), seed=7)
    refused = sum(1 for c in planned.callers if c.caller_id.startswith("0699"))
    outcomes = printed["summary"]["outcomes"]
    assert printed["summary"]["planned_calls"] == len(planned.callers) > 0
    assert outcomes["failed"] == refused
    # patience is exponential (mean 30 s): a caller may give up before the 1.5 s marker
    assert outcomes["completed"] + outcomes["abandoned"] == len(planned.callers) - refused
    assert json.loads((tmp_path / "r.json").read_text()) == printed
    assert "Load run" in (tmp_path / "r.html").read_text()


def test_a_dead_caller_worker_loses_its_calls_not_the_run(farm: ResponderFarm) -> None:
    callers = tuple(CallerScript(i, 0.05 * i, f"06110000{i:02d}", (), 15.0, 3.0)
                    for i in range(4))
    killed: list[int] = []

    def kill_first_worker(progress: Progress) -> None:
        if progress.up == 4 and not killed:
            victim = next(p for p in multiprocessing.active_children() if p.name == "caller-0")
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    result = run_load(CallPlan(dial="100", duration_s=0.2, callers=callers),
                      LoadOptions(targets=tuple(farm.targets), per_target_calls=4, workers=2),
                      kill_first_worker)

    assert killed
    assert result.worker_failures == ("caller-0: exit code -9",)
    outcomes = sorted(c.outcome for c in result.calls)
    assert outcomes == ["completed", "completed", "lost", "lost"]


def test_a_worker_that_cannot_start_fails_the_run_in_one_line() -> None:
    plan = CallPlan(dial="100", duration_s=1.0,
                    callers=(CallerScript(0, 0.0, "0611", (), 1.0, 1.0),))
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: binding fails, nothing is sent.
    with pytest.raises(LoadRunError) as failed:
        run_load(plan, LoadOptions(targets=("127.0.0.1:9",), bind_host="192.0.2.1", workers=1,
                                   startup_timeout_s=30))
    message = str(failed.value)
    assert message.startswith("worker caller-0 failed: cannot open SIP udp transport on "
                              "192.0.2.1:0")
    assert "\n" not in message


@pytest.fixture(scope="module")
def quick_farm() -> ResponderFarm:
    """Responders whose 'agent' picks up at once: the marker D 0.2 s after the answer."""
    with ResponderFarm(2, AnswerBehaviour(dtmf=(DtmfStep(0.2, "D"),))) as responders:
        yield responders


def test_a_scenario_replayed_against_the_loopback_counts_every_call(
        quick_farm: ResponderFarm, capsys: pytest.CaptureFixture[str]) -> None:
    """mmc.yaml scaled down hard: 15 scenario minutes at a fifth of the volume, 600 times
    faster (8 calls in 1.5 s, talk times of 0.3 s on average), all answered by an agent."""
    window = ["--duration", "900", "--scale", "600", "--rate-factor", "0.2", "--seed", "4"]
    args = ["load", "run", "mmc", *window, "--per-target-calls", "4", "--workers", "3",
            "--quiet", "--json"]
    for target in quick_farm.targets:
        args += ["--pbx", target]

    assert main(args) == 0

    report = json.loads(capsys.readouterr().out)
    plan = plan_from_scenario(load_scenario("mmc"),
                              ScenarioWindow(None, 900, scale=600, rate_factor=0.2),
                              dial="100", seed=4)
    planned = len(plan.callers)
    assert planned == 8 and peak_concurrency_of(plan, hold_s=0.4) <= 4  # fits 2 responders
    summary = report["summary"]
    assert summary["planned_calls"] == planned
    assert summary["outcomes"] == {"completed": planned, "abandoned": 0, "ivr_ended": 0,
                                   "failed": 0, "dropped": 0, "not_started": 0, "lost": 0}
    assert summary["by_ivr_outcome"] == {"queue:general": {"completed": planned}}
    queue = summary["queue"]  # the simulation's figures, from the SIP side
    assert (queue["offered"], queue["answered"], queue["abandoned"]) == (planned, planned, 0)
    assert (queue["service_level"], queue["abandon_rate"], queue["target_s"]) == (1.0, 0.0, 20)
    assert 0.2 <= queue["asa_s"] < 1.5
    page = to_html(report)
    assert "Scenario mmc from 2026-11-02T04:00" in page and "queue:general" in page
    assert summary["media"]["audio_received"]["ok"] == planned
    assert report["run"]["scenario"]["name"] == "mmc"
    assert report["run"]["scenario"]["expected_calls"] == 9.0  # 180/h * 0.2 * 0.25 h
    for row, caller in zip(report["calls"], plan.callers, strict=True):
        assert row["start_s"] == caller.start_s
        assert row["talk_s"] == pytest.approx(caller.talk_s, abs=0.25)
        assert 0.2 <= row["agent_answer_s"] < 1.5


def peak_concurrency_of(plan: CallPlan, hold_s: float) -> int:
    """Calls up at once if each lasted its talk time plus ``hold_s``."""
    edges = sorted([(c.start_s, 1) for c in plan.callers]
                   + [(c.start_s + hold_s + c.talk_s, -1) for c in plan.callers])
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak
