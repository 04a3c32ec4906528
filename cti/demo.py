"""``hotline demo``: the whole live engine on the Asterisk stand-in, for a first look.

Nothing to install: an embedded Redis in a temporary folder, the stand-in speaking AMI and
FastAGI on 127.0.0.1, simulated callers who go through the deployment's real IVR flow
(``main``) and simulated agents who answer (or not), talk, hold and hang up. The routing engine
is exactly the one ``hotline serve`` runs; the only difference is the clock, which runs
``--speed`` times faster so a few real seconds show minutes of a call centre.

It prints, as they happen, callers queued, screen-pops (before the phone rings), answers,
RONAs and abandons, and every few seconds a line per queue with the live metrics. Calls are
recorded by the deployment's recording policy (``qa/``; callers hear its consent notice) into
the temporary folder, and every call gets its ``calls`` row in a temporary SQLite database;
the summary counts both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from cti.ami.client import AmiSettings
from cti.clock import ScaledClock
from cti.commands import submit
from cti.leader import Leadership
from cti.live import EngineOptions, LiveEngine, queue_statuses
from cti.ports import Command
from cti.sink import RedisQueueSink
from hotline.store import RedisServer, StateStore
from recording.repository import SearchQuery

ASTERISK_ROOT = "/var/spool/asterisk/monitor/hotline"  # as the stand-in's MixMonitor sees it

# Key presses of the demo's callers through config/ivr/main.yaml: language, then reason.
IVR_KEYS: tuple[tuple[str, ...], ...] = (
    ("1", "1", "0123456789#"),   # German, bills, account number -> billing
    ("1", "1", "0123456789#"),
    ("1", "2"),                  # German, outage -> technical
    ("2", "2"),                  # English, outage -> technical (english skill)
    ("1", "4"),                  # complaint
    ("1", "0"),                  # operator -> general
)


FIRST = ("Erika", "Jonas", "Mia", "Paul", "Lena", "Felix", "Ida", "Noah", "Greta", "Emil")
LAST = ("Muster", "Becker", "Wolf", "Krause", "Lange", "Richter", "Koch", "Hahn")
TIERS = ("standard", "standard", "standard", "gold", "standard", "platinum", "standard")


def demo_customers(count: int = 2000) -> list[dict[str, Any]]:
    """Made-up customers for the demo's caller numbers (2001, 2002, ...): the IVR finds them
    by caller id, gold and platinum ones get VIP priority, and the pops show their names."""
    return [{"id": f"C-{number}", "name": f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}",
             "phone": str(number), "account": f"{number:010d}", "tier": TIERS[i % len(TIERS)],
             "balance": round(12.5 * (i % 17), 2)}
            for i, number in enumerate(range(2001, 2001 + count))]


@dataclass(frozen=True, slots=True)
class DemoOptions:
    config: Path = Path("config")
    duration_s: float = 20.0
    speed: float = 20.0
    agents: int = 8
    calls_per_minute: float = 6.0
    seed: int = 1
    quiet: bool = False


class _Printer:
    def __init__(self, out: TextIO, quiet: bool, started: float) -> None:
        self.out, self.quiet, self.started = out, quiet, started

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.started:6.2f}s] {text}", file=self.out,
                  flush=True)


async def run_demo(options: DemoOptions, out: TextIO = sys.stdout) -> dict[str, Any]:
    """Run the demo for ``options.duration_s`` real seconds; returns the summary."""
    from cti.call_records import CallRecords, CallRecordsHook
    from cti.recording_hook import RecordingHook
    from cti.serve import recording_policy
    from hotline.db import open_database
    from hotline.deployment import load
    from ivr.customers import CsvCustomers
    from ivr.fastagi import FastAgiServer
    from ivr.runtime import FlowRegistry
    from recording.control import RecordingController
    from recording.repository import RecordingRepository
    from recording.storage import RecordingStorage
    from sim.asterisk import AsteriskStandin, World
    from sim.asterisk.traffic import Traffic, TrafficProfile

    deployment = load(options.config)
    routing = deployment.routing
    assert routing is not None and deployment.settings is not None
    scale = 1.0 / options.speed
    say = _Printer(out, options.quiet, time.monotonic())
    logging.getLogger("cti").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="hotline-demo-") as folder:
        redis = RedisServer.start("", Path(folder) / "redis")
        store = StateStore(redis.client(), namespace="demo")
        policy = recording_policy(deployment)
        zone = ZoneInfo(deployment.settings.timezone)
        database = open_database("", data_dir=Path(folder) / "data")
        standin = AsteriskStandin(time_scale=scale,
                                  ring_timeout=routing.settings.ring_timeout_s,
                                  recordings_root=Path(folder) / "pbx")
        await standin.start()
        asterisk_root = policy.storage.asterisk_root or ASTERISK_ROOT
        repository = RecordingRepository(database, zone)
        records = CallRecords(database)

        def observers() -> list[Any]:
            controller = RecordingController(policy, asterisk_root=asterisk_root, tz=zone)
            storage = RecordingStorage(standin.recording_path(asterisk_root))
            agents = {a.extension: a.id for a in routing.agents}
            return [RecordingHook(controller, repository, storage, standin.clock,
                                  agent_of_extension=agents),
                    CallRecordsHook(records, agents)]
        customers = CsvCustomers(demo_customers())
        flows = FlowRegistry(options.config, flows=deployment.sections["ivr"])
        fastagi = FastAgiServer(flows, lookup=customers, sink=RedisQueueSink(store),
                                consent=policy.consent_prompt_for)
        agi_port = await fastagi.start("127.0.0.1", 0)
        world = World(standin, agi_url=f"agi://127.0.0.1:{agi_port}")
        traffic = Traffic(world, TrafficProfile(
            calls_per_minute=options.calls_per_minute, mean_patience=240.0, mean_talk=45.0,
            ivr_flow="main", ivr_keys=IVR_KEYS, seed=options.seed))
        step = max(1, len(routing.agents) // max(1, options.agents))
        on_duty = routing.agents[::step][:options.agents]
        traffic.add_agents([a.extension for a in on_duty])
        leadership = Leadership(store, "demo", ttl_s=3.0)
        engines: list[LiveEngine] = []

        async def lead(token: int) -> None:
            engine = LiveEngine(
                routing, store=store, leadership=leadership,
                ami=AmiSettings(port=standin.port, username="cti", secret="cti-secret"),
                clock=ScaledClock(scale), timezone=deployment.settings.timezone,
                lookup=customers, observers=observers(),
                options=EngineOptions(snapshot_interval_s=30.0))
            engines.append(engine)
            await engine.run()

        say(f"Asterisk stand-in on 127.0.0.1:{standin.port}, IVR on agi://127.0.0.1:{agi_port},"
            f" embedded Redis; {len(on_duty)} agents, {options.calls_per_minute:g} calls/min, "
            f"x{options.speed:g} speed")
        pops: list[dict[str, Any]] = []
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(leadership.run(lead), name="demo-leadership")
                tasks.create_task(fastagi.serve_forever(), name="demo-fastagi")
                screen_ready = asyncio.Event()
                tasks.create_task(_screens(store, say, pops, screen_ready), name="demo-screens")
                await screen_ready.wait()
                while not (engines and engines[0].ready.is_set()):
                    await asyncio.sleep(0.01)
                engine = engines[0]
                for agent in on_duty:
                    await submit(store, Command("agent_login", agent.id, "demo"))
                    await submit(store, Command("agent_ready", agent.id, "demo"))
                tasks.create_task(_narrate(world, say), name="demo-narrator")
                tasks.create_task(traffic.run(100_000), name="demo-traffic")
                tasks.create_task(_board(engine, say), name="demo-board")
                await asyncio.sleep(options.duration_s)
                raise _Done
        except* _Done:
            pass
        finally:
            await fastagi.close()
            await standin.stop()
            await store.redis.aclose()
            redis.stop()
        summary = _summary(world, engines[0] if engines else None, pops, options)
        summary["recordings"] = len(repository.search(SearchQuery(limit=100_000)))
        summary["call_records"] = _count_calls(database)
        database.close()
        return summary


def _count_calls(database: Any) -> int:
    import sqlalchemy as sa

    from hotline.db import tables

    with database.begin() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tables.calls))
                   .scalar_one())


class _Done(Exception):
    """Raised in the demo's task group when the time is up."""


