"""The live routing engine's brain: call transitions and agent commands in, effects out (pure).

Picture the dispatcher between the switch and the floor. The switch (the call tracker) says
"a caller is parked in the queue", "agent 1002's phone rings", "1002 did not answer", "the
caller hung up"; agents say "I'm ready", "break". The dispatcher turns each into the Router's
language (``acd.events``), lets the :class:`~acd.router.Router` decide, and turns its decisions
into work for the driver (:mod:`cti.effects`): log the event, update the board, pop the agent's
screen and *then* redirect the caller to the agent's phone.

How Asterisk's story maps onto the Router (docs/asterisk.md has the table):

* ``Queued`` (``UserEvent HotlineQueued``: the dialplan parked the caller with music on hold)
  -> ``ContactArrive`` with the IVR's queue, skills, priority, attributes and customer when the
  FastAGI ``queue`` step handed them over (:class:`~cti.ports.QueueRequest`), else the queue
  named in the event (an unknown queue falls back to routing.yaml's ``default_queue``).
* Router ``Offer`` -> :class:`~cti.effects.OfferPlaced` (pop, ack, Redirect).
* ``Ringing`` of the offered agent -> :class:`~cti.effects.RingStarted` (pop lead time).
* ``Answered`` by the offered agent -> ``OfferAccept`` (the agent is busy).
* ``Rona`` (``UserEvent HotlineRona``: the dialplan rang out and parked the caller again)
  -> ``OfferTimeout``: the agent goes not ready ('rona'), the contact keeps its place.
* ``Ended`` while waiting or ringing -> ``ContactAbandon``; after an answer -> ``ContactEnd``
  (wrap-up, then ready).
* ``Transferred`` (blind, by the connected agent) -> ``ContactEnd`` for the first agent (who
  goes to wrap-up: the contact was handled). The rest of the call is outside routing: when a
  Hotline agent answers the transferred call it is set not ready with reason ``transfer`` so it
  gets no offer meanwhile, and ready again when that call ends. A transfer that rings out (RONA
  back into the wait context) re-enters the queue under the same contact id.

Nothing here reads a clock or does I/O: every input carries ``now`` (epoch seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from acd import decisions as dec
from acd.errors import AcdError
from acd.events import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    ContactAbandon,
    ContactArrive,
    ContactEnd,
    Event,
    OfferAccept,
    OfferTimeout,
    Tick,
    WrapupEnd,
    WrapupExtend,
)
from acd.router import Router
from cti.effects import (
    AgentUpdated,
    CallbackSettled,
    ContactUpdated,
    Effect,
    OfferPlaced,
    QueuesTouched,
    RingStarted,
    RouterLogged,
)
from cti.ports import (
    CALLBACK_ATTEMPTS,
    CALLBACK_RETRY_S,
    AgentStatus,
    CallbackRequest,
    Command,
    QueueRequest,
)
from cti.transitions import (
    Answered,
    CallAdopted,
    CallPhase,
    CallStarted,
    CallTransition,
    CallView,
    Ended,
    Held,
    LegRole,
    Queued,
    Ringing,
    Rona,
    Transferred,
    Unheld,
)

TRANSFER_REASON = "transfer"

# Offer progress: the pop is on its way (no Redirect yet), the Redirect was sent, it failed
# (AMI down: sent again after the resynchronisation).
POPPING, REDIRECTED, REDIRECT_FAILED = "popping", "redirected", "redirect_failed"


@dataclass(slots=True)
class ContactRecord:
    """What the engine knows of a routed caller; the ``contacts`` hash holds it as JSON."""

    contact: str
    call_id: str
    channel: str
    caller_id: str
    queue: str
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    customer_id: str | None = None
    ivr_path: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    enqueued_at: float = 0.0
    state: str = "waiting"  # waiting, offered, connected, transferred
    agent: str | None = None
    offer: str | None = None  # POPPING, REDIRECTED, REDIRECT_FAILED while offered
    held: bool = False  # the agent put the caller on hold
    callback: str | None = None  # a callback contact: the number to call back
    attempt: int = 0  # which attempt of the callback this is (1, 2, ...)
    origin_call: str | None = None  # the call in which the caller asked for the callback

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContactRecord:
        return cls(**{k: data[k] for k in cls.__slots__ if k in data})  # type: ignore[attr-defined]


class RoutingEngine:
    """Drives one :class:`~acd.router.Router` from call transitions and commands."""

    def __init__(self, router: Router, *, callback_attempts: int = CALLBACK_ATTEMPTS,
                 callback_retry_s: float = CALLBACK_RETRY_S,
                 logger: logging.Logger | None = None) -> None:
        self.router = router
        self.callback_attempts = callback_attempts
        self.callback_retry_s = callback_retry_s
        self.log = logger or logging.getLogger("cti.engine")
        routing = router.routing
        self._default_queue = routing.settings.default_queue
        self._agents = {a.id: a for a in routing.agents}
        self._agent_of_ext = {a.extension: a.id for a in routing.agents}
        self._contacts: dict[str, ContactRecord] = {}
        self._call_contact: dict[str, str] = {}
        self._requests: dict[str, QueueRequest] = {}
        self._transfer_agents: dict[str, set[str]] = {}
        self._caller_ids: dict[str, str] = {}
        # callbacks are their own channel when some agent takes them, else voice calls
        self._callback_channel = ("callback" if any(a.capacity.get("callback", 0) > 0
                                                    for a in routing.agents) else "voice")
        self.refused = 0  # Router refusals (logged), for health checks and tests

    # ------------------------------------------------------------------ state in and out
    def load_contacts(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Take over the contacts a previous leader wrote (restart or failover)."""
        for data in records:
            record = ContactRecord.from_json(data)
            self._contacts[record.contact] = record
            self._call_contact[record.call_id] = record.contact

    def contact(self, contact_id: str) -> ContactRecord | None:
        return self._contacts.get(contact_id)

    def contacts(self) -> list[ContactRecord]:
        return list(self._contacts.values())

    def note_request(self, request: QueueRequest) -> None:
        """The IVR's hand-over for ``request.contact``; used when the caller is parked."""
        self._requests[request.contact] = request

    def agent_id(self, extension: str | None) -> str | None:
        return None if extension is None else self._agent_of_ext.get(extension)

    # ------------------------------------------------------------------ inputs
    def tick(self, now: float) -> list[Effect]:
        return self._apply(Tick(self._t(now)))

    def command(self, command: Command, now: float) -> list[Effect]:
        t = self._t(now)
        event: Event
        match command.type:
            case "agent_login":
                event = AgentLogin(t, command.agent)
            case "agent_ready":
                event = AgentReady(t, command.agent)
            case "agent_not_ready":
                event = AgentNotReady(t, command.agent, command.reason or "break")
            case "agent_logout":
                event = AgentLogout(t, command.agent)
            case "wrapup_end":
                event = WrapupEnd(t, command.agent)
            case "wrapup_extend":
                event = WrapupExtend(t, command.agent, command.seconds)
            case _:
                return []  # recording commands are the recording hook's, not the Router's
        return self._apply(event, who=f"command {command.type} by {command.by}")

    def transition(self, tr: CallTransition, now: float) -> list[Effect]:
        match tr:
            case CallStarted(role=LegRole.CALLER):
                self._caller_ids[tr.call_id] = tr.caller_id_num
            case Queued():
                return self._queued(tr.call_id, tr.channel, tr.contact_id, tr.queue, now)
            case Ringing():
                return self._ringing(tr)
            case Answered():
                return self._answered(tr, now)
            case Rona():
                return self._rona(tr, now)
            case Held() | Unheld():
                record = self._record_of_call(tr.call_id)
                if record is not None and record.state == "connected":
                    record.held = isinstance(tr, Held)
                    return [ContactUpdated(record.contact, record.to_json())]
            case Transferred():
                return self._transferred(tr, now)
            case Ended():
                return self._ended(tr, now)
            case CallAdopted() if tr.contact_id and tr.contact_id in self._contacts:
                self._call_contact[tr.call_id] = tr.contact_id
        return []

    def redirected(self, contact_id: str, agent: str) -> list[Effect]:
        record = self._offered_to(contact_id, agent)
        if record is None:
            return []
        record.offer = REDIRECTED
        return [ContactUpdated(contact_id, record.to_json())]

    def redirect_failed(self, contact_id: str, agent: str) -> list[Effect]:
        """The Redirect could not be sent (AMI down): sent again after the resync."""
        record = self._offered_to(contact_id, agent)
        if record is None:
            return []
        record.offer = REDIRECT_FAILED
        return [ContactUpdated(contact_id, record.to_json())]

    def reconcile(self, calls: Iterable[CallView], now: float) -> list[Effect]:
        """Compare the Router's contacts with Asterisk's calls after a (re)connect.

        Callers gone meanwhile are abandoned (or ended, if they had been answered); a ring
        that ended unseen is a RONA; an offer whose Redirect never happened is made again; a
        caller parked unseen joins the queue.
        """
        calls = list(calls)
        by_contact = {c.contact_id: c for c in calls if c.contact_id}
        out: list[Effect] = []
        for view in self.router.contacts():
            record = self._contacts.get(view.id)
            if record is not None and record.callback is not None:
                out += self._reconcile_callback(record, view.state, view.agent, calls, now)
                continue
            call = by_contact.get(view.id)
            if call is None:
                event: Event = (ContactEnd(self._t(now), view.id) if view.state == "connected"
                                else ContactAbandon(self._t(now), view.id, "hangup"))
                self.log.warning("contact %s: its call is gone after the resync; %s", view.id,
                                 type(event).__name__)
                out += self._apply(event)
                continue
            if record is None:
                record = self._record_for(call, view.queue, now)
            self._call_contact[call.call_id] = view.id
            if call.caller is not None:
                record.channel = call.caller.channel
            if view.state != "offered" or view.agent is None:
                continue
            agent_ext = self._agents[view.agent].extension
            if call.phase in (CallPhase.TALKING, CallPhase.HELD) and call.agent == agent_ext:
                out += self._apply(OfferAccept(self._t(now), view.id, view.agent))
            elif call.phase is CallPhase.WAITING:
                if record.offer == REDIRECTED:
                    self.log.info("contact %s: the ring at agent %s ended unseen: RONA",
                                  view.id, view.agent)
                    out += self._apply(OfferTimeout(self._t(now), view.id, view.agent))
                else:
                    out.append(self._offer_effect(record, view.agent, call.started_at))
        routed = {c.id for c in self.router.contacts()}
        for record in [r for r in self._contacts.values()
                       if r.contact not in routed and r.callback is None]:
            # Outside routing (a transferred call): forget it once its call is gone, route it
            # again if the dialplan parked it meanwhile (the transfer rang out).
            call = by_contact.get(record.contact)
            if call is None or call.phase is CallPhase.WAITING:
                del self._contacts[record.contact]
                out.append(ContactUpdated(record.contact, None))
        for call in by_contact.values():
            if call.phase is CallPhase.WAITING and call.contact_id not in self._contacts:
                caller = call.caller
                out += self._queued(call.call_id, caller.channel if caller else "",
                                    call.contact_id or "", call.queue or "", now)
        self._requests.clear()  # hand-overs of calls not parked (talking already) are moot
        return out

    # ------------------------------------------------------------------ callbacks
    def callback_requested(self, request: CallbackRequest, now: float) -> list[Effect]:
        """Register a caller's callback: a contact that waits (from ``request.at``) with no
        channel until the Router offers it (docs/asterisk.md, callbacks)."""
        if request.contact in self._contacts:
            return []  # a stream entry read again after a failover
        queue = self._known_queue(request.queue, request.contact)
        record = ContactRecord(
            request.contact, request.contact, "", request.number, queue,
            priority=request.priority, attributes=dict(request.attributes),
            customer_id=request.customer_id, ivr_path=list(request.ivr_path),
            inputs=dict(request.inputs), enqueued_at=request.at, callback=request.number,
            attempt=request.attempt, origin_call=request.call_id)
        self._contacts[record.contact] = record
        ok, effects = self._route(ContactArrive(
            self._t(now), record.contact, queue, record.priority, {}, dict(record.attributes),
            record.customer_id, channel=self._callback_channel))
        if not ok:
            del self._contacts[record.contact]
            return [*effects, ContactUpdated(record.contact, None)]
        return [ContactUpdated(record.contact, record.to_json()), *effects]

    def callback_answered(self, contact_id: str, agent: str, call_id: str,
                          now: float) -> list[Effect]:
        """The agent answered the originated call (``call_id``): now the customer is dialled."""
        record = self._offered_to(contact_id, agent)
        if record is None:
            return []
        record.call_id = call_id
        self._call_contact[call_id] = contact_id
        return self._apply(OfferAccept(self._t(now), contact_id, agent))

    def callback_missed(self, contact_id: str, agent: str, now: float) -> list[Effect]:
        """The agent's phone did not answer the Originate: a RONA, the callback keeps its place."""
        if self._offered_to(contact_id, agent) is None:
            return []
        return self._apply(OfferTimeout(self._t(now), contact_id, agent))

    def callback_done(self, call_id: str, dial_status: str, now: float) -> list[Effect]:
        """``UserEvent HotlineCallback`` of the callback's call: the customer leg's result."""
        contact_id = self._call_contact.pop(call_id, None)
        record = self._contacts.get(contact_id or "")
        if record is None or record.callback is None or contact_id is None:
            return []
        out = (self._apply(ContactEnd(self._t(now), contact_id))
               if record.state == "connected" else [])
        self._contacts.pop(contact_id, None)
        retry = None
        if dial_status != "ANSWER" and record.attempt < self.callback_attempts:
            origin = record.origin_call or contact_id
            retry = CallbackRequest(
                "callback_request", f"cb-{origin}-{record.attempt + 1}", origin,
                record.callback, record.queue, record.priority, dict(record.attributes),
                record.customer_id, list(record.ivr_path), dict(record.inputs), "",
                record.enqueued_at, None, record.attempt + 1, now + self.callback_retry_s)
        elif dial_status != "ANSWER":
            self.log.warning("callback %s to %s: attempt %d ended %s; given up", contact_id,
                             record.callback, record.attempt, dial_status)
        return [*out, ContactUpdated(contact_id, None), CallbackSettled(
            contact_id, call_id, now, record.agent, record.callback, record.queue,
            record.customer_id, record.origin_call or contact_id, record.attempt, dial_status,
            retry)]

    def _reconcile_callback(self, record: ContactRecord, state: str, agent: str | None,
                            calls: Iterable[CallView], now: float) -> list[Effect]:
        """A callback has no call until its Originate answers. After an outage: a waiting one
        waits on; an offered one whose agent call is up was accepted, else its Originate's
        fate is unknown and it counts as a RONA (the callback keeps its place); a connected
        one whose call is gone ended (no retry: the customer leg's result is unknown)."""
        live = {c.call_id for c in calls}
        t = self._t(now)
        if state == "offered" and agent is not None:
            if record.call_id in live:
                return self._apply(OfferAccept(t, record.contact, agent))
            return self._apply(OfferTimeout(t, record.contact, agent))
        if state == "connected" and record.call_id not in live:
            self._call_contact.pop(record.call_id, None)
            return self._apply(ContactEnd(t, record.contact))
        return []

    def _known_queue(self, queue: str, contact_id: str) -> str:
        if queue in self.router.queue_names():
            return queue
        fallback = self._default_queue or self.router.queue_names()[0]
        self.log.warning("contact %s: queue %r is not in routing.yaml; using %r", contact_id,
                         queue, fallback)
        return fallback

    # ------------------------------------------------------------------ transitions
    def _queued(self, call_id: str, channel: str, contact_id: str, queue: str,
                now: float) -> list[Effect]:
        contact_id = contact_id or call_id
        if contact_id in self._contacts:
            return []  # a re-announcement of a caller already routed
        request = self._requests.pop(contact_id, None)
        queue_name = self._known_queue(request.queue if request is not None else queue,
                                       contact_id)
        record = ContactRecord(contact_id, call_id, channel, self._caller_ids.get(call_id, ""),
                               queue_name, enqueued_at=now)
        if request is not None:
            record.caller_id = request.caller_id or record.caller_id
            record.priority = request.priority
            record.skills = dict(request.skills)
            record.attributes = dict(request.attributes)
            record.customer_id = request.customer_id
            record.ivr_path = list(request.ivr_path)
            record.inputs = dict(request.inputs)
            record.channel = channel or request.channel
        self._contacts[contact_id] = record
        self._call_contact[call_id] = contact_id
        out: list[Effect] = [ContactUpdated(contact_id, record.to_json())]
        event = ContactArrive(self._t(now), contact_id, queue_name, record.priority,
                              dict(record.skills), dict(record.attributes), record.customer_id)
        ok, effects = self._route(event)
        if not ok and record.skills:
            # The IVR asked for a skill routing.yaml lacks: the caller must still reach
            # someone, so the queue's own requirements apply.
            record.skills = {}
            ok, more = self._route(ContactArrive(
                event.t, contact_id, queue_name, record.priority, {}, event.attributes,
                record.customer_id))
            effects += more
        if not ok:
            self._contacts.pop(contact_id, None)
            self._call_contact.pop(call_id, None)
            return [*effects, ContactUpdated(contact_id, None)]
        return out + effects

    def _ringing(self, tr: Ringing) -> list[Effect]:
        record = self._record_of_call(tr.call_id)
        agent = self.agent_id(tr.agent)
        if record is None or agent is None or record.state != "offered" or record.agent != agent:
            return []
        return [RingStarted(record.contact, tr.call_id, agent)]

    def _answered(self, tr: Answered, now: float) -> list[Effect]:
        record = self._record_of_call(tr.call_id)
        agent = self.agent_id(tr.agent)
        if record is None or agent is None:
            return []
        if record.state == "offered" and record.agent == agent:
            return self._apply(OfferAccept(self._t(now), record.contact, agent))
        if record.state == "transferred":
            self._transfer_agents.setdefault(tr.call_id, set()).add(agent)
            if self.router.agent(agent).state == "ready":
                return self._apply(AgentNotReady(self._t(now), agent, TRANSFER_REASON))
            return []
        self.log.warning("call %s: agent %s answered contact %s, which is %s%s", tr.call_id,
                         agent, record.contact, record.state,
                         f" to {record.agent}" if record.agent else "")
        return []

    def _rona(self, tr: Rona, now: float) -> list[Effect]:
        record = self._contacts.get(tr.contact_id) or self._record_of_call(tr.call_id)
        agent = self.agent_id(tr.agent)
        if record is None:
            return []
        if record.state == "transferred":
            # A transfer rang out and the dialplan parked the caller: queue it again.
            del self._contacts[record.contact]
            return self._queued(tr.call_id, record.channel, record.contact, record.queue, now)
        if agent is None or record.state != "offered" or record.agent != agent:
            return []
        return self._apply(OfferTimeout(self._t(now), record.contact, agent))

    def _transferred(self, tr: Transferred, now: float) -> list[Effect]:
        record = self._record_of_call(tr.call_id)
        if record is None or record.state != "connected":
            return []
        self.log.info("call %s: agent %s transferred contact %s to %s", tr.call_id,
                      record.agent, record.contact, tr.target)
        out = self._apply(ContactEnd(self._t(now), record.contact))
        # The contact left the Router (ContactDone removed the record): keep it for the call.
        record.state, record.agent, record.offer, record.held = "transferred", None, None, False
        self._contacts[record.contact] = record
        return [*out, ContactUpdated(record.contact, record.to_json())]

    def _ended(self, tr: Ended, now: float) -> list[Effect]:
        self._caller_ids.pop(tr.call_id, None)
        contact_id = self._call_contact.pop(tr.call_id, None) or tr.contact_id
        out: list[Effect] = []
        for agent in self._transfer_agents.pop(tr.call_id, set()):
            view = self.router.agent(agent)
            if view.state == "not_ready" and view.reason == TRANSFER_REASON:
                out += self._apply(AgentReady(self._t(now), agent))
        record = self._contacts.get(contact_id or "")
        if record is None or contact_id is None:
            return out
        if record.state == "transferred":
            del self._contacts[contact_id]
            return [*out, ContactUpdated(contact_id, None)]
        event: Event = (ContactEnd(self._t(now), contact_id) if record.state == "connected"
                        else ContactAbandon(self._t(now), contact_id, "hangup"))
        return out + self._apply(event)

    # ------------------------------------------------------------------ the Router
    def _apply(self, event: Event, who: str = "") -> list[Effect]:
        return self._route(event, who)[1]

    def _route(self, event: Event, who: str = "") -> tuple[bool, list[Effect]]:
        """Hand ``event`` to the Router; ``(accepted, effects)``."""
        try:
            decisions = self.router.handle(event)
        except AcdError as exc:
            self.refused += 1
            self.log.warning("Router refused %s%s: %s", type(event).__name__,
                             f" ({who})" if who else "", exc)
            # The Router is left as after tick(t): log exactly that, so a replay matches.
            timers = list(getattr(exc, "decisions", []))
            return False, [RouterLogged(Tick(event.t)), *self._decide(timers)]
        return True, [RouterLogged(event), *self._decide(decisions)]

    def _decide(self, decisions: list[dec.Decision]) -> list[Effect]:
        out: list[Effect] = []
        touched: set[str] = set()
        for d in decisions:
            if isinstance(d, dec.Offer):
                record = self._contacts.get(d.contact)
                if record is None:
                    self.log.error("Router offered unknown contact %s to %s", d.contact, d.agent)
                    continue
                record.state, record.agent, record.offer = "offered", d.agent, POPPING
                record.queue = d.queue
                out.append(ContactUpdated(d.contact, record.to_json()))
                out.append(self._offer_effect(record, d.agent, d.t))
                touched.add(d.queue)
            elif isinstance(d, dec.AgentStateChanged):
                out.append(AgentUpdated(self.agent_status(d.agent, d.t)))
                if d.state == "busy":
                    self._connected(d.agent, out)
            elif isinstance(d, dec.ContactDone):
                self._contacts.pop(d.contact, None)
                out.append(ContactUpdated(d.contact, None))
                touched.add(d.queue)
            elif isinstance(d, dec.Queued | dec.Escalated | dec.CallbackOffered):
                record = self._contacts.get(d.contact)
                if record is not None and isinstance(d, dec.Queued):
                    record.state, record.agent, record.offer = "waiting", None, None
                    out.append(ContactUpdated(d.contact, record.to_json()))
                touched.add(d.queue)
            elif isinstance(d, dec.Overflowed):
                record = self._contacts.get(d.contact)
                if record is not None:
                    record.queue = d.to_queue
                    out.append(ContactUpdated(d.contact, record.to_json()))
                touched.update((d.from_queue, d.to_queue))
        if touched:
            out.append(QueuesTouched(tuple(sorted(touched))))
        return out

    def _connected(self, agent: str, out: list[Effect]) -> None:
        for contact_id in self.router.agent(agent).contacts:
            record = self._contacts.get(contact_id)
            if record is not None and record.state == "offered" and record.agent == agent:
                record.state, record.offer = "connected", None
                out.append(ContactUpdated(contact_id, record.to_json()))

    def agent_status(self, agent_id: str, since: float | None = None) -> AgentStatus:
        view = self.router.agent(agent_id)
        agent = self._agents[agent_id]
        return AgentStatus("agent_state", agent_id, agent.name, agent.extension, view.state,
                           view.reason or None, view.since if since is None else since,
                           list(view.contacts))

    # ------------------------------------------------------------------ helpers
    def _offer_effect(self, record: ContactRecord, agent: str, now: float) -> OfferPlaced:
        pop = {
            "contact": record.contact, "queue": record.queue, "caller_id": record.caller_id,
            "wait_s": max(0.0, now - record.enqueued_at), "customer_id": record.customer_id,
            "ivr_path": list(record.ivr_path), "inputs": dict(record.inputs),
            "attributes": dict(record.attributes),
        }
        return OfferPlaced(record.contact, record.call_id, agent, self._agents[agent].extension,
                           record.channel, pop, record.callback)

    def _offered_to(self, contact_id: str, agent: str) -> ContactRecord | None:
        record = self._contacts.get(contact_id)
        if record is None or record.state != "offered" or record.agent != agent:
            return None
        return record

    def _record_of_call(self, call_id: str) -> ContactRecord | None:
        contact_id = self._call_contact.get(call_id)
        return None if contact_id is None else self._contacts.get(contact_id)

    def _record_for(self, call: CallView, queue: str, now: float) -> ContactRecord:
        caller = call.caller
        record = ContactRecord(call.contact_id or call.call_id, call.call_id,
                               caller.channel if caller else "", "", queue,
                               enqueued_at=call.started_at)
        self._contacts[record.contact] = record
        return record

    def _t(self, now: float) -> float:
        # The Router refuses time going backwards; the driver's clock may jitter by a hair.
        return max(now, self.router.now)
