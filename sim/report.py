"""The simulation report: an HTML page with the totals, plots and the per-interval table.

:func:`write_report` draws four PNGs with matplotlib (Agg backend, no display needed):
arrivals against staffed agents, the service level per interval against its target, the mean
queue length, and the distribution of waiting times of answered calls; and an ``index.html``
that shows them with the totals (and their confidence intervals) and the interval rows.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

_BLUE, _ORANGE, _GREEN, _GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f"


def write_report(out: Path, title: str, result: dict[str, Any], waits: Sequence[float],
                 zone: ZoneInfo) -> Path:
    """Write ``index.html`` and its plots into ``out``; return the HTML file's path."""
    out.mkdir(parents=True, exist_ok=True)
    totals = result["totals"]
    rows = result["intervals"]
    times = [dt.datetime.fromtimestamp(r["start"], zone) for r in rows]
    target = totals["target_s"]
    plots = {
        "arrivals.png": _arrivals(times, rows),
        "service_level.png": _service_level(times, rows, target),
        "queue.png": _queue(times, rows),
        "waits.png": _waits(waits, target),
    }
    for name, figure in plots.items():
        figure.savefig(out / name, dpi=110)
        plt.close(figure)
    page = out / "index.html"
    page.write_text(_html(title, totals, rows, times, list(plots)), encoding="utf-8")
    return page


def _axes(title: str) -> tuple[Any, Any]:
    figure, axes = plt.subplots(figsize=(10, 3.8), layout="constrained")
    axes.set_title(title, loc="left", fontsize=11)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _time_axis(axes: Any, times: list[dt.datetime]) -> None:
    locator = mdates.AutoDateLocator(tz=times[0].tzinfo, minticks=4, maxticks=10)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=times[0].tzinfo))


def _arrivals(times: list[dt.datetime], rows: list[dict[str, Any]]) -> Any:
    figure, axes = _axes("Calls per interval and agents staffed")
    axes.step(times, [r["calls"] for r in rows], where="post", color=_BLUE, label="calls")
    axes.step(times, [r["offered"] for r in rows], where="post", color=_GREEN, alpha=0.8,
              label="reached a queue")
    axes.set_ylabel("calls per interval")
    axes.set_ylim(bottom=0)
    agents = axes.twinx()
    agents.step(times, [r["agents_staffed"] for r in rows], where="post", color=_ORANGE,
                label="agents staffed (ready or on calls)")
    agents.step(times, [r["agents_working"] for r in rows], where="post", color=_ORANGE,
                linestyle=":", label="agents on calls")
    agents.set_ylabel("agents (time average)")
    agents.set_ylim(bottom=0)
    lines = axes.get_legend_handles_labels()
    more = agents.get_legend_handles_labels()
    axes.legend(lines[0] + more[0], lines[1] + more[1], loc="upper center", ncol=4, fontsize=8,
                bbox_to_anchor=(0.5, -0.12), frameon=False)
    _time_axis(axes, times)
    return figure


def _service_level(times: list[dt.datetime], rows: list[dict[str, Any]], target: float) -> Any:
    figure, axes = _axes(f"Service level per interval (answered within {target:g} s / reached "
                         "a queue)")
    values = [r["service_level"] * 100 if r["service_level"] is not None else float("nan")
              for r in rows]
    axes.step(times, values, where="post", color=_BLUE, label="service level")
    axes.set_ylim(0, 102)
    axes.set_ylabel("%")
    axes.legend(loc="lower left", fontsize=8)
    _time_axis(axes, times)
    return figure


def _queue(times: list[dt.datetime], rows: list[dict[str, Any]]) -> Any:
    figure, axes = _axes("Callers waiting in queue (time average per interval)")
    axes.fill_between(times, [r["queue_length"] for r in rows], step="post", color=_BLUE,
                      alpha=0.4)
    axes.step(times, [r["queue_length"] for r in rows], where="post", color=_BLUE)
    axes.set_ylabel("callers waiting")
    axes.set_ylim(bottom=0)
    _time_axis(axes, times)
    return figure


def _waits(waits: Sequence[float], target: float) -> Any:
    figure, axes = _axes("Waiting time of answered calls")
    if waits:
        top = max(max(waits), target * 2)
        axes.hist(waits, bins=60, range=(0, top), color=_BLUE, alpha=0.8)
        axes.set_yscale("log")
    axes.axvline(target, color=_ORANGE, linestyle="--", label=f"target {target:g} s")
    axes.set_xlabel("seconds")
    axes.set_ylabel("answered calls (log scale)")
    axes.legend(fontsize=8)
    return figure


def _figure(value: Any, ci: Any = None, percent: bool = False) -> str:
    if value is None:
        return "–"
    text = f"{value * 100:.1f} %" if percent else f"{value:,.1f}"
    if ci:
        low, high = ci
        text += (f" ({low * 100:.1f} – {high * 100:.1f})" if percent
                 else f" ({low:,.1f} – {high:,.1f})")
    return text


def _html(title: str, totals: dict[str, Any], rows: list[dict[str, Any]],
          times: list[dt.datetime], plots: list[str]) -> str:
    e = html.escape
    shown = [("offered", "reached a queue", False), ("answered", "answered", False),
             ("abandoned", "abandoned", False), ("service_level", "service level", True),
             ("asa_s", "average speed of answer (s)", False),
             ("abandon_rate", "abandon rate", True), ("occupancy", "occupancy", True)]
    lines = [f"<tr><th>{e(label)}</th>"
             f"<td>{e(_figure(totals.get(key), totals.get(key + '_ci'), pc))}</td></tr>"
             for key, label, pc in shown]
    if totals.get("calls"):
        lines.insert(0, f"<tr><th>calls</th><td>{totals['calls']:,.1f}</td></tr>")
    reps = totals["replications"]
    note = (f"Means over {reps} replications; 95% confidence intervals in brackets."
            if reps > 1 else "One replication (run with --replications for confidence intervals).")
    table = "".join(
        f"<tr><td>{t:%a %Y-%m-%d %H:%M}</td><td>{r['calls']:.1f}</td><td>{r['offered']:.1f}</td>"
        f"<td>{r['answered']:.1f}</td><td>{r['abandoned']:.1f}</td>"
        f"<td>{_figure(r['service_level'], percent=True)}</td><td>{_figure(r['asa_s'])}</td>"
        f"<td>{r['agents_staffed']:.1f}</td><td>{_figure(r['occupancy'], percent=True)}</td>"
        f"<td>{r['queue_length']:.2f}</td></tr>"
        for t, r in zip(times, rows, strict=True))
    images = "".join(f'<p><img src="{e(name)}" alt="{e(name)}"></p>' for name in plots)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 2px 10px; text-align: right; }}
th {{ text-align: left; }} tr:nth-child(even) {{ background: #f4f4f4; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{e(title)}</h1>
<p>{e(note)} Service level = answered within {totals['target_s']:g} s / all calls that reached
a queue (abandoned calls count as missed).</p>
<table>{''.join(lines)}</table>
{images}
<h2>Intervals</h2>
<table><tr><th>start</th><th>calls</th><th>queued</th><th>answered</th><th>abandoned</th>
<th>service level</th><th>ASA s</th><th>agents</th><th>occupancy</th><th>queue</th></tr>
{table}</table>
</body></html>
"""
