"""The HTTP and WebSocket API of the live engine (see docs/api.md).

``create_app(store, database, tokens, ...)`` builds it; ``ApiServer`` serves it.
"""

from cti.api.app import create_app
from cti.api.server import ApiServer

__all__ = ["ApiServer", "create_app"]
