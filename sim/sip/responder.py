"""The loopback responder: a stand-in for the PBX side of a call, for tests and benchmarks.

It answers INVITEs sent straight to it (no registrar): rings, answers after a delay, plays a
1000 Hz tone and echoes the caller's audio back, sends scripted RFC 4733 digits (the generator's
human-answer marker ``D`` among them), records what it hears, optionally hangs up after a while,
or refuses every call (486 Busy Here, 603 Decline...). One responder process holds 4 calls (the
pjsua2 build limit), so a ``ResponderFarm`` starts as many as a test needs, each on its own
port, and the generator spreads calls over them (``LoadOptions.per_target_calls = 4``).

Run alone (``hotline load respond`` or ``python -m sim.sip.responder``) it prints one JSON line
``{"ready": ...}`` with its ports, then one JSON line per call it saw.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import queue
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sim.sip.bots import AnswerBehaviour, AnsweredCall
from sim.sip.errors import LoadPlanError, LoadRunError
from sim.sip.plan import parse_dtmf_steps
from sim.sip.pop import PopSeen
from sim.sip.useragent import RTP_PORTS_PER_PROCESS, AccountSpec, UaSettings
from sim.sip.workers import (
    AnswerDone,
    AnswerWorkerConfig,
    Stop,
    WorkerFailed,
    WorkerReady,
    answer_worker,
    spawn_context,
)


@dataclass
class ResponderFarm:
    """``count`` responder processes on 127.0.0.1; ``targets`` lists their ``host:port``."""

    count: int
    behaviour: AnswerBehaviour
    bind_host: str = "127.0.0.1"
    transport: str = "udp"
    startup_timeout_s: float = 60.0
    rtp_base: int = 0  # 0: random RTP ports; else responder n uses rtp_base + 40 n onwards
    # Responder n also watches the screen pops of the agent whose API token is pop_tokens[n].
    pop_url: str | None = None
    pop_tokens: tuple[str, ...] = field(default=(), repr=False)
    targets: list[str] = field(default_factory=list)
    calls: list[AnsweredCall] = field(default_factory=list)
    pops: list[PopSeen] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.pop_url is not None and len(self.pop_tokens) != self.count:
            raise LoadPlanError(f"{len(self.pop_tokens)} screen-pop tokens for {self.count} "
                                "responders; give one each")
        self._ctx = spawn_context()
        self._results: Any = self._ctx.Queue()
        self._workers: list[tuple[Any, Any]] = []

    def __enter__(self) -> ResponderFarm:
        for n in range(self.count):
            settings = UaSettings(bind_host=self.bind_host,
                                  udp_port=0 if self.transport == "udp" else None,
                                  tcp_port=0 if self.transport == "tcp" else None, log_level=1,
                                  rtp_port=self.rtp_base + RTP_PORTS_PER_PROCESS * n
                                  if self.rtp_base else 0)
            config = AnswerWorkerConfig(
                f"responder-{n}", settings,
                (AccountSpec("responder", self.bind_host, transport=self.transport),),
                self.behaviour, seed=n, pop_url=self.pop_url,
                pop_tokens=(self.pop_tokens[n],) if self.pop_url is not None else ())
            commands = self._ctx.Queue()
            process = self._ctx.Process(target=answer_worker,
                                        args=(config, commands, self._results),
                                        name=config.name, daemon=True)
            process.start()
            self._workers.append((process, commands))
        deadline = time.monotonic() + self.startup_timeout_s
        while len(self.targets) < self.count:
            try:
                message = self._results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.__exit__()
                raise LoadRunError(  # noqa: B904 - the empty queue is the whole story
f"{self.count - len(self.targets)} of {self.count} loopback "
                                   f"responders did not start in {self.startup_timeout_s} s")
            self._take(message)
        return self

    def __exit__(self, *exc: object) -> None:
        for _, commands in self._workers:
            commands.put(Stop(abort=True))
        for process, commands in self._workers:
            process.join(20)
            if process.is_alive():
                process.kill()
                process.join(5)
            commands.close()
        self.collect()
        self._workers.clear()

    def collect(self, timeout: float = 0.0) -> list[AnsweredCall]:
        """Take the call records reported so far (waiting up to ``timeout`` for the first)."""
        try:
            message = self._results.get(timeout=timeout) if timeout else \
                self._results.get_nowait()
            while True:
                self._take(message)
                message = self._results.get_nowait()
        except queue.Empty:
            return self.calls

    def _take(self, message: Any) -> None:
        if isinstance(message, WorkerReady):
            port = message.udp_port if self.transport == "udp" else message.tcp_port
            self.targets.append(f"{self.bind_host}:{port}")
        elif isinstance(message, AnswerDone):
            self.calls.append(message.call)
        elif isinstance(message, PopSeen):
            self.pops.append(message)
        elif isinstance(message, WorkerFailed):
            raise LoadRunError(f"loopback responder {message.worker} failed: {message.error}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5070, help="SIP port (0: any free port)")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--answer-after", type=float, default=0.0, metavar="S",
                        help="ring this long before answering")
    parser.add_argument("--dtmf", default="D@0.5", metavar="DIGITS@S,...",
                        help="digits to send after answering (default: the answer marker D)")
    parser.add_argument("--reject", type=int, metavar="CODE",
                        help="refuse every call with this status (486 busy, 603 decline)")
    parser.add_argument("--reject-from", action="append", default=[], metavar="REGEX=CODE",
                        help="refuse callers whose number matches REGEX with CODE (repeatable)")
    parser.add_argument("--hangup-after", type=float, metavar="S",
                        help="hang up this long after answering")


def behaviour_from_args(args: argparse.Namespace) -> AnswerBehaviour:
    return AnswerBehaviour(answer_after_s=(args.answer_after, args.answer_after),
                           dtmf=parse_dtmf_steps(args.dtmf), reject_code=args.reject,
                           reject_from=tuple(_rule(text) for text in args.reject_from),
                           hangup_after_s=args.hangup_after)


def _rule(text: str) -> tuple[str, int]:
    regex, sep, code = text.rpartition("=")
    if not sep or not code.isdigit() or not 300 <= int(code) <= 699:
        raise LoadPlanError(f"--reject-from {text!r} must be REGEX=CODE with CODE 300-699, "
                            "e.g. ^0699=486")
    try:
        re.compile(regex)
    except re.error as error:
        raise LoadPlanError(f"--reject-from {text!r}: bad regex: {error}") from None
    return regex, int(code)


def serve(args: argparse.Namespace) -> int:
    """Run one responder in this process until SIGINT/SIGTERM, printing JSON lines."""
    settings = UaSettings(bind_host=args.bind,
                          udp_port=args.port if args.transport == "udp" else None,
                          tcp_port=args.port if args.transport == "tcp" else None, log_level=1)
    config = AnswerWorkerConfig("responder", settings,
                                (AccountSpec("responder", args.bind, transport=args.transport),),
                                behaviour_from_args(args))
    commands: queue.Queue[Any] = queue.Queue()
    results: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker = threading.Thread(target=answer_worker, args=(config, commands, results),
                              name="responder")
    worker.start()
    code = 0
    stopping = False
    while worker.is_alive() or not results.empty():
        if stop.is_set() and not stopping:
            stopping = True
            commands.put(Stop(abort=True))
        try:
            message = results.get(timeout=0.2)
        except queue.Empty:
            continue
        if isinstance(message, WorkerReady):
            _print({"ready": {"udp_port": message.udp_port, "tcp_port": message.tcp_port}})
        elif isinstance(message, AnswerDone):
            _print({"call": dataclasses.asdict(message.call)})
        elif isinstance(message, WorkerFailed):
            print(f"responder failed: {message.error}", file=sys.stderr)
            code = 1
    worker.join()
    return code


def _print(obj: object) -> None:
    print(json.dumps(obj), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.sip.responder", description=__doc__)
    add_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
