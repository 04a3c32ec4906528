"""Who is calling the API: bearer tokens, stored hashed, each bound to one subject and role.

Roles, from least to most: ``agent`` (their own state, pops and, if the deployment allows it,
recordings), ``qa`` (QA reviewer: recordings and evaluations), ``supervisor`` (every agent and
queue, recordings), ``admin`` (everything, including tokens). A token is shown once when issued;
the database keeps only its SHA-256, so a leaked database does not leak tokens.

:func:`principal_dependency` and :func:`require` plug this into FastAPI; an agent acting on
another agent's data is refused by :meth:`Principal.ensure_self_or`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import sqlalchemy as sa
from fastapi import Depends, Request

from hotline.db import Database, tables
from hotline.errors import HotlineError

Role = Literal["agent", "qa", "supervisor", "admin"]
ROLES: tuple[str, ...] = get_args(Role)


class AuthError(HotlineError):
    """No valid credentials were presented."""

    error_id = "unauthorized"
    status = 401


class Forbidden(HotlineError):
    """Valid credentials, but not for this."""

    error_id = "forbidden"
    status = 403


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str  # an agent id for agents, a user name otherwise
    role: Role

    def ensure_role(self, *roles: Role) -> None:
        if self.role not in roles and self.role != "admin":
            raise Forbidden(f"{self.role} '{self.subject}' may not do this; it needs the role "
                            f"{' or '.join(roles)}")

    def ensure_self_or(self, agent_id: str, *roles: Role) -> None:
        """Agents may act only on themselves; ``roles`` (and admin) may act on anyone."""
        if self.role == "agent" and self.subject == agent_id:
            return
        if self.role == "agent":
            raise Forbidden(f"agent '{self.subject}' may not see or change agent '{agent_id}'")
        self.ensure_role(*roles)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Issue, check and revoke API tokens in the database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def issue(self, subject: str, role: str) -> str:
        if role not in ROLES:
            raise HotlineError(f"unknown role '{role}'; use one of {', '.join(ROLES)}")
        token = "htl_" + secrets.token_urlsafe(32)
        with self.database.begin() as conn:
            conn.execute(tables.api_tokens.insert().values(
                token_sha256=_digest(token), subject=subject, role=role,
                created_at=dt.datetime.now(dt.UTC), revoked=False,
            ))
        return token

    def authenticate(self, token: str) -> Principal:
        with self.database.begin() as conn:
            row = conn.execute(
                sa.select(tables.api_tokens).where(
                    tables.api_tokens.c.token_sha256 == _digest(token))
            ).first()
        if row is None or row.revoked:
            raise AuthError("the token is unknown or revoked")
        return Principal(row.subject, row.role)

    def revoke_subject(self, subject: str) -> int:
        with self.database.begin() as conn:
            result = conn.execute(tables.api_tokens.update()
                                  .where(tables.api_tokens.c.subject == subject)
                                  .values(revoked=True))
        return result.rowcount


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("missing Authorization header; send 'Authorization: Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def principal_dependency(tokens: TokenStore) -> Callable[[Request], Principal]:
    """A FastAPI dependency resolving the request's bearer token to a :class:`Principal`."""

    def principal(request: Request) -> Principal:
        return tokens.authenticate(bearer_token(request.headers.get("authorization")))

    return principal


def require(principal: Callable[[Request], Principal], *roles: Role) -> Callable[..., Principal]:
    """A dependency that also checks the role."""

    def dependency(who: Principal = Depends(principal)) -> Principal:  # noqa: B008
        who.ensure_role(*roles)
        return who

    return dependency
