"""The contracts in the repo: docs/openapi.json and cti/schemas/ws_messages.json.

The spec file must equal what the app serves (regenerate with ``hotline api openapi --output
docs/openapi.json``); the WebSocket schema must describe exactly the fields of the messages in
:mod:`cti.ports`, and the checker the WebSocket tests use must reject what the schema forbids.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest
from api_support import agent_status, check, queue_status

from cti import api_cli
from cti.api.openapi import SPEC_PATH, openapi_document, openapi_text
from cti.api.schemas import AgentOut, QueueOut
from cti.ports import AgentStatus, QueueStatus, ScreenPop, to_message
from cti.schemas import ws_messages_schema

SCHEMA = ws_messages_schema()
REPO = Path(__file__).resolve().parent.parent


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    api_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_the_checked_in_openapi_spec_is_the_apps() -> None:
    assert SPEC_PATH == REPO / "docs" / "openapi.json"
    assert json.loads(SPEC_PATH.read_text(encoding="utf-8")) == openapi_document(), (
        "docs/openapi.json is stale: run 'hotline api openapi --output docs/openapi.json'")
    assert SPEC_PATH.read_text(encoding="utf-8") == openapi_text()


def test_the_spec_documents_auth_errors_and_bodies() -> None:
    spec = openapi_document()
    operation = spec["paths"]["/agents/{agent_id}/not-ready"]["post"]
    assert operation["security"] == [{"bearer": []}]
    assert {"202", "401", "403", "404", "422"} <= set(operation["responses"])
    assert operation["responses"]["403"]["content"]["application/json"]["schema"][
        "$ref"].endswith("/Error")
    assert "security" not in spec["paths"]["/health"]["get"]


def test_api_openapi_check_reports_drift(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("api", "openapi", "--check", str(SPEC_PATH)) == 0
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert run_cli("api", "openapi", "--check", str(stale)) == 1
    assert "regenerate" in capsys.readouterr().out
    assert run_cli("api", "openapi", "--output", str(stale)) == 0
    assert stale.read_text(encoding="utf-8") == openapi_text()


@pytest.mark.parametrize(("kind", "message_type"), [
    ("agent_state", AgentStatus), ("queue_state", QueueStatus), ("pop", ScreenPop)])
def test_the_websocket_schema_has_exactly_the_ports_fields(kind: str,
                                                           message_type: type) -> None:
    definition = SCHEMA["$defs"][kind]
    fields = [f.name for f in dataclasses.fields(message_type)]
    assert sorted(definition["properties"]) == sorted(fields)
    assert sorted(definition["required"]) == sorted(fields)
    assert definition["additionalProperties"] is False


@pytest.mark.parametrize(("model", "message_type"), [(AgentOut, AgentStatus),
                                                     (QueueOut, QueueStatus)])
def test_the_http_state_models_mirror_the_ports(model: type, message_type: type) -> None:
    assert list(model.model_fields) == [f.name for f in dataclasses.fields(message_type)]


def test_the_checker_rejects_what_the_schema_forbids() -> None:
    good = to_message(agent_status("a01", "not_ready", reason="lunch"))
    assert check(SCHEMA, good) == []
    assert check(SCHEMA, to_message(queue_status("billing", 2))) == []
    assert check(SCHEMA, {**good, "state": "sleeping"})
    assert check(SCHEMA, {**good, "since": "yesterday"})
    assert check(SCHEMA, {**good, "password": "x"})
    assert check(SCHEMA, {k: v for k, v in good.items() if k != "extension"})
    assert check(SCHEMA, {**good, "type": "agent"})
    assert check(SCHEMA, {"type": "hello", "subject": "a01", "role": "root"})
    assert check(SCHEMA, {**to_message(queue_status("billing")), "waiting": -1})
    assert check(SCHEMA, {**to_message(queue_status("billing")), "waiting": True})
    assert check(SCHEMA, [good])
    with pytest.raises(ValueError, match="patternProperties"):
        check({"patternProperties": {}}, {})
