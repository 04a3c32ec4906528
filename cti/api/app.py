"""The API application: one factory, everything injected, no globals.

``hotline serve`` builds the store, the database and the token store, then::

    principal = principal_dependency(tokens)
    app = create_app(store, database, tokens,
                     recording_router=recording_router(database, storage, principal, ...),
                     qa_router=qa_router(database, forms, principal, tz=tz))

and serves ``app`` with :class:`cti.api.server.ApiServer`. Several processes may serve the same
API on one Redis: none of them needs to be the routing leader.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI

from cti.api.calls import calls_router
from cti.api.http import admin_router, agent_router, health_router, queue_router
from cti.api.services import AgentCommands, Board, Tokens
from cti.api.ws import Sockets
from hotline import __version__
from hotline.auth import TokenStore, principal_dependency
from hotline.db import Database
from hotline.http import install_error_handlers
from hotline.store import StateStore

TITLE = "Hotline API"
PUBLIC_PATHS = frozenset({"/health"})
DESCRIPTION = (
    "Agents log in and out, go ready or not ready and end their wrap-up; supervisors watch "
    "agents and queues; admins issue tokens. Every request carries `Authorization: Bearer "
    "<token>`. Errors are JSON `{error_id, message, details}`. The WebSockets `/ws/agent` and "
    "`/ws/supervisor` are described in docs/api.md and cti/schemas/ws_messages.json."
)


def create_app(
    store: StateStore,
    database: Database,
    tokens: TokenStore,
    *,
    recording_router: APIRouter | None = None,
    qa_router: APIRouter | None = None,
    extra_routers: Sequence[APIRouter] = (),
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The FastAPI app serving the CTI API, plus the recording and QA routers when given.

    ``clock`` (epoch seconds) stamps :class:`~cti.ports.PopAck` ``delivered_at``.
    """
    app = FastAPI(title=TITLE, version=__version__, description=DESCRIPTION)
    install_error_handlers(app)
    principal = principal_dependency(tokens)
    board = Board(store)
    token_service = Tokens(tokens, database)
    app.include_router(health_router(board, token_service))
    app.include_router(agent_router(board, AgentCommands(store, board), principal))
    app.include_router(queue_router(board, principal))
    app.include_router(admin_router(token_service, principal))
    app.include_router(Sockets(store, tokens, board, clock).router())
    app.include_router(calls_router(database, principal))
    for router in (recording_router, qa_router, *extra_routers):
        if router is not None:
            app.include_router(router)
    _document_bearer_auth(app)
    return app


def _document_bearer_auth(app: FastAPI) -> None:
    """Mark every operation but ``/health`` as needing the bearer token in the spec."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            spec.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "a token from POST /tokens or 'hotline tokens issue'"}}
            for path, operations in spec["paths"].items():
                if path not in PUBLIC_PATHS:
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
