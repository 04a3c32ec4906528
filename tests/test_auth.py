"""Bearer tokens: stored hashed, bound to a role, and agents kept to their own data."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from hotline.auth import (
    AuthError,
    Forbidden,
    Principal,
    TokenStore,
    principal_dependency,
    require,
)
from hotline.db import Database, tables
from hotline.http import install_error_handlers


def test_tokens_are_stored_hashed(database: Database) -> None:
    tokens = TokenStore(database)
    token = tokens.issue("a001", "agent")
    with database.begin() as conn:
        stored = conn.execute(sa.select(tables.api_tokens.c.token_sha256)).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored
    assert tokens.authenticate(token) == Principal("a001", "agent")


def test_revoked_and_unknown_tokens_are_refused(database: Database) -> None:
    tokens = TokenStore(database)
    token = tokens.issue("sup1", "supervisor")
    assert tokens.revoke_subject("sup1") == 1
    with pytest.raises(AuthError):
        tokens.authenticate(token)
    with pytest.raises(AuthError):
        tokens.authenticate("htl_guess")


def test_agents_are_kept_to_themselves() -> None:
    agent = Principal("a001", "agent")
    agent.ensure_self_or("a001", "supervisor")
    with pytest.raises(Forbidden, match="agent 'a001' may not see or change agent 'a002'"):
        agent.ensure_self_or("a002", "supervisor")
    Principal("boss", "supervisor").ensure_self_or("a002", "supervisor")
    Principal("root", "admin").ensure_self_or("a002", "supervisor")


def test_http_errors_are_json_with_stable_ids(database: Database) -> None:
    tokens = TokenStore(database)
    principal = principal_dependency(tokens)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/queues")
    def queues(who: Principal = Depends(require(principal, "supervisor"))) -> dict[str, str]:  # noqa: B008
        return {"subject": who.subject}

    client = TestClient(app)
    missing = client.get("/queues")
    assert missing.status_code == 401
    assert missing.json()["error_id"] == "unauthorized"
    agent = tokens.issue("a001", "agent")
    refused = client.get("/queues", headers={"Authorization": f"Bearer {agent}"})
    assert refused.status_code == 403 and refused.json()["error_id"] == "forbidden"
    boss = tokens.issue("boss", "supervisor")
    ok = client.get("/queues", headers={"Authorization": f"Bearer {boss}"})
    assert ok.status_code == 200 and ok.json() == {"subject": "boss"}
