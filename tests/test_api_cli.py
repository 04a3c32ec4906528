"""``hotline tokens issue|revoke`` against the deployment's database."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from cti import api_cli
from cti.api.errors import TokenNotFound
from hotline.auth import AuthError, TokenStore
from hotline.db import open_database


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    api_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_tokens_are_issued_once_and_revoked(deployment_copy: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--dir", str(deployment_copy)]
    assert run("tokens", "issue", "a001", "--role", "agent", *where) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("htl_")
    assert run("tokens", "issue", "boss", "--role", "supervisor", "--json", *where) == 0
    issued = json.loads(capsys.readouterr().out)
    assert issued["subject"] == "boss" and issued["role"] == "supervisor"

    database = open_database("", data_dir=deployment_copy.parent / "var" / "data")
    try:
        tokens = TokenStore(database)
        assert tokens.authenticate(token).subject == "a001"
        assert run("tokens", "revoke", "a001", *where) == 0
        assert "revoked 1 token(s) of 'a001'" in capsys.readouterr().out
        with pytest.raises(AuthError):
            tokens.authenticate(token)
        assert tokens.authenticate(issued["token"]).role == "supervisor"
    finally:
        database.close()
    with pytest.raises(TokenNotFound, match="'ghost' has no token"):
        run("tokens", "revoke", "ghost", *where)


def test_an_unknown_role_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run("tokens", "issue", "x", "--role", "root")
    assert exited.value.code == 2
    assert "invalid choice: 'root'" in capsys.readouterr().err
