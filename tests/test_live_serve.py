"""``hotline serve`` as real processes on one Redis, against the Asterisk stand-in.

Two processes start; one takes the routing lease. It is killed (SIGKILL: no clean-up, the
lease is not released) with callers waiting; the other takes over within a few seconds and
the callers are answered. Then that one is stopped (SIGTERM) and started again: the callers
waiting meanwhile are still waiting and are answered too.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import uuid
from pathlib import Path

from live_support import login_ready, wait_until

from cti.commands import submit
from cti.ports import Command
from hotline.store import RedisServer, StateStore
from sim.asterisk import AgentScript, AsteriskStandin, CallerScript, World

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configure(folder: Path, ami_port: int) -> None:
    path = folder / "hotline.yaml"
    text = path.read_text()
    text = re.sub(r"(ami:\n(?:  .*\n)*?  port: )\d+", rf"\g<1>{ami_port}", text)
    text = re.sub(r"(ami:\n(?:  .*\n)*?  username: )\S+", r"\g<1>cti", text)
    text = re.sub(r"data_dir: .*", f"data_dir: {folder / 'data'}", text)
    path.write_text(text)


class Serve:
    def __init__(self, folder: Path, holder: str, redis_url: str, namespace: str) -> None:
        self.args = [sys.executable, "-m", "cti.cli", "serve", "--config", str(folder),
                     "--holder", holder, "--lease-ttl", "1.0", "--namespace", namespace,
                     "--no-http", "--no-fastagi"]
        self.env = {**os.environ, "HOTLINE_REDIS_URL": redis_url,
                    "HOTLINE_AMI_SECRET": "cti-secret", "PYTHONPATH": str(REPO)}
        self.process: asyncio.subprocess.Process | None = None
        self.holder = holder
        self.log = folder.parent / f"serve-{holder}.log"  # stderr, for a failing test

    async def start(self) -> Serve:
        with self.log.open("w") as stderr:
            self.process = await asyncio.create_subprocess_exec(
                *self.args, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=stderr)
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 20)
        assert b"hotline serve" in line, line
        return self

    async def stop(self, sig: int) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), 20)


async def test_killed_leader_fails_over_and_a_restart_keeps_callers_waiting(
        redis_server: RedisServer, deployment_copy: Path):
    namespace = f"serve-{uuid.uuid4().hex[:8]}"
    client = redis_server.client()
    store = StateStore(client, namespace=namespace)
    async with AsteriskStandin(time_scale=0.01) as standin:
        configure(deployment_copy, standin.port)
        world = World(standin)
        for extension in ("1001", "1002"):
            world.add_agent(extension, script=AgentScript(answer_after=1.0, talk_for=1.0))
        first = Serve(deployment_copy, "p1", redis_server.url, namespace)
        second = Serve(deployment_copy, "p2", redis_server.url, namespace)
        restarted: list[Serve] = []
        try:
            await asyncio.gather(first.start(), second.start())
            lease = store.key("lease", "routing")
            agents = store.key("agents")

            async def holder() -> str | None:
                return await client.get(lease)

            for _ in range(200):
                if await holder() and await client.hlen(agents) and standin.logins:
                    break
                await asyncio.sleep(0.05)
            leader, follower = (first, second) if await holder() == "p1" else (second, first)
            callers = [await world.call(world.add_caller(f"20{i:02d}")) for i in range(2)]
            for _ in range(200):
                if await client.hlen(store.key("contacts")) == 2:
                    break
                await asyncio.sleep(0.05)
            assert await client.hlen(store.key("contacts")) == 2

            assert await leader.stop(signal.SIGKILL) == -signal.SIGKILL
            await world.wait_for(lambda: standin.logins >= 2, timeout=10)   # follower on AMI
            await login_ready(store, "a001", "a002")
            await world.wait_for(lambda: all(c.state == "done" for c in callers), timeout=10)
            assert [c.outcome for c in callers] == ["answered", "answered"]
            survivor = "p2" if leader is first else "p1"
            assert await holder() == survivor

            for agent in ("a001", "a002"):      # wrap-up is 30 real seconds in routing.yaml
                await submit(store, Command("wrapup_end", agent, "test"))
            await asyncio.sleep(0.3)
            assert await follower.stop(signal.SIGTERM) == 0   # clean stop: lease released
            assert await holder() is None
            late = await world.call(world.add_caller("2099"))   # arrives while nobody routes
            restarted.append(Serve(deployment_copy, "p3", redis_server.url, namespace))
            await restarted[0].start()
            await world.wait_for(lambda: late.state == "done", timeout=10)
            assert late.outcome == "answered"
            assert await restarted[0].stop(signal.SIGTERM) == 0
        finally:
            for serve in (first, second, *restarted):
                if serve.process is not None and serve.process.returncode is None:
                    serve.process.kill()
                    await serve.process.wait()
            keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


async def test_a_refused_ami_login_stops_serve_with_one_plain_line(
        redis_server: RedisServer, deployment_copy: Path):
    namespace = f"auth-{uuid.uuid4().hex[:8]}"
    async with AsteriskStandin(secret="another-secret") as standin:
        configure(deployment_copy, standin.port)
        serve = Serve(deployment_copy, "p1", redis_server.url, namespace)
        await serve.start()
        assert serve.process is not None
        assert await asyncio.wait_for(serve.process.wait(), 20) == 1
        last = serve.log.read_text().strip().splitlines()[-1]
        assert last.startswith("hotline: AMI action Login") and "Traceback" not in last
    client = redis_server.client()
    keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_serve_routes_an_ivr_caller_and_serves_the_api(
        redis_server: RedisServer, deployment_copy: Path, monkeypatch):
    """The composition root in-process: FastAGI, API and routing built from one folder."""
    import httpx

    from cti.serve import ServeOptions, serve
    from hotline.deployment import load

    namespace = f"inproc-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("HOTLINE_REDIS_URL", redis_server.url)
    monkeypatch.setenv("HOTLINE_AMI_SECRET", "cti-secret")
    http_port, agi_port = free_port(), free_port()
    async with AsteriskStandin(time_scale=0.01) as standin:
        configure(deployment_copy, standin.port)
        path = deployment_copy / "hotline.yaml"
        text = path.read_text()
        text = re.sub(r"http:\n  bind: \S+", f"http:\n  bind: 127.0.0.1:{http_port}", text)
        text = re.sub(r"fastagi:\n  bind: \S+", f"fastagi:\n  bind: 127.0.0.1:{agi_port}", text)
        path.write_text(text)
        deployment = load(deployment_copy)
        stop = asyncio.Event()
        ready: dict[str, str] = {}
        task = asyncio.get_running_loop().create_task(serve(
            deployment, ServeOptions(holder="inproc", namespace=namespace), stop,
            on_ready=ready.update))
        client = redis_server.client()
        store = StateStore(client, namespace=namespace)
        try:
            await wait_until(lambda: bool(ready), 10)
            async with httpx.AsyncClient(base_url=ready["http"]) as http:
                health = await http.get("/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            world = World(standin, agi_url=f"agi://127.0.0.1:{agi_port}")
            world.add_agent("1020", script=AgentScript(answer_after=1.0, talk_for=2.0))
            for _ in range(200):
                if await client.hlen(store.key("agents")) and standin.logins:
                    break
                await asyncio.sleep(0.05)
            await login_ready(store, "a020")
            caller = world.add_caller("2001", script=CallerScript(ivr_flow="main",
                                                                 keys=("1", "2")))
            await world.call(caller)                 # German, outage: queue 'technical'
            await world.wait_for(lambda: caller.state == "done", timeout=10)
            assert caller.outcome == "answered" and caller.agents == ["1020"]
            arrivals = [e for _, e in await store.read_stream(store.key("router", "log"))
                        if e["type"] == "contact_arrive"]
            assert [(a["contact"], a["queue"]) for a in arrivals] == [
                (caller.uniqueid, "technical")]
            # the recording policy's consent notice, before the caller was handed to the ACD
            assert caller.agi is not None
            commands = caller.agi.commands
            notice = next(i for i, c in enumerate(commands)
                          if c.startswith('STREAM FILE hotline/recording-consent'))
            assert notice > commands.index("SET VARIABLE HOTLINE_QUEUE technical")
            await api_checks(deployment, ready["http"], caller.uniqueid)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


async def api_checks(deployment, url: str, call_id: str) -> None:
    """The recording, QA and call routes are mounted; the call's record is complete."""
    import httpx

    from cti.call_records import CallRecords
    from hotline.auth import TokenStore
    from hotline.db import open_database

    assert deployment.settings is not None
    database = open_database(deployment.settings.database.resolve(),
                             data_dir=deployment.data_dir)
    try:
        records = CallRecords(database)
        await wait_until(lambda: (records.get(call_id) or {}).get("outcome") is not None, 5)
        row = records.get(call_id)
        assert row is not None
        assert (row["outcome"], row["flow"], row["queue"], row["agent_id"]) == (
            "answered", "main", "technical", "a020")
        assert row["caller_id"] == "2001" and row["talk_s"] > 0 and row["wait_s"] >= 0
        tokens = TokenStore(database)
        agent, other = tokens.issue("a020", "agent"), tokens.issue("a001", "agent")
        supervisor = tokens.issue("sue", "supervisor")

        def auth(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url) as http:
            forms = await http.get("/qa/forms", headers=auth(supervisor))
            assert forms.status_code == 200
            assert {f["name"] for f in forms.json()} == {f.name for f in
                                                          deployment.sections["qa"].forms}
            found = await http.get("/recordings", headers=auth(supervisor),
                                   params={"call_id": call_id})
            assert found.status_code == 200
            refused = await http.post(f"/calls/{call_id}/satisfaction", json={"score": 2},
                                      headers=auth(other))
            assert refused.status_code == 403
            rated = await http.post(f"/calls/{call_id}/satisfaction", json={"score": 2},
                                    headers=auth(agent))
            assert rated.status_code == 200
        assert records.get(call_id)["satisfaction"] == 2  # type: ignore[index]
    finally:
        database.close()
