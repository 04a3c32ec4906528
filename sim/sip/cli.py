"""``hotline load`` (traffic generator, loopback responder) and ``hotline phone`` (softphone).

``load run`` builds a ``CallPlan`` from its options (Poisson arrivals at ``--rate`` for
``--duration`` seconds, digits, lognormal talk time, exponential patience), runs it against the
PBX with live progress on stderr, prints a summary (``--json``: the whole report) and writes the
JSON and HTML reports if asked. ``load respond`` is the loopback responder. ``phone`` is a
line-oriented softphone for a person. Passwords may come from the environment
(``HOTLINE_SIP_PASSWORD``) so they stay out of shell history; they are never logged.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hotline.errors import HotlineError
from sim.sip.errors import LoadPlanError, SipUnavailable

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
    target = run.add_argument_group("target")
    target.add_argument("--pbx", action="append", required=True, metavar="HOST[:PORT]",
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

    traffic = run.add_argument_group("traffic")
    traffic.add_argument("--rate", type=float, required=True, help="new calls per second")
    traffic.add_argument("--duration", type=float, required=True, help="arrival window, s")
    traffic.add_argument("--dtmf", default="", metavar="DIGITS@S,...",
                         help="digits pressed, seconds after the PBX answers (e.g. 1@3,1234#@6)")
    traffic.add_argument("--talk-median", type=float, default=60.0, metavar="S",
                         help="median talk time (lognormal)")
    traffic.add_argument("--talk-sigma", type=float, default=0.5,
                         help="sigma of log talk time")
    traffic.add_argument("--patience", type=float, default=120.0, metavar="S",
                         help="mean patience from INVITE to human answer (exponential)")
    traffic.add_argument("--caller-ids", type=Path, metavar="FILE",
                         help="caller numbers, one per line (real customers make pops real)")
    traffic.add_argument("--seed", type=int, default=0)
    traffic.add_argument("--no-marker", action="store_true",
                         help="count the SIP 200 OK as the human answer (no agent bots send D)")

    agents = run.add_argument_group("agents")
    agents.add_argument("--agents-file", type=Path, metavar="CSV",
                        help="agent softphones to register: lines user,password[,pop_token]")
    agents.add_argument("--ring-to-answer", default="2:6", metavar="MIN:MAX",
                        help="seconds an agent lets the phone ring (uniform)")
    agents.add_argument("--wrap-up", type=float, default=10.0, metavar="S",
                        help="seconds an agent's phone is busy after a call")
    agents.add_argument("--agent-max-talk", type=float, metavar="S",
                        help="agents hang up after this long (default: callers hang up)")
    agents.add_argument("--pop-url", metavar="WS_URL",
                        help="agent WebSocket for screen pops ({agent} is replaced)")

    out = run.add_argument_group("output")
    out.add_argument("--workers", type=int, help="caller processes (default: from the plan)")
    out.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    out.add_argument("--report-json", type=Path, metavar="FILE")
    out.add_argument("--report-html", type=Path, metavar="FILE")
    out.add_argument("--record", type=Path, metavar="DIR",
                     help="record every caller in DIR and check the tones heard (heavier)")
    out.add_argument("--quiet", action="store_true", help="no live progress")


def _run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("pjsua2") is None:
        # Checked here, before fifty worker processes each find out on their own.
        raise SipUnavailable("pjsua2 is not installed; install the extra: pip install "
                             "'hotline[sip]'")
    from sim.sip.generator import LoadOptions, Progress, run_load
    from sim.sip.plan import AgentPlan, plan_from_options
    from sim.sip.report import summarize, to_html

    agents = None
    tokens: tuple[str, ...] = ()
    if args.agents_file:
        users, passwords, tokens = _read_agents(args.agents_file)
        agents = AgentPlan(users, passwords, _range(args.ring_to_answer), args.wrap_up,
                           args.agent_max_talk)
    plan = plan_from_options(
        dial=args.dial, rate_per_s=args.rate, duration_s=args.duration, dtmf=args.dtmf,
        talk_median_s=args.talk_median, talk_sigma=args.talk_sigma,
        patience_mean_s=args.patience, caller_ids=_read_lines(args.caller_ids),
        agents=agents, answer_marker=None if args.no_marker else "D", seed=args.seed)
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


def _print_summary(report: dict) -> None:
    s = report["summary"]
    print(f"calls planned {s['planned_calls']}, peak concurrent {s['peak_concurrent_calls']}")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in s["outcomes"].items()))
    if s["failed_by_sip_status"]:
        print("failed by SIP status: " + ", ".join(
            f"{k}: {v}" for k, v in s["failed_by_sip_status"].items()))
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


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry (``python -m sim.sip.cli``) until ``hotline`` wires ``register``."""
    parser = argparse.ArgumentParser(prog="hotline")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except HotlineError as error:
        print(f"hotline: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
