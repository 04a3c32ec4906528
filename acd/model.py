"""The Router's own working structures, compiled once from ``routing.yaml``.

The pydantic models are convenient to validate and slow to read in a hot loop, so the Router
turns them into plain slotted records here: a :class:`QueuePlan` per queue, an
:class:`AgentRec` per agent (its skills plus its live state) and a :class:`ContactRec` per
contact in the building. A :class:`Group` gathers the waiting contacts that need exactly the
same agents (same queue, channel and skill requirements), in a heap ordered by priority then
enqueue time, together with the precomputed set of agents able to take them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from hotline.config.routing import Queue, Routing

# Agent states as the floor sees them.
LOGGED_OUT, READY, NOT_READY, RESERVED, BUSY, WRAP_UP = (
    "logged_out", "ready", "not_ready", "reserved", "busy", "wrap_up",
)
AGENT_STATES = (LOGGED_OUT, READY, NOT_READY, RESERVED, BUSY, WRAP_UP)
WORKING_STATES = frozenset((RESERVED, BUSY, WRAP_UP))

# Contact states inside the Router.
WAITING, OFFERED, CONNECTED = "waiting", "offered", "connected"

T = TypeVar("T")

Skills = tuple[tuple[str, int], ...]  # sorted (skill, minimum level) pairs
Requirement = tuple[Skills, ...]  # alternatives: an agent meeting any one may take the contact


@dataclass(frozen=True, slots=True)
class StepPlan:
    after_s: float
    action: str
    levels: tuple[tuple[str, int], ...] = ()
    target: str = ""


@dataclass(frozen=True, slots=True)
class QueuePlan:
    name: str
    channel: str
    priority: int
    weight: float
    skills: tuple[tuple[str, int], ...]
    sl_seconds: float
    sl_percent: float
    wrap_up_s: float
    policy: str
    steps: tuple[StepPlan, ...]

    @classmethod
    def compile(cls, name: str, queue: Queue) -> QueuePlan:
        steps = []
        for step in queue.escalation:
            action = step.action
            levels = step.relax if action == "relax" else step.also_accept
            steps.append(StepPlan(
                after_s=float(step.after_s), action=action,
                levels=tuple(sorted((levels or {}).items())), target=step.overflow or "",
            ))
        return cls(
            name=name, channel=queue.channel, priority=queue.priority, weight=queue.weight,
            skills=tuple(sorted(queue.skills.items())),
            sl_seconds=queue.service_level.seconds, sl_percent=queue.service_level.percent,
            wrap_up_s=queue.wrap_up_s, policy=queue.policy, steps=tuple(steps),
        )


def merge_levels(base: dict[str, int], extra: dict[str, int]) -> dict[str, int]:
    merged = dict(base)
    for skill, level in extra.items():
        merged[skill] = max(merged.get(skill, 0), level)
    return merged


def requirement(queue: QueuePlan, extra: Skills, stage: int) -> Requirement:
    """Who may take a contact of ``queue`` narrowed by ``extra`` after ``stage`` steps.

    ``relax`` lowers minimum levels of the main requirement; ``also_accept`` adds an alternative
    requirement. The IVR's extra skills (a language, say) stay required in every alternative.
    """
    extra_d = dict(extra)
    main = merge_levels(dict(queue.skills), extra_d)
    alternatives = []
    for step in queue.steps[:stage]:
        if step.action == "relax":
            for skill, level in step.levels:
                if skill in main:
                    main[skill] = min(main[skill], max(level, extra_d.get(skill, 0)))
        elif step.action == "also_accept":
            alternatives.append(merge_levels(dict(step.levels), extra_d))
    result: list[Skills] = [tuple(sorted(main.items()))]
    for alt in alternatives:
        key = tuple(sorted(alt.items()))
        if key not in result:
            result.append(key)
    return tuple(result)


def meets(skills: dict[str, int], need: Skills) -> bool:
    for skill, level in need:  # noqa: SIM110 - a plain loop is faster than all() here
        if skills.get(skill, 0) < level:
            return False
    return True


def skill_score(skills: dict[str, int], req: Requirement) -> int:
    """The sum of the agent's levels over the best alternative it meets (most_skilled)."""
    best = 0
    for need in req:
        if meets(skills, need):
            score = sum(skills.get(skill, 0) for skill, _ in need)
            best = max(best, score)
    return best


