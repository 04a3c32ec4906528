"""The API's OpenAPI document, as checked into ``docs/openapi.json``.

``hotline api openapi`` writes it; a test fails when the app and the file disagree, so a
changed endpoint comes with its changed spec. The document covers the CTI API; the recording
and QA routes join the served ``/openapi.json`` when ``hotline serve`` mounts them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from cti.api.app import create_app

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    # Building the routes touches none of the services, so no Redis or database is needed.
    none = cast(Any, None)
    return create_app(none, none, none).openapi()


def openapi_text() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
