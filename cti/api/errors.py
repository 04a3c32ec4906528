"""Errors of the HTTP/WebSocket API (each an HTTP status and a stable ``error_id``).

Authentication and role errors come from :mod:`hotline.auth` (``unauthorized`` 401,
``forbidden`` 403); request validation is ``invalid_request`` 422 (:mod:`hotline.http`)::

    CtiError
     └── ApiError
          ├── AgentNotFound      404 agent_not_found
          ├── QueueNotFound      404 queue_not_found
          ├── TokenNotFound      404 token_not_found
          └── CallNotFound       404 call_not_found
"""

from __future__ import annotations

from cti.errors import CtiError


class ApiError(CtiError):
    """Root of the API's own errors."""

    error_id = "api_error"
    status = 400


class AgentNotFound(ApiError):
    error_id = "agent_not_found"
    status = 404


class QueueNotFound(ApiError):
    error_id = "queue_not_found"
    status = 404


class TokenNotFound(ApiError):
    error_id = "token_not_found"
    status = 404


class CallNotFound(ApiError):
    error_id = "call_not_found"
    status = 404
