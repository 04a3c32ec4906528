"""Scenario files: located errors and cross-checks against the deployment (sim/*.yaml)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from hotline.config.diagnostics import ConfigError
from hotline.config.loader import load_deployment
from hotline.deployment import section_loaders
from sim.plan import LOGIN, SHIFT_END, compile_scenario
from sim.scenario import expand_agents, load_scenario, load_section

CONFIG = Path(__file__).resolve().parent.parent / "config"

GOOD = """\
description: test
duration_h: 2
queue: general
arrivals: {calls_per_hour: 60}
handling:
  default: {distribution: exponential, mean_s: 120}
agents:
  synthetic: {count: 2, skills: {general: 5}}
"""


@pytest.fixture
def deployment_dir(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    shutil.copytree(CONFIG, root, ignore=shutil.ignore_patterns("sim"))
    (root / "sim").mkdir()
    return root


def _load(root: Path, name: str, text: str) -> list[str]:
    (root / "sim" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    deployment = load_deployment(root, {**section_loaders(), "sim": load_section},
                                 raise_on_error=False)
    return [str(d) for d in deployment.diagnostics if d.file.startswith("sim/")]


def test_the_shipped_scenarios_load_without_problems() -> None:
    deployment = load_deployment(CONFIG, {**section_loaders(), "sim": load_section})
    assert {"mmc", "mmc-abandon", "hotline-60"} <= set(deployment.sections["sim"])
    assert not [d for d in deployment.diagnostics if d.file.startswith("sim/")]


def test_a_good_scenario_loads(deployment_dir: Path) -> None:
    assert _load(deployment_dir, "ok", GOOD) == []


def test_unknown_queue_is_located_with_a_suggestion(deployment_dir: Path) -> None:
    problems = _load(deployment_dir, "bad", GOOD.replace("queue: general", "queue: biling"))
    assert len(problems) == 1
    assert problems[0].startswith("sim/bad.yaml:3:")
    assert "'biling'" in problems[0] and "billing" in problems[0]


def test_a_typo_in_a_key_is_located(deployment_dir: Path) -> None:
    problems = _load(deployment_dir, "bad", GOOD.replace("duration_h", "duraton_h"))
    assert any(p.startswith("sim/bad.yaml:2:") and "duraton_h" in p for p in problems)


IVR = """\
duration_h: 2
ivr:
  flow: main
  choices:
    reason: {"1": 0.5, "2": 0.4}
    account/ask: {valid: 0.9, typo: 0.1}
    nowhere: {"1": 1.0}
    choose_language: {"7": 1.0}
    welcome: {"1": 1.0}
arrivals: {calls_per_hour: 60}
handling:
  default: {distribution: exponential, mean_s: 120}
agents:
  shifts:
    - {name: early, start: "06:00", hours: 8, agents: [a001-a003, a999]}
    - {name: late, start: "25:00", hours: 8, days: [mon, someday], agents: [a010-a005],
       breaks: [{after_h: 7.9, minutes: 30}]}
"""


def test_ivr_choices_and_shifts_are_cross_checked(deployment_dir: Path) -> None:
    problems = _load(deployment_dir, "bad", IVR)
    text = "\n".join(problems)
    assert "sim/bad.yaml:5:" in text and "add up to 0.9, not 1" in text
    assert "sim/bad.yaml:6:" in text and "'typo' is not a choice of node 'account/ask'" in text
    assert "sim/bad.yaml:7:" in text and "has no node 'nowhere'" in text
    assert "sim/bad.yaml:8:" in text and "'7' is not a choice of node 'choose_language'" in text
    assert "sim/bad.yaml:9:" in text and "menu and gather nodes only" in text
    assert "sim/bad.yaml:15:" in text and "agent 'a999' is not in routing.yaml" in text
    assert "start '25:00'" in text
    assert "'someday' is not a day" in text
    assert "range 'a010-a005' runs backwards" in text
    assert "ends after the shift's 8 h" in text


def test_unknown_skill_of_synthetic_agents_and_flow(deployment_dir: Path) -> None:
    text = GOOD.replace("general: 5}}", "plumbing: 5}}")
    problems = _load(deployment_dir, "bad", text)
    assert any("skill 'plumbing'" in p and p.startswith("sim/bad.yaml:8:") for p in problems)
    problems = _load(deployment_dir, "bad", IVR.replace("flow: main", "flow: mian"))
    assert any("there is no IVR flow 'mian'" in p and "main" in p for p in problems)


def test_missing_sample_file_and_half_given_distributions(deployment_dir: Path) -> None:
    text = GOOD.replace("{distribution: exponential, mean_s: 120}",
                        "{distribution: empirical, file: nowhere.csv}")
    problems = _load(deployment_dir, "bad", text)
    assert any("the sample file 'nowhere.csv' does not exist" in p for p in problems)
    text = GOOD.replace("{distribution: exponential, mean_s: 120}",
                        "{distribution: lognormal, mean_s: 120}")
    problems = _load(deployment_dir, "bad", text)
    assert any("needs 'sd_s'" in p for p in problems)


def test_empirical_sample_is_read_relative_to_the_scenario(deployment_dir: Path) -> None:
    (deployment_dir / "sim" / "aht.csv").write_text("seconds\n100\n200\n300\n",
                                                    encoding="utf-8")
    text = GOOD.replace("{distribution: exponential, mean_s: 120}",
                        "{distribution: empirical, file: aht.csv, column: seconds}")
    assert _load(deployment_dir, "emp", text) == []
    plan = compile_scenario(load_scenario("emp", deployment_dir))
    assert plan.default_handling.mean == 200.0


def test_load_scenario_names_the_known_ones(deployment_dir: Path) -> None:
    (deployment_dir / "sim" / "ok.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(Exception, match=r"no scenario 'nope'.*scenarios: ok"):
        load_scenario("nope", deployment_dir)
    (deployment_dir / "sim" / "broken.yaml").write_text(GOOD.replace("queue: general",
                                                                     "queue: x"))
    with pytest.raises(ConfigError):
        load_scenario("ok", deployment_dir)


def test_expand_agents_keeps_routing_order() -> None:
    known = ["a001", "a002", "a003", "b001"]
    assert expand_agents(["a002-b001", "a001"], known) == ["a002", "a003", "b001", "a001"]
    with pytest.raises(ValueError, match="runs backwards"):
        expand_agents(["a003-a001"], known)


def test_profiles_give_the_volume_and_the_peak(deployment_dir: Path) -> None:
    plan = compile_scenario(load_scenario("hotline-60", CONFIG))
    calls_per_month = sum(rate * plan.slot_s for rate in plan.rates) * 30 * 24 * 3600 / (
        len(plan.rates) * plan.slot_s)
    assert calls_per_month == pytest.approx(200_000, rel=0.03)
    average = sum(plan.rates) / len(plan.rates)
    assert 2.5 <= max(plan.rates) / average <= 3.0
    on_shift = busiest = 0
    for event in plan.shift_events:  # sorted by time, ends before starts
        on_shift += {LOGIN: 1, SHIFT_END: -1}.get(event.kind, 0)
        busiest = max(busiest, on_shift)
    assert 45 <= busiest <= 60
