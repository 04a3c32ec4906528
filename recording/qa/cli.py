"""``hotline qa ...``: sample calls for review, check forms, scorecards, calibration, library.

Every command reads the deployment folder (``--dir``, default ``config``) for the database, the
time zone, the agents and the QA forms in ``qa/``; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.config.diagnostics import did_you_mean
from hotline.config.loader import Deployment
from hotline.db import Database
from recording.analytics import (
    AudioAnalytics,
    analyse_file,
    analyse_recording,
    missing_analytics,
)
from recording.qa import calibration, evaluations, library, sampling
from recording.qa.errors import NotFound, QaError
from recording.qa.forms import Form, check_paths
from recording.qa.scorecards import build_scorecard, window_start


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("qa", help="quality assurance: sampling, forms, scores")
    commands = group.add_subparsers(dest="qa_command", required=True, metavar="COMMAND")

    sample = _command(commands, "sample", "pick calls for review for a day or an ISO week",
                      _sample)
    sample.add_argument("--period", required=True, help="a day 2026-11-22 or a week 2026-W47")
    sample.add_argument("--per-agent", type=int, default=3, help="reviews per agent (3)")
    sample.add_argument("--seed", type=int, required=True, help="random seed (reproducible)")
    sample.add_argument("--evaluators", type=_names,
                        help="comma-separated evaluators (default: holders of qa tokens)")
    sample.add_argument("--dry-run", action="store_true", help="show the picks, store nothing")

    pending = _command(commands, "pending", "an evaluator's open reviews", _pending)
    pending.add_argument("--evaluator", required=True)

    forms = commands.add_parser("forms", help="QA forms")
    form_commands = forms.add_subparsers(dest="forms_command", required=True, metavar="COMMAND")
    check = form_commands.add_parser(
        "check", help="validate QA form files",
        description="Validate QA forms in folders and files (default config/qa). Exit 0, or 1 "
        "with every error as file:line:column: message.")
    check.add_argument("paths", nargs="*", type=Path, default=[Path("config/qa")])
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(handler=_forms_check)

    card = _command(commands, "scorecard", "an agent's QA scores per week", _scorecard)
    card.add_argument("--agent", required=True)
    card.add_argument("--weeks", type=int, default=8, help="weeks shown (8)")

    cal = commands.add_parser("calibration", help="calibration sessions")
    cal_commands = cal.add_subparsers(dest="calibration_command", required=True,
                                      metavar="COMMAND")
    start = _command(cal_commands, "start", "ask several evaluators to score one recording",
                     _calibration_start)
    start.add_argument("session", help="session name, like cal-2026-11-20")
    start.add_argument("--recording", type=int, required=True)
    start.add_argument("--evaluators", type=_names, required=True)
    show = _command(cal_commands, "show", "scores, spread and disagreement of a session",
                    _calibration_show)
    show.add_argument("session")

    analyse = _command(commands, "analyse", "measure talk, silence, over-talk and hold on "
                       "recordings and store the figures for the sampler", _analyse)
    analyse.add_argument("recordings", nargs="*", type=int, help="recording ids")
    analyse.add_argument("--missing", action="store_true",
                         help="every complete recording that has no analytics yet")
    analyse.add_argument("--file", type=Path, help="analyse one WAV file, store nothing")

    lib = commands.add_parser("library", help="exemplary calls kept for training")
    lib_commands = lib.add_subparsers(dest="library_command", required=True, metavar="COMMAND")
    listing = _command(lib_commands, "list", "the exemplary calls", _library_list)
    listing.add_argument("--queue")
    add = _command(lib_commands, "add", "keep a call as an example", _library_add)
    add.add_argument("recording", type=int)
    add.add_argument("--by", required=True, help="who adds it")
    add.add_argument("--note", default="")


def _command(parent: argparse._SubParsersAction, name: str, text: str,
             handler: object) -> argparse.ArgumentParser:
    parser = parent.add_parser(name, help=text, description=text)
    # --config like every other command; --dir kept for the scripts that already use it
    parser.add_argument("--config", "--dir", dest="dir", default="config", metavar="DIR",
                        help="deployment folder (default: config)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=handler)
    return parser


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected names separated by commas, got {text!r}")
    return names


@dataclass(frozen=True, slots=True)
class _Context:
    deployment: Deployment
    database: Database
    tz: ZoneInfo
    forms: dict[str, Form]


@contextmanager
def _context(args: argparse.Namespace) -> Iterator[_Context]:
    from hotline.deployment import load, open_database

    deployment = load(args.dir)
    database = open_database(deployment)
    forms = {form.name: form for form in deployment.sections["qa"].forms}
    try:
        yield _Context(deployment, database, deployment.zone, forms)
    finally:
        database.close()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _print(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


def _sample(args: argparse.Namespace) -> int:
    with _context(args) as ctx:
        evaluators = args.evaluators or sampling.qa_evaluators(ctx.database)
        roster = [a.id for a in ctx.deployment.routing.agents] if ctx.deployment.routing else []
        plan = sampling.run_sampling(
            ctx.database, period=args.period, per_agent=args.per_agent, seed=args.seed,
            evaluators=evaluators, now=_now(), tz=ctx.tz, roster=roster, dry_run=args.dry_run)
    lines = [f"{'(dry run) ' if args.dry_run else ''}{len(plan.picks)} review(s) for "
             f"{plan.period}, seed {plan.seed}",
             f"{'recording':>9}  {'agent':<10} {'stratum':<18} evaluator"]
    lines += [f"{p.recording_id:>9}  {p.agent_id:<10} {p.stratum:<18} {p.evaluator}"
              for p in plan.picks]
    lines.append("strata (picked/available): " + ", ".join(
        f"{s} {plan.picked.get(s, 0)}/{n}" for s, n in sorted(plan.population.items())))
    lines += [f"agent {agent} has only {n} call(s) to review in {plan.period}"
              for agent, n in sorted(plan.shortfalls.items())]
    _print(args, plan.as_json(), "\n".join(lines))
    return 0


def _pending(args: argparse.Namespace) -> int:
    with _context(args) as ctx:
        reviews = evaluations.pending(ctx.database, args.evaluator)
    lines = [f"{len(reviews)} pending review(s) for {args.evaluator}"]
    lines += [f"  recording {r.recording_id:>6}  agent {r.agent_id or '-':<10} "
              f"{r.started_at:%Y-%m-%d %H:%M}  {r.stratum} ({r.period})" for r in reviews]
    _print(args, [r.as_json() for r in reviews], "\n".join(lines))
    return 0


def _forms_check(args: argparse.Namespace) -> int:
    result = check_paths(args.paths)
    diagnostics = list(result.diagnostics)
    errors = result.diagnostics.errors
    if args.json:
        print(json.dumps({
            "ok": not errors, "diagnostics": [d.as_json() for d in diagnostics],
            "forms": {name: {"version": f.version, "source": f.source,
                             "questions": len(f.questions)}
                      for name, f in sorted(result.forms.items())},
            "skipped": list(result.skipped),
        }, indent=2))
        return 1 if errors else 0
    for diagnostic in diagnostics:
        print(diagnostic)
    if errors:
        print(f"{len(errors)} error(s) in the QA forms")
        return 1
    for name, form in sorted(result.forms.items()):
        print(f"{form.source}: form '{name}' version {form.version}, {len(form.sections)} "
              f"section(s), {len(form.questions)} question(s), "
              f"{sum(q.critical for q in form.questions)} critical")
    return 0


def _scorecard(args: argparse.Namespace) -> int:
    if args.weeks < 1:
        raise QaError(f"--weeks must be at least 1, not {args.weeks}")
    now = _now()
    with _context(args) as ctx:
        found = evaluations.for_agent(ctx.database, args.agent,
                                      since=window_start(now, args.weeks, ctx.tz))
        roster = [a.id for a in ctx.deployment.routing.agents] if ctx.deployment.routing else []
        if not found and args.agent not in roster:
            # an agent who has left keeps their scorecard; a typo should not read as "no scores"
            raise NotFound(f"agent '{args.agent}' is not in routing.yaml and has no evaluations "
                           f"in the last {args.weeks} week(s){did_you_mean(args.agent, roster)}")
        card = build_scorecard(args.agent, found, weeks=args.weeks, now=now, tz=ctx.tz,
                               forms=ctx.forms)
    _print(args, card.as_json(), card.render())
    return 0


def _calibration_start(args: argparse.Namespace) -> int:
    with _context(args) as ctx:
        calibration.start_session(ctx.database, args.session, recording_id=args.recording,
                                  evaluators=args.evaluators, now=_now())
        report = calibration.session_report(ctx.database, args.session, ctx.forms)
    _print(args, report.as_json(), report.render())
    return 0


def _calibration_show(args: argparse.Namespace) -> int:
    with _context(args) as ctx:
        report = calibration.session_report(ctx.database, args.session, ctx.forms)
    _print(args, report.as_json(), report.render())
    return 0


def _analyse(args: argparse.Namespace) -> int:
    if args.file is not None:
        result = analyse_file(args.file)
        _print(args, result.as_json(), _render_analytics(str(args.file), result))
        return 0
    with _context(args) as ctx:
        ids = list(args.recordings)
        if args.missing:
            ids += missing_analytics(ctx.database)
        if not ids:
            raise QaError("name recording ids, or use --missing or --file PATH")
        root = ctx.deployment.recordings_dir
        done = {rid: analyse_recording(ctx.database, rid, root) for rid in dict.fromkeys(ids)}
    _print(args, {str(rid): result.as_json() for rid, result in done.items()},
           "\n".join(_render_analytics(f"recording {rid}", result)
                     for rid, result in done.items()))
    return 0


def _render_analytics(name: str, result: AudioAnalytics) -> str:
    legs = "  ".join(f"{leg} talk {figures.talk_s:.1f} s (silence {figures.silence_ratio:.0%}, "
                     f"longest {figures.longest_silence_s:.1f} s)"
                     for leg, figures in result.legs.items())
    extra = "" if result.overtalk_s is None else (
        f", over-talk {result.overtalk_s:.1f} s, agent share {result.agent_talk_ratio or 0:.0%}")
    return (f"{name}: {result.duration_s:.1f} s; {legs}; hold {result.hold_s:.1f} s, "
            f"dead air {result.dead_air_s:.1f} s{extra}")


def _library_list(args: argparse.Namespace) -> int:
    with _context(args) as ctx:
        found = library.entries(ctx.database, queue=args.queue)
    lines = [f"{len(found)} exemplary call(s)"]
    lines += [f"  recording {e.recording_id:>6}  {e.agent_id or '-':<10} {e.queue or '-':<12} "
              f"best {'-' if e.best_score is None else f'{e.best_score:.0f}':>3}  {e.note}"
              for e in found]
    _print(args, [e.as_json() for e in found], "\n".join(lines))
    return 0


def _library_add(args: argparse.Namespace) -> int:
    with _context(args) as ctx:
        library.add(ctx.database, args.recording, added_by=args.by, note=args.note, now=_now())
    _print(args, {"recording_id": args.recording, "added_by": args.by},
           f"recording {args.recording} added to the library")
    return 0
