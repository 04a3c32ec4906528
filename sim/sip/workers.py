"""Worker processes: one pjsua2 user agent each, driven by messages from the coordinator.

pjsua holds one endpoint per process and, in this build, at most 4 calls and 8 accounts in it,
so hundreds of calls take dozens of processes. Each worker runs a bot (``CallerBot`` or
``AnswerBot``) over its own ``UserAgent`` and talks to the coordinator through two
``multiprocessing`` queues: commands in, results out. Messages are the frozen dataclasses below;
workers are started with the ``spawn`` method so no pjsua state is ever inherited by a fork.
"""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing
import queue
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.errors import HotlineError
from sim.sip.audio import ANSWER_TONE_HZ, CALLER_TONE_HZ, write_tone
from sim.sip.bots import AnswerBehaviour, AnswerBot, AnsweredCall, CallerBot, CallResult
from sim.sip.errors import LoadRunError
from sim.sip.events import RegistrationChanged, UserAgentFailed
from sim.sip.plan import CallerScript
from sim.sip.useragent import AccountSpec, UaSettings, UserAgent

log = logging.getLogger("hotline.sip.workers")


# ---------------------------------------------------------------- messages to workers


@dataclass(frozen=True, slots=True)
class StartCall:
    script: CallerScript
    target: str
    run_start: float


@dataclass(frozen=True, slots=True)
class Stop:
    """Finish (``abort`` False) or hang up (``abort`` True) the calls that are up, then exit."""

    abort: bool = False


# -------------------------------------------------------------- messages from workers


@dataclass(frozen=True, slots=True)
class WorkerReady:
    worker: str
    udp_port: int | None
    tcp_port: int | None


@dataclass(frozen=True, slots=True)
class CallDone:
    worker: str
    result: CallResult


@dataclass(frozen=True, slots=True)
class AnswerDone:
    worker: str
    call: AnsweredCall


@dataclass(frozen=True, slots=True)
class Registered:
    worker: str
    account: str
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class WorkerFailed:
    worker: str
    error: str  # one line, fit for a user
    traceback: str  # for the log


def failure(worker: str, error: Exception) -> WorkerFailed:
    # Our own errors already read as one sentence; anything else gets its type named.
    text = str(error) if isinstance(error, HotlineError) else f"{type(error).__name__}: {error}"
    return WorkerFailed(worker, " ".join(text.split()), traceback.format_exc())


@dataclass(frozen=True, slots=True)
class WorkerStopped:
    worker: str


# --------------------------------------------------------------------- configurations


@dataclass(frozen=True, slots=True)
class CallerWorkerConfig:
    name: str
    settings: UaSettings
    account: AccountSpec  # its user authenticates; the From user is each caller's id
    dial: str
    answer_marker: str | None
    record_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class AnswerWorkerConfig:
    name: str
    settings: UaSettings
    accounts: tuple[AccountSpec, ...]
    behaviour: AnswerBehaviour
    seed: int = 0
    pop_url: str | None = None
    pop_tokens: tuple[str, ...] = field(default=(), repr=False)
    pop_ready_timeout_s: float = 15.0


def spawn_context() -> Any:
    return multiprocessing.get_context("spawn")


def caller_worker(config: CallerWorkerConfig, commands: Any, results: Any) -> None:
    """Process entry point: scripted callers on one user agent."""
    _quiet_logging()
    inbox: queue.Queue[Any] = queue.Queue()
    try:
        with tempfile.TemporaryDirectory(prefix="hotline-callers-") as tmp:
            tone = write_tone(Path(tmp) / "caller-tone.wav", CALLER_TONE_HZ)
            with UserAgent(config.settings, events=inbox) as ua:
                accounts = [ua.add_account(config.account)
                            for _ in range(config.settings.max_calls)]
                bot = CallerBot(ua, accounts, tone=tone, answer_marker=config.answer_marker,
                                record_dir=config.record_dir,
                                emit=lambda r: results.put(CallDone(config.name, r)))
                _forward(commands, inbox)
                results.put(WorkerReady(config.name, ua.udp_port, ua.tcp_port))
                stop: Stop | None = None
                while stop is None or bot.busy:
                    item = _next(inbox, bot)
                    if isinstance(item, StartCall):
                        bot.run_start = item.run_start
                        bot.start(item.script, item.target, config.dial, time.monotonic())
                    elif isinstance(item, Stop):
                        stop = item
                        if item.abort:
                            bot.hang_up_all()
                    elif isinstance(item, UserAgentFailed):
                        raise LoadRunError(f"user agent failed: {item.error}")
                    elif item is not None:
                        bot.handle(item)
                    bot.tick(time.monotonic())
    except Exception as error:  # reported to the coordinator, which raises LoadRunError
        results.put(failure(config.name, error))
    results.put(WorkerStopped(config.name))


