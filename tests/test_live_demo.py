"""``hotline demo`` runs the whole engine on the stand-in and shows calls, pops and metrics."""

from __future__ import annotations

import io
from pathlib import Path

from cti.demo import DemoOptions, run_demo

CONFIG = Path(__file__).resolve().parent.parent / "config"


async def test_demo_shows_calls_flowing_with_pops_before_rings():
    out = io.StringIO()
    summary = await run_demo(DemoOptions(config=CONFIG, duration_s=3.5, speed=50.0, agents=8,
                                         calls_per_minute=30.0), out)
    text = out.getvalue()
    assert summary["outcomes"].get("answered", 0) >= 3
    assert summary["pops"] >= summary["outcomes"]["answered"]
    assert summary["rings"] > 0 and summary["rings_with_pop_first"] == summary["rings"]
    assert "POP    agent" in text and "QUEUED caller" in text and "ANSWER agent" in text
    assert "QUEUE  billing" in text and "AGENTS " in text
    # The callers went through the real IVR flow: its queues and path reach the pops.
    pops = summary["pop_samples"]
    assert {p["queue"] for p in pops} & {"billing", "technical", "complaints"}
    assert all(p["ivr_path"] and p["customer"]["name"] for p in pops)
