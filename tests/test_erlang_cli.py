"""The ``erlang`` command group: JSON contract, human output, exit codes and errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.erlang import erlang_a, erlang_c
from sim.erlang_cli import register
from sim.errors import AnalyticsInputError, ForecastError
from sim.staffing import StaffingTargets, staff

REPO = Path(__file__).resolve().parent.parent


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.handler(args)
    return code, capsys.readouterr().out


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code, out = run([*argv, "--json"], capsys)
    assert code == 0
    return json.loads(out)


TRAFFIC = ["--calls-per-hour", "200", "--aht", "180", "--target", "20"]


def test_erlang_c_json_contract(capsys) -> None:
    out = run_json(["erlang", "c", *TRAFFIC, "--agents", "14"], capsys)
    want = erlang_c(calls_per_hour=200, aht_s=180, agents=14, target_s=20)
    assert {"p_wait", "service_level", "asa_s", "occupancy"} <= out.keys()
    assert "p_abandon" not in out
    assert (out["p_wait"], out["service_level"], out["asa_s"], out["occupancy"]) == (
        want.p_wait,
        want.service_level,
        want.asa_s,
        want.occupancy,
    )
    assert (out["agents"], out["offered_load"], out["stable"]) == (14, 10.0, True)


def test_unstable_erlang_c_prints_null_asa_and_says_unstable(capsys) -> None:
    code, raw = run(["erlang", "c", *TRAFFIC, "--agents", "10", "--json"], capsys)
    assert code == 0
    assert "Infinity" not in raw
    out = json.loads(raw)
    assert (out["p_wait"], out["service_level"], out["asa_s"], out["stable"]) == (
        1.0,
        0.0,
        None,
        False,
    )
    code, text = run(["erlang", "c", *TRAFFIC, "--agents", "10"], capsys)
    assert "unstable: load 10 >= 10 agents" in text


def test_erlang_a_json_adds_p_abandon(capsys) -> None:
    out = run_json(["erlang", "a", *TRAFFIC, "--agents", "12", "--patience", "120"], capsys)
    want = erlang_a(calls_per_hour=200, aht_s=180, agents=12, target_s=20, patience_s=120)
    for key in ("p_wait", "p_abandon", "service_level", "asa_s", "occupancy"):
        assert out[key] == getattr(want, key)


def test_staff_json_prints_agents_after_shrinkage_and_figures(capsys) -> None:
    out = run_json(
        ["erlang", "staff", *TRAFFIC, "--service-level", "0.8", "--shrinkage", "0.3"], capsys
    )
    assert (out["agents"], out["agents_before_shrinkage"], out["shrinkage"]) == (20, 14, 0.3)
    assert (
        out["service_level"]
        == erlang_c(calls_per_hour=200, aht_s=180, agents=14, target_s=20).service_level
    )
    assert out["model"] == "erlang_c"


def test_staff_with_patience_uses_erlang_a_and_every_target(capsys) -> None:
    out = run_json(
        [
            "erlang",
            "staff",
            *TRAFFIC,
            "--service-level",
            "0.8",
            "--asa",
            "10",
            "--max-abandon",
            "0.03",
            "--patience",
            "120",
        ],
        capsys,
    )
    want = staff(
        calls_per_hour=200,
        aht_s=180,
        patience_s=120,
        targets=StaffingTargets(20, service_level=0.8, asa_s=10, max_abandon=0.03),
    )
    assert out["model"] == "erlang_a"
    assert out["agents"] == out["agents_before_shrinkage"] == want.agents_needed
    assert out["p_abandon"] == want.figures.p_abandon <= 0.03


def test_human_output_is_a_short_table(capsys) -> None:
    code, text = run(
        ["erlang", "staff", *TRAFFIC, "--service-level", "0.8", "--shrinkage", "0.3"], capsys
    )
    assert code == 0
    assert "figures with 14 agents on the phones; schedule 20 at 0.3 shrinkage" in text
    assert "p_wait                   0.1741" in text
    assert len(text.splitlines()) < 15


def test_intervals_json_and_table(tmp_path: Path, capsys) -> None:
    forecast = tmp_path / "day.csv"
    forecast.write_text("interval,calls,aht\n08:00,100,180\n08:30,250,200\n", encoding="utf-8")
    argv = [
        "erlang",
        "intervals",
        str(forecast),
        "--interval-minutes",
        "30",
        "--target",
        "20",
        "--service-level",
        "0.8",
        "--shrinkage",
        "0.3",
    ]
    out = run_json(argv, capsys)
    assert [row["interval"] for row in out["intervals"]] == ["08:00", "08:30"]
    assert out["intervals"][0]["agents"] == 20
    assert out["intervals"][0]["agents_before_shrinkage"] == 14
    assert out["total_calls"] == 350.0
    scheduled = sum(row["agents"] for row in out["intervals"])
    assert out["scheduled_agent_hours"] == scheduled / 2
    code, text = run(argv, capsys)
    assert code == 0 and "08:30" in text.splitlines()[2]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["c", *TRAFFIC, "--agents", "0"],
            "argument --agents: expected a whole number >= 1, got '0'",
        ),
        (
            ["c", "--calls-per-hour", "-5", "--aht", "180", "--target", "20", "--agents", "3"],
            "argument --calls-per-hour: expected a number of calls per hour >= 0, got '-5'",
        ),
        (
            ["a", *TRAFFIC, "--agents", "3", "--patience", "nan"],
            "argument --patience: expected a number of seconds > 0, got 'nan'",
        ),
        (
            ["staff", *TRAFFIC, "--service-level", "80"],
            "argument --service-level: expected a fraction between 0 and 1, e.g. 0.8, got '80'",
        ),
        (
            ["staff", *TRAFFIC, "--asa", "20", "--shrinkage", "1"],
            "argument --shrinkage: expected a fraction in [0, 1), e.g. 0.3, got '1'",
        ),
    ],
)
def test_bad_flags_are_refused_with_their_value(flags, message, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        run(["erlang", *flags], capsys)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_errors_are_hotline_errors_with_the_value(tmp_path: Path, capsys) -> None:
    with pytest.raises(AnalyticsInputError, match=r"max_abandon 0\.05 needs a patience"):
        run(["erlang", "staff", *TRAFFIC, "--max-abandon", "0.05"], capsys)
    bad = tmp_path / "bad.csv"
    bad.write_text("interval,calls,aht\n08:00,x,180\n", encoding="utf-8")
    with pytest.raises(ForecastError, match=r"bad\.csv:2: calls must be a number, got 'x'"):
        run(
            [
                "erlang",
                "intervals",
                str(bad),
                "--interval-minutes",
                "30",
                "--target",
                "20",
                "--asa",
                "30",
            ],
            capsys,
        )


def test_module_entry_point_prints_json_and_plain_errors() -> None:
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.erlang_cli",
            "erlang",
            "c",
            *TRAFFIC,
            "--agents",
            "14",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["agents"] == 14
    bad = subprocess.run(
        [sys.executable, "-m", "sim.erlang_cli", "erlang", "staff", *TRAFFIC, "--shrinkage", "0.3"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "hotline: error: no staffing target given: set a service "
        "level, an ASA or a maximum abandonment"
    )


def test_wired_into_the_hotline_command(capsys) -> None:
    from hotline.cli import main

    assert main(["erlang", "a", *TRAFFIC, "--agents", "12", "--patience", "120", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "erlang_a" and out["agents"] == 12
    assert main(["erlang", "staff", *TRAFFIC, "--max-abandon", "0.05"]) != 0
    assert "max_abandon 0.05 needs a patience" in capsys.readouterr().err
