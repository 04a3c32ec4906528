"""``hotline qa ...`` end to end on a copy of the example deployment and its SQLite file."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
from test_qa_support import T0, add_recording, leg, write_wav

from hotline.db import Database, open_database, tables
from hotline.errors import HotlineError
from recording.qa import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """What ``hotline`` does with a command: run the handler, print an expected error."""
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        code = args.handler(args)
    except HotlineError as exc:
        print(f"hotline: {exc}")
        code = 1
    return code, capsys.readouterr().out


@pytest.fixture
def deployment(deployment_copy: Path) -> tuple[Path, Database]:
    database = open_database("", data_dir=deployment_copy.parent / "var" / "data")
    yield deployment_copy, database
    database.close()


def test_sample_then_pending(capsys: pytest.CaptureFixture[str],
                             deployment: tuple[Path, Database]) -> None:
    folder, database = deployment
    for i in range(4):
        add_recording(database, agent="a001", started_at=T0 + dt.timedelta(hours=i),
                      queue="complaints" if i == 0 else "billing")
        add_recording(database, agent="a002", started_at=T0 + dt.timedelta(hours=i),
                      duration_s=10.0 if i == 1 else 200.0)
    sample = ("qa", "sample", "--dir", str(folder), "--period", "2026-W47", "--per-agent", "2",
              "--seed", "7", "--evaluators", "q1,q2")
    code, out = run(capsys, *sample, "--dry-run", "--json")
    assert code == 0
    dry = json.loads(out)
    assert len(dry["picks"]) == 4 and dry["seed"] == 7
    assert dry["shortfalls"]["a003"] == 0  # agents of routing.yaml without calls are named
    code, out = run(capsys, *sample)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "4 review(s) for 2026-W47, seed 7"
    assert [line.split()[0] for line in lines[2:6]] == [str(p["recording_id"])
                                                        for p in dry["picks"]]
    assert "agent a003 has only 0 call(s) to review in 2026-W47" in out
    code, out = run(capsys, *sample)
    assert (code, out) == (1, "hotline: period 2026-W47 was already sampled (4 reviews, seed "
                              "7); sample another period\n")
    code, out = run(capsys, "qa", "pending", "--config", str(folder), "--evaluator", "q1",
                    "--json")
    assert sorted(r["recording_id"] for r in json.loads(out)) == sorted(
        p["recording_id"] for p in dry["picks"] if p["evaluator"] == "q1")


def test_sample_needs_evaluators(capsys: pytest.CaptureFixture[str],
                                 deployment: tuple[Path, Database]) -> None:
    folder, database = deployment
    add_recording(database, agent="a001")
    code, out = run(capsys, "qa", "sample", "--dir", str(folder), "--period", "2026-W47",
                    "--seed", "1")
    assert code == 1
    assert out.startswith("hotline: no evaluators: name them (for example --evaluators q1,q2)")


def test_forms_check(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                     deployment_copy: Path) -> None:
    code, out = run(capsys, "qa", "forms", "check", str(deployment_copy / "qa"))
    assert code == 0
    assert "form 'standard-call' version 2026.1, 3 section(s), 7 question(s), 1 critical" in out
    (tmp_path / "bad.yaml").write_text(textwrap.dedent("""\
        kind: qa_form
        name: bad
        title: Bad
        sections:
          - id: s
            title: S
            questions:
              - {id: q, text: Q, scale: yes_or_no}
        """))
    (tmp_path / "policy.yaml").write_text("kind: recording_policy\n")
    (tmp_path / "nokind.yaml").write_text("name: x\n")
    code, out = run(capsys, "qa", "forms", "check", str(tmp_path))
    assert code == 1
    assert out.splitlines() == [
        f"{tmp_path}/bad.yaml:8:33: question 'q' uses the unknown scale 'yes_or_no'; did you "
        "mean 'yes_no'?",
        f"{tmp_path}/nokind.yaml:1:1: this file has no 'kind'; a QA form starts with "
        "'kind: qa_form'",
        "2 error(s) in the QA forms",
    ]
    code, out = run(capsys, "qa", "forms", "check", "--json", str(tmp_path / "bad.yaml"),
                    str(tmp_path / "policy.yaml"), str(tmp_path / "missing.yaml"))
    result = json.loads(out)
    assert code == 1 and result["ok"] is False and result["skipped"] == [
        str(tmp_path / "policy.yaml")]
    assert [(d["line"], d["column"]) for d in result["diagnostics"]] == [(8, 33), (0, 0)]


def test_scorecard_calibration_and_library(capsys: pytest.CaptureFixture[str],
                                           deployment: tuple[Path, Database]) -> None:
    folder, database = deployment
    recording = add_recording(database, agent="a001")
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with database.begin() as conn:
        conn.execute(tables.qa_evaluations.insert(), [
            {"recording_id": recording, "agent_id": "a001", "evaluator": "q1",
             "form": "standard-call", "form_version": "2026.1",
             "answers": {"greeting": "yes", "identification": "yes", "understanding": "5",
                         "accuracy": "5", "hold_etiquette": "yes", "summary": "no",
                         "tone": "2"},
             "comments": "", "score": score, "critical_failed": False, "calibration": None,
             "created_at": recent}
            for score in (80.0, 90.0)])
    code, out = run(capsys, "qa", "scorecard", "--dir", str(folder), "--agent", "a001",
                    "--weeks", "3", "--json")
    card = json.loads(out)
    assert code == 0
    assert (card["evaluations"], card["mean"], len(card["weeks"])) == (2, 85.0, 3)
    assert card["weeks"][-1]["mean"] == 85.0
    assert [c["question"] for c in card["coaching"]] == ["summary", "tone"]
    code, out = run(capsys, "qa", "scorecard", "--dir", str(folder), "--agent", "a001")
    assert out.startswith("QA scorecard for a001: 2 evaluation(s), mean 85.0, trend - "
                          "points/week")

    code, out = run(capsys, "qa", "scorecard", "--dir", str(folder), "--agent", "a0001")
    assert (code, out) == (1, "hotline: agent 'a0001' is not in routing.yaml and has no "
                              "evaluations in the last 8 week(s); did you mean 'a001'?\n")
    code, out = run(capsys, "qa", "calibration", "start", "cal-1", "--dir", str(folder),
                    "--recording", str(recording), "--evaluators", "q1,q2,q3")
    assert code == 0
    assert out.splitlines()[0] == (f"calibration cal-1 on recording {recording}: 0 "
                                   "evaluation(s), waiting for q1, q2, q3")
    code, out = run(capsys, "qa", "calibration", "show", "nope", "--dir", str(folder))
    assert (code, out) == (1, "hotline: there is no calibration session 'nope'\n")

    code, out = run(capsys, "qa", "library", "add", str(recording), "--dir", str(folder),
                    "--by", "q1", "--note", "patient explanation")
    assert code == 0
    code, out = run(capsys, "qa", "library", "list", "--dir", str(folder))
    assert out.splitlines()[1].split() == ["recording", str(recording), "a001", "billing",
                                           "best", "90", "patient", "explanation"]


def test_analytics_feed_the_sampler(capsys: pytest.CaptureFixture[str],
                                    deployment: tuple[Path, Database]) -> None:
    folder, database = deployment
    root = folder.parent / "var" / "recordings"
    root.mkdir(parents=True)
    ids = []
    for i in range(7):
        dead_air = 40 if i == 3 else 1 + i % 2  # one call with 40 s of silence in the middle
        caller = leg(60, [(0, 10), (11 + dead_air, 60)], seed=i)
        agent = leg(60, [(10, 11)], seed=50 + i, frequency=600)
        write_wav(root / f"call{i}.wav", caller, agent)
        ids.append(add_recording(database, agent="a001", path=f"call{i}.wav",
                                 started_at=T0 + dt.timedelta(hours=i)))
    add_recording(database, agent="a002", status="failed")
    code, out = run(capsys, "qa", "analyse", "--missing", "--dir", str(folder))
    assert code == 0
    assert out.splitlines()[3].startswith(f"recording {ids[3]}: 60.0 s; caller talk 19.0 s")
    assert "dead air 40.0 s" in out.splitlines()[3]
    code, out = run(capsys, "qa", "analyse", "--missing", "--dir", str(folder))
    assert (code, out) == (1, "hotline: name recording ids, or use --missing or --file PATH\n")
    code, out = run(capsys, "qa", "sample", "--dir", str(folder), "--period", "2026-W47",
                    "--per-agent", "7", "--seed", "1", "--evaluators", "q1", "--json",
                    "--dry-run")
    strata = {p["recording_id"]: p["stratum"] for p in json.loads(out)["picks"]}
    assert strata == {rid: "analytics_outlier" if rid == ids[3] else "routine" for rid in ids}
    code, out = run(capsys, "qa", "analyse", "--file", str(root / "call0.wav"), "--json")
    assert json.loads(out)["legs"]["agent"]["talk_s"] == pytest.approx(1.0, abs=0.02)
