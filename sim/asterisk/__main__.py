"""Run the stand-in by hand: ``python -m sim.asterisk --agents 1001-1003 --calls 20``.

Starts the AMI server, registers agent phones, feeds seeded traffic and prints what the humans
do, so ``hotline serve`` (or any AMI client) can be pointed at it. Routing is up to the client:
without one, callers wait until their patience runs out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os

from sim.asterisk.standin import AsteriskStandin
from sim.asterisk.traffic import Traffic, TrafficProfile
from sim.asterisk.world import World, WorldEvent


def extensions(spec: str) -> list[str]:
    """``1001-1003,1010`` -> ['1001', '1002', '1003', '1010']."""
    out: list[str] = []
    for part in filter(None, spec.split(",")):
        first, _, last = part.partition("-")
        if last:
            out += [str(n) for n in range(int(first), int(last) + 1)]
        else:
            out.append(first)
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sim.asterisk", description=__doc__)
    p.add_argument("--port", type=int, default=5038, help="AMI port on 127.0.0.1 (0: any)")
    p.add_argument("--username", default="cti")
    p.add_argument("--secret-env", default="HOTLINE_AMI_SECRET",
                   help="environment variable holding the AMI secret (default secret: "
                        "cti-secret when unset)")
    p.add_argument("--scale", type=float, default=1.0, help="real seconds per simulated one")
    p.add_argument("--agents", default="1001-1003", help="agent extensions, e.g. 1001-1005")
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--calls-per-minute", type=float, default=6.0)
    p.add_argument("--agi-url", default=None, help="agi://host:port to run IVR flows on")
    p.add_argument("--flow", default=None, help="IVR flow name for every caller")
    p.add_argument("--recordings-root", default=None)
    p.add_argument("--seed", type=int, default=1)
    return p


async def run(args: argparse.Namespace) -> None:
    secret = os.environ.get(args.secret_env, "cti-secret")
    async with AsteriskStandin(port=args.port, username=args.username, secret=secret,
                               time_scale=args.scale,
                               recordings_root=args.recordings_root) as standin:
        print(f"AMI on 127.0.0.1:{standin.port} (user {args.username})", flush=True)
        world = World(standin, agi_url=args.agi_url)
        traffic = Traffic(world, TrafficProfile(calls_per_minute=args.calls_per_minute,
                                                ivr_flow=args.flow, seed=args.seed))
        traffic.add_agents(extensions(args.agents))
        printed = 0

        def show(event: WorldEvent) -> None:
            print(f"{event.time - standin.clock.epoch:9.1f}s {event.kind:<14} {event.who:<6} "
                  f"{event.channel} {event.detail}", flush=True)

        async def printer() -> None:
            nonlocal printed
            while True:
                for event in world.log[printed:]:
                    show(event)
                printed = len(world.log)
                await asyncio.sleep(0.05)

        task = asyncio.get_running_loop().create_task(printer())
        try:
            await traffic.run(args.calls)
            await world.wait_for(world.done, timeout=float("inf"))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            for event in world.log[printed:]:
                show(event)


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(parser().parse_args()))


if __name__ == "__main__":
    main()
