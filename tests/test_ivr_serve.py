"""``hotline ivr serve`` as a real process: answers FastAGI, reloads on SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from fastagi_fake import FakeCall
from ivr_helpers import REPO, deployment

RUN_CLI = (
    "import argparse, sys\n"
    "from ivr import cli\n"
    "parser = argparse.ArgumentParser(prog='hotline')\n"
    "cli.register(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.handler(args))\n"
)
FLOW = """\
start: hello
nodes:
  hello:
    type: play
    prompt: p/first
    next: agent
  agent:
    type: queue
    queue: general
"""


async def test_serve_answers_and_reloads_on_sighup(tmp_path: Path) -> None:
    root = deployment(tmp_path, {"main": FLOW})
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, "ivr", "serve", "--config", str(root), "--bind",
         "127.0.0.1:0", "--watch-interval", "3600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert process.stdout is not None
        banner = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 20)
        assert banner.startswith("serving IVR flows main (version ")
        port = int(banner.rsplit(":", 1)[1].split("/")[0])
        first = await FakeCall().run(port)
        assert first.commands[0] == 'STREAM FILE p/first ""'

        (root / "ivr" / "main.yaml").write_text(FLOW.replace("p/first", "p/second"))
        process.send_signal(signal.SIGHUP)
        for _ in range(100):
            second = await FakeCall().run(port)
            if second.commands[0] != first.commands[0]:
                break
            await asyncio.sleep(0.05)
        assert second.commands[0] == 'STREAM FILE p/second ""'
        assert "SET VARIABLE HOTLINE_QUEUE general" in second.commands
    finally:
        process.terminate()
        _, errors = await asyncio.to_thread(process.communicate, timeout=10)
    assert "IVR flows reloaded" in errors
