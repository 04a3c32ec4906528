"""What the API's handlers call: the board (state the leader publishes) and agent commands.

The API process never touches the Router. It reads the ``agents`` and ``queues`` hashes the
routing leader writes and appends :class:`~cti.ports.Command` entries to the ``commands``
stream, which the leader applies in order (see :mod:`cti.ports`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from cti import commands
from cti.api.errors import AgentNotFound, QueueNotFound, TokenNotFound
from cti.ports import Command, CommandType
from hotline.auth import Principal, TokenStore
from hotline.db import Database
from hotline.store import StateStore


class Board:
    """Agents and queues as the routing leader last wrote them."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    async def agents(self) -> list[dict[str, Any]]:
        found = await self.store.get_fields(self.store.key("agents"))
        return [found[name] for name in sorted(found)]

    async def agent(self, agent_id: str) -> dict[str, Any]:
        # the whole hash (a few dozen agents) through the store, which translates Redis errors
        found = (await self.store.get_fields(self.store.key("agents"))).get(agent_id)
        if found is None:
            raise AgentNotFound(f"there is no agent '{agent_id}'; agents are listed in "
                                "routing.yaml", details={"agent": agent_id})
        return found

    async def queues(self) -> list[dict[str, Any]]:
        found = await self.store.get_fields(self.store.key("queues"))
        return [found[name] for name in sorted(found)]

    async def queue(self, name: str) -> dict[str, Any]:
        found = (await self.store.get_fields(self.store.key("queues"))).get(name)
        if found is None:
            raise QueueNotFound(f"there is no queue '{name}'; queues are listed in "
                                "routing.yaml", details={"queue": name})
        return found


class AgentCommands:
    """Checks that the agent exists, then queues the command for the leader."""

    def __init__(self, store: StateStore, board: Board) -> None:
        self.store = store
        self.board = board

    async def submit(self, who: Principal, kind: CommandType, agent_id: str, *,
                     reason: str | None = None, seconds: float | None = None
                     ) -> dict[str, Any]:
        await self.board.agent(agent_id)
        command = Command(kind, agent_id, who.subject, reason=reason, seconds=seconds)
        entry = await commands.submit(self.store, command)
        return {"id": entry, **command.to_json()}


class Tokens:
    """Issue and revoke API tokens (admin only) and check that the database answers."""

    def __init__(self, tokens: TokenStore, database: Database) -> None:
        self.tokens = tokens
        self.database = database

    def issue(self, subject: str, role: str) -> dict[str, Any]:
        return {"subject": subject, "role": role, "token": self.tokens.issue(subject, role)}

    def revoke(self, subject: str) -> dict[str, Any]:
        count = self.tokens.revoke_subject(subject)
        if count == 0:
            raise TokenNotFound(f"'{subject}' has no token to revoke",
                                details={"subject": subject})
        return {"subject": subject, "revoked": count}

    async def check_database(self) -> None:
        def ping() -> None:
            with self.database.begin() as conn:
                conn.execute(sa.text("SELECT 1"))

        await asyncio.to_thread(ping)
