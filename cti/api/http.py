"""The HTTP routes: agents change their own state, supervisors watch, admins manage tokens.

Every handler is three steps: check access, call a service (:mod:`cti.api.services`), answer a
schema (:mod:`cti.api.schemas`). An agent may act only on themselves; supervisors and admins
may act on any agent. State changes are *commands* queued for the routing leader: the answer
is ``202 Accepted`` with the command's stream id, and the new state arrives on the WebSockets.
"""

# no "from __future__ import annotations": FastAPI must see the local Annotated aliases

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from cti.api.schemas import (
    AgentOut,
    CommandOut,
    Error,
    ExtendIn,
    HealthOut,
    NotReadyIn,
    QueueOut,
    RevokedOut,
    TokenIn,
    TokenOut,
)
from cti.api.services import AgentCommands, Board, Tokens
from cti.ports import CommandType
from hotline.auth import Principal, require

SUPERVISING = ("supervisor",)  # and admin, who may do everything


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Error} for status in statuses}


AgentId = Annotated[str, Path(description="the agent's id (routing.yaml)")]


def agent_router(board: Board, agent_commands: AgentCommands,
                 principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(prefix="/agents", tags=["agents"],
                       responses=_errors(401, 403, 404, 422))
    Who = Annotated[Principal, Depends(principal)]
    Supervisor = Annotated[Principal, Depends(require(principal, *SUPERVISING))]

    async def command(who: Principal, kind: CommandType, agent_id: str,
                      **values: Any) -> dict[str, Any]:
        who.ensure_self_or(agent_id, *SUPERVISING)
        return await agent_commands.submit(who, kind, agent_id, **values)

    @router.get("", response_model=list[AgentOut], summary="every agent's state")
    async def list_agents(who: Supervisor) -> list[dict[str, Any]]:
        return await board.agents()

    @router.get("/{agent_id}", response_model=AgentOut, summary="one agent's state")
    async def get_agent(agent_id: AgentId, who: Who) -> dict[str, Any]:
        who.ensure_self_or(agent_id, *SUPERVISING)
        return await board.agent(agent_id)

    @router.post("/{agent_id}/login", status_code=202, response_model=CommandOut)
    async def login(agent_id: AgentId, who: Who) -> dict[str, Any]:
        return await command(who, "agent_login", agent_id)

    @router.post("/{agent_id}/logout", status_code=202, response_model=CommandOut)
    async def logout(agent_id: AgentId, who: Who) -> dict[str, Any]:
        return await command(who, "agent_logout", agent_id)

    @router.post("/{agent_id}/ready", status_code=202, response_model=CommandOut)
    async def ready(agent_id: AgentId, who: Who) -> dict[str, Any]:
        return await command(who, "agent_ready", agent_id)

    @router.post("/{agent_id}/not-ready", status_code=202, response_model=CommandOut)
    async def not_ready(agent_id: AgentId, body: NotReadyIn, who: Who) -> dict[str, Any]:
        return await command(who, "agent_not_ready", agent_id, reason=body.reason)

    @router.post("/{agent_id}/wrap-up/end", status_code=202, response_model=CommandOut)
    async def end_wrapup(agent_id: AgentId, who: Who) -> dict[str, Any]:
        return await command(who, "wrapup_end", agent_id)

    @router.post("/{agent_id}/wrap-up/extend", status_code=202, response_model=CommandOut)
    async def extend_wrapup(agent_id: AgentId, body: ExtendIn, who: Who) -> dict[str, Any]:
        return await command(who, "wrapup_extend", agent_id, seconds=body.seconds)

    @router.post("/{agent_id}/recording/pause", status_code=202, response_model=CommandOut)
    async def pause_recording(agent_id: AgentId, who: Who) -> dict[str, Any]:
        return await command(who, "recording_pause", agent_id)

    @router.post("/{agent_id}/recording/resume", status_code=202, response_model=CommandOut)
    async def resume_recording(agent_id: AgentId, who: Who) -> dict[str, Any]:
        return await command(who, "recording_resume", agent_id)

    return router


def queue_router(board: Board, principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(prefix="/queues", tags=["queues"], responses=_errors(401, 403, 404))
    Supervisor = Annotated[Principal, Depends(require(principal, *SUPERVISING))]

    @router.get("", response_model=list[QueueOut], summary="every queue's live figures")
    async def list_queues(who: Supervisor) -> list[dict[str, Any]]:
        return await board.queues()

    @router.get("/{name}", response_model=QueueOut, summary="one queue's live figures")
    async def get_queue(name: str, who: Supervisor) -> dict[str, Any]:
        return await board.queue(name)

    return router


def admin_router(tokens: Tokens, principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(prefix="/tokens", tags=["tokens"], responses=_errors(401, 403, 422))
    Admin = Annotated[Principal, Depends(require(principal, "admin"))]

    @router.post("", status_code=201, response_model=TokenOut,
                 summary="issue a token (shown once)")
    def issue(body: TokenIn, who: Admin) -> dict[str, Any]:
        return tokens.issue(body.subject, body.role)

    @router.delete("/{subject}", response_model=RevokedOut, responses=_errors(404),
                   summary="revoke every token of a subject")
    def revoke(subject: str, who: Admin) -> dict[str, Any]:
        return tokens.revoke(subject)

    return router


def health_router(board: Board, tokens: Tokens) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", response_model=HealthOut, responses=_errors(503),
                summary="Redis and the database answer (no token needed)")
    async def health() -> dict[str, Any]:
        await board.store.ping()
        await tokens.check_database()
        return {"status": "ok", "redis": "ok", "database": "ok"}

    return router
