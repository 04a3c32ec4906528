"""The `hotline erlang` examples in docs/planning.md print exactly what the docs show."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from hotline.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "planning.md"
SECTION = DOC.read_text(encoding="utf-8").split("## Simulation")[0]


def examples() -> list[tuple[str, str]]:
    """(command line, expected output) for every `$ hotline erlang` line of the CLI block."""
    block = SECTION.split("### Command line", 1)[1].split("```", 2)[1]
    found = re.findall(r"^\$ (hotline erlang .*)\n((?:(?!\$ ).*\n?)*)", block, flags=re.M)
    pairs = [(command, output.strip("\n")) for command, output in found]
    assert pairs and all(output for _, output in pairs)
    return pairs


def test_the_docs_have_examples_of_every_subcommand() -> None:
    commands = {shlex.split(command)[2] for command, _ in examples()}
    assert commands == {"c", "a", "staff", "intervals"}


@pytest.mark.parametrize(("command", "expected"), examples(), ids=lambda v: v[:60])
def test_documented_output(command: str, expected: str, tmp_path, monkeypatch, capsys) -> None:
    forecast = SECTION.split("### Interval staffing", 1)[1].split("```", 2)[1]
    (tmp_path / "day.csv").write_text(forecast.lstrip("\n"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(command)[1:]) == 0
    assert capsys.readouterr().out.strip("\n") == expected
