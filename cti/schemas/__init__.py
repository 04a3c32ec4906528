"""Contracts in the repo: the JSON Schema of every WebSocket message (``ws_messages.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WS_MESSAGES = Path(__file__).with_name("ws_messages.json")


def ws_messages_schema() -> dict[str, Any]:
    return json.loads(WS_MESSAGES.read_text(encoding="utf-8"))
