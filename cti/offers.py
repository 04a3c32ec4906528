"""Carrying out an offer: the screen-pop first, then the ring.

When the Router offers a caller to an agent, the agent's screen must show the caller before
the phone rings. :class:`OfferDesk` does it in order, one task per offer:

1. look up the customer record (bounded by ``customer_timeout_s``);
2. publish the :class:`~cti.ports.ScreenPop` on ``pop:<agent>`` (built by :mod:`cti.pop`);
3. wait for the :class:`~cti.ports.PopAck` an API process sends once the pop is on the
   agent's WebSocket (at most ``pop_ack_timeout_s``: a missing screen never blocks a caller);
4. check that this process still leads (:meth:`cti.leader.Leadership.check`);
5. ``Redirect`` the caller's channel to ``hotline-connect,<extension>,1``; for a callback
   (no caller channel yet), ``Originate`` the agent's phone into
   ``hotline-callback,<number>,1``, which dials the customer once the agent answers.

When the agent's phone starts ringing, :meth:`OfferDesk.ring_started` records and logs the
pop lead time (pop delivered -> ring start) with the call and agent ids.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cti.aio import redis_call
from cti.ami.client import AmiClient
from cti.customers import customer_for_call
from cti.effects import OfferPlaced, RingStarted
from cti.engine import ContactRecord
from cti.errors import AmiActionError, AmiError
from cti.leader import Leadership
from cti.pop import pop_for_offer
from cti.ports import POP_ACK_TIMEOUT_S, PopAck, to_message
from hotline.store import StateStore
from ivr.customers import CustomerLookup

# What the desk reports back to the engine's inbox: ("redirected" | "redirect_failed" |
# "callback_missed", contact, agent) or ("callback_answered", contact, agent, call id).
Report = Callable[[tuple[str, ...]], None]


@dataclass(frozen=True, slots=True)
class OfferOptions:
    pop_ack_timeout_s: float = POP_ACK_TIMEOUT_S
    customer_timeout_s: float = 0.2
    connect_context: str = "hotline-connect"
    callback_context: str = "hotline-callback"
    callback_ring_s: float = 15.0  # the agent's ring for a callback (the engine: ring_timeout_s)
    lease_check_reuse_s: float = 0.05  # must stay far below the lease TTL
    redis_slots: int = 32  # Redis connections concurrent offers may hold at once


@dataclass(frozen=True, slots=True)
class PopLead:
    """One call's screen-pop lead: ``lead_s`` from pop delivered to ring start (>0: pop first)."""

    call_id: str
    contact: str
    agent: str
    lead_s: float
    acknowledged: bool


