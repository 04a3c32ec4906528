"""``hotline route replay``: the example stream, JSON output, and located errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from acd import cli
from acd.codec import decision_to_json, event_from_json
from acd.errors import ReplayError
from acd.router import Router
from hotline.config.loader import load_deployment

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "tests" / "fixtures" / "acd" / "replay-morning.jsonl"
CONFIG = REPO / "config"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["route", "replay", *argv])
    return args.handler(args)


def test_json_output_is_every_decision_of_the_router(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(str(EXAMPLE), "--config", str(CONFIG), "--json") == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    router = Router.from_config(load_deployment(CONFIG).routing, "Europe/Berlin")
    expected = [
        decision_to_json(d)
        for line in EXAMPLE.read_text().splitlines()
        for d in router.handle(event_from_json(json.loads(line)))
    ]
    assert printed == expected
    kinds = {d["type"] for d in printed}
    assert {"offer", "queued", "escalated", "overflowed", "offer_cancelled"} <= kinds


def test_text_output_shows_local_time_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(str(EXAMPLE), "--config", str(CONFIG)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[4] == ("2026-06-01 09:00:10.000  offer            call-1 -> a011 "
                        "(queue billing, voice, extension 1011)")
    assert lines[-1].startswith("22 events, 35 decisions (")


@pytest.mark.parametrize(("line", "problem"), [
    ('{"t": 1, "type": "agent_login", "agent": "a001"', "not valid JSON"),
    ('{"t": 1, "type": "agent_dance", "agent": "a001"}', "unknown event type 'agent_dance'"),
    ('{"t": 1, "type": "agent_ready"}', "agent_ready needs field 'agent'"),
    ('{"t": "soon", "type": "tick"}', "field 't' is 'soon'"),
    ('{"t": 1, "type": "tick", "agent": "a001"}', "tick has no field 'agent'"),
    ('{"t": 1, "type": "agent_ready", "agent": "a001"}', "agent 'a001' is logged_out"),
    ('{"t": 1, "type": "contact_arrive", "contact": "c", "queue": "x"}', "queue 'x' is not"),
])
def test_a_bad_line_is_named_with_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"t": 0, "type": "tick"}\n\n' + line + "\n")
    with pytest.raises(ReplayError) as error:
        run(str(events), "--config", str(CONFIG), "--json")
    assert str(error.value).startswith(f"{events}:3: ")
    assert problem in str(error.value)


def test_a_missing_file_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="cannot read the event file"):
        run(str(tmp_path / "nope.jsonl"), "--config", str(CONFIG))
