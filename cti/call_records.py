"""Call records: one complete ``calls`` row per call, written by the routing leader at hang-up.

The leader sees every call from start to end (the tracker's transitions), what the IVR handed
over (:class:`cti.ports.QueueRequest`: flow, customer, IVR path, attributes) and the IVR's
outcome (the ``HOTLINE_OUTCOME`` channel variable, seen as an AMI ``VarSet``). The
:class:`CallLedger` keeps that per live call (pure: every input carries its time) and, when
the call ends, returns the row for :class:`CallRecords` to upsert.

Outcome of a call (``calls.outcome``):

=================  ==============================================================
``answered``       an agent answered (the last one, if the call was re-offered)
``transferred``    an agent transferred the caller on (blind or attended)
``abandoned``      the caller hung up while waiting or ringing, or inside the IVR
``self_service``   the IVR finished the call itself (``HOTLINE_OUTCOME`` hangup)
``voicemail``      the IVR sent the caller to voicemail
``callback``       the caller asked to be called back (``HOTLINE_OUTCOME`` callback); the
                   call back is a call of its own, also ``callback``, whose attributes say
                   ``callback_of`` (the asking call), ``attempt`` and ``dial_status``
``lost``           the call vanished during an AMI outage or an Asterisk restart
=================  ==============================================================

Times: ``wait_s`` from queued to answer (or to the end, unanswered); ``hold_s`` the time on
hold; ``talk_s`` from answer to end without the hold; ``wrap_s`` the agent's wrap-up after
the call, written by a second upsert when the wrap-up ends. The write is an ``INSERT ... ON
CONFLICT DO UPDATE`` (SQLite and PostgreSQL) that leaves ``satisfaction``, ``flags`` and
``recording_failed`` alone, so it does not matter whether the recordings inserted a minimal
row first, nor which of two processes writes first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from cti.effects import CallbackSettled
from cti.notes import AgentChanged, CallNote, ChannelVariable, HandedOver, IvrEntered
from cti.ports import Command, QueueRequest
from cti.transitions import (
    REASON_LOST,
    Answered,
    CallAdopted,
    CallStarted,
    CallTransition,
    Ended,
    Held,
    LegRole,
    Queued,
    Transferred,
    Unheld,
)
from hotline.db import Database, tables
from hotline.errors import HotlineError

IVR_OUTCOMES = {"hangup": "self_service", "voicemail": "voicemail", "callback": "callback",
                "transfer": "transferred"}
# columns the call record owns; the others (satisfaction, flags, recording_failed) are kept
OWNED = ("caller_id", "flow", "queue", "agent_id", "customer_id", "ivr_path", "attributes",
         "started_at", "queued_at", "answered_at", "ended_at", "outcome", "end_cause",
         "hung_up_by", "wait_s", "talk_s", "hold_s")


@dataclass(slots=True)
class _Live:
    call_id: str
    started_at: float
    caller_id: str = ""
    flow: str | None = None
    queue: str | None = None
    agent: str | None = None  # extension of the agent who answered last
    customer_id: str | None = None
    ivr_path: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    queued_at: float | None = None
    answered_at: float | None = None
    held_since: float | None = None
    hold_s: float = 0.0
    transferred: bool = False
    ivr_outcome: str | None = None
    callback: dict[str, Any] | None = None  # a call back: attempt, status, asking call


class CallLedger:
    """Live calls' facts; ``ended`` returns the complete row (pure, no I/O)."""

    def __init__(self, agent_of_extension: dict[str, str] | None = None) -> None:
        self._agents = dict(agent_of_extension or {})
        self._calls: dict[str, _Live] = {}
        self._wrap: dict[str, tuple[str, float]] = {}  # agent id -> (call id, wrap start)

    def __len__(self) -> int:
        return len(self._calls)

    def _call(self, call_id: str, at: float) -> _Live:
        return self._calls.setdefault(call_id, _Live(call_id, at))

    def transition(self, tr: CallTransition) -> dict[str, Any] | None:
        """Note ``tr``; on ``Ended`` the row to write (``None`` otherwise)."""
        match tr:
            case CallStarted(role=LegRole.CALLER):
                call = self._call(tr.call_id, tr.at)
                call.caller_id = call.caller_id or tr.caller_id_num
            case CallAdopted():
                call = self._call(tr.call_id, tr.started_at)
                call.caller_id = call.caller_id or tr.caller_id_num
            case Queued():
                call = self._call(tr.call_id, tr.at)
                call.queue = call.queue or tr.queue
                call.queued_at = call.queued_at if call.queued_at is not None else tr.at
            case Answered(agent=str() as agent):
                call = self._call(tr.call_id, tr.at)
                call.agent = agent
                call.answered_at = call.answered_at if call.answered_at is not None else tr.at
            case Held():
                call = self._call(tr.call_id, tr.at)
                call.held_since = call.held_since if call.held_since is not None else tr.at
            case Unheld():
                self._unhold(self._call(tr.call_id, tr.at), tr.at)
            case Transferred():
                self._call(tr.call_id, tr.at).transferred = True
            case Ended():
                return self._ended(tr)
        return None

    def handed_over(self, call_id: str, at: float, request: QueueRequest) -> None:
        """What the IVR knew when it queued the caller."""
        call = self._call(call_id, at)
        call.flow = request.flow or call.flow
        call.queue = request.queue or call.queue
        call.customer_id = request.customer_id or call.customer_id
        call.ivr_path = list(request.ivr_path)
        call.attributes = dict(request.attributes)
        call.caller_id = call.caller_id or request.caller_id

    def variable(self, call_id: str, at: float, name: str, value: str) -> None:
        if name == "HOTLINE_OUTCOME":
            self._call(call_id, at).ivr_outcome = value
        elif name == "HOTLINE_FLOW" and value:
            self._call(call_id, at).flow = value

    def called_back(self, settled: CallbackSettled) -> dict[str, Any]:
        """The callback call ``settled.call_id`` ended: the columns that say so. Its hang-up
        may come before or after (the customer's leg may end the call first), so the live
        call is marked *and* the columns are returned for an update of a row already
        written."""
        info = {"callback_of": settled.origin_call, "attempt": settled.attempt,
                "dial_status": settled.dial_status}
        call = self._calls.get(settled.call_id)
        if call is not None:
            call.callback = info
            call.caller_id, call.queue = settled.number, settled.queue
            call.customer_id = settled.customer_id
            call.agent = call.agent or settled.agent
        return {"id": settled.call_id, "outcome": "callback", "caller_id": settled.number,
                "queue": settled.queue, "agent_id": settled.agent,
                "customer_id": settled.customer_id, "attributes": info}

    def wrap_up(self, agent: str, state: str, at: float) -> dict[str, Any] | None:
        """An agent's state changed: the row update ``{id, wrap_s}`` when a wrap-up ended."""
        started = self._wrap.pop(agent, None)
        if state == "wrap_up" and started is None:
            return None
        if started is None or state == "wrap_up":
            if started is not None:
                self._wrap[agent] = started
            return None
        call_id, since = started
        return {"id": call_id, "wrap_s": round(max(0.0, at - since), 3)}

    def _unhold(self, call: _Live, at: float) -> None:
        if call.held_since is not None:
            call.hold_s += max(0.0, at - call.held_since)
            call.held_since = None

    def _ended(self, tr: Ended) -> dict[str, Any]:
        call = self._calls.pop(tr.call_id, None) or _Live(tr.call_id, tr.started_at)
        self._unhold(call, tr.at)
        end = tr.at
        agent = self._agents.get(call.agent or tr.agent or "", call.agent or tr.agent)
        if call.callback is not None:
            outcome = "callback"
            call.attributes = {**call.attributes, **call.callback}
        elif tr.reason == REASON_LOST:
            outcome = "lost"
        elif call.transferred:
            outcome = "transferred"
        elif call.answered_at is not None:
            outcome = "answered"
        elif call.queued_at is None and call.ivr_outcome in IVR_OUTCOMES:
            outcome = IVR_OUTCOMES[call.ivr_outcome]
        else:
            outcome = "abandoned"
        if call.answered_at is not None and agent is not None and outcome == "answered":
            self._wrap[agent] = (call.call_id, end)
        wait = None
        if call.queued_at is not None:
            wait = (call.answered_at if call.answered_at is not None else end) - call.queued_at
        talk = None
        if call.answered_at is not None:
            talk = max(0.0, end - call.answered_at - call.hold_s)
        return {
            "id": call.call_id, "caller_id": call.caller_id or None, "flow": call.flow,
            "queue": call.queue, "agent_id": agent, "customer_id": call.customer_id,
            "ivr_path": call.ivr_path, "attributes": call.attributes,
            "started_at": _utc(min(call.started_at, tr.started_at)),
            "queued_at": _utc(call.queued_at), "answered_at": _utc(call.answered_at),
            "ended_at": _utc(end), "outcome": outcome, "end_cause": tr.cause_text or None,
            "hung_up_by": tr.hangup_by, "wait_s": _round(wait), "talk_s": _round(talk),
            "hold_s": round(call.hold_s, 3) if call.answered_at is not None else None,
        }


