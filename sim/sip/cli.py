"""``hotline load`` (traffic generator, loopback responder) and ``hotline phone`` (softphone).

``load run SCENARIO`` builds a ``CallPlan`` from a scenario file (a window of its arrival
profile, IVR digits from its choice probabilities, its patience and handling times; see
``sim.sip.scenario_plan``); without a scenario it builds one from options (Poisson arrivals at
``--rate`` for ``--duration`` seconds, fixed digits, lognormal talk time, exponential
patience). It runs the plan against the PBX with live progress on stderr, prints a summary
(``--json``: the whole report) and writes the JSON and HTML reports if asked; ``--dry-run``
prints the plan only. ``load respond`` is the loopback responder. ``phone`` is a line-oriented
softphone for a person. Passwords may come from the environment (``HOTLINE_SIP_PASSWORD``) so
they stay out of shell history; they are never logged.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sim.sip.errors import LoadPlanError, SipUnavailable
from sim.sip.plan import CallPlan

PASSWORD_ENV = "HOTLINE_SIP_PASSWORD"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``load`` and ``phone`` command groups to a ``hotline`` argument parser."""
    load = subparsers.add_parser(
        "load", help="SIP load tests against a live PBX (pjsua2)",
        description="Real SIP calls with media against Asterisk + Hotline, measured from the "
        "callers' side. Needs the optional extra 'sip' (pjsua2-python).")
    commands = load.add_subparsers(dest="load_command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="place calls per a plan and report what callers got",
                              description=__doc__,
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _run_arguments(run)
    run.set_defaults(handler=_run)

    respond = commands.add_parser("respond", help="loopback responder that answers every call",
                                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    from sim.sip import responder

    responder.add_arguments(respond)
    respond.set_defaults(handler=responder.serve)

    phone = subparsers.add_parser(
        "phone", help="a softphone on the terminal (register, dial, answer, DTMF, hang up)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    from sim.sip import phone as phone_module

    phone_module.add_arguments(phone)
    phone.set_defaults(handler=phone_module.run)


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("scenario", nargs="?", metavar="SCENARIO",
                     help="a scenario name in CONFIG/sim/ (mmc) or a YAML file; without it the "
                     "plan comes from --rate, --duration and the other traffic options")
    run.add_argument("--config", type=Path, metavar="DIR",
                     help="deployment folder (default: the scenario's, else ./config)")
    target = run.add_argument_group("target")
    target.add_argument("--pbx", action="append", default=[], metavar="HOST[:PORT]",
                        help="SIP destination (repeat to spread calls over several)")
    target.add_argument("--dial", default="100", help="number every caller dials")
    target.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    target.add_argument("--bind", default="127.0.0.1",
                        help="local address for SIP and RTP (the PBX must reach it)")
    target.add_argument("--caller-user", default="load",
                        help="SIP user the callers authenticate as (From shows the caller id)")
    target.add_argument("--caller-password", help=f"its password (or ${PASSWORD_ENV})")
    target.add_argument("--rtp-base", type=int, default=0, metavar="PORT",
                        help="RTP ports from PORT, 40 per process (default: random ports)")
    target.add_argument("--per-target-calls", type=int, metavar="N",
                        help="cap on calls up per target (4 for loopback responders)")

    window = run.add_argument_group("scenario replay (with SCENARIO)")
    window.add_argument("--start", metavar="WHEN",
                        help="window start, local time: 2026-11-02T10:00, or 10:00 on the "
                        "scenario's first day (default: the end of its warm-up)")
    window.add_argument("--scale", type=float, metavar="X",
                        help="run X times faster than the scenario's clock (arrivals, patience, "
                        "talk, ring and wrap-up; not the IVR); default 1")
    window.add_argument("--rate-factor", type=float, metavar="F",
                        help="multiply the scenario's arrival rates; default 1")
    window.add_argument("--max-wait", type=float, metavar="S",
                        help="longest wait for an agent, scenario seconds (callers of a scenario "
                        "without patience hang up then); default 600")
    window.add_argument("--customers", type=Path, metavar="CSV",
                        help="customer export (id,name,phone,account,...): the scenario's known "
                        "share of callers call from these numbers, so pops find records")

    traffic = run.add_argument_group("traffic")
    traffic.add_argument("--duration", type=float, metavar="S",
                         help="arrival window in seconds (with SCENARIO: of scenario time, "
                         "default 3600)")
    traffic.add_argument("--rate", type=float, help="new calls per second (without SCENARIO)")
    traffic.add_argument("--dtmf", metavar="DIGITS@S,...",
                         help="digits pressed, seconds after the PBX answers (e.g. 1@3,1234#@6; "
                         "without SCENARIO)")
    traffic.add_argument("--talk-median", type=float, metavar="S",
                         help="median talk time, lognormal (without SCENARIO; default 60)")
    traffic.add_argument("--talk-sigma", type=float,
                         help="sigma of log talk time (without SCENARIO; default 0.5)")
    traffic.add_argument("--patience", type=float, metavar="S",
                         help="mean patience from INVITE to human answer, exponential (without "
                         "SCENARIO; default 120)")
    traffic.add_argument("--caller-ids", type=Path, metavar="FILE",
                         help="caller numbers, one per line (real customers make pops real)")
    traffic.add_argument("--seed", type=int, default=0)
    traffic.add_argument("--no-marker", action="store_true",
                         help="count the SIP 200 OK as the human answer (no agent bots send D)")

    agents = run.add_argument_group("agents")
    agents.add_argument("--agents-file", type=Path, metavar="CSV",
                        help="agent softphones to register: lines user,password[,pop_token]")
    agents.add_argument("--ring-to-answer", metavar="MIN:MAX",
                        help="seconds an agent lets the phone ring, uniform (default: the "
                        "scenario's answer_s, else 2:6)")
    agents.add_argument("--wrap-up", type=float, metavar="S",
                        help="seconds an agent's phone is busy after a call (default: the "
                        "scenario's wrap_up_s, else 10)")
    agents.add_argument("--agent-max-talk", type=float, metavar="S",
                        help="agents hang up after this long (default: callers hang up)")
    agents.add_argument("--pop-url", metavar="WS_URL",
                        help="Hotline's agent WebSocket for screen pops, e.g. "
                        "ws://hotline:8080/ws/agent (tokens from the agents file)")

    out = run.add_argument_group("output")
    out.add_argument("--workers", type=int, help="caller processes (default: from the plan)")
    out.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    out.add_argument("--report-json", type=Path, metavar="FILE")
    out.add_argument("--report-html", type=Path, metavar="FILE")
    out.add_argument("--record", type=Path, metavar="DIR",
                     help="record every caller in DIR and check the tones heard (heavier)")
    out.add_argument("--quiet", action="store_true", help="no live progress")
    out.add_argument("--dry-run", action="store_true",
                     help="build and print the plan (JSON), place no calls")


def _run(args: argparse.Namespace) -> int:
    plan, tokens = build_plan(args)
    if args.dry_run:
        print(json.dumps(plan_summary(plan), indent=2))
        return 0
    if importlib.util.find_spec("pjsua2") is None:
        # Checked here, before fifty worker processes each find out on their own.
        raise SipUnavailable("pjsua2 is not installed; install the extra: pip install "
                             "'hotline[sip]'")
    from sim.sip.generator import LoadOptions, Progress, run_load
    from sim.sip.report import summarize, to_html

    options = LoadOptions(
        targets=tuple(_host_port(p) for p in args.pbx), per_target_calls=args.per_target_calls,
        workers=args.workers, bind_host=args.bind, transport=args.transport,
        caller_user=args.caller_user,
        caller_password=args.caller_password or os.environ.get(PASSWORD_ENV),
        pop_url=args.pop_url, pop_tokens=tokens if args.pop_url else (),
        record_dir=args.record, rtp_base=args.rtp_base)

    def show(p: Progress) -> None:
        counts = " ".join(f"{k} {v}" for k, v in sorted(p.outcomes.items()))
        line = (f"t={p.elapsed_s:6.1f}s  started {p.started}/{p.planned}  up {p.up}  "
                f"done {p.done}  {counts}")
        end = "\r" if sys.stderr.isatty() else "\n"
        print(line.ljust(100), end=end, file=sys.stderr, flush=True)

    result = run_load(plan, options, None if args.quiet else show)
    if not args.quiet:
        print(file=sys.stderr)
    report = summarize(result)
    if args.report_json:
        args.report_json.write_text(json.dumps(report, indent=2) + "\n")
    if args.report_html:
        args.report_html.write_text(to_html(report))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_summary(report)
    return 0


_OPTION_ONLY = ("rate", "dtmf", "talk_median", "talk_sigma", "patience")
_SCENARIO_ONLY = ("start", "scale", "rate_factor", "max_wait", "customers", "config")


def build_plan(args: argparse.Namespace) -> tuple[CallPlan, tuple[str, ...]]:
    """The call plan the options describe, and the agents' screen-pop tokens."""
    from sim.sip.plan import AgentPlan, plan_from_options

    marker = None if args.no_marker else "D"
    ring = _range(args.ring_to_answer) if args.ring_to_answer is not None else None
    users: tuple[str, ...] = ()
    passwords: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    if args.agents_file:
        users, passwords, tokens = _read_agents(args.agents_file)
    if args.pop_url and not args.agents_file:
        raise LoadPlanError("--pop-url needs --agents-file: the pops are the agents' (their "
                            "tokens are the file's third column)")
    if args.pop_url and not all(tokens):
        missing = next(user for user, token in zip(users, tokens, strict=True) if not token)
        raise LoadPlanError(f"--pop-url: agent {missing} has no token in {args.agents_file} "
                            "(third column: an API token of role agent)")
    if args.scenario is None:
        given = [name for name in _SCENARIO_ONLY if getattr(args, name) is not None]
        if given:
            raise LoadPlanError(f"--{given[0].replace('_', '-')} replays a scenario; name the "
                                "SCENARIO (e.g. 'hotline load run mmc ...')")
        if args.rate is None or args.duration is None:
            raise LoadPlanError("give a SCENARIO to replay (e.g. 'hotline load run mmc'), or "
                                "--rate and --duration for a plan from options")
        agents = None
        if users:
            agents = AgentPlan(users, passwords, ring or (2.0, 6.0),
                               10.0 if args.wrap_up is None else args.wrap_up,
                               args.agent_max_talk)
        plan = plan_from_options(
            dial=args.dial, rate_per_s=args.rate, duration_s=args.duration, dtmf=args.dtmf or "",
            talk_median_s=60.0 if args.talk_median is None else args.talk_median,
            talk_sigma=0.5 if args.talk_sigma is None else args.talk_sigma,
            patience_mean_s=120.0 if args.patience is None else args.patience,
            caller_ids=_read_lines(args.caller_ids), agents=agents, answer_marker=marker,
            seed=args.seed)
        return plan, tokens
    given = [name for name in _OPTION_ONLY if getattr(args, name) is not None]
    if given:
        option = "--" + given[0].replace("_", "-")
        hint = " (scale the volume with --rate-factor)" if given[0] == "rate" else ""
        raise LoadPlanError(f"{option} does not go with a SCENARIO, which sets it{hint}")
    from ivr.customers import CsvCustomers
    from sim.scenario import load_scenario
    from sim.sip.scenario_plan import (
        AgentCredentials,
        ScenarioWindow,
        parse_start,
        plan_from_scenario,
    )

    scenario = load_scenario(args.scenario, args.config)
    window = ScenarioWindow(
        start=parse_start(args.start, scenario) if args.start is not None else None,
        duration_s=3600.0 if args.duration is None else args.duration,
        scale=1.0 if args.scale is None else args.scale,
        rate_factor=1.0 if args.rate_factor is None else args.rate_factor,
        max_wait_s=600.0 if args.max_wait is None else args.max_wait)
    credentials = None
    if users:
        credentials = AgentCredentials(users, passwords, ring, args.wrap_up, args.agent_max_talk)
    customers = CsvCustomers.load(args.customers) if args.customers is not None else None
    if customers is not None and not any(r.get("phone") for r in customers.records):
        raise LoadPlanError(f"{args.customers}: no customer has a phone number; callers are "
                            "recognised by the 'phone' column")
    plan = plan_from_scenario(scenario, window, dial=args.dial, agents=credentials,
                              customers=customers, caller_ids=_read_lines(args.caller_ids),
                              answer_marker=marker, seed=args.seed)
    return plan, tokens


def plan_summary(plan: CallPlan) -> dict[str, Any]:
    """What ``--dry-run`` prints: the plan's size, mix and the processes it will take."""
    from collections import Counter

    from sim.sip.generator import workers_needed
    from sim.sip.plan import peak_concurrency

    return {
        "kind": "hotline.load.plan",
        "dial": plan.dial,
        "seed": plan.seed,
        "duration_s": plan.duration_s,
        "calls": len(plan.callers),
        "scenario": plan.scenario,
        "by_ivr_outcome": dict(sorted(Counter(c.ivr_outcome for c in plan.callers).items())),
        "peak_concurrency_bound": peak_concurrency(plan),
        "caller_workers": workers_needed(plan),
        "agents": len(plan.agents.users) if plan.agents else 0,
        "callers": [asdict(c) for c in plan.callers],
    }


def _print_summary(report: dict) -> None:
    s = report["summary"]
    replayed = report["run"].get("scenario")
    if replayed:
        print(f"scenario {replayed['name']} from {replayed['start']} for "
              f"{replayed['duration_s']:g} s at scale {replayed['scale']:g}, rate factor "
              f"{replayed['rate_factor']:g} (expected calls {replayed['expected_calls']})")
    print(f"calls planned {s['planned_calls']}, peak concurrent {s['peak_concurrent_calls']}")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in s["outcomes"].items()))
    for planned, counts in s.get("by_ivr_outcome", {}).items():
        print(f"  planned {planned}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if s["failed_by_sip_status"]:
        print("failed by SIP status: " + ", ".join(
            f"{k}: {v}" for k, v in s["failed_by_sip_status"].items()))
    if "queue" in s:
        q = s["queue"]
        print(f"queue (as the simulation counts): offered {q['offered']}, answered "
              f"{q['answered']}, abandoned {q['abandoned']}, service level {q['service_level']}"
              f" within {q['target_s']:g} s, ASA {q['asa_s']} s")
    for key in ("post_dial_delay_s", "invite_to_sip_answer_s", "invite_to_agent_answer_s",
                "talk_s"):
        d = s[key]
        print(f"{key:26} n={d['count']:<5} p50={d['p50']} p95={d['p95']} max={d['max']}")
    media = s["media"]
    print("media: " + ", ".join(f"{k} {v['ok']}/{v['checked']}" for k, v in media.items()))
    if "screen_pop" in s:
        p = s["screen_pop"]
        print(f"screen pop: lead p50={p['lead_s']['p50']} s, after ring {p['after_ring']}, "
              f"missing {p['missing']}")


def _host_port(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep:
        return f"{text}:5060"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise LoadPlanError(f"--pbx {text!r} is not HOST[:PORT]")
    return text


def _range(text: str) -> tuple[float, float]:
    low, sep, high = text.partition(":")
    try:
        return (float(low), float(high)) if sep else (float(low), float(low))
    except ValueError:
        raise LoadPlanError(f"range {text!r} is not MIN:MAX seconds, e.g. 2:6") from None


def _read_lines(path: Path | None) -> tuple[str, ...]:
    if path is None:
        return ()
    try:
        lines = [line.strip() for line in path.read_text().splitlines()]
    except OSError as error:
        raise LoadPlanError(f"cannot read caller ids {path}: {error.strerror}") from error
    numbers = tuple(line for line in lines if line and not line.startswith("#"))
    if not numbers:
        raise LoadPlanError(f"caller id file {path} has no numbers")
    return numbers


def _read_agents(path: Path) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    try:
        rows = [row for row in csv.reader(path.read_text().splitlines())
                if row and not row[0].startswith("#")]
    except OSError as error:
        raise LoadPlanError(f"cannot read agents file {path}: {error.strerror}") from error
    for number, row in enumerate(rows, 1):
        if len(row) not in (2, 3) or not row[0].strip():
            raise LoadPlanError(f"{path}: row {number} must be user,password[,pop_token]")
    if not rows:
        raise LoadPlanError(f"agents file {path} lists no agents")
    return (tuple(r[0].strip() for r in rows), tuple(r[1] for r in rows),
            tuple(r[2].strip() if len(r) == 3 else "" for r in rows))