async def _screens(store: StateStore, say: _Printer, pops: list[dict[str, Any]],
                   ready: asyncio.Event) -> None:
    """The agents' browsers: show each pop and acknowledge it (as the API's WebSocket does)."""
    pubsub = store.redis.pubsub()
    await pubsub.psubscribe(store.key("pop", "*"))
    ready.set()
    try:
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            pop = json.loads(message["data"])
            delivered = time.time()
            pops.append(pop)
            await store.publish(store.key("popack"), {
                "type": "pop_ack", "pop_id": pop["pop_id"], "agent": pop["agent"],
                "delivered_at": delivered})
            record = pop.get("customer") or {}
            customer = f"{record.get('name', 'unknown caller')}, {record.get('tier', '-')}"
            say(f"POP    agent {pop['agent']}: {pop['caller_id']} ({customer}) queue "
                f"{pop['queue']}, waited {pop['wait_s']:.0f}s, IVR "
                f"{' > '.join(pop['ivr_path'][-3:]) or '-'} {pop['attributes']}")
    finally:
        await pubsub.aclose()


async def _narrate(world: Any, say: _Printer) -> None:
    seen = 0
    shown = {"queued": "QUEUED", "answered": "ANSWER", "rona": "RONA  ", "hung_up": "HANGUP"}
    while True:
        await asyncio.sleep(0.05)
        for event in world.log[seen:]:
            label = shown.get(event.kind)
            if label is None:
                continue
            if event.kind == "queued":
                say(f"{label} caller {event.who} -> queue {event.detail}")
            elif event.kind == "answered":
                say(f"{label} agent phone {event.who} answered {event.detail}")
            elif event.kind == "rona":
                say(f"{label} phone {event.who} did not answer ({event.detail}); caller "
                    "keeps their place, agent set not ready")
            else:
                say(f"{label} caller {event.who}: {event.detail}")
        seen = len(world.log)


