"""The naive Router: the same rules, by full scans instead of indexes.

Only for the benchmark (as the baseline) and the tests (as the oracle the fast Router must agree
with decision for decision). It shares the state machine with :class:`~acd.router.Router` and
replaces the two matching steps: a contact looking for an agent scans every agent, an agent
looking for work scans every contact, each recomputing eligibility from the skills.
"""

from __future__ import annotations

from acd.model import WAITING, AgentRec, ContactRec, Group, meets, requirement
from acd.policies import POLICIES
from acd.router import Router


class NaiveRouter(Router):
    def _find_agent(self, c: ContactRec, group: Group, t: float) -> AgentRec | None:
        req = requirement(c.queue, c.extra, c.stage)
        candidates = [
            a for a in self._agents
            if c.channel in a.capacity and self._routable_on(a, c.channel)
            and any(meets(a.skills, need) for need in req)
        ]
        if not candidates:
            return None
        return POLICIES[c.queue.policy](candidates, req, t, c.queue.name, self._memory)

    def _best_contact(self, a: AgentRec, t: float) -> ContactRec | None:
        best = None
        best_key = None
        for c in self._contacts.values():
            if c.state != WAITING or c.channel not in a.capacity:
                continue
            if not self._routable_on(a, c.channel):
                continue
            if not any(meets(a.skills, need) for need in requirement(c.queue, c.extra, c.stage)):
                continue
            key = (c.priority + c.queue.priority, (t - c.enqueue_t) * c.queue.weight, -c.seq)
            if best_key is None or key > best_key:
                best, best_key = c, key
        return best
