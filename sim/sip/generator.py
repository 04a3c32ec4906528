"""The load generator: runs a ``CallPlan`` against a PBX (or loopback responders) and measures.

A coordinator (this module, in the calling process, with no pjsua in it) starts caller worker
processes and, if the plan has agents, agent worker processes; it then releases each caller at
its planned second to the caller worker with a free call slot, collects one ``CallResult`` per
caller and one ``AnsweredCall`` per INVITE an agent saw, and stops the workers. Each worker holds
at most 4 calls (pjsua2 build limit), so the worker count follows the plan's peak concurrency.

A caller that finds no free slot is not delayed (that would bend the arrival profile) but
reported ``not_started``: the generator, not the PBX, was short, and the report says so.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim.sip.bots import AnswerBehaviour, AnsweredCall, CallResult, not_started
from sim.sip.errors import LoadPlanError, LoadRunError
from sim.sip.plan import CallPlan, DtmfStep, peak_concurrency
from sim.sip.pop import PopSeen
from sim.sip.useragent import BUILD_MAX_CALLS, RTP_PORTS_PER_PROCESS, AccountSpec, UaSettings
from sim.sip.workers import (
    AnswerDone,
    AnswerWorkerConfig,
    CallDone,
    CallerWorkerConfig,
    Registered,
    StartCall,
    Stop,
    WorkerFailed,
    WorkerReady,
    WorkerStopped,
    answer_worker,
    caller_worker,
    spawn_context,
)

log = logging.getLogger("hotline.sip.generator")


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """How to run a plan. ``targets`` are ``host:port`` SIP destinations, used least-loaded."""

    targets: tuple[str, ...]
    per_target_calls: int | None = None  # cap per target (loopback responders hold 4)
    workers: int | None = None  # caller processes; None: from the plan's peak concurrency
    bind_host: str = "127.0.0.1"
    transport: str = "udp"
    caller_user: str = "load"
    caller_password: str | None = field(default=None, repr=False)
    pop_url: str | None = None
    pop_tokens: tuple[str, ...] = field(default=(), repr=False)
    record_dir: Path | None = None  # record every call there, and check tones in it
    startup_timeout_s: float = 60.0
    drain_timeout_s: float = 30.0
    log_level: int = 1
    # RTP ports: 0 lets each process pick random free ports (pjsua retries a taken one); a
    # firewall may want a range instead: process n then uses rtp_base + 40 n onwards.
    rtp_base: int = 0

    def __post_init__(self) -> None:
        if not self.targets:
            raise LoadPlanError("no SIP target: give --pbx HOST[:PORT]")
        if self.transport not in ("udp", "tcp"):
            raise LoadPlanError(f"transport {self.transport!r} must be udp or tcp")


@dataclass(frozen=True, slots=True)
class Progress:
    elapsed_s: float
    planned: int
    started: int
    up: int
    done: int
    outcomes: dict[str, int]


@dataclass(frozen=True, slots=True)
class LoadResult:
    plan: CallPlan
    options: LoadOptions
    calls: tuple[CallResult, ...]
    agent_calls: tuple[AnsweredCall, ...]
    pops: tuple[PopSeen, ...]
    peak_up: int
    wall_s: float
    workers: int
    registrations: tuple[Registered, ...]
    run_start: float  # time.monotonic() of the run's second 0 (CallResult times count from it)
    worker_failures: tuple[str, ...] = ()  # caller workers that died; their calls are "lost"


@dataclass
class _Worker:
    name: str
    process: Any
    commands: Any
    capacity: int
    in_flight: set[int] = field(default_factory=set)
    ready: bool = False


def workers_needed(plan: CallPlan) -> int:
    """Caller processes for the plan: its peak concurrency at 4 calls a process, 25 % spare."""
    return max(1, math.ceil(peak_concurrency(plan) * 1.25 / BUILD_MAX_CALLS))


def run_load(plan: CallPlan, options: LoadOptions,
             progress: Callable[[Progress], None] | None = None) -> LoadResult:
    """Run the plan to the end and return every measurement (the report is built from it)."""
    return _Run(plan, options, progress).run()


class _Run:
    def __init__(self, plan: CallPlan, options: LoadOptions,
                 progress: Callable[[Progress], None] | None) -> None:
        self.plan = plan
        self.options = options
        self.progress = progress
        self.ctx = spawn_context()
        self.results: Any = self.ctx.Queue()
        self.callers: dict[str, _Worker] = {}
        self.answerers: dict[str, _Worker] = {}
        self.calls: list[CallResult] = []
        self.agent_calls: list[AnsweredCall] = []
        self.pops: list[PopSeen] = []
        self.registrations: list[Registered] = []
        self.target_load = dict.fromkeys(options.targets, 0)
        self.call_target: dict[int, str] = {}
        self.peak_up = 0
        self.run_start = 0.0
        self.scripts = {caller.index: caller for caller in plan.callers}
        self.dead: list[_Worker] = []
        self.worker_failures: list[str] = []

    def run(self) -> LoadResult:
        started = time.monotonic()
        try:
            self._start_workers()
            self._dispatch_all()
            self._drain(self.options.drain_timeout_s + self._longest_hold())
        finally:
            self._stop_all()
        return LoadResult(self.plan, self.options, tuple(sorted(self.calls, key=_index)),
                          tuple(self.agent_calls), tuple(self.pops), self.peak_up,
                          round(time.monotonic() - started, 3), len(self.callers),
                          tuple(self.registrations), self.run_start,
                          tuple(self.worker_failures))

    # ---------------------------------------------------------------- workers

    def _settings(self, process: int) -> UaSettings:
        o = self.options
        return UaSettings(bind_host=o.bind_host, udp_port=0 if o.transport == "udp" else None,
                          tcp_port=0 if o.transport == "tcp" else None, log_level=o.log_level,
                          rtp_port=o.rtp_base + RTP_PORTS_PER_PROCESS * process if o.rtp_base
                          else 0,
                          user_agent="Hotline-load/0.1")

    def _start_workers(self) -> None:
        o = self.options
        count = o.workers or workers_needed(self.plan)
        domain = o.targets[0]
        account = AccountSpec(o.caller_user, domain, o.caller_password, transport=o.transport)
        for n in range(count):
            config = CallerWorkerConfig(f"caller-{n}", self._settings(n), account, self.plan.dial,
                                        self.plan.answer_marker, o.record_dir)
            self.callers[config.name] = self._spawn(config.name, caller_worker, config,
                                                    BUILD_MAX_CALLS)
        if self.plan.agents is not None:
            self._start_agents(domain)
        self._await_ready(list(self.callers.values()) + list(self.answerers.values()))
        if self.plan.agents is not None:
            self._await_registered(self.plan.agents.users)

    def _start_agents(self, domain: str) -> None:
        agents = self.plan.agents
        assert agents is not None
        o = self.options
        marker = (DtmfStep(0.0, self.plan.answer_marker),) if self.plan.answer_marker else ()
        behaviour = AnswerBehaviour(answer_after_s=agents.ring_to_answer_s, dtmf=marker,
                                    hangup_after_s=agents.max_talk_s,
                                    wrap_up_s=agents.wrap_up_s, one_call_per_account=True,
                                    no_answer_probability=agents.no_answer_probability)
        tokens = o.pop_tokens or ("",) * len(agents.users)
        if len(tokens) != len(agents.users):
            raise LoadPlanError(f"{len(tokens)} screen-pop tokens for {len(agents.users)} agents")
        per = BUILD_MAX_CALLS  # one call per agent, 4 calls per process
        for start in range(0, len(agents.users), per):
            specs = tuple(AccountSpec(user, domain, password, register=True,
                                      transport=o.transport)
                          for user, password in zip(agents.users[start:start + per],
                                                    agents.passwords[start:start + per],
                                                    strict=True))
            config = AnswerWorkerConfig(f"agents-{start // per}",
                                        self._settings(len(self.callers) + start // per), specs,
                                        behaviour, seed=self.plan.seed + start,
                                        pop_url=o.pop_url, pop_tokens=tokens[start:start + per])
            self.answerers[config.name] = self._spawn(config.name, answer_worker, config, 0)

    def _spawn(self, name: str, target: Callable[..., None], config: Any,
               capacity: int) -> _Worker:
        commands = self.ctx.Queue()
        process = self.ctx.Process(target=target, args=(config, commands, self.results),
                                   name=name, daemon=True)
        process.start()
        return _Worker(name, process, commands, capacity)

    def _await_ready(self, workers: list[_Worker]) -> None:
        deadline = time.monotonic() + self.options.startup_timeout_s
        while not all(w.ready for w in workers):
            if time.monotonic() > deadline:
                late = [w.name for w in workers if not w.ready]
                raise LoadRunError(f"workers {', '.join(late)} did not start within "
                                   f"{self.options.startup_timeout_s:.0f} s")
            self._receive(0.2)

    def _await_registered(self, users: tuple[str, ...]) -> None:
        deadline = time.monotonic() + self.options.startup_timeout_s
        while True:
            latest = {r.account: r for r in self.registrations}
            refused = [r for r in latest.values() if r.code >= 300]
            if refused:
                raise LoadRunError("agent registration refused: " + ", ".join(
                    f"{r.account} ({r.code} {r.reason})" for r in refused)
                    + "; check the credentials file against the PBX")
            if all(u in latest for u in users):
                return
            if time.monotonic() > deadline:
                missing = [u for u in users if u not in latest]
                raise LoadRunError(f"agents {', '.join(missing)} got no REGISTER answer within "
                                   f"{self.options.startup_timeout_s:.0f} s")
            self._receive(0.2)

    def _stop_all(self) -> None:
        everyone = list(self.callers.values()) + list(self.answerers.values()) + self.dead
        for worker in everyone:
            worker.commands.put(Stop(abort=True))
        deadline = time.monotonic() + 20.0
        for worker in everyone:
            while worker.process.is_alive() and time.monotonic() < deadline:
                self._receive(0.1, strict=False)
            worker.process.join(max(0.1, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)
        for worker in everyone:
            worker.commands.close()
        self.results.close()

    # ------------------------------------------------------------- the run itself

    def _dispatch_all(self) -> None:
        self.run_start = run_start = time.monotonic() + 0.2
        last_report = 0.0
        for script in sorted(self.plan.callers, key=lambda c: c.start_s):
            due = run_start + script.start_s
            while (now := time.monotonic()) < due:
                self._receive(min(0.05, due - now))
                last_report = self._report(run_start, last_report)
            self._start_call(script, run_start)

    def _start_call(self, script: Any, run_start: float) -> None:
        worker = max(self.callers.values(), key=lambda w: w.capacity - len(w.in_flight))
        targets = [t for t, load in self.target_load.items()
                   if self.options.per_target_calls is None
                   or load < self.options.per_target_calls]
        free = worker.capacity - len(worker.in_flight)
        if free <= 0 or not targets:
            why = "no free caller slot" if free <= 0 else "every target is at its call cap"
            self.calls.append(not_started(script, "", 0.0, why))
            return
        target = min(targets, key=lambda t: self.target_load[t])
        self.target_load[target] += 1
        self.call_target[script.index] = target
        worker.in_flight.add(script.index)
        worker.commands.put(StartCall(script, target, run_start))
        self.peak_up = max(self.peak_up, sum(len(w.in_flight) for w in self.callers.values()))

    def _drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_report = 0.0
        while any(w.in_flight for w in self.callers.values()):
            if time.monotonic() > deadline:
                log.warning("calls still up after %.0f s of draining; hanging them up", timeout)
                return
            self._receive(0.1)
            last_report = self._report(self.run_start, last_report)
        self._report(self.run_start, 0.0)

    def _longest_hold(self) -> float:
        return max((c.patience_s + c.talk_s + (c.dtmf[-1].after_s if c.dtmf else 0.0)
                    for c in self.plan.callers), default=0.0)

    def _receive(self, timeout: float, *, strict: bool = True) -> None:
        try:
            message = self.results.get(timeout=timeout)
        except queue.Empty:
            self._check_alive(strict)
            return
        while True:
            self._handle(message, strict)
            try:
                message = self.results.get_nowait()
            except queue.Empty:
                return

    def _handle(self, message: Any, strict: bool) -> None:
        if isinstance(message, CallDone):
            worker = self.callers[message.worker]
            worker.in_flight.discard(message.result.index)
            target = self.call_target.pop(message.result.index, None)
            if target is not None:
                self.target_load[target] -= 1
            self.calls.append(message.result)
        elif isinstance(message, AnswerDone):
            self.agent_calls.append(message.call)
        elif isinstance(message, PopSeen):
            self.pops.append(message)
        elif isinstance(message, Registered):
            self.registrations.append(message)
        elif isinstance(message, WorkerReady):
            self._worker(message.worker).ready = True
        elif isinstance(message, WorkerFailed):
            log.debug("worker %s failed:\n%s", message.worker, message.traceback)
            if strict and message.worker in self.callers and self.callers[message.worker].ready:
                self._lose(self.callers[message.worker], message.error)
            elif strict:
                raise LoadRunError(f"worker {message.worker} failed: {message.error}")
            else:
                log.error("worker %s failed while stopping: %s", message.worker, message.error)
        elif isinstance(message, WorkerStopped):
            pass

    def _check_alive(self, strict: bool) -> None:
        if not strict:
            return
        for worker in list(self.callers.values()):
            if not worker.process.is_alive() and worker.ready:
                self._lose(worker, f"exit code {worker.process.exitcode}")
        for worker in self.answerers.values():
            if not worker.process.is_alive():
                raise LoadRunError(f"agent worker {worker.name} exited with code "
                                   f"{worker.process.exitcode} in the middle of the run")

    def _lose(self, worker: _Worker, why: str) -> None:
        """A caller worker died: its calls are reported ``lost``, the run goes on without it.

        A crash in one process should not void an hour of measurements; the report counts lost
        calls and names the failures, so nobody mistakes them for the PBX's.
        """
        log.error("caller worker %s died (%s); its %d calls are lost", worker.name, why,
                  len(worker.in_flight))
        del self.callers[worker.name]
        self.dead.append(worker)
        self.worker_failures.append(f"{worker.name}: {why}")
        for index in sorted(worker.in_flight):
            target = self.call_target.pop(index, None)
            if target is not None:
                self.target_load[target] -= 1
            script = self.scripts[index]
            lost = not_started(script, target or "", 0.0, f"caller worker died ({why})")
            self.calls.append(replace(lost, outcome="lost"))
        worker.in_flight.clear()
        if not self.callers:
            raise LoadRunError(f"every caller worker died; the last: {worker.name} ({why})")

    def _worker(self, name: str) -> _Worker:
        return self.callers.get(name) or self.answerers[name]

    def _report(self, run_start: float, last: float) -> float:
        now = time.monotonic()
        if self.progress is None or now - last < 1.0:
            return last
        outcomes: dict[str, int] = {}
        for call in self.calls:
            outcomes[call.outcome] = outcomes.get(call.outcome, 0) + 1
        up = sum(len(w.in_flight) for w in self.callers.values())
        self.progress(Progress(round(max(0.0, now - run_start), 1), len(self.plan.callers),
                               len(self.calls) + up, up, len(self.calls), outcomes))
        return now


def _index(result: CallResult) -> int:
    return result.index
