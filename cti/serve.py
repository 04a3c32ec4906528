"""``hotline serve``: the composition root of the live engine.

Builds everything from one deployment folder by constructor injection and runs it in ONE
asyncio loop:

* Redis (``redis.url``, or an embedded server in the data folder) and the SQL database;
* FastAGI (``fastagi.bind``): the IVR flows, with customer lookups in the database and the
  queue hand-over written to Redis (:class:`cti.sink.RedisQueueSink`);
* the HTTP API and WebSockets (``http.bind``, :func:`cti.api.app.create_app`);
* the routing side: :class:`cti.leader.Leadership` on the shared Redis; while this process
  holds the lease, a :class:`cti.live.LiveEngine` connected to Asterisk's AMI routes calls.

Every process serves FastAGI and the API; one routes. SIGTERM/SIGINT stop the process cleanly
(the lease is released, so a follower takes over at once); SIGHUP reloads the IVR flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cti.ami.client import AmiSettings
from cti.leader import Leadership
from cti.live import CallObserver, EngineOptions, LiveEngine
from cti.sink import RedisQueueSink
from hotline.config.loader import Deployment
from hotline.errors import HotlineError
from hotline.store import RedisServer, StateStore

if TYPE_CHECKING:
    from cti.api.server import ApiServer
    from hotline.db import Database
    from ivr.customers import CustomerLookup
    from recording.policy import RecordingPolicy

log = logging.getLogger("cti.serve")


@dataclass(frozen=True, slots=True)
class ServeOptions:
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    lease_ttl_s: float = 3.0
    namespace: str = "hotline"  # Redis key prefix: deployments sharing one Redis differ here
    http: bool = True
    fastagi: bool = True
    routing: bool = True
    engine: EngineOptions = field(default_factory=EngineOptions)


def ami_settings(deployment: Deployment) -> AmiSettings:
    """The AMI client's settings from hotline.yaml, the secret from its environment variable."""
    assert deployment.settings is not None
    ami = deployment.settings.ami
    return AmiSettings(host=ami.host, port=ami.port, username=ami.username,
                       secret=ami.secret().get_secret_value(),
                       ping_interval=ami.ping_interval_s, ping_timeout=ami.ping_interval_s,
                       action_timeout=ami.action_timeout_s)


async def serve(deployment: Deployment, options: ServeOptions, stop: asyncio.Event, *,
                observers: Callable[[], Iterable[CallObserver]] | None = None,
                on_ready: Callable[[dict[str, str]], None] | None = None) -> None:
    """Run until ``stop`` is set. ``on_ready`` receives the addresses once listening."""
    from ivr.fastagi import FastAgiServer
    from ivr.runtime import FlowRegistry

    settings = deployment.settings
    routing = deployment.routing
    assert settings is not None and routing is not None
    zone = ZoneInfo(settings.timezone)
    redis = RedisServer.start(settings.redis.resolve(), deployment.data_dir)
    store = StateStore(redis.client(), namespace=options.namespace)
    database = await _open_database(deployment)
    lookup = customer_lookup(deployment, database)
    leadership = Leadership(store, options.holder, ttl_s=options.lease_ttl_s)
    addresses: dict[str, str] = {"redis": str(redis)}

    policy = recording_policy(deployment)

    def default_observers() -> list[CallObserver]:
        """The recordings, by the deployment's recording policy (qa/ section), and the
        call records (one ``calls`` row per call, cti.call_records)."""
        from cti.call_records import CallRecords, CallRecordsHook
        from cti.clock import WallClock
        from cti.recording_hook import RecordingHook
        from recording.control import RecordingController
        from recording.repository import RecordingRepository
        from recording.storage import RecordingStorage

        root = policy.storage.asterisk_root or str(deployment.recordings_dir)
        agents = {a.extension: a.id for a in routing.agents}
        controller = RecordingController(policy, asterisk_root=root, tz=zone)
        return [RecordingHook(controller, RecordingRepository(database, zone),
                              RecordingStorage(deployment.recordings_dir), WallClock(),
                              agent_of_extension=agents),
                CallRecordsHook(CallRecords(database), agents)]
    try:
        async with asyncio.TaskGroup() as tasks:
            if options.fastagi:
                registry = FlowRegistry(deployment.root, flows=deployment.sections["ivr"])
                fastagi = FastAgiServer(registry, lookup=lookup, sink=RedisQueueSink(store),
                                        clock=lambda: dt.datetime.now(zone),
                                        consent=policy.consent_prompt_for)
                port = await fastagi.start(settings.fastagi.host, settings.fastagi.port)
                addresses["fastagi"] = f"agi://{settings.fastagi.host}:{port}/<flow>"
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP,
                                                                  registry.reload)
                tasks.create_task(fastagi.serve_forever(), name="fastagi")
                tasks.create_task(registry.watch(), name="ivr-watch")
            if options.http:
                api = _api_server(deployment, store, database, zone, policy)
                addresses["http"] = api.url
                tasks.create_task(api.serve(), name="http")
            if options.routing:
                async def lead(token: int) -> None:
                    engine = LiveEngine(routing, store=store, leadership=leadership,
                                        ami=ami_settings(deployment), timezone=settings.timezone,
                                        lookup=lookup, options=options.engine,
                                        observers=(observers or default_observers)())
                    await engine.run()
                tasks.create_task(leadership.run(lead), name="routing-leadership")
            if on_ready is not None:
                on_ready(addresses)
            await stop.wait()
            raise _Stopping
    except* _Stopping:
        log.warning("hotline serve stopping")
    finally:
        with contextlib.suppress(Exception):
            await leadership.release()
        await store.redis.aclose()
        if hasattr(lookup, "aclose"):
            await lookup.aclose()
        database.close()
        redis.stop()


