"""The deployment loader: the shipped example passes, and every kind of mistake an
administrator makes is reported with file:line:column and a plain sentence, all together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.config.hours import Calendar
from hotline.config.loader import load_deployment


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_shipped_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "config"]) == 0
    out = capsys.readouterr().out
    assert "deployment is valid" in out
    assert "Agents    60" in out
    for queue in ("billing", "technical", "sales", "complaints"):
        assert f"    {queue}" in out


def test_json_summary_counts_agents_able_per_queue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "config", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    queues = {q["name"]: q for q in data["summary"]["queues"]}
    deployment = load_deployment("config")
    assert deployment.routing is not None
    expected = sum(1 for a in deployment.routing.agents if a.skills.get("billing", 0) >= 6)
    assert queues["billing"]["agents_able"] == expected


# (file, old text, new text, needle locating the expected line, expected message part)
BROKEN = {
    "bad indentation": (
        "routing.yaml", "    priority: 3\n", "   priority: 3\n", "   priority: 3",
        "check the indentation",
    ),
    "tab indentation": (
        "hours.yaml", "      sat: \"09:00-14:00\"", "\t  sat: \"09:00-14:00\"", "\t  sat",
        "a tab is used for indentation",
    ),
    "wrong type": (
        "routing.yaml", "wrap_up_s: 45", "wrap_up_s: ten", "wrap_up_s: ten",
        "'queues.technical.wrap_up_s' must be a number, not 'ten'",
    ),
    "unknown key": (
        "routing.yaml", "    policy: round_robin\n", "    policy: round_robin\n    colour: red\n",
        "colour: red", "unknown key 'colour' in 'queues.general'",
    ),
    "misspelled key": (
        "routing.yaml", "    wrap_up_s: 20", "    wrapup_s: 20", "wrapup_s: 20",
        "unknown key 'wrapup_s' in 'queues.sales'; did you mean 'wrap_up_s'?",
    ),
    "misspelled skill": (
        "routing.yaml", "skills: {billing: 6}", "skills: {biling: 6}", "skills: {biling: 6}",
        "queue 'billing' requires skill 'biling', which is not defined; did you mean 'billing'?",
    ),
    "duplicate extension": (
        "routing.yaml", 'extension: "1002"', 'extension: "1001"', "id: a002",
        "agent 'a002' has extension 1001, which agent 'a001' already has",
    ),
    "duplicate agent id": (
        "routing.yaml", "id: a002,", "id: a001,", 'extension: "1002"',
        "agent id 'a001' is used twice",
    ),
    "impossible level": (
        "routing.yaml", "skills: {technical: 5}", "skills: {technical: 12}", "{technical: 12}",
        "level 12 for skill 'technical' is impossible; levels run 1 to 10",
    ),
    "extension not quoted": (
        "routing.yaml", 'extension: "1003"', "extension: 1003", "extension: 1003",
        "must be text, not 1003; put the value in quotes",
    ),
    "unknown overflow queue": (
        "routing.yaml", "overflow: general", "overflow: generl", "overflow: generl",
        "queue 'technical' overflows to queue 'generl', which is not defined; did you mean "
        "'general'?",
    ),
    "two actions in one escalation step": (
        "routing.yaml", "{after_s: 240, offer_callback: true}",
        "{after_s: 240, offer_callback: true, overflow: general}", "after_s: 240",
        "does exactly one of relax, also_accept, overflow or offer_callback; this one has "
        "overflow, offer_callback",
    ),
    "escalation out of order": (
        "routing.yaml", "{after_s: 180, overflow: general}", "{after_s: 20, overflow: general}",
        "{after_s: 20, overflow: general}", "step 2 of queue 'technical' (20 s) comes after 45 s",
    ),
    "bad time zone": (
        "hotline.yaml", "timezone: Europe/Berlin", "timezone: Europe/Berlinn", "Berlinn",
        "'Europe/Berlinn' is not a known time zone",
    ),
    "bad calendar time zone": (
        "hours.yaml", "timezone: Europe/Berlin", "timezone: Mars/Olympus", "Mars/Olympus",
        "'Mars/Olympus' is not a known time zone",
    ),
    "hours end before start": (
        "hours.yaml", '"08:00-20:00"', '"20:00-08:00"', "20:00-08:00",
        "ends before it starts; split a night shift at 24:00",
    ),
    "unknown holiday list": (
        "hours.yaml", "holidays: [de-public]", "holidays: [de-publc]", "de-publc",
        "calendar 'office' uses holiday list 'de-publc', which is not defined; did you mean "
        "'de-public'?",
    ),
    "duplicate key": (
        "hotline.yaml", "  port: 5038\n", "  port: 5038\n  port: 5039\n", "port: 5039",
        "the key 'port' appears twice",
    ),
    "bad bind address": (
        "hotline.yaml", "bind: 127.0.0.1:8080", "bind: localhost", "bind: localhost",
        "must be HOST:PORT such as 127.0.0.1:8080, not 'localhost'",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_deployment_is_located(
    case: str, deployment_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file, old, new, needle, message = BROKEN[case]
    path = deployment_copy / file
    edit(path, old, new)
    assert main(["config", "check", str(deployment_copy)]) == 1
    out = capsys.readouterr().out
    line = line_of(path, needle)
    located = [row for row in out.splitlines() if row.startswith(f"{file}:{line}:")]
    assert any(message in row for row in located), out


def test_missing_file(deployment_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (deployment_copy / "hours.yaml").unlink()
    assert main(["config", "check", str(deployment_copy)]) == 1
    assert "hours.yaml: the file is missing; every deployment needs hours.yaml" in (
        capsys.readouterr().out
    )


def test_every_error_of_a_run_is_reported_together(
    deployment_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(deployment_copy / "routing.yaml", "wrap_up_s: 45", "wrap_up_s: ten")
    edit(deployment_copy / "routing.yaml", "skills: {billing: 6}", "skills: {biling: 6}")
    edit(deployment_copy / "hotline.yaml", "timezone: Europe/Berlin", "timezone: Nowhere")
    edit(deployment_copy / "hours.yaml", "holidays: [de-public]", "holidays: [x]")
    assert main(["config", "check", str(deployment_copy)]) == 1
    out = capsys.readouterr().out
    assert "4 error(s)" in out
    assert "'ten'" in out and "'biling'" in out and "Nowhere" in out and "'x'" in out


def test_secret_in_file_is_refused_and_never_printed(
    deployment_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(deployment_copy / "hotline.yaml", "  secret_env: HOTLINE_AMI_SECRET",
         "  secret: s3cr3t-value")
    assert main(["config", "check", str(deployment_copy), "--json"]) == 1
    out = capsys.readouterr().out
    assert "s3cr3t-value" not in out
    assert "secrets are never written in the deployment files" in out


def test_secret_with_wrong_type_is_not_echoed(
    deployment_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(deployment_copy / "hotline.yaml", "  secret_env: HOTLINE_AMI_SECRET",
         "  secret_env: 12345678")
    assert main(["config", "check", str(deployment_copy)]) == 1
    out = capsys.readouterr().out
    assert "12345678" not in out
    assert "(hidden)" in out


def test_queue_no_agent_can_take_is_a_warning_not_an_error(
    deployment_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(deployment_copy / "routing.yaml", "skills: {sales: 4}", "skills: {english: 10}")
    assert main(["config", "check", str(deployment_copy)]) == 0
    out = capsys.readouterr().out
    line = line_of(deployment_copy / "routing.yaml", "  sales:")
    assert f"routing.yaml:{line}:3: warning: no agent can take queue 'sales'" in out


def test_missing_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(tmp_path / "nope")]) == 1
    assert "the deployment folder does not exist" in capsys.readouterr().out
    (tmp_path / "hotline.yaml").write_text("name: x\n")
    assert main(["config", "check", str(tmp_path / "hotline.yaml")]) == 1
    assert "hotline.yaml: the deployment folder is a file, not a folder; name the folder" in (
        capsys.readouterr().out)


def test_business_hours_calendar() -> None:
    import datetime as dt

    deployment = load_deployment("config")
    office: Calendar = deployment.calendars["office"]
    berlin = office.zone
    assert office.is_open(dt.datetime(2026, 11, 23, 9, 0, tzinfo=berlin))  # Monday
    assert not office.is_open(dt.datetime(2026, 11, 23, 20, 0, tzinfo=berlin))  # closes 20:00
    assert not office.is_open(dt.datetime(2026, 11, 22, 10, 0, tzinfo=berlin))  # Sunday
    assert office.holiday(dt.datetime(2026, 12, 25, 10, tzinfo=berlin)) == "Christmas Day"
    assert not office.is_open(dt.datetime(2026, 12, 25, 10, tzinfo=berlin))
    assert office.is_open(dt.datetime(2026, 12, 24, 11, 59, tzinfo=berlin))  # short day
    assert not office.is_open(dt.datetime(2026, 12, 24, 12, 0, tzinfo=berlin))
    # 07:30 UTC on a Monday in winter is 08:30 in Berlin
    assert office.is_open(dt.datetime(2026, 11, 23, 7, 30, tzinfo=dt.UTC))
    always = deployment.calendars["always"]
    assert always.is_open(dt.datetime(2026, 12, 25, 3, 0, tzinfo=berlin))


@pytest.mark.parametrize(("prompt", "expected"), [
    ("5", "'nodes.choose_language.prompt' must be text, a list (lines starting with '- ') or a "
          "block of keys and values, not 5"),
    ("{de: 5}", "'nodes.choose_language.prompt.de' must be text or a list (lines starting "
                "with '- '), not 5"),
    ("[a, 5]", "'nodes.choose_language.prompt[2]' must be text, not 5"),
])
def test_a_value_that_may_take_several_forms_gets_one_plain_error(
    prompt: str, expected: str, deployment_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # pydantic reports each member of 'text | list | map' apart, under names like 'list[str]'
    path = deployment_copy / "ivr" / "main.yaml"
    edit(path, "prompt: hotline/choose-language", f"prompt: {prompt}")
    assert main(["config", "check", str(deployment_copy)]) == 1
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("ivr/main.yaml:")]
    assert len(rows) == 1 and expected in rows[0], rows
    assert rows[0].startswith(f"ivr/main.yaml:{line_of(path, 'prompt: ' + prompt)}:")
