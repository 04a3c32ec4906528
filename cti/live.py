"""The live engine: the routing leader's asyncio driver around :class:`cti.engine.RoutingEngine`.

One :class:`LiveEngine` runs in the process that holds the routing lease. It owns the AMI
session (:class:`cti.ami.client.AmiClient`), the call tracker and the Router, and every input
goes through one inbox, consumed by one task, in order:

* AMI events -> the tracker -> call transitions (the IVR's hand-over is read from
  ``ivr:<contact>`` when the dialplan reports a caller parked);
* the ``commands`` stream (agent log in, ready, not ready, log out, end of wrap-up);
* the Router's timers (a tick at :meth:`acd.router.Router.next_deadline`);
* after every AMI (re)connect: the resynchronisation, then :meth:`RoutingEngine.reconcile`.

Each batch of inputs ends with **one fenced write** (:meth:`cti.leader.Leadership.commit`):
the Router events (``router:log``, replay format), the ``contacts`` and ``agents`` hashes, the
ids of the last applied command and callback request and, every ``snapshot_interval_s``, the
Router's snapshot. A
restarted or new leader restores the snapshot and replays the log written after it, so it
resumes with every caller still waiting and every agent in their state.

An offer is carried out by its own tracked task (:class:`cti.offers.OfferDesk`: screen-pop,
ack, lease check, Redirect); its failure is logged with the call id, and only a lost lease
stops the engine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from acd.codec import event_from_json, event_to_json
from acd.errors import AcdError
from acd.router import Router
from cti.aio import redis_call
from cti.ami.client import AmiClient, AmiSettings
from cti.ami.events import AmiEvent, UnknownEvent, UserEvent, VarSet
from cti.ami.snapshot import resynchronise
from cti.clock import Clock, WallClock
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
from cti.engine import RoutingEngine
from cti.leader import Batch, Leadership
from cti.notes import (
    NOTED_VARIABLES,
    AgentChanged,
    CallNote,
    ChannelVariable,
    HandedOver,
    IvrEntered,
    flow_of_agi,
)
from cti.offers import OfferDesk, OfferOptions, PopLead
from cti.ports import (
    CALLBACK_ATTEMPTS,
    CALLBACK_RETRY_S,
    CallbackRequest,
    Command,
    QueueRequest,
    QueueStatus,
    to_message,
)
from cti.tracker import CallTracker, TrackerConfig
from cti.transitions import CallTransition, CallView, Queued
from hotline.config.routing import Routing
from hotline.store import LeaseLost, StateStore, StoreError
from ivr.customers import CustomerLookup

T = TypeVar("T")


class CallObserver(Protocol):
    """Something else the leader drives from the calls it sees (the recordings, say).

    ``on_transition`` and ``on_command`` are called in order from the engine's inbox and must
    not block; ``run`` is a task of the engine, given the AMI client, while this process leads.
    ``call_id`` is the call the commanding agent is on (None if none).
    """

    def on_transition(self, transition: CallTransition) -> None: ...

    def on_command(self, command: Command, call_id: str | None) -> None: ...

    async def run(self, client: AmiClient) -> None: ...

    # Optional: ``on_note(note: cti.notes.CallNote) -> None``, called in the same order (the
    # IVR's hand-over just before its Queued, HOTLINE_* channel variables, agent changes).


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Tunables of the live engine (seconds are real seconds unless noted)."""

    snapshot_interval_s: float = 2.0  # engine-clock seconds between Router snapshots
    queue_status_interval_s: float = 0.5
    command_block_ms: int = 200
    max_batch: int = 1000
    offers: OfferOptions = field(default_factory=OfferOptions)
    callback_attempts: int = CALLBACK_ATTEMPTS  # a callback nobody answered is tried again,
    callback_retry_s: float = CALLBACK_RETRY_S  # this many engine-clock seconds later


