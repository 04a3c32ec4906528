"""``hotline sim run|sweep``: the JSON contract, the HTML report and the staffing curve."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from sim import cli
from sim.errors import SimError
from sim.results import mean_ci, t_quantile
from sim.sweep import parse_range

CONFIG = Path(__file__).resolve().parent.parent / "config"
PNG = b"\x89PNG\r\n\x1a\n"


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_run_json_prints_totals_with_intervals_and_confidence(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = _main(["sim", "run", "mmc-abandon", "--config", str(CONFIG), "--json",
                  "--duration-h", "4", "--replications", "3", "--seed", "5"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    totals = out["totals"]
    for key in ("offered", "answered", "abandoned", "service_level", "asa_s", "abandon_rate",
                "occupancy"):
        low, high = totals[f"{key}_ci"]
        assert low <= totals[key] <= high
    assert totals["replications"] == 3
    assert totals["answered"] + totals["abandoned"] == pytest.approx(totals["offered"])
    assert len(out["intervals"]) == 4
    assert out["intervals"][0]["start"] == "2026-11-02T04:00:00+01:00"  # after the warm-up
    assert sum(r["offered"] for r in out["intervals"]) == pytest.approx(totals["offered"])


def test_run_without_json_writes_a_report(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    code = _main(["sim", "run", str(CONFIG / "sim" / "hotline-60.yaml"), "--duration-h", "30",
                  "--out", str(out)])
    assert code == 0
    assert "service_level" in capsys.readouterr().out
    page = (out / "index.html").read_text(encoding="utf-8")
    for name in ("arrivals.png", "service_level.png", "queue.png", "waits.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
        assert f'src="{name}"' in page
    assert page.count("<tr><td>") == 30  # one row per hourly interval


def test_sweep_over_agents_draws_a_rising_curve(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = _main(["sim", "sweep", "mmc", "--config", str(CONFIG), "--agents", "9:12",
                  "--duration-h", "30", "--out", str(tmp_path), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    levels = [p["service_level"] for p in out["points"]]
    assert [p["agents"] for p in out["points"]] == [9, 10, 11, 12]
    assert levels == sorted(levels) and levels[-1] > levels[0] + 0.3
    assert (tmp_path / "sweep.png").read_bytes().startswith(PNG)
    assert json.loads((tmp_path / "sweep.json").read_text())["variable"] == "agents"


def test_sweep_agents_needs_synthetic_agents(tmp_path: Path) -> None:
    with pytest.raises(SimError, match="synthetic agents"):
        _main(["sim", "sweep", "hotline-60", "--config", str(CONFIG), "--agents", "50:52",
               "--duration-h", "1", "--out", str(tmp_path)])


def test_parse_range() -> None:
    assert parse_range("volume", "0.8:1.2:0.1").values == (0.8, 0.9, 1.0, 1.1, 1.2)
    assert parse_range("agents", "10:12").values == (10, 11, 12)
    with pytest.raises(SimError, match="START:STOP"):
        parse_range("aht", "fast")
    with pytest.raises(SimError, match="whole numbers"):
        parse_range("agents", "1:2:0.5")


def test_t_quantiles_match_the_tables() -> None:
    # Student t, two-sided 95%: 12.706 (1), 2.262 (9), 2.042 (30); normal limit 1.960
    assert t_quantile(0.975, 1) == pytest.approx(12.7062, abs=1e-3)
    assert t_quantile(0.975, 9) == pytest.approx(2.2622, abs=1e-3)
    assert t_quantile(0.975, 30) == pytest.approx(2.0423, abs=1e-3)
    assert t_quantile(0.975, 100_000) == pytest.approx(1.95996, abs=1e-3)
    mean, half = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.3027 * 1.0 / 3 ** 0.5, rel=1e-3)


def test_sweep_over_volume_raises_abandonment(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = _main(["sim", "sweep", "mmc-abandon", "--config", str(CONFIG), "--volume",
                  "0.8:1.2:0.2", "--duration-h", "20", "--out", str(tmp_path)])
    assert code == 0
    assert "curve:" in capsys.readouterr().out
    points = json.loads((tmp_path / "sweep.json").read_text())["points"]
    assert [p["volume"] for p in points] == [0.8, 1.0, 1.2]
    rates = [p["abandon_rate"] for p in points]
    assert rates == sorted(rates) and rates[-1] > 2 * rates[0]