class AgentRec:
    """One agent: configuration plus live state (mutable, owned by the Router)."""

    __slots__ = (
        "blocked_by_voice",
        "capacity",
        "channels",
        "counts",
        "extension",
        "groups",
        "history",
        "id",
        "idle_since",
        "idx",
        "logged_in",
        "presence_ready",
        "reason",
        "routes",
        "skills",
        "slots",
        "state",
        "state_reason",
        "wrap_contacts",
        "wrap_token",
        "wrap_until",
    )

    def __init__(self, idx: int, agent_id: str, extension: str, skills: dict[str, int],
                 capacity: dict[str, int]) -> None:
        self.id = agent_id
        self.idx = idx
        self.extension = extension
        self.skills = dict(skills)
        self.capacity = {ch: n for ch, n in capacity.items() if n > 0}
        self.channels = tuple(sorted(self.capacity))
        self.logged_in = False
        self.presence_ready = False
        self.reason = ""
        self.wrap_until: float | None = None  # inf: held until wrapup_end
        self.wrap_token = 0  # the number of its live wrap-up timer, 0 for none
        self.wrap_contacts: list[tuple[str, float, float]] = []  # (entry queue, end t, talk s)
        self.slots: dict[str, tuple[str, bool]] = {}  # contact -> (channel, connected)
        self.counts: dict[str, int] = dict.fromkeys(self.channels, 0)
        self.state = LOGGED_OUT
        self.state_reason = ""
        self.idle_since = 0.0
        self.history: list[tuple[float, str]] = []  # (since, state), in time order
        self.groups: dict[str, list[Group]] = {ch: [] for ch in self.channels}
        # set by the Router: (channel, the Router's set of agents routable on it, capacity)
        self.routes: tuple[tuple[str, set[int], int], ...] = ()
        self.blocked_by_voice = False  # voice_blocks_other_channels applies to this agent


class ContactRec:
    __slots__ = (
        "agent",
        "answered_t",
        "attributes",
        "channel",
        "customer",
        "enqueue_t",
        "entry_queue",
        "extra",
        "group",
        "id",
        "priority",
        "queue",
        "queue_since",
        "seq",
        "stage",
        "state",
        "timer_token",
        "token",
    )

    def __init__(self, contact_id: str, seq: int, channel: str, queue: QueuePlan, extra: Skills,
                 priority: int, t: float, attributes: dict[str, Any], customer: str | None) -> None:
        self.id = contact_id
        self.seq = seq
        self.channel = channel
        self.entry_queue = queue.name
        self.queue = queue
        self.extra = extra
        self.priority = priority
        self.enqueue_t = t
        self.queue_since = t
        self.stage = 0
        self.attributes = attributes
        self.customer = customer
        self.state = WAITING
        self.agent: AgentRec | None = None
        self.answered_t = 0.0
        self.group: Group | None = None
        self.token = 0  # bumped whenever the contact enters or leaves a group's heap
        self.timer_token = 0  # the number of its live escalation timer, 0 for none


class Group:
    """Waiting contacts with identical needs, and the agents who could take any of them."""

    __slots__ = ("channel", "eligible", "heap", "live", "queue", "req")

    def __init__(self, queue: QueuePlan, channel: str, req: Requirement,
                 eligible: set[int]) -> None:
        self.queue = queue
        self.channel = channel
        self.req = req
        self.heap: list[tuple[int, float, int, int, ContactRec]] = []
        self.live = 0
        self.eligible = eligible

    def push(self, contact: ContactRec) -> None:
        contact.token += 1
        contact.group = self
        self.live += 1
        heapq.heappush(
            self.heap, (-contact.priority, contact.enqueue_t, contact.seq, contact.token, contact)
        )

    def leave(self, contact: ContactRec) -> None:
        contact.token += 1
        contact.group = None
        self.live -= 1

    def head(self) -> ContactRec | None:
        heap = self.heap
        while heap:
            entry = heap[0]
            if entry[4].token == entry[3]:
                return entry[4]
            heapq.heappop(heap)
        return None


def maker(cls: type[T]) -> Callable[..., T]:
    """A constructor for the frozen, slotted dataclass ``cls`` that takes every field, in order.

    It makes the very object ``cls(...)`` makes (same type, fields, equality, hash, frozen guard)
    three to six times faster. A frozen dataclass's ``__init__`` stores each field through
    ``object.__setattr__`` to get round its own guard; this one fills the slots of a plain
    "draft" class with the same slot layout, then gives the finished object its real class, which
    Python allows between classes of identical layout. The Router makes five decisions per
    contact and the simulator three events, so this is a tenth of a simulated contact's cost.
    Like ``dataclasses`` itself, it writes the function's source and compiles it once.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    if tuple(getattr(cls, "__slots__", ())) != names or hasattr(cls, "__post_init__"):
        raise TypeError(f"maker() needs a slotted dataclass without __post_init__, not {cls!r}")
    draft = type(f"{cls.__name__}Draft", (), {"__slots__": names})
    scope: dict[str, Any] = {"_new": object.__new__, "_draft": draft, "_cls": cls}
    fill = "; ".join(f"obj.{name} = {name}" for name in names)
    source = (f"def make({', '.join(names)}, *, _new=_new, _draft=_draft, _cls=_cls):\n"
              f"    obj = _new(_draft)\n    {fill}\n    obj.__class__ = _cls\n    return obj\n")
    exec(source, scope)  # fixed text built from the dataclass's own field names
    make = scope["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    return make  # type: ignore[no-any-return]


def compile_queues(routing: Routing) -> dict[str, QueuePlan]:
    return {name: QueuePlan.compile(name, queue) for name, queue in routing.queues.items()}
