"""Snapshot and restore: the Router's whole state as JSON-serialisable data.

Only state is saved; the indexes (routable sets, contact groups and their heaps) are rebuilt
from it. Every choice the Router makes breaks ties on configuration order or arrival sequence,
never on the iteration order of a set, so a restored Router decides exactly as the original
would have. The routing configuration is not in the snapshot: restore it with the same
``routing.yaml`` (agents are matched by id, queues by name).
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

from acd.errors import SnapshotError
from acd.model import OFFERED, WAITING, ContactRec

if TYPE_CHECKING:
    from acd.router import Router

VERSION = 1


def _num(value: float) -> float | str:
    if value == math.inf:
        return "inf"
    if value == -math.inf:
        return "-inf"
    return value


def _unnum(value: float | str) -> float:
    return float(value)


def dump(router: Router) -> dict[str, Any]:
    router.next_deadline()  # drops dead timers so the snapshot holds only live ones
    log = router._metrics
    agents = []
    for a in router._agents:
        agents.append({
            "id": a.id, "logged_in": a.logged_in, "presence_ready": a.presence_ready,
            "reason": a.reason, "wrap_until": None if a.wrap_until is None else _num(a.wrap_until),
            "wrap_token": a.wrap_token, "wrap_contacts": [list(w) for w in a.wrap_contacts],
            "slots": [[cid, ch, connected] for cid, (ch, connected) in a.slots.items()],
            "state": a.state, "state_reason": a.state_reason, "idle_since": a.idle_since,
            "history": [list(h) for h in a.history],
        })
    contacts = []
    for c in router._contacts.values():
        contacts.append({
            "id": c.id, "seq": c.seq, "channel": c.channel, "entry_queue": c.entry_queue,
            "queue": c.queue.name, "extra": [list(s) for s in c.extra], "priority": c.priority,
            "enqueue_t": c.enqueue_t, "queue_since": c.queue_since, "stage": c.stage,
            "attributes": c.attributes, "customer": c.customer, "state": c.state,
            "agent": c.agent.id if c.agent is not None else None, "answered_t": c.answered_t,
            "timer_token": c.timer_token,
        })
    return {
        "version": VERSION,
        "now": _num(router._now),
        "seq": router._seq,
        "tseq": router._tseq,
        "rng_state": router._memory.rng_state,
        "last_pick": dict(router._memory.last_pick),
        "agents": agents,
        "contacts": contacts,
        "timers": [[_num(due), tseq, kind, key, token]
                   for due, tseq, kind, key, token in sorted(router._timers)],
        "metrics": {
            "arrivals": [list(r) for r in log.arrivals],
            "outcomes": [list(r) for r in log.outcomes],
            "handles": [list(r) for r in log.handles],
            "cutoff": _num(log.cutoff),
            "since_prune": log.since_prune,
        },
    }


def load(router: Router, data: dict[str, Any]) -> None:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise SnapshotError(f"not a version {VERSION} router snapshot")
    try:
        _load(router, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"the snapshot is incomplete or damaged: {exc!r}") from exc


def _load(router: Router, data: dict[str, Any]) -> None:
    router._now = _unnum(data["now"])
    router._seq = data["seq"]
    router._tseq = data["tseq"]
    router._memory.rng_state = data["rng_state"]
    router._memory.last_pick = dict(data["last_pick"])
    for saved in data["agents"]:
        a = router._agent_by_id.get(saved["id"])
        if a is None:
            raise SnapshotError(
                f"the snapshot has agent '{saved['id']}', which routing.yaml no longer defines"
            )
        a.logged_in = saved["logged_in"]
        a.presence_ready = saved["presence_ready"]
        a.reason = saved["reason"]
        a.wrap_until = None if saved["wrap_until"] is None else _unnum(saved["wrap_until"])
        a.wrap_token = saved["wrap_token"]
        a.wrap_contacts = [(q, e, talk) for q, e, talk in saved["wrap_contacts"]]
        a.slots = {cid: (ch, connected) for cid, ch, connected in saved["slots"]}
        for ch in a.counts:
            a.counts[ch] = 0
        for ch, _ in a.slots.values():
            a.counts[ch] += 1
        a.state = saved["state"]
        a.state_reason = saved["state_reason"]
        a.idle_since = saved["idle_since"]
        a.history = [(t, s) for t, s in saved["history"]]
    for saved in data["contacts"]:
        queue = router._queues.get(saved["queue"])
        if queue is None:
            raise SnapshotError(
                f"the snapshot has a contact in queue '{saved['queue']}', which routing.yaml "
                "no longer defines"
            )
        c = ContactRec(saved["id"], saved["seq"], saved["channel"], queue,
                       tuple((s, lvl) for s, lvl in saved["extra"]), saved["priority"],
                       saved["enqueue_t"], saved["attributes"], saved["customer"])
        c.entry_queue = saved["entry_queue"]
        c.queue_since = saved["queue_since"]
        c.stage = saved["stage"]
        c.state = saved["state"]
        c.answered_t = saved["answered_t"]
        c.timer_token = saved["timer_token"]
        if saved["agent"] is not None:
            c.agent = router._agent_by_id[saved["agent"]]
        router._contacts[c.id] = c
        if c.state == WAITING:
            router._group_for(c.queue, c.channel, c.extra, c.stage).push(c)
        elif c.state == OFFERED and c.agent is None:
            raise SnapshotError(f"contact '{c.id}' is offered to no agent")
    router._timers = [(_unnum(due), tseq, kind, key, token)
                      for due, tseq, kind, key, token in data["timers"]]
    heapq.heapify(router._timers)
    metrics = data["metrics"]
    log = router._metrics
    log.arrivals = [(t, q) for t, q in metrics["arrivals"]]
    log.outcomes = [(t, q, o, w) for t, q, o, w in metrics["outcomes"]]
    log.handles = [(t, q, s) for t, q, s in metrics["handles"]]
    log.cutoff = _unnum(metrics["cutoff"])
    log.since_prune = metrics["since_prune"]
    for ch in router._routable:
        router._routable[ch].clear()
    for a in router._agents:
        for ch in a.channels:
            if router._routable_on(a, ch):
                router._routable[ch].add(a.idx)
