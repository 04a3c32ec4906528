"""Random but reproducible traffic for demos and load tests: a stream of callers, agent habits.

A call centre's day in miniature: callers arrive as a Poisson stream (exponential gaps at
``calls_per_minute``), each with an exponential patience and talk time; agents answer after a
uniform delay, and a share of rings are never answered (RONA) or put on hold. Everything is
drawn from one seeded :class:`random.Random`, so a demo or a benchmark run can be repeated.
The stand-in only plays the humans: routing is Hotline's (the CTI engine Redirects callers).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from sim.asterisk.world import AgentScript, CallerScript, SimulatedCaller, World


@dataclass(frozen=True, slots=True)
class TrafficProfile:
    """Simulated seconds and shares (0..1)."""

    calls_per_minute: float = 6.0
    mean_patience: float | None = 120.0    # None: callers never give up
    mean_talk: float = 60.0
    answer_delay: tuple[float, float] = (1.0, 4.0)
    no_answer_share: float = 0.05
    hold_share: float = 0.1
    ivr_flow: str | None = None
    ivr_keys: tuple[tuple[str, ...], ...] = ()
    seed: int = 1


class Traffic:
    """Populate a :class:`World` with agents and a caller stream following a profile."""

    def __init__(self, world: World, profile: TrafficProfile) -> None:
        self.world = world
        self.profile = profile
        self.rng = random.Random(profile.seed)
        self._next_number = 2001

    def agent_script(self) -> AgentScript:
        p, rng = self.profile, self.rng
        if rng.random() < p.no_answer_share:
            return AgentScript(answer_after=None)
        talk = rng.expovariate(1.0 / p.mean_talk)
        hold_after = talk * rng.random() if rng.random() < p.hold_share else None
        return AgentScript(answer_after=rng.uniform(*p.answer_delay), talk_for=talk,
                           hangs_up=rng.random() < 0.5, hold_after=hold_after,
                           hold_for=min(30.0, talk / 4))

    def add_agents(self, extensions: list[str]) -> None:
        for extension in extensions:
            self.world.add_agent(extension, sampler=self.agent_script)

    def caller_script(self) -> CallerScript:
        p, rng = self.profile, self.rng
        patience = rng.expovariate(1.0 / p.mean_patience) if p.mean_patience else None
        keys = rng.choice(p.ivr_keys) if p.ivr_keys else ()
        return CallerScript(patience=patience, talk_for=rng.expovariate(1.0 / p.mean_talk),
                            ivr_flow=p.ivr_flow, keys=keys)

    async def run(self, calls: int) -> list[SimulatedCaller]:
        """Start ``calls`` callers at Poisson times; returns them once all have dialled in
        (use ``world.wait_for(world.done)`` to wait for the calls to end)."""
        callers = []
        tasks = []
        for _ in range(calls):
            await self.world.clock.sleep(self.rng.expovariate(self.profile.calls_per_minute / 60))
            caller = self.world.add_caller(str(self._next_number), script=self.caller_script())
            self._next_number += 1
            callers.append(caller)
            tasks.append(self.world.start_call(caller))
        await asyncio.gather(*tasks)
        return callers
