"""``hotline serve`` finds customers where hotline.yaml's ``customers`` section says."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from cti.crm import HttpCrm
from cti.customers import DatabaseCustomers
from cti.serve import customer_lookup
from hotline.db import Database
from hotline.deployment import load
from hotline.errors import HotlineError


@pytest.fixture
def crm() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A real HTTP CRM on 127.0.0.1 that knows one phone number and records the headers."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            if unquote(self.path).endswith("/api/customers/by-phone/+4930123"):
                body = b'{"id": "C-1", "name": "Erika Muster", "tier": "gold"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/", seen
    server.shutdown()
    server.server_close()


def test_database_is_the_default(deployment_copy: Path, database: Database) -> None:
    assert isinstance(customer_lookup(load(deployment_copy), database), DatabaseCustomers)


async def test_http_crm_with_token_from_the_environment(
    deployment_copy: Path, database: Database, crm: tuple[str, list[dict[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, seen = crm
    text = (deployment_copy / "hotline.yaml").read_text()
    (deployment_copy / "hotline.yaml").write_text(text.replace(
        "  source: database ", f"  source: http\n  url: {url}\n  token_env: TEST_CRM_TOKEN\n  #"))
    monkeypatch.setenv("TEST_CRM_TOKEN", "t0ken")
    lookup = customer_lookup(load(deployment_copy), database)
    assert isinstance(lookup, HttpCrm)
    assert await lookup.by_phone("+49 30 123") == {
        "id": "C-1", "name": "Erika Muster", "tier": "gold"}
    assert await lookup.by_phone("+4999") is None
    await lookup.aclose()
    assert seen[0]["Authorization"] == "Bearer t0ken"


def test_missing_crm_token_is_a_clear_error(
    deployment_copy: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (deployment_copy / "hotline.yaml").read_text()
    (deployment_copy / "hotline.yaml").write_text(text.replace(
        "  source: database ",
        "  source: http\n  url: http://127.0.0.1:9/\n  token_env: TEST_CRM_TOKEN\n  #"))
    monkeypatch.delenv("TEST_CRM_TOKEN", raising=False)
    with pytest.raises(HotlineError, match="TEST_CRM_TOKEN, which is not set"):
        customer_lookup(load(deployment_copy), database)
