"""The IVR's hand-over to routing, across processes: the FastAGI ``QueueSink`` of cti.

Any ``hotline serve`` process may run the IVR for a call, but only the leader routes. So the
``queue`` step's request is written to Redis (``ivr:<contact>``, :class:`~cti.ports.QueueRequest`)
before the AGI returns; the dialplan then parks the caller and raises ``UserEvent
HotlineQueued``, on which the leader reads the request and registers the contact with the
Router. The contact id is the channel's Uniqueid (the dialplan sets ``HOTLINE_CONTACT`` to it).
"""

from __future__ import annotations

import logging
import time

from cti.ports import QUEUE_REQUEST_TTL_S, CallbackRequest, QueueRequest
from hotline.store import StateStore
from ivr.agi import AgiEnvironment
from ivr.commands import Callback, Queue


class RedisQueueSink:
    """Implements :class:`ivr.fastagi.QueueSink` by writing ``ivr:<contact>``."""

    def __init__(self, store: StateStore, *, ttl_s: float = QUEUE_REQUEST_TTL_S,
                 logger: logging.Logger | None = None) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.log = logger or logging.getLogger("cti.sink")

    async def enqueue(self, call: AgiEnvironment, request: Queue) -> None:
        contact = call.uniqueid
        queued = QueueRequest(
            "queue_request", contact, call.channel, call.caller_id, request.queue,
            dict(request.skills), int(request.priority), dict(request.attributes),
            request.customer_id, list(request.path), dict(request.inputs), request.language,
            time.time(), call.flow or None)
        await self.store.set_json(self.store.key("ivr", contact), queued.to_json(),
                                  ttl_s=self.ttl_s)

    async def callback(self, call: AgiEnvironment, request: Callback) -> None:
        """Append the caller's callback to the ``callbacks`` stream; the leader registers it
        with the Router (the caller's place is kept from now) and calls back (cti.offers)."""
        asked = CallbackRequest(
            "callback_request", f"cb-{call.uniqueid}", call.uniqueid, request.number,
            request.queue, int(request.priority), dict(request.attributes),
            request.customer_id, list(request.path), dict(request.inputs), request.language,
            time.time(), call.flow or None)
        await self.store.append(self.store.key("callbacks"), asked.to_json())
        self.log.info("call %s: callback to %s requested for queue %s", call.uniqueid,
                      request.number, request.queue, extra={"call_id": call.uniqueid})