class LiveEngine:
    """The routing leader's engine (see the module docstring). ``run()`` until cancelled."""

    def __init__(self, routing: Routing, *, store: StateStore, leadership: Leadership,
                 ami: AmiSettings, clock: Clock | None = None, timezone: str = "UTC",
                 lookup: CustomerLookup | None = None, tracker_config: TrackerConfig | None = None,
                 options: EngineOptions | None = None,
                 observers: Iterable[CallObserver] = (),
                 logger: logging.Logger | None = None) -> None:
        self.routing = routing
        self.store = store
        self.leadership = leadership
        self.ami_settings = ami
        self.clock = clock or WallClock()
        self.timezone = timezone
        self.lookup = lookup
        self.options = options or EngineOptions()
        self.tracker = CallTracker(tracker_config or TrackerConfig())
        self.observers = list(observers)  # e.g. the recordings (cti.recording_hook)
        self.log = logger or logging.getLogger("cti.live")
        self.engine: RoutingEngine | None = None
        self.client: AmiClient | None = None
        self.ready = asyncio.Event()  # restored and connected to Asterisk once
        self.offer_errors = 0
        self._inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self._deadline_changed = asyncio.Event()
        self._touched: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._fatal: asyncio.Future[None] | None = None
        self._last_snapshot = -float("inf")
        self._ring_wall = 0.0
        self._restored_contacts: list[dict[str, Any]] = []
        # a callback rings the agent as long as a routed call does (routing.yaml)
        offer_options = replace(self.options.offers,
                                callback_ring_s=routing.settings.ring_timeout_s)
        self.offers = OfferDesk(
            store, leadership, offer_options, lookup=lookup,
            contact_of=lambda contact: self.engine.contact(contact) if self.engine else None,
            report=self._inbox.put_nowait, logger=logging.getLogger("cti.offers"))

    @property
    def pop_leads(self) -> deque[PopLead]:
        """The pop lead of every ring so far (most recent 100,000)."""
        return self.offers.pop_leads

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        self._fatal = asyncio.get_running_loop().create_future()
        engine = self.engine = RoutingEngine(
            await self._restore(), callback_attempts=self.options.callback_attempts,
            callback_retry_s=self.options.callback_retry_s,
            logger=logging.getLogger("cti.engine"))
        await self._commit([AgentUpdated(engine.agent_status(a.id))
                            for a in self.routing.agents], snapshot=True)
        client = self.client = AmiClient(self.ami_settings, on_connected=self._on_connected,
                                         on_disconnected=self._on_disconnected,
                                         logger=logging.getLogger("cti.ami"))
        client.add_handler(self._on_ami_event)
        acks = self.store.redis.pubsub()
        await self.store.call(acks.subscribe(self.store.key("popack")))
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(client.run(), name="ami-client")
                tg.create_task(self._consume(), name="engine-inbox")
                tg.create_task(self._timers(), name="engine-timers")
                tg.create_task(self._commands(), name="engine-commands")
                tg.create_task(self._callbacks(), name="engine-callbacks")
                tg.create_task(self.offers.listen_acks(acks), name="engine-popacks")
                tg.create_task(self._queue_statuses(), name="engine-queue-status")
                tg.create_task(self._watch_fatal(), name="engine-fatal")
                for observer in self.observers:
                    tg.create_task(self._observe(observer, client),
                                   name=f"observer-{type(observer).__name__}")
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await client.close()
            await acks.aclose()
            await self._final_snapshot()

    async def _watch_fatal(self) -> None:
        assert self._fatal is not None
        await self._fatal

    async def _observe(self, observer: CallObserver, client: AmiClient) -> None:
        """Run an observer; its failure is logged and it starts again, routing goes on."""
        while True:
            try:
                await observer.run(client)
                return
            except Exception:
                self.log.exception("observer %s failed; restarting it",
                                   type(observer).__name__)
                await asyncio.sleep(1.0)

    def _die(self, exc: BaseException) -> None:
        if self._fatal is not None and not self._fatal.done():
            self._fatal.set_exception(exc)

    async def _final_snapshot(self) -> None:
        if self.engine is None or not self.leadership.is_leader:
            return
        try:
            await asyncio.shield(self._commit([], snapshot=True))
        except (LeaseLost, StoreError) as exc:
            self.log.warning("final Router snapshot not written: %s", exc)

    # ------------------------------------------------------------------ restore
    async def _restore(self) -> Router:
        store = self.store
        saved = await redis_call(store.get_json(store.key("router", "snapshot")))
        if saved:
            router = Router.restore(self.routing, saved["router"], self.timezone)
            after = saved.get("log_id") or "-"
        else:
            router = Router.from_config(self.routing, self.timezone)
            after = "-"
        replayed = 0
        while True:
            entries = await redis_call(store.read_stream(store.key("router", "log"),
                                                          after=after))
            for entry_id, data in entries:
                after = entry_id
                try:
                    router.handle(event_from_json(data))
                except AcdError as exc:  # cannot happen for a log this engine wrote
                    self.log.error("router:log entry %s refused on replay: %s", entry_id, exc)
                replayed += 1
            if len(entries) < 10_000:
                break
        contacts = await redis_call(store.get_fields(store.key("contacts")))
        self.log.warning("Router restored: %s, %d logged events replayed, %d contacts",
                         "snapshot" if saved else "empty", replayed, len(router.contacts()))
        self._restored_contacts = list(contacts.values())
        return router

    # ------------------------------------------------------------------ AMI side
    def _on_ami_event(self, event: AmiEvent) -> None:
        wall = time.time()
        now = self.clock.now()
        for tr in self.tracker.feed(event, at=now):
            self._inbox.put_nowait(("transition", tr, wall))
        if (isinstance(event, VarSet) and event.channel is not None
                and event.variable in NOTED_VARIABLES):
            leg = event.channel
            call_id = self.tracker.call_of_leg(leg.uniqueid) or leg.linkedid
            self._inbox.put_nowait(("note", ChannelVariable(call_id, now, leg.uniqueid,
                                                            event.variable, event.value)))
        elif (isinstance(event, UnknownEvent) and event.name == "Newexten"
              and event.message.get("Application") == "AGI"):
            flow = flow_of_agi(event.message.get("AppData") or "")
            call_id = event.message.get("Linkedid")
            if flow and call_id:
                self._inbox.put_nowait(("note", IvrEntered(call_id, now, flow)))
        elif (isinstance(event, UserEvent) and event.name == "HotlineCallback"
              and event.channel is not None):
            status = dict(event.headers).get("DialStatus", "") or "UNKNOWN"
            self._inbox.put_nowait(("callback_done", event.channel.linkedid, status))

    def _on_disconnected(self, error: BaseException | None) -> None:
        self.tracker.begin_resync()

    async def _on_connected(self, client: AmiClient) -> None:
        transitions = await resynchronise(client, self.tracker, self.clock.now)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(("resync", transitions, self.tracker.calls(), done))
        await done
        self.ready.set()

    # ------------------------------------------------------------------ the inbox
    async def _consume(self) -> None:
        assert self.engine is not None
        if self._restored_contacts:
            self.engine.load_contacts(self._restored_contacts)
        while True:
            items = [await self._inbox.get()]
            while not self._inbox.empty() and len(items) < self.options.max_batch:
                items.append(self._inbox.get_nowait())
            effects: list[Effect] = []
            applied: str | None = None
            callbacks_applied: str | None = None
            waiters: list[asyncio.Future[None]] = []
            for item in items:
                try:
                    effects += await self._handle(item)
                except (LeaseLost, StoreError):
                    raise
                except Exception:
                    # A bug on one call must not stop routing for the others.
                    call_id = getattr(item[1], "call_id", None) if len(item) > 1 else None
                    self.log.exception("engine failed on %s (call %s)", item[0], call_id,
                                       extra={"call_id": call_id})
                if item[0] == "command":
                    applied = item[1]
                elif item[0] == "callback" and item[1] is not None:
                    callbacks_applied = item[1]
                elif item[0] == "resync":
                    waiters.append(item[3])
            await self._commit(effects, applied=applied, callbacks_applied=callbacks_applied)
            now = self.clock.now()
            for effect in effects:
                if isinstance(effect, AgentUpdated):
                    self._note(AgentChanged(now, effect.status))
                elif isinstance(effect, CallbackSettled):
                    self._note(effect)
            await self._publish_statuses(effects)
            self._carry_out(effects)
            self._deadline_changed.set()
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def _handle(self, item: tuple[Any, ...]) -> list[Effect]:
        engine = self.engine
        assert engine is not None
        kind = item[0]
        now = self.clock.now()
        if kind == "transition":
            tr: CallTransition = item[1]
            self._ring_wall = item[2]
            if isinstance(tr, Queued):
                request = await self._fetch_request(tr.contact_id or tr.call_id)
                if request is not None:
                    self._note(HandedOver(tr.call_id, tr.at, request))
            self._notify(tr)
            return engine.transition(tr, now)
        if kind == "note":
            self._note(item[1])
            return []
        if kind == "command":
            command: Command = item[2]
            if command.type.startswith("recording_"):
                self._notify_command(command)
            return engine.command(command, now)
        if kind == "tick":
            return engine.tick(now)
        if kind == "redirected":
            return engine.redirected(item[1], item[2])
        if kind == "redirect_failed":
            return engine.redirect_failed(item[1], item[2])
        if kind == "callback":
            return engine.callback_requested(item[2], now)
        if kind == "callback_answered":
            return engine.callback_answered(item[1], item[2], item[3], now)
        if kind == "callback_missed":
            return engine.callback_missed(item[1], item[2], now)
        if kind == "callback_done":
            return engine.callback_done(item[1], item[2], now)
        if kind == "resync":
            return await self._resync(item[1], item[2], now)
        raise ValueError(f"unknown inbox item {kind!r}")

    async def _resync(self, transitions: list[CallTransition], calls: list[CallView],
                      now: float) -> list[Effect]:
        engine = self.engine
        assert engine is not None
        out: list[Effect] = []
        for tr in transitions:
            self._notify(tr)
            out += engine.transition(tr, now)
        for call in calls:
            if call.contact_id and engine.contact(call.contact_id) is None:
                await self._fetch_request(call.contact_id)
        out += engine.reconcile(calls, now)
        self.log.info("resynchronised with Asterisk: %d calls, %d transitions", len(calls),
                      len(transitions))
        return out

    def _notify(self, tr: CallTransition) -> None:
        for observer in self.observers:
            try:
                observer.on_transition(tr)
            except Exception:
                self.log.exception("observer %s failed on %s (call %s)",
                                   type(observer).__name__, type(tr).__name__, tr.call_id,
                                   extra={"call_id": tr.call_id})

    def _notify_command(self, command: Command) -> None:
        engine = self.engine
        assert engine is not None
        call_id = None
        try:
            contacts = engine.router.agent(command.agent).contacts
        except AcdError as exc:
            self.log.warning("command %s ignored: %s", command.type, exc)
            return
        for contact in contacts:
            record = engine.contact(contact)
            if record is not None and record.state == "connected":
                call_id = record.call_id
        for observer in self.observers:
            try:
                observer.on_command(command, call_id)
            except Exception:
                self.log.exception("observer %s failed on command %s (call %s)",
                                   type(observer).__name__, command.type, call_id,
                                   extra={"call_id": call_id})

    async def _fetch_request(self, contact: str) -> QueueRequest | None:
        data = await redis_call(self.store.get_json(self.store.key("ivr", contact)))
        if data is None or self.engine is None:
            return None
        request = QueueRequest.from_json(data)
        self.engine.note_request(request)
        return request

    def _note(self, note: CallNote) -> None:
        for observer in self.observers:
            on_note = getattr(observer, "on_note", None)
            if on_note is None:
                continue
            try:
                on_note(note)
            except Exception:
                call_id = getattr(note, "call_id", None)
                self.log.exception("observer %s failed on %s (call %s)",
                                   type(observer).__name__, type(note).__name__, call_id,
                                   extra={"call_id": call_id})

    # ------------------------------------------------------------------ writing and acting
    async def _commit(self, effects: list[Effect], *, applied: str | None = None,
                      callbacks_applied: str | None = None, snapshot: bool = False) -> None:
        batch = Batch(applied=applied, callbacks_applied=callbacks_applied)
        for effect in effects:
            if isinstance(effect, RouterLogged):
                batch.log.append(event_to_json(effect.event))
            elif isinstance(effect, ContactUpdated):
                batch.contacts[effect.contact] = effect.record
            elif isinstance(effect, AgentUpdated):
                batch.agents[effect.status.agent] = to_message(effect.status)
        now = self.clock.now()
        if self.engine is not None and (snapshot or now - self._last_snapshot
                                        >= self.options.snapshot_interval_s):
            batch.snapshot = self.engine.router.snapshot()
            self._last_snapshot = now
        if batch:
            await redis_call(self.leadership.commit(batch))

    def _carry_out(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, OfferPlaced):
                assert self.client is not None
                self._spawn(self.offers.offer(effect, self.client), f"offer-{effect.contact}",
                            effect.call_id)
            elif isinstance(effect, RingStarted):
                self.offers.ring_started(effect, self._ring_wall)
            elif isinstance(effect, QueuesTouched):
                self._touched.update(effect.queues)
            elif isinstance(effect, ContactUpdated) and effect.record is None:
                self.offers.forget(effect.contact)
            elif isinstance(effect, CallbackSettled) and effect.retry is not None:
                self._spawn(self.store.append(self.store.key("callbacks"),
                                              effect.retry.to_json()),
                            f"callback-retry-{effect.contact}", effect.call_id)

    def _spawn(self, coro: Any, name: str, call_id: str | None) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if isinstance(exc, LeaseLost):
                self._die(exc)
            elif exc is not None:
                self.offer_errors += 1
                self.log.error("task %s failed (call %s)", name, call_id, exc_info=exc,
                               extra={"call_id": call_id})
        task.add_done_callback(done)

    async def _publish_statuses(self, effects: list[Effect]) -> None:
        """Agent states on ``agent:<id>`` and ``supervisor``, one pipelined round trip."""
        store = self.store
        pipe = store.redis.pipeline(transaction=False)
        count = 0
        for effect in effects:
            if isinstance(effect, AgentUpdated):
                message = json.dumps(to_message(effect.status))
                pipe.publish(store.key("agent", effect.status.agent), message)
                pipe.publish(store.key("supervisor"), message)
                count += 1
        if count:
            await store.call(pipe.execute())

    # ------------------------------------------------------------------ timers, commands
    async def _timers(self) -> None:
        engine = self.engine
        assert engine is not None
        while True:
            self._deadline_changed.clear()
            deadline = engine.router.next_deadline()
            if deadline is None:
                await self._deadline_changed.wait()
                continue
            delay = deadline - self.clock.now()
            if delay > 0:
                sleeper = asyncio.ensure_future(self.clock.sleep(delay))
                changed = asyncio.ensure_future(self._deadline_changed.wait())
                _, pending = await asyncio.wait({sleeper, changed},
                                                return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                continue
            self._inbox.put_nowait(("tick",))
            await self._deadline_changed.wait()

    async def _commands(self) -> None:
        def parse(data: dict[str, Any]) -> Command:
            return Command(data["type"], data["agent"], data.get("by", "?"),
                           data.get("reason"), data.get("seconds"))

        def accept(entry_id: str, command: Command) -> None:
            self._inbox.put_nowait(("command", entry_id, command))

        await self._tail("commands", "command", parse, accept)

    async def _callbacks(self) -> None:
        """Callers who asked to be called back (the ``callbacks`` stream), in order; a retry
        waits for its ``due_at`` (engine clock) before it joins the queue again."""
        def accept(entry_id: str, request: CallbackRequest) -> None:
            delay = request.due_at - self.clock.now()
            if delay > 0:
                self._spawn(self._later(delay, ("callback", None, request)),
                            f"callback-due-{request.contact}", request.call_id)
            else:
                self._inbox.put_nowait(("callback", entry_id, request))

        await self._tail("callbacks", "callback", CallbackRequest.from_json, accept)

    async def _tail(self, stream: str, what: str, parse: Callable[[dict[str, Any]], T],
                    accept: Callable[[str, T], None]) -> None:
        """Read ``stream`` for ever, from the entry after ``<stream>:applied``; each entry's
        JSON goes through ``parse`` to ``accept`` in order, one that does not parse is logged
        (as a ``what``) and skipped."""
        store = self.store
        key = store.key(stream)
        last = await store.call(store.redis.get(store.key(stream, "applied")))
        last = last or "0-0"
        while True:
            rows = await store.call(store.redis.xread(
                {key: last}, count=500, block=self.options.command_block_ms))
            for _, entries in rows or ():
                for entry_id, fields in entries:
                    last = entry_id
                    try:
                        value = parse(json.loads(fields["json"]))
                    except (ValueError, KeyError, TypeError) as exc:
                        self.log.error("%s %s ignored: %s (%r)", what, entry_id, exc, fields)
                        continue
                    accept(entry_id, value)

    async def _later(self, delay: float, item: tuple[Any, ...]) -> None:
        await self.clock.sleep(delay)
        self._inbox.put_nowait(item)

    async def _queue_statuses(self) -> None:
        while True:
            await asyncio.sleep(self.options.queue_status_interval_s)
            if not self._touched or self.engine is None:
                continue
            queues, self._touched = self._touched, set()
            statuses = queue_statuses(self.engine.router, sorted(queues), self.clock.now())
            store = self.store
            await redis_call(store.put_fields(store.key("queues"),
                                              {s.queue: to_message(s) for s in statuses}))
            for status in statuses:
                await redis_call(store.publish(store.key("supervisor"), to_message(status)))


def queue_statuses(router: Router, queues: list[str], now: float) -> list[QueueStatus]:
    """The supervisors' picture of ``queues`` (waiting, longest wait, agents, metrics)."""
    report = router.metrics(now).to_dict()
    contacts = router.contacts()
    agents = router.agents()
    out = []
    for name in queues:
        waiting = [c for c in contacts if c.queue == name and c.state == "waiting"]
        serving = {c.agent for c in contacts if c.queue == name and c.agent is not None}
        out.append(QueueStatus(
            "queue_state", name, len(waiting),
            max((now - c.enqueue_t for c in waiting), default=0.0),
            sum(1 for a in agents if a.state == "ready"),
            sum(1 for a in agents if a.id in serving and a.state in ("busy", "reserved")),
            report["queues"].get(name, {})))
    return out