async def _board(engine: LiveEngine, say: _Printer) -> None:
    while True:
        await asyncio.sleep(3.0)
        router = engine.engine.router if engine.engine else None
        if router is None:
            continue
        states = Counter(a.state for a in router.agents() if a.state != "logged_out")
        say("AGENTS " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
        for status in queue_statuses(router, router.queue_names(), engine.clock.now()):
            today = status.metrics.get("windows", {}).get("today") or {}
            extra = ""
            if today.get("offered"):
                level = today.get("service_level")
                extra = (f"; today offered {today['offered']}, answered {today['answered']}, "
                         f"abandoned {today['abandoned']}, service level "
                         f"{'-' if level is None else f'{level:.0f}%'}")
            say(f"QUEUE  {status.queue:<10} waiting {status.waiting}, longest "
                f"{status.longest_wait_s:.0f}s{extra}")


def _summary(world: Any, engine: LiveEngine | None, pops: list[dict[str, Any]],
             options: DemoOptions) -> dict[str, Any]:
    outcomes = Counter(c.outcome or c.state for c in world.callers)
    leads = [p.lead_s * 1000 for p in engine.pop_leads] if engine is not None else []
    summary: dict[str, Any] = {
        "duration_s": options.duration_s, "speed": options.speed,
        "callers": len(world.callers), "outcomes": dict(sorted(outcomes.items())),
        "pops": len(pops), "rings_with_pop_first": sum(1 for x in leads if x > 0),
        "rings": len(leads),
        "pop_lead_ms_p50": round(statistics.median(leads), 2) if leads else None,
        "pop_samples": pops[:5],
    }
    if engine is not None and engine.engine is not None:
        summary["metrics"] = engine.engine.router.metrics(engine.clock.now()).to_dict()[
            "overall"]
    if not options.quiet:
        print(f"\n{summary['callers']} callers: "
              + ", ".join(f"{k} {v}" for k, v in summary["outcomes"].items())
              + f"; {summary['pops']} pops, {summary['rings_with_pop_first']} of "
              f"{summary['rings']} rings came after their pop "
              f"(median lead {summary['pop_lead_ms_p50']} ms)")
    return summary