class OfferDesk:
    """Pops and Redirects for the live engine (see the module docstring)."""

    def __init__(self, store: StateStore, leadership: Leadership, options: OfferOptions, *,
                 contact_of: Callable[[str], ContactRecord | None], report: Report,
                 lookup: CustomerLookup | None = None,
                 logger: logging.Logger | None = None) -> None:
        self.store = store
        self.leadership = leadership
        self.options = options
        self.lookup = lookup
        self.log = logger or logging.getLogger("cti.offers")
        self.pop_leads: deque[PopLead] = deque(maxlen=100_000)
        self._contact_of = contact_of
        self._report = report
        self._acks: dict[str, asyncio.Future[PopAck]] = {}
        self._delivered: dict[str, tuple[float, bool]] = {}
        self._slots = asyncio.Semaphore(options.redis_slots)
        self._lease_check: asyncio.Future[None] | None = None
        self._lease_checked_at = -float("inf")

    async def offer(self, offer: OfferPlaced, client: AmiClient) -> None:
        """Pop, wait for the ack, check the lease, Redirect (one offer's task)."""
        where = {"call_id": offer.call_id, "agent": offer.agent}
        customer = await self._customer(offer)
        pop_id = uuid.uuid4().hex
        pop = pop_for_offer(dict(offer.pop), pop_id=pop_id, call_id=offer.call_id,
                            agent=offer.agent, customer=customer, now=time.time())
        future: asyncio.Future[PopAck] = asyncio.get_running_loop().create_future()
        self._acks[pop_id] = future
        try:
            async with self._slots:
                await redis_call(self.store.publish(self.store.key("pop", offer.agent),
                                                    to_message(pop)))
            try:
                ack = await asyncio.wait_for(future, self.options.pop_ack_timeout_s)
                self._delivered[offer.contact] = (ack.delivered_at, True)
            except TimeoutError:
                self._delivered[offer.contact] = (pop.sent_at, False)
                self.log.warning("call %s: no screen acknowledged the pop for agent %s within "
                                 "%.2f s; ringing anyway", offer.call_id, offer.agent,
                                 self.options.pop_ack_timeout_s, extra=where)
        finally:
            self._acks.pop(pop_id, None)
        record = self._contact_of(offer.contact)
        if record is None or record.state != "offered" or record.agent != offer.agent:
            return  # the caller hung up while the pop was on its way
        await self._check_lease()
        if offer.callback is not None:
            await self._call_back(offer, client)
            return
        channel = record.channel or offer.channel
        try:
            await client.redirect(channel, self.options.connect_context, offer.extension)
        except AmiActionError as exc:
            self.log.warning("call %s: Redirect of %s to agent %s refused: %s", offer.call_id,
                             channel, offer.agent, exc.reason, extra=where)
            self._report(("redirect_failed", offer.contact, offer.agent))
        except AmiError as exc:
            self.log.warning("call %s: Redirect to agent %s not sent (%s); sent again after "
                             "the resynchronisation", offer.call_id, offer.agent, exc,
                             extra=where)
            self._report(("redirect_failed", offer.contact, offer.agent))
        else:
            self._report(("redirected", offer.contact, offer.agent))

    async def _call_back(self, offer: OfferPlaced, client: AmiClient) -> None:
        """Ring the agent (Originate); on answer the dialplan dials the customer."""
        where = {"call_id": offer.call_id, "agent": offer.agent}
        assert offer.callback is not None
        try:
            result = await client.originate(
                f"PJSIP/{offer.extension}", context=self.options.callback_context,
                exten=offer.callback, priority=1,
                timeout_ms=int(self.options.callback_ring_s * 1000),
                caller_id=f'"Callback {offer.callback}" <{offer.callback}>',
                variables={"HOTLINE_CONTACT": offer.contact})
        except AmiActionError as exc:
            self.log.warning("callback %s: agent %s did not answer (%s)", offer.contact,
                             offer.agent, exc.reason, extra=where)
            self._report(("callback_missed", offer.contact, offer.agent))
            return
        except AmiError as exc:
            self.log.warning("callback %s: Originate to agent %s not sent (%s)", offer.contact,
                             offer.agent, exc, extra=where)
            self._report(("callback_missed", offer.contact, offer.agent))
            return
        done = result.completion
        call_id = (done.get("Uniqueid") if done is not None else None) or offer.contact
        self._report(("callback_answered", offer.contact, offer.agent, call_id))

    def ring_started(self, ring: RingStarted, ring_wall: float) -> None:
        """The offered agent's phone rings (``ring_wall``: epoch seconds the event arrived)."""
        delivered = self._delivered.pop(ring.contact, None)
        where = {"call_id": ring.call_id, "agent": ring.agent}
        if delivered is None:
            self.log.warning("call %s: agent %s rings with no pop delivered", ring.call_id,
                             ring.agent, extra=where)
            return
        at, acked = delivered
        lead = PopLead(ring.call_id, ring.contact, ring.agent, ring_wall - at, acked)
        self.pop_leads.append(lead)
        self.log.info("pop lead call=%s agent=%s lead_ms=%.1f acknowledged=%s", ring.call_id,
                      ring.agent, lead.lead_s * 1000, acked, extra=where)

    def forget(self, contact: str) -> None:
        """The contact left routing: drop what was kept for its ring."""
        self._delivered.pop(contact, None)

    async def listen_acks(self, pubsub: Any) -> None:
        """Resolve waiting offers from ``popack`` messages (``pubsub`` already subscribed)."""
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            try:
                data = json.loads(message["data"])
                ack = PopAck(data["type"], data["pop_id"], data["agent"],
                             float(data["delivered_at"]))
            except (ValueError, KeyError, TypeError) as exc:
                self.log.error("malformed pop ack %r: %s", message["data"], exc)
                continue
            future = self._acks.get(ack.pop_id)
            if future is not None and not future.done():
                future.set_result(ack)

    async def _check_lease(self) -> None:
        """:meth:`Leadership.check` before an AMI action; concurrent offers share one check,
        and a check stays good for ``lease_check_reuse_s`` of *monotonic* time (a stalled
        process sees that time pass, so it checks again before acting)."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._lease_checked_at < self.options.lease_check_reuse_s:
            return
        if self._lease_check is None or self._lease_check.done():
            started = loop.time()

            async def check() -> None:
                async with self._slots:
                    await redis_call(self.leadership.check())
                self._lease_checked_at = started

            self._lease_check = asyncio.ensure_future(check())
        await asyncio.shield(self._lease_check)

    async def _customer(self, offer: OfferPlaced) -> dict[str, Any] | None:
        """The caller's record for the pop; a slow or failing lookup never delays the ring
        by more than ``customer_timeout_s`` (the pop then shows the customer id alone)."""
        customer_id = offer.pop["customer_id"]
        fallback = {"id": customer_id} if customer_id else None
        if self.lookup is None:
            return fallback
        try:
            async with asyncio.timeout(self.options.customer_timeout_s):
                found = await customer_for_call(self.lookup, customer_id,
                                                offer.pop["caller_id"])
        except TimeoutError:
            self.log.warning("call %s: customer lookup timed out; pop without record",
                             offer.call_id, extra={"call_id": offer.call_id})
            return fallback
        except Exception:
            self.log.exception("call %s: customer lookup failed; pop without record",
                               offer.call_id, extra={"call_id": offer.call_id})
            return fallback
        return dict(found) if found is not None else fallback
