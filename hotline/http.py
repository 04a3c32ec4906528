"""HTTP error contract shared by every API router: JSON with a stable id and a plain message.

``{"error_id": "forbidden", "message": "agent 'a001' may not see ...", "details": {}}`` with the
status of the :class:`~hotline.errors.HotlineError` raised; request validation failures are
``422`` with ``error_id`` ``invalid_request``. Unexpected exceptions are ``500`` with
``internal_error`` and are logged, never shown to the client.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from hotline.errors import HotlineError

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HotlineError)
    async def _hotline(_request: Request, exc: HotlineError) -> JSONResponse:
        return JSONResponse(
            {"error_id": exc.error_id, "message": exc.message, "details": exc.details},
            status_code=exc.status,
            headers=exc.headers or None,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        ]
        return JSONResponse(
            {"error_id": "invalid_request", "message": "; ".join(problems),
             "details": {"problems": problems}},
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"error_id": "internal_error", "message": "an internal error occurred; see the log",
             "details": {}},
            status_code=500,
        )