async def _open_database(deployment: Deployment) -> Database:
    """Open (and migrate) the database; the migration lock lets processes start together."""
    from hotline.db import open_database

    assert deployment.settings is not None
    return await asyncio.to_thread(open_database, deployment.settings.database.resolve(),
                                   data_dir=deployment.data_dir)


def customer_lookup(deployment: Deployment, database: Database) -> CustomerLookup:
    """Where pops and IVR lookups find customers: hotline.yaml's ``customers`` section."""
    from cti.crm import HttpCrm
    from cti.customers import DatabaseCustomers

    assert deployment.settings is not None
    source = deployment.settings.customers
    if source.source == "database":
        return DatabaseCustomers(database)
    headers = {}
    if source.token_env:
        token = os.environ.get(source.token_env, "")
        if not token:
            raise HotlineError(f"customers.token_env names {source.token_env}, which is not set; "
                               "export the CRM's token in it")
        headers["Authorization"] = f"Bearer {token}"
    return HttpCrm(source.url, timeout_s=source.timeout_s, cache_ttl_s=source.cache_ttl_s,
                   headers=headers)


class _Stopping(Exception):
    """Raised inside the task group to cancel every server when ``stop`` is set."""


def recording_policy(deployment: Deployment) -> RecordingPolicy:
    """The deployment's recording policy (``qa/`` section), or the defaults without one."""
    from recording.policy import RecordingPolicy

    section = deployment.sections.get("qa")
    policy = getattr(section, "policy", None)
    return policy if isinstance(policy, RecordingPolicy) else RecordingPolicy()


def _api_server(deployment: Deployment, store: StateStore, database: Database,
                zone: ZoneInfo, policy: RecordingPolicy) -> ApiServer:
    """The API app (cti.api) with the recording and QA routers, served by uvicorn here."""
    from cti.api.app import create_app
    from cti.api.server import ApiServer
    from cti.recording_controls import StoreRecordingControls
    from hotline.auth import TokenStore, principal_dependency
    from recording.http import recording_router
    from recording.qa.http import qa_router
    from recording.storage import RecordingStorage

    assert deployment.settings is not None
    tokens = TokenStore(database)
    principal = principal_dependency(tokens)
    section = deployment.sections.get("qa")
    forms = {form.name: form for form in getattr(section, "forms", [])}
    controls = StoreRecordingControls(database, store, asyncio.get_running_loop())
    app = create_app(
        store, database, tokens,
        recording_router=recording_router(
            database, RecordingStorage(deployment.recordings_dir), principal,
            allow_agents_own=policy.defaults.agents_may_play_own, tz=zone, controls=controls),
        qa_router=qa_router(database, forms, principal, tz=zone))
    http = deployment.settings.http
    return ApiServer(app, http.host, http.port)
