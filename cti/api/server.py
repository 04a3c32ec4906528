"""Serving the API with uvicorn inside Hotline's own event loop.

:class:`ApiServer` binds and listens on its socket first (so ``port=0`` picks a free port,
and the address is known and connectable before uvicorn even starts), then runs uvicorn on it
as one task of the caller's task group; ``stop()`` asks uvicorn to finish open requests and
return. Signals belong to the composition root (``hotline serve``), not to uvicorn: this server
installs no signal handlers of its own.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from cti.api.errors import ApiError


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn would replace SIGINT/SIGTERM handlers while serving; the caller owns them
        yield


class ApiServer:
    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8080) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host.strip("[]"), port))
            # Listening now: a client that connects before uvicorn starts waits in the backlog.
            self.socket.listen(128)
        except OSError as exc:
            self.socket.close()
            raise ApiError(f"cannot listen on {host}:{port}: {exc.strerror}; another process "
                           "may use it (change http.bind in hotline.yaml)") from exc
        self.host, self.port = self.socket.getsockname()[:2]
        config = uvicorn.Config(app, ws="websockets-sansio", lifespan="off", log_config=None,
                                access_log=False, timeout_graceful_shutdown=5)
        self.server = _Uvicorn(config)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def serve(self) -> None:
        """Serve until :meth:`stop`; the socket is closed afterwards."""
        try:
            await self.server.serve(sockets=[self.socket])
        finally:
            self.socket.close()

    def stop(self) -> None:
        self.server.should_exit = True
