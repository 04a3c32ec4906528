"""Agent-selection policies: which of the eligible free agents gets a new contact.

A policy is a plain function ``(candidates, req, t, queue, memory) -> agent``; ``candidates`` come
sorted by their position in routing.yaml and every rule ends in that position, so a choice
never depends on the order of a set and a restored Router chooses exactly as the original.

- ``longest_idle``: the agent ready (with nothing on) for the longest time; agents still busy
  on other channels come after the idle ones.
- ``most_skilled``: the highest skill level for the contact's needs, then longest idle.
- ``least_occupied``: the lowest occupancy over the last hour, then longest idle.
- ``round_robin``: the next agent after the one this queue chose last, in routing.yaml order.
- ``weighted_random``: a draw weighted by skill level, from the Router's seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from acd.metrics import time_in_states
from acd.model import READY, AgentRec, Requirement, skill_score

HOUR = 3600.0
_MASK = (1 << 64) - 1


@dataclass(slots=True)
class PolicyMemory:
    """What policies remember between choices (part of every snapshot)."""

    rng_state: int
    last_pick: dict[str, int] = field(default_factory=dict)  # queue -> agent index

    def random(self) -> float:
        """The next number of a splitmix64 sequence, in [0, 1): portable and one int of state."""
        self.rng_state = (self.rng_state + 0x9E3779B97F4A7C15) & _MASK
        z = self.rng_state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        z ^= z >> 31
        return (z >> 11) / float(1 << 53)


def occupancy(agent: AgentRec, t: float, span: float = HOUR) -> float:
    """Share of the agent's staffed time in ``[t - span, t]`` spent working (reserved, busy,
    wrap-up) rather than ready; 0 with no such time. The wall board's occupancy, per agent."""
    work, ready = time_in_states(agent, t - span, t)
    total = work + ready
    return work / total if total > 0 else 0.0


def _idle_key(agent: AgentRec) -> tuple[int, float, int]:
    return (0 if agent.state == READY else 1, agent.idle_since, agent.idx)


def longest_idle(candidates: list[AgentRec], req: Requirement, t: float, queue: str,
                 memory: PolicyMemory) -> AgentRec:
    return candidates[0] if len(candidates) == 1 else min(candidates, key=_idle_key)


def most_skilled(candidates: list[AgentRec], req: Requirement, t: float, queue: str,
                 memory: PolicyMemory) -> AgentRec:
    return min(candidates, key=lambda a: (-skill_score(a.skills, req), *_idle_key(a)))


def least_occupied(candidates: list[AgentRec], req: Requirement, t: float, queue: str,
                   memory: PolicyMemory) -> AgentRec:
    return min(candidates, key=lambda a: (occupancy(a, t), *_idle_key(a)))


def round_robin(candidates: list[AgentRec], req: Requirement, t: float, queue: str,
                memory: PolicyMemory) -> AgentRec:
    last = memory.last_pick.get(queue, -1)
    for chosen in candidates:  # a plain loop: next() over a generator costs twice as much
        if chosen.idx > last:
            break
    else:
        chosen = candidates[0]
    memory.last_pick[queue] = chosen.idx
    return chosen


def weighted_random(candidates: list[AgentRec], req: Requirement, t: float, queue: str,
                    memory: PolicyMemory) -> AgentRec:
    weights = [max(1, skill_score(a.skills, req)) for a in candidates]
    point = memory.random() * sum(weights)
    for agent, weight in zip(candidates, weights, strict=True):
        point -= weight
        if point < 0:
            return agent
    return candidates[-1]


Policy = Callable[[list[AgentRec], Requirement, float, str, PolicyMemory], AgentRec]

POLICIES: dict[str, Policy] = {
    "longest_idle": longest_idle,
    "most_skilled": most_skilled,
    "least_occupied": least_occupied,
    "round_robin": round_robin,
    "weighted_random": weighted_random,
}
