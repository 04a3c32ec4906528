"""The load-run report: what callers experienced, measured on the SIP side.

``summarize`` turns a ``LoadResult`` into a JSON-ready dict whose keys are a contract (see
docs/load-testing.md): counts per outcome, failed calls per SIP status, distributions
(mean/p50/p90/p95/max) of post-dial delay, INVITE-to-200 and INVITE-to-human-answer, the media
check (audio received, far-end tone heard, own tone echoed back), agent-side figures and the
screen-pop lead time. ``to_html`` renders the same dict as one self-contained page: tables and,
if matplotlib is importable, a histogram embedded as a base64 PNG.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from sim.sip.bots import OUTCOMES, CallResult
from sim.sip.generator import LoadResult
from sim.sip.pop import match_pops


def distribution(values: Iterable[float | None]) -> dict[str, float | int | None]:
    """count, mean, p50, p90, p95, max of the non-None values (None figures when empty)."""
    data = np.array([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "p95": None, "max": None}
    return {
        "count": int(data.size),
        "mean": round(float(data.mean()), 4),
        "p50": round(float(np.percentile(data, 50)), 4),
        "p90": round(float(np.percentile(data, 90)), 4),
        "p95": round(float(np.percentile(data, 95)), 4),
        "max": round(float(data.max()), 4),
    }


AUDIBLE_SHARE = 0.5  # audio above silence in at least half of a call's media time


def _audible(share: float | None) -> bool | None:
    return None if share is None else share >= AUDIBLE_SHARE


def _share(flags: Sequence[bool | None]) -> dict[str, Any]:
    known = [f for f in flags if f is not None]
    return {"checked": len(known), "ok": sum(known),
            "share": round(sum(known) / len(known), 4) if known else None}


def summarize(result: LoadResult) -> dict[str, Any]:
    calls = result.calls
    outcomes = Counter(call.outcome for call in calls)
    failed = Counter(str(call.sip_code) for call in calls if call.outcome == "failed")
    answered = [call for call in calls if call.sip_answer_s is not None]
    human = [call for call in calls if call.agent_answer_s is not None]
    summary: dict[str, Any] = {
        "planned_calls": len(result.plan.callers),
        "outcomes": {name: outcomes.get(name, 0) for name in OUTCOMES},
        "failed_by_sip_status": dict(sorted(failed.items())),
        "abandon_rate": round(outcomes["abandoned"] / len(calls), 4) if calls else None,
        "peak_concurrent_calls": result.peak_up,
        "post_dial_delay_s": distribution(call.pdd_s for call in calls),
        "invite_to_sip_answer_s": distribution(call.sip_answer_s for call in calls),
        "invite_to_agent_answer_s": distribution(call.agent_answer_s for call in human),
        "abandoned_after_s": distribution(
            call.held_s for call in calls if call.outcome == "abandoned"),
        "talk_s": distribution(call.talk_s for call in calls),
        "late_start_s": distribution(call.late_s for call in calls
                                     if call.outcome != "not_started"),
        "media": {
            "audio_received": _share([_audible(c.rx_audible_share) for c in answered]),
            "far_tone_heard": _share([c.heard_far_tone for c in answered]),
            "echo_heard": _share([c.heard_echo for c in answered]),
        },
    }
    if any(call.ivr_outcome for call in calls):
        by_ivr: dict[str, Counter[str]] = {}
        for call in calls:
            by_ivr.setdefault(call.ivr_outcome, Counter())[call.outcome] += 1
        summary["by_ivr_outcome"] = {planned: dict(sorted(counts.items()))
                                     for planned, counts in sorted(by_ivr.items())}
    if result.plan.scenario is not None:
        summary["queue"] = _queue_figures(calls, float(result.plan.scenario["target_s"]))
    agents = result.agent_calls
    if result.plan.agents is not None:
        leads = match_pops(result.pops, agents)
        summary["agents"] = {
            "invites": len(agents),
            "by_outcome": dict(Counter(call.outcome for call in agents)),
            "caller_audio_received": _share([_audible(c.rx_audible_share) for c in agents
                                             if c.outcome == "answered"]),
        }
        summary["screen_pop"] = {
            "listening": result.options.pop_url is not None,
            "pops_seen": len(result.pops),
            "lead_s": distribution(lead.lead_s for lead in leads if lead.lead_s is not None),
            "missing": sum(1 for lead in leads if lead.lead_s is None),
            "after_ring": sum(1 for lead in leads if lead.lead_s is not None and lead.lead_s < 0),
            "failures": sum(1 for lead in leads if not lead.ok),
        }
    return {
        "kind": "hotline.load.report",
        "version": 1,
        "run": {
            "dial": result.plan.dial,
            "targets": list(result.options.targets),
            "transport": result.options.transport,
            "seed": result.plan.seed,
            "duration_s": result.plan.duration_s,
            "answer_marker": result.plan.answer_marker,
            "caller_workers": result.workers,
            "worker_failures": list(result.worker_failures),
            "wall_s": result.wall_s,
            **({"scenario": result.plan.scenario} if result.plan.scenario else {}),
        },
        "summary": summary,
        "calls": [asdict(call) for call in calls],
    }


def _queue_figures(calls: Sequence[CallResult], target_s: float) -> dict[str, Any]:
    """The simulation's figures, estimated from the SIP side for a scenario replay.

    Offered: calls placed whose IVR walk ends in a queue. A caller's queue wait is its INVITE to
    human answer minus the IVR's answer and the walk's planned duration (``ivr_s``): an estimate,
    as the real prompts may run longer than the scenario's ``prompt_s``.
    """
    offered = [c for c in calls if c.ivr_outcome.startswith("queue:")
               and c.outcome not in ("not_started", "lost")]
    waits = [max(0.0, c.agent_answer_s - (c.sip_answer_s or 0.0) - c.ivr_s)
             for c in offered if c.agent_answer_s is not None]
    abandoned = sum(1 for c in offered if c.outcome == "abandoned")
    n = len(offered)
    return {
        "offered": n,
        "answered": len(waits),
        "abandoned": abandoned,
        "target_s": target_s,
        "service_level": round(sum(w <= target_s for w in waits) / n, 4) if n else None,
        "asa_s": round(sum(waits) / len(waits), 4) if waits else None,
        "abandon_rate": round(abandoned / n, 4) if n else None,
        "wait_s": distribution(waits),
    }


_FIGURES = (
    ("post_dial_delay_s", "Post-dial delay (INVITE to first 18x)"),
    ("invite_to_sip_answer_s", "INVITE to 200 OK"),
    ("invite_to_agent_answer_s", "INVITE to human answer"),
    ("abandoned_after_s", "Wait before abandoning"),
    ("talk_s", "Talk time"),
    ("late_start_s", "Generator start lag"),
)


def to_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page of the report."""
    s = report["summary"]
    rows = [
        "<tr><th>figure</th><th>count</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th>"
        "<th>max</th></tr>"
    ]
    for key, label in _FIGURES:
        d = s[key]
        cells = "".join(f"<td>{_fmt(d[k])}</td>" for k in ("count", "mean", "p50", "p90", "p95",
                                                            "max"))
        rows.append(f"<tr><td>{html.escape(label)} (s)</td>{cells}</tr>")
    outcome_rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>"
                           for k, v in s["outcomes"].items())
    failed_rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>"
                          for k, v in s["failed_by_sip_status"].items()) or (
        "<tr><td colspan=2>none</td></tr>")
    media_rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v['ok']} / {v['checked']}</td></tr>"
        for k, v in s["media"].items())
    pop = ""
    if "screen_pop" in s:
        p = s["screen_pop"]
        lead = p["lead_s"]
        pop = (f"<h2>Screen pop</h2><table><tr><td>pops seen</td><td>{p['pops_seen']}</td></tr>"
               f"<tr><td>lead p50 / p95 (s)</td><td>{_fmt(lead['p50'])} / "
               f"{_fmt(lead['p95'])}</td></tr><tr><td>after ring</td>"
               f"<td>{p['after_ring']}</td></tr><tr><td>missing</td><td>{p['missing']}</td>"
               f"</tr></table>")
    replay = ""
    if "queue" in s:
        q = s["queue"]
        scenario = report["run"]["scenario"]
        cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(q[k])}</td></tr>"
                        for k in ("offered", "answered", "abandoned", "service_level", "asa_s",
                                  "abandon_rate", "target_s"))
        planned = "".join(
            f"<tr><td>{html.escape(k or '(none)')}</td><td>"
            f"{html.escape(', '.join(f'{o} {n}' for o, n in v.items()))}</td></tr>"
            for k, v in s.get("by_ivr_outcome", {}).items())
        replay = (f"<h2>Scenario {html.escape(str(scenario['name']))} from "
                  f"{html.escape(str(scenario['start']))}, {scenario['duration_s']:g} s at "
                  f"scale {scenario['scale']:g}</h2><p>As <code>hotline sim run</code> counts "
                  f"them (expected calls {scenario['expected_calls']}):</p><table>{cells}</table>"
                  f"<h3>By planned IVR outcome</h3><table>{planned}</table>")
    run = report["run"]
    chart = _histogram(report)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Hotline load report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #bbb;padding:.3em .7em;text-align:right}}td:first-child{{text-align:left}}
</style></head><body>
<h1>Load run: {s['planned_calls']} calls to {html.escape(run['dial'])}</h1>
<p>targets {html.escape(', '.join(run['targets']))} over {run['transport']}, seed {run['seed']},
{run['caller_workers']} caller processes, peak {s['peak_concurrent_calls']} concurrent calls,
wall time {run['wall_s']} s.</p>
<h2>Outcomes</h2><table>{outcome_rows}</table>
<h2>Failed calls by SIP status</h2><table>{failed_rows}</table>
<h2>Timings</h2><table>{''.join(rows)}</table>
<h2>Media (answered calls)</h2><table>{media_rows}</table>
{replay}{pop}{chart}
</body></html>
"""


def _histogram(report: dict[str, Any]) -> str:
    waits = [c["agent_answer_s"] for c in report["calls"] if c["agent_answer_s"] is not None]
    if not waits:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3))
    axes.hist(waits, bins=min(30, max(5, len(waits) // 3)))
    axes.set_xlabel("INVITE to human answer (s)")
    axes.set_ylabel("calls")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<h2>Answer times</h2><img alt="answer time histogram" '
            f'src="data:image/png;base64,{data}">')


def _fmt(value: object) -> str:
    return "-" if value is None else str(value)