def _utc(at: float | None) -> dt.datetime | None:
    return None if at is None else dt.datetime.fromtimestamp(at, dt.UTC)


def _round(value: float | None) -> float | None:
    return None if value is None else round(max(0.0, value), 3)


class CallRecords:
    """Writes call rows with an upsert (see the module docstring); blocking: run in a thread."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def upsert(self, row: dict[str, Any]) -> None:
        """Insert ``row`` or update the columns it carries (``id`` and ``started_at`` needed on
        insert; an update of ``wrap_s`` alone touches only that column of an existing row)."""
        values = {"ivr_path": [], "attributes": {}, "flags": [], "recording_failed": False,
                  **row}
        table = tables.calls
        with self.database.begin() as conn:
            if "started_at" not in row:
                conn.execute(table.update().where(table.c.id == row["id"])
                             .values({k: v for k, v in row.items() if k != "id"}))
                return
            dialect = conn.dialect.name
            insert: Any = (postgresql.insert(table) if dialect == "postgresql"
                           else sqlite.insert(table))
            statement = insert.values(values)
            changed = {k: statement.excluded[k] for k in row if k in OWNED and k != "id"}
            # the earliest start wins (the recordings' minimal row may carry a later one)
            changed["started_at"] = sa.func.min(table.c.started_at,
                                                statement.excluded.started_at) \
                if dialect == "sqlite" else sa.func.least(table.c.started_at,
                                                          statement.excluded.started_at)
            for keep in ("queue", "agent_id", "customer_id"):
                if keep in changed:
                    changed[keep] = sa.func.coalesce(statement.excluded[keep], table.c[keep])
            conn.execute(statement.on_conflict_do_update(index_elements=[table.c.id],
                                                         set_=changed))

    def satisfaction(self, call_id: str, score: int) -> None:
        table = tables.calls
        with self.database.begin() as conn:
            conn.execute(table.update().where(table.c.id == call_id)
                         .values(satisfaction=score))

    def get(self, call_id: str) -> dict[str, Any] | None:
        with self.database.begin() as conn:
            found = conn.execute(sa.select(tables.calls)
                                 .where(tables.calls.c.id == call_id)).first()
        return None if found is None else dict(found._mapping)


class CallRecordsHook:
    """A :class:`cti.live.CallObserver` that writes every call's row when it ends."""

    def __init__(self, records: CallRecords, agent_of_extension: dict[str, str],
                 logger: logging.Logger | None = None) -> None:
        self.records = records
        self.ledger = CallLedger(agent_of_extension)
        self.log = logger or logging.getLogger("cti.calls")
        self._rows: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.written = 0

    def on_transition(self, transition: CallTransition) -> None:
        row = self.ledger.transition(transition)
        if row is not None:
            self._rows.put_nowait(row)

    def on_command(self, command: Command, call_id: str | None) -> None:
        return None

    def on_note(self, note: CallNote) -> None:
        if isinstance(note, IvrEntered):
            self.ledger.variable(note.call_id, note.at, "HOTLINE_FLOW", note.flow)
        elif isinstance(note, HandedOver):
            self.ledger.handed_over(note.call_id, note.at, note.request)
        elif isinstance(note, ChannelVariable):
            self.ledger.variable(note.call_id, note.at, note.name, note.value)
        elif isinstance(note, CallbackSettled):
            self._rows.put_nowait(self.ledger.called_back(note))
        elif isinstance(note, AgentChanged):
            row = self.ledger.wrap_up(note.status.agent, note.status.state, note.at)
            if row is not None:
                self._rows.put_nowait(row)

    async def run(self, client: object) -> None:
        while True:
            row = await self._rows.get()
            try:
                await asyncio.to_thread(self.records.upsert, row)
                self.written += 1
            except HotlineError as exc:
                # The database is down: the row is lost for this call, say so loudly.
                self.log.error("call %s: call record not written: %s", row["id"], exc,
                               extra={"call_id": row["id"]})