def answer_worker(config: AnswerWorkerConfig, commands: Any, results: Any) -> None:
    """Process entry point: agent softphones or a loopback responder on one user agent."""
    _quiet_logging()
    pops = None
    inbox: queue.Queue[Any] = queue.Queue()
    try:
        with tempfile.TemporaryDirectory(prefix="hotline-answer-") as tmp:
            tone = write_tone(Path(tmp) / "answer-tone.wav", ANSWER_TONE_HZ)
            with UserAgent(config.settings, events=inbox) as ua:
                names = {ua.add_account(spec): spec.user for spec in config.accounts}
                bot = AnswerBot(ua, names, config.behaviour, tone=tone, workdir=Path(tmp),
                                clock=time.monotonic, seed=config.seed,
                                emit=lambda c: results.put(AnswerDone(config.name, c)))
                if config.pop_url:
                    from sim.sip.pop import PopListener

                    agents = [(spec.user, token)
                              for spec, token in zip(config.accounts, config.pop_tokens,
                                                     strict=True)]
                    pops = PopListener(config.pop_url, agents, emit=results.put,
                                       worker=config.name).start()
                    # Ready only once Hotline listens for every agent: no pop can slip by.
                    pops.wait_ready(config.pop_ready_timeout_s)
                _forward(commands, inbox)
                results.put(WorkerReady(config.name, ua.udp_port, ua.tcp_port))
                stop: Stop | None = None
                while stop is None or (bot.busy and not stop.abort):
                    item = _next(inbox, bot)
                    if isinstance(item, Stop):
                        stop = item
                    elif isinstance(item, UserAgentFailed):
                        raise LoadRunError(f"user agent failed: {item.error}")
                    elif isinstance(item, RegistrationChanged):
                        results.put(Registered(config.name, names[item.account], item.code,
                                               item.reason))
                    elif item is not None:
                        bot.handle(item)
                    bot.tick(time.monotonic())
    except Exception as error:  # reported to the coordinator, which raises LoadRunError
        results.put(failure(config.name, error))
    finally:
        if pops is not None:
            pops.close()
    results.put(WorkerStopped(config.name))


def _forward(commands: Any, inbox: queue.Queue[Any]) -> None:
    """Copy the coordinator's commands into the inbox, so the worker waits on one queue for
    SIP events, commands and (by its timeout) its next timer, and never polls."""

    def run() -> None:
        while True:
            command = commands.get()
            inbox.put(command)
            if isinstance(command, Stop):
                return

    threading.Thread(target=run, name="commands", daemon=True).start()


def _next(inbox: queue.Queue[Any], bot: CallerBot | AnswerBot) -> Any:
    due = bot.next_due()
    timeout = 1.0 if due is None else min(1.0, max(0.0, due - time.monotonic()))
    try:
        return inbox.get(timeout=timeout)
    except queue.Empty:
        return None


def _quiet_logging() -> None:
    # A crash inside pjsua (C) would otherwise leave only an exit code: dump the Python stacks.
    faulthandler.enable()
    # Workers log warnings and worse to stderr; the coordinator owns the terminal's stdout.
    logging.basicConfig(level=logging.WARNING, format="%(processName)s %(name)s: %(message)s")
