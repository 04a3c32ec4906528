"""``hotline recordings verify|purge|list``: integrity, retention and search from the shell.

* ``verify`` compares the database with the recording root; exit 1 when any file is missing,
  orphaned or fails its checksum.
* ``purge [--dry-run]`` deletes recordings past their retention date (QA library kept).
* ``list`` (alias ``search``) prints recordings matching filters.

Every command takes ``--config DIR`` (the deployment, default ``config``) and ``--json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from hotline.db import Database
from recording.errors import RecordingError
from recording.repository import RecordingRepository, SearchQuery
from recording.retention import purge
from recording.storage import RecordingStorage
from recording.verify import verify


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("recordings", help="verify, purge and search call recordings")
    commands = group.add_subparsers(dest="recordings_command", required=True, metavar="COMMAND")

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", default="config", metavar="DIR",
                            help="deployment folder (default: config)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    check = commands.add_parser(
        "verify", help="report missing files, orphans and checksum mismatches",
        description="Compare recording rows with the files under the recording root. Exit 0 "
                    "when they agree, 1 when any file is missing, orphaned or corrupted.")
    common(check)
    check.set_defaults(handler=_verify)

    cleanup = commands.add_parser(
        "purge", help="delete recordings past their retention date",
        description="Delete the files of recordings whose retention date has passed and mark "
                    "them purged. Recordings in the QA training library are kept.")
    common(cleanup)
    cleanup.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    cleanup.add_argument("--today", type=_day, default=None, metavar="DATE",
                         help="purge as if today were DATE (YYYY-MM-DD)")
    cleanup.set_defaults(handler=_purge)

    for name, aliases in (("list", ["search"]),):
        finder = commands.add_parser(name, aliases=aliases, help="search recordings",
                                     description="List recordings, newest first.")
        common(finder)
        finder.add_argument("--agent")
        finder.add_argument("--queue")
        finder.add_argument("--customer")
        finder.add_argument("--call")
        finder.add_argument("--flag", help="e.g. recording_failed")
        finder.add_argument("--status", choices=["recording", "complete", "failed", "purged"])
        finder.add_argument("--from", dest="date_from", type=_day,
                            metavar="DATE", help="first day (local), YYYY-MM-DD")
        finder.add_argument("--to", dest="date_to", type=_day, metavar="DATE",
                            help="last day (local), YYYY-MM-DD")
        finder.add_argument("--min-duration", type=float, metavar="S")
        finder.add_argument("--max-duration", type=float, metavar="S")
        finder.add_argument("--min-score", type=float)
        finder.add_argument("--max-score", type=float)
        finder.add_argument("--limit", type=int, default=50, help="at most this many (50)")
        finder.set_defaults(handler=_list)


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day such as 2026-11-22, got {text!r}") \
            from None


def _open(args: argparse.Namespace) -> tuple[Database, RecordingRepository, RecordingStorage,
                                             dt.tzinfo]:
    from hotline.deployment import load, open_database

    deployment = load(args.config)
    tz = deployment.zone
    database = open_database(deployment)
    return (database, RecordingRepository(database, tz),
            RecordingStorage(deployment.recordings_dir), tz)


def _verify(args: argparse.Namespace) -> int:
    database, repository, storage, _tz = _open(args)
    try:
        report = verify(repository, storage)
    finally:
        database.close()
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for problem in report.problems:
            print(problem)
        print(f"{report.checked} recording(s) checked, {report.files} file(s) under "
              f"{storage.root}: {report.count('missing')} missing, {report.count('orphan')} "
              f"orphan(s), {report.count('mismatch')} checksum mismatch(es)"
              + (f", {report.count('unsafe')} unsafe path(s)" if report.count("unsafe") else ""))
    return 0 if report.ok else 1


def _purge(args: argparse.Namespace) -> int:
    database, repository, storage, tz = _open(args)
    now = dt.datetime.now(dt.UTC)
    today = args.today or now.astimezone(tz).date()
    try:
        report = purge(repository, storage, today=today, now=now, actor="cli",
                       dry_run=args.dry_run)
    finally:
        database.close()
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        return 0
    verb = "would purge" if args.dry_run else "purged"
    for row in report.purged:
        print(f"{verb} recording {row.id} ({row.call_id} segment {row.segment}, kept until "
              f"{row.retention_until}): {row.path}")
    print(f"{verb} {len(report.purged)} recording(s), {report.files_deleted} file(s), "
          f"{report.bytes_freed} bytes (retention before {today})")
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.date_from and args.date_to and args.date_from > args.date_to:
        raise RecordingError(f"--from {args.date_from} is after --to {args.date_to}; the "
                             "range would hold no day")
    database, repository, _storage, tz = _open(args)

    def day_start(day: dt.date | None, shift: int = 0) -> dt.datetime | None:
        if day is None:
            return None
        local = dt.datetime.combine(day + dt.timedelta(days=shift), dt.time(), tz)
        return local.astimezone(dt.UTC)

    query = SearchQuery(
        agent_id=args.agent, queue=args.queue, customer_id=args.customer, call_id=args.call,
        flag=args.flag, status=args.status, started_from=day_start(args.date_from),
        started_to=day_start(args.date_to, 1), min_duration_s=args.min_duration,
        max_duration_s=args.max_duration, min_score=args.min_score, max_score=args.max_score,
        limit=args.limit)
    try:
        rows = repository.search(query)
    finally:
        database.close()
    if args.json:
        print(json.dumps({"count": len(rows), "recordings": [r.as_json() for r in rows]},
                         indent=2))
        return 0
    for row in rows:
        print(_line(row.as_json(), tz))
    print(f"{len(rows)} recording(s)")
    return 0


def _line(row: dict[str, Any], tz: dt.tzinfo) -> str:
    started = dt.datetime.fromisoformat(row["started_at"]).astimezone(tz)
    duration = f"{row['duration_s']:.0f}s" if row["duration_s"] is not None else "-"
    score = f"{row['qa_score']:.0f}" if row["qa_score"] is not None else "-"
    flags = ",".join(row["flags"]) or "-"
    return (f"{row['id']:>6} {started:%Y-%m-%d %H:%M} {row['call_id']:<18} #{row['segment']} "
            f"{row['queue'] or '-':<10} {row['agent_id'] or '-':<8} {duration:>6} "
            f"score {score:>3} {row['status']:<8} {flags}")
