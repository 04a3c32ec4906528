"""``hotline serve`` (the live engine) and ``hotline demo`` (the live engine on the stand-in)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import signal
import sys
from pathlib import Path

from hotline.errors import HotlineError


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve", help="run the live engine: AMI routing, FastAGI IVR, HTTP API",
        description="Run Hotline next to Asterisk: FastAGI for the IVR, the HTTP API and "
        "WebSockets, and (in the process holding the routing lease) the routing engine on "
        "AMI. Run several on one Redis for failover. SIGTERM stops cleanly; SIGHUP reloads "
        "the IVR flows. See docs/operations.md.")
    serve.add_argument("--config", "--dir", dest="config", default="config", metavar="DIR",
                       help="deployment folder (default: config)")
    serve.add_argument("--holder", help="this process's name on the routing lease "
                       "(default: host:pid)")
    serve.add_argument("--lease-ttl", type=float, default=3.0, metavar="S",
                       help="routing lease time-to-live; a follower takes over this long "
                       "after the leader dies (default 3)")
    serve.add_argument("--namespace", default="hotline",
                       help="Redis key prefix (default hotline); deployments sharing one Redis "
                       "use different ones")
    serve.add_argument("--no-routing", action="store_true",
                       help="serve API and FastAGI only; never take the routing lease")
    serve.add_argument("--no-http", action="store_true", help="do not serve the HTTP API")
    serve.add_argument("--no-fastagi", action="store_true", help="do not serve FastAGI")
    serve.add_argument("--log-level", default="info",
                       choices=["debug", "info", "warning", "error"])
    serve.add_argument("--json", action="store_true",
                       help="print the listening addresses as JSON once ready")
    serve.set_defaults(handler=_serve)

    demo = subparsers.add_parser(
        "demo", help="see calls flow: the whole engine on the Asterisk stand-in",
        description="Run the live engine against the built-in Asterisk stand-in with an "
        "embedded Redis, simulated callers and agents: calls flow, screen-pops arrive and "
        "queue metrics move. Needs no Asterisk, Redis or PostgreSQL.")
    demo.add_argument("--config", "--dir", dest="config", default="config", metavar="DIR",
                      help="deployment folder whose routing.yaml is used (default: config)")
    demo.add_argument("--duration", type=float, default=20.0, metavar="S",
                      help="real seconds to run (default 20)")
    demo.add_argument("--speed", type=float, default=20.0,
                      help="simulated seconds per real second (default 20)")
    demo.add_argument("--agents", type=int, default=8, help="agents on duty (default 8)")
    demo.add_argument("--calls-per-minute", type=float, default=6.0,
                      help="simulated arrival rate (default 6)")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.set_defaults(handler=_demo)


def _serve(args: argparse.Namespace) -> int:
    from cti.serve import ServeOptions, serve
    from hotline.deployment import load

    logging.getLogger().setLevel(args.log_level.upper())
    deployment = load(Path(args.config))
    options = ServeOptions(lease_ttl_s=args.lease_ttl, namespace=args.namespace,
                           http=not args.no_http, fastagi=not args.no_fastagi,
                           routing=not args.no_routing)
    if args.holder:
        options = dataclasses.replace(options, holder=args.holder)

    def ready(addresses: dict[str, str]) -> None:
        if args.json:
            print(json.dumps({"holder": options.holder, **addresses}), flush=True)
        else:
            listening = ", ".join(f"{k} {v}" for k, v in addresses.items())
            print(f"hotline serve {options.holder}: {listening}", flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(deployment, options, stop, on_ready=ready)

    try:
        asyncio.run(main())
    except BaseExceptionGroup as group:
        # A configuration problem found while running (a refused AMI login, a port in use)
        # is one plain line, like any other HotlineError.
        error = _first_hotline_error(group)
        if error is None:
            raise
        raise error from group
    return 0


def _first_hotline_error(group: BaseExceptionGroup) -> HotlineError | None:
    for exc in group.exceptions:
        if isinstance(exc, HotlineError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _first_hotline_error(exc)
            if found is not None:
                return found
    return None


def _demo(args: argparse.Namespace) -> int:
    from cti.demo import DemoOptions, run_demo

    summary = asyncio.run(run_demo(DemoOptions(
        config=Path(args.config), duration_s=args.duration, speed=args.speed,
        agents=args.agents, calls_per_minute=args.calls_per_minute, seed=args.seed,
        quiet=args.json)))
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m cti.cli serve|demo ...`` (the same commands as ``hotline serve|demo``)."""
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except HotlineError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
