"""``hotline config check [DIR]``: validate a deployment and summarise it on one screen."""

from __future__ import annotations

import argparse
import json
from typing import Any

from hotline.config.loader import Deployment, can_serve
from hotline.config.settings import mask_url


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("config", help="check a deployment's YAML")
    commands = group.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate every file of a deployment",
        description="Validate hotline.yaml, routing.yaml, hours.yaml and the ivr/, qa/ and sim/ "
        "folders. Exit 0 with a summary, or 1 with every error as file:line:column: message.",
    )
    check.add_argument("dir", nargs="?", default="config", help="deployment folder (config/)")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from hotline.deployment import load

    deployment = load(args.dir, raise_on_error=False)
    diagnostics = list(deployment.diagnostics)
    errors = deployment.diagnostics.errors
    if args.json:
        print(json.dumps({
            "ok": not errors,
            "diagnostics": [d.as_json() for d in diagnostics],
            "summary": summary(deployment) if not errors else None,
        }, indent=2))
        return 1 if errors else 0
    for diagnostic in diagnostics:
        print(diagnostic)
    if errors:
        print(f"{len(errors)} error(s), {len(diagnostics) - len(errors)} warning(s) in {args.dir}")
        return 1
    print(render_summary(summary(deployment)))
    return 0


def summary(deployment: Deployment) -> dict[str, Any]:
    """What a deployment contains, with no secret in it."""
    settings, routing = deployment.settings, deployment.routing
    assert settings is not None and routing is not None
    queues = []
    for name, queue in routing.queues.items():
        able = sum(1 for agent in routing.agents if can_serve(agent, queue))
        queues.append({
            "name": name,
            "skills": queue.skills,
            "priority": queue.priority,
            "service_level": (
                f"{queue.service_level.percent:g}% in {queue.service_level.seconds:g} s"
            ),
            "policy": queue.policy,
            "agents_able": able,
            "escalation_steps": len(queue.escalation),
        })
    sections = {
        folder: sorted(doc.name for doc in docs) for folder, docs in deployment.documents.items()
    }
    return {
        "name": settings.name,
        "timezone": settings.timezone,
        "ami": f"{settings.ami.username}@{settings.ami.host}:{settings.ami.port} "
               f"(secret from ${settings.ami.secret_env})",
        "redis": mask_url(settings.redis.resolve()) or "embedded",
        "database": mask_url(settings.database.resolve()) or "SQLite in the data folder",
        "skills": routing.skills,
        "queues": queues,
        "agents": len(routing.agents),
        "calendars": sorted(deployment.calendars),
        "files": sections,
    }


def render_summary(data: dict[str, Any]) -> str:
    lines = [
        f"{data['name']} ({data['timezone']}): deployment is valid",
        f"  AMI       {data['ami']}",
        f"  Redis     {data['redis']}",
        f"  Database  {data['database']}",
        f"  Skills    {len(data['skills'])}: {', '.join(data['skills'])}",
        f"  Agents    {data['agents']}",
        f"  Calendars {', '.join(data['calendars']) or '-'}",
        f"  Queues    {len(data['queues'])}:",
    ]
    for q in data["queues"]:
        skills = ", ".join(f"{s}>={lvl}" for s, lvl in q["skills"].items())
        lines.append(
            f"    {q['name']:<12} {skills:<18} prio {q['priority']:<3} {q['service_level']:<14} "
            f"{q['policy']:<15} {q['agents_able']:>3} agents able, "
            f"{q['escalation_steps']} escalation step(s)"
        )
    for folder, names in data["files"].items():
        lines.append(f"  {folder + '/':<9} {len(names)}: {', '.join(names) or '-'}")
    return "\n".join(lines)
