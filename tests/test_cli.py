"""The command line as a user meets it: version, help, one-line errors and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotline import __version__
from hotline.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"hotline {__version__}"


def test_help_lists_command_groups() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "config" in result.stdout


def test_failure_is_one_line_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "hotline.yaml").write_text("timezone: [\n")
    result = run("config", "check", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "hotline.yaml:2:1: the file is not valid YAML" in result.stdout


def test_unknown_command_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
