"""``hotline ivr check|test|graph``, called the way the ``hotline`` command calls them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from ivr_helpers import CONFIG, deployment

from ivr import cli
from ivr.customers import CsvCustomers
from ivr.errors import CustomerFileError, IvrError

CUSTOMERS = Path(__file__).parent / "fixtures" / "ivr" / "customers.csv"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hotline")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["ivr", *argv])
    return int(args.handler(args))


def test_check_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", "--config", str(CONFIG)) == 0
    assert capsys.readouterr().out == "2 flow(s) OK (33 nodes): account, main\n"


def test_check_a_broken_flow_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = deployment(tmp_path, {
        "main": "start: agent\nnodes:\n  agent:\n    type: queue\n    queue: sale\n",
        "other": "start: agent\nnodes:\n  agent:\n    type: queue\n    queue: nope\n",
    })
    assert run("check", str(root / "ivr" / "main.yaml"), "--json") == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["flows"] == ["main"]
    # (the test deployment has no agents, so routing.yaml adds warnings of its own)
    assert [d for d in result["diagnostics"] if d["severity"] == "error"] == [{
        "file": "ivr/main.yaml", "line": 5, "column": 12, "severity": "error",
        "message": "queue 'sale' is not defined in routing.yaml; did you mean 'sales'?",
    }]


def test_check_unknown_flow(tmp_path: Path) -> None:
    with pytest.raises(IvrError, match="there is no flow file"):
        run("check", "nope", "--config", str(CONFIG))


def test_test_all_runs_the_embedded_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("test", "--all", "--config", str(CONFIG)) == 0
    out = capsys.readouterr().out
    assert "ok   ivr/main.yaml:" in out and out.endswith("8 passed, 0 failed\n")


def test_test_one_call_with_customers_and_time(capsys: pytest.CaptureFixture[str]) -> None:
    code = run("test", "main", "--config", str(CONFIG), "--caller", "+493099999999",
               "--digits", "2,5,0123456789#,9", "--at", "2026-12-25T10:00",
               "--customers", str(CUSTOMERS), "--json")
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["path"][-5:] == ["balance_known", "balance_intro", "balance_amount",
                                   "balance_next", "goodbye"]
    assert result["outcome"] == {"type": "hangup", "reason": "flow"}
    assert result["variables"]["customer"]["balance"] == 42.5
    assert result["variables"]["vip"] is True
    assert result["variables"]["now"] == "2026-12-25T10:00:00+01:00"


def test_test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("test", str(CONFIG / "ivr" / "main.yaml"), "--caller", "1", "--digits", "1,0",
               "--at", "2026-11-23T10:00") == 0
    out = capsys.readouterr().out
    assert "path:     welcome > choose_language > german > identify" in out
    assert 'outcome:  {"type": "queue", "queue": "general"' in out


def test_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("graph", "account", "--config", str(CONFIG)) == 0
    text = capsys.readouterr().out
    assert text.startswith("flowchart TD\n")
    assert '  n_ask -- "valid account" --> n_find\n' in text
    assert run("graph", "main", "--config", str(CONFIG), "-o", str(tmp_path / "main")) == 0
    mermaid = (tmp_path / "main.mmd").read_text()
    assert '  n_reason -- "5" --> n_balance_account\n' in mermaid
    assert "n_vip_check -- \"customer.tier in ['gold', 'platinum']\" --> n_vip_priority" in mermaid


def test_customer_file() -> None:
    customers = CsvCustomers.load(CUSTOMERS)
    erika = customers.find("phone", "+493099999999")
    assert erika is not None and erika["balance"] == 42.5 and erika["account"] == "0123456789"
    assert customers.find("account", "0555555555") == {
        "id": "C-1003", "name": "Ida Beispiel", "phone": "+493055555555",
        "account": "0555555555", "tier": "platinum", "balance": None}
    assert customers.find("phone", "+4900") is None


def test_bad_customer_files(tmp_path: Path) -> None:
    with pytest.raises(CustomerFileError, match="does not exist"):
        CsvCustomers.load(tmp_path / "missing.csv")
    headless = tmp_path / "headless.csv"
    headless.write_text("name,phone\nA,1\n")
    with pytest.raises(CustomerFileError, match="at least 'id'"):
        CsvCustomers.load(headless)


def test_scripted_keys_a_phone_lacks_are_refused() -> None:
    with pytest.raises(IvrError, match="answer 'x' has keys a phone does not have"):
        run("test", "main", "--config", str(CONFIG), "--digits", "1,x")


def test_test_case_with_impossible_keys_is_located(tmp_path: Path) -> None:
    from hotline.config.diagnostics import ConfigError
    from ivr.loader import load_flows

    root = deployment(tmp_path, {
        "main": "start: bye\nnodes:\n  bye:\n    type: hangup\n"
                "tests:\n  - name: typo\n    caller: '1'\n    digits: '1,a'\n"
                "    expect: {path: [bye]}\n",
    })
    with pytest.raises(ConfigError, match=r"ivr/main\.yaml:8:\d+: answer 'a' has keys"):
        load_flows(root)


def test_graph_into_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IvrError, match=r"cannot write .*nowhere/main\.mmd: No such file"):
        run("graph", "main", "--config", str(CONFIG), "-o", str(tmp_path / "nowhere" / "main"))


@pytest.mark.parametrize("bind", ["localhost", "127.0.0.1:http", "127.0.0.1:70000", ":4573"])
def test_serve_refuses_a_bad_bind_address(bind: str) -> None:
    with pytest.raises(IvrError, match="is not HOST:PORT"):
        run("serve", "--config", str(CONFIG), "--bind", bind)


def test_serve_reports_a_port_in_use() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(IvrError, match=f"cannot serve FastAGI on 127.0.0.1:{port}: .*in use"):
            run("serve", "--config", str(CONFIG), "--bind", f"127.0.0.1:{port}")


def test_serve_refuses_a_watch_interval_of_zero() -> None:
    with pytest.raises(IvrError, match="--watch-interval must be more than 0"):
        run("serve", "--config", str(CONFIG), "--watch-interval", "0")


def fake_dot(folder: Path, script: str) -> None:
    """A stand-in for Graphviz's ``dot`` on PATH (Graphviz is not installed on CI machines)."""
    program = folder / "dot"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(0o755)


def test_graph_writes_svg_through_graphviz(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # the stand-in keeps the DOT it was given, so the test sees what Graphviz would draw
    fake_dot(tmp_path, f'[ "$1" = -Tsvg ] || exit 2\ntee {tmp_path}/given.dot >/dev/null\n'
                       'echo "<svg>drawn</svg>"\n')
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert run("graph", "account", "--config", str(CONFIG), "-o", str(tmp_path / "acc.svg")) == 0
    assert (tmp_path / "acc.svg").read_text() == "<svg>drawn</svg>\n"
    assert (tmp_path / "acc.mmd").read_text().startswith("flowchart TD\n")
    given = (tmp_path / "given.dot").read_text()
    assert given.startswith('digraph "account" {')
    assert '"ask" -> "find" [label="valid account"];' in given
    assert capsys.readouterr().out == f"wrote {tmp_path}/acc.mmd {tmp_path}/acc.svg\n"


def test_a_graphviz_failure_is_one_clear_error(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dot(tmp_path, 'echo "syntax error in line 1" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(IvrError, match="Graphviz failed on flow 'account': syntax error in"):
        run("graph", "account", "--config", str(CONFIG), "-o", str(tmp_path / "acc"))
