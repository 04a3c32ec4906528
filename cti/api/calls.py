"""The call records' routes: post-call satisfaction.

``POST /calls/{call_id}/satisfaction {"score": 1-5}`` writes ``calls.satisfaction`` (the QA
sampler over-represents low scores). Who may: the agent who handled the call (``agent_id`` of
its record), supervisors and admins. The call must have its record (written at hang-up).
"""

# no "from __future__ import annotations": FastAPI must see the local Annotated aliases

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from cti.api.errors import CallNotFound
from cti.api.schemas import Error, SatisfactionIn, SatisfactionOut
from cti.call_records import CallRecords
from hotline.auth import Forbidden, Principal
from hotline.db import Database


def calls_router(database: Database,
                 principal: Callable[[Request], Principal]) -> APIRouter:
    router = APIRouter(prefix="/calls", tags=["calls"],
                       responses={s: {"model": Error} for s in (401, 403, 404, 422)})
    records = CallRecords(database)
    Who = Annotated[Principal, Depends(principal)]
    CallId = Annotated[str, Path(description="the call's id (the caller channel's Linkedid)")]

    @router.post("/{call_id}/satisfaction", response_model=SatisfactionOut,
                 summary="record the caller's post-call satisfaction (1-5)")
    async def satisfaction(call_id: CallId, body: SatisfactionIn, who: Who) -> dict[str, Any]:
        call = await asyncio.to_thread(records.get, call_id)
        if call is None:
            raise CallNotFound(f"no call record {call_id!r}; calls get one when they end")
        if who.role == "agent":
            if call["agent_id"] != who.subject:
                raise Forbidden(f"agent '{who.subject}' did not handle call {call_id}; only "
                                "its agent, a supervisor or an admin may rate it")
        else:
            who.ensure_role("supervisor")  # admins pass too
        await asyncio.to_thread(records.satisfaction, call_id, body.score)
        return {"call_id": call_id, "score": body.score}

    return router
