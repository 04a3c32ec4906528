"""``hotline ivr check|test|graph|serve``: the administrator's tools for IVR flows.

FLOW is a flow name (``main``, looked up in ``--config``, default ``config/``) or the path of a
flow file (``config/ivr/main.yaml``, whose deployment is two folders up).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import signal
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.config.diagnostics import Diagnostic
from ivr.errors import IvrError


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("ivr", help="check, test, draw and serve IVR flows")
    commands = group.add_subparsers(dest="ivr_command", required=True, metavar="COMMAND")

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", default="config", metavar="DIR",
                            help="deployment folder (default: config)")

    check = commands.add_parser(
        "check", help="validate flows",
        description="Validate IVR flows together with the deployment they use. Prints every "
        "problem as file:line:column: message; exit 1 on any error.")
    check.add_argument("flows", nargs="*", metavar="FLOW", help="flows to check (default: all)")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    common(check)
    check.set_defaults(handler=_check)

    test = commands.add_parser(
        "test", help="run a flow with scripted input, or every flow's own test cases",
        description="Walk a flow as a caller would: --digits gives one answer per menu or "
        "gather, comma-separated ('' = no input). Prints the path, prompts, variables and "
        "the outcome. --all runs the test cases written in the flow files.")
    test.add_argument("flow", nargs="?", metavar="FLOW")
    test.add_argument("--caller", default="", help="caller ID (phone number)")
    test.add_argument("--digits", default="", help="e.g. 1,2,0123456789#")
    test.add_argument("--at", help="time of the call, ISO (e.g. 2026-12-25T10:00; default now)")
    test.add_argument("--customers", metavar="FILE",
                      help="CSV of customers for lookups (header: id,name,phone,account,...)")
    test.add_argument("--all", action="store_true", help="run the flows' embedded test cases")
    test.add_argument("--json", action="store_true", help="print the result as JSON")
    common(test)
    test.set_defaults(handler=_test)

    graph = commands.add_parser(
        "graph", help="draw a flow (Mermaid, and SVG when Graphviz is installed)")
    graph.add_argument("flow", metavar="FLOW")
    graph.add_argument("--output", "-o", metavar="FILE",
                       help="write FILE.mmd (and FILE.svg with Graphviz) instead of printing")
    common(graph)
    graph.set_defaults(handler=_graph)

    serve = commands.add_parser(
        "serve", help="answer Asterisk's FastAGI requests (agi://HOST:4573/<flow>)",
        description="Serve the deployment's flows over FastAGI. Flows reload when their files "
        "change or on SIGHUP; an invalid edit is rejected and the previous version stays live.")
    serve.add_argument("--bind", help="HOST:PORT (default: fastagi.bind in hotline.yaml)")
    serve.add_argument("--customers", metavar="FILE", help="CSV of customers for lookups")
    serve.add_argument("--watch-interval", type=float, default=2.0, metavar="SECONDS")
    common(serve)
    serve.set_defaults(handler=_serve)


def resolve(flow: str, config: str) -> tuple[Path, str]:
    """(deployment folder, flow name) for a FLOW argument."""
    path = Path(flow)
    if path.suffix in {".yaml", ".yml"}:
        return path.resolve().parent.parent, path.stem
    return Path(config), flow


def _check(args: argparse.Namespace) -> int:
    from hotline.config.loader import load_deployment
    from ivr.loader import load_section

    roots = {resolve(f, args.config)[0] for f in args.flows} or {Path(args.config)}
    if len(roots) > 1:
        raise IvrError("check flows of one deployment at a time")
    root = roots.pop()
    names = {resolve(f, args.config)[1] for f in args.flows}
    deployment = load_deployment(root, {"ivr": load_section}, raise_on_error=False)
    known = {Path(d.name).stem for d in deployment.documents.get("ivr", [])}
    for name in sorted(names - known):
        raise IvrError(f"there is no flow file {root / 'ivr' / (name + '.yaml')}")

    def wanted(diagnostic: Diagnostic) -> bool:
        if not names or not diagnostic.file.startswith("ivr/"):
            return True
        return Path(diagnostic.file).stem in names

    shown = [d for d in deployment.diagnostics if wanted(d)]
    errors = [d for d in shown if d.severity == "error"]
    flows = deployment.sections.get("ivr")
    checked = sorted(names or known)
    if args.json:
        print(json.dumps({"ok": not errors, "flows": checked,
                          "diagnostics": [d.as_json() for d in shown]}, indent=2))
    else:
        for diagnostic in shown:
            print(diagnostic)
        if errors:
            print(f"{len(errors)} error(s) in {root}")
        else:
            count = sum(len(flows.get(n).nodes) for n in checked) if flows else 0
            print(f"{len(checked)} flow(s) OK ({count} nodes): {', '.join(checked)}")
    return 1 if errors else 0


def _test(args: argparse.Namespace) -> int:
    from ivr.customers import CsvCustomers
    from ivr.loader import load_flows, parse_digits
    from ivr.tester import run_flow, run_tests

    if args.all:
        root, name = resolve(args.flow, args.config) if args.flow else (Path(args.config), None)
        flows, _ = load_flows(root)
        reports = run_tests(flows, [name] if name else None)
        failed = [r for r in reports if not r.passed]
        if args.json:
            print(json.dumps({"ok": not failed, "tests": [r.as_json() for r in reports]},
                             indent=2))
        else:
            for report in reports:
                mark = "ok  " if report.passed else "FAIL"
                print(f"{mark} {report.file}:{report.line}: {report.name}")
                for problem in report.problems:
                    print(f"       {problem}")
            print(f"{len(reports) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed or not reports else 0
    if not args.flow:
        raise IvrError("name the flow to test (or use --all)")
    root, name = resolve(args.flow, args.config)
    flows, deployment = load_flows(root)
    at = _parse_time(args.at, deployment.zone)
    customers = CsvCustomers.load(args.customers) if args.customers else None
    run = run_flow(flows, name, caller=args.caller, digits=parse_digits(args.digits), at=at,
                   find=customers.find if customers else None)
    if args.json:
        print(json.dumps(run.as_json(), indent=2, default=str))
        return 0
    print(f"path:     {' > '.join(run.path)}")
    print(f"prompts:  {', '.join(run.prompts) or '(none)'}")
    print("variables:")
    for key, value in run.variables.items():
        print(f"  {key} = {value!r}")
    for failure in run.failures:
        print(f"failure:  {failure}")
    print(f"outcome:  {json.dumps(run.outcome, default=str)}")
    return 0


def _parse_time(text: str | None, zone: ZoneInfo) -> dt.datetime:
    if text is None:
        return dt.datetime.now(zone)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise IvrError(f"--at {text!r} is not a date and time such as 2026-12-25T10:00") from None
    return when if when.tzinfo else when.replace(tzinfo=zone)


def _graph(args: argparse.Namespace) -> int:
    from ivr.graph import mermaid, svg
    from ivr.loader import load_flows

    root, name = resolve(args.flow, args.config)
    flows, _ = load_flows(root)
    flow = flows.get(name)
    text = mermaid(flow)
    if not args.output:
        sys.stdout.write(text)
        return 0
    base = Path(args.output)
    base = base.with_suffix("") if base.suffix in {".mmd", ".svg"} else base
    _write(base.with_suffix(".mmd"), text.encode("utf-8"))
    written = [str(base.with_suffix(".mmd"))]
    image = svg(flow)
    if image is not None:
        _write(base.with_suffix(".svg"), image)
        written.append(str(base.with_suffix(".svg")))
    else:
        written.append("(no SVG: Graphviz 'dot' is not installed)")
    print("wrote " + " ".join(written))
    return 0


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise IvrError(f"cannot write {path}: {exc.strerror or exc}") from None


def _bind(text: str) -> tuple[str, int]:
    """HOST:PORT of ``--bind`` (port 0: any free port), or an :class:`IvrError` naming it."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise IvrError(f"--bind {text!r} is not HOST:PORT such as 127.0.0.1:4573")
    return host.strip("[]"), int(port)


def _serve(args: argparse.Namespace) -> int:
    from ivr.customers import CsvCustomers
    from ivr.fastagi import FastAgiServer
    from ivr.loader import load_flows
    from ivr.runtime import FlowRegistry

    if not args.watch_interval > 0:
        raise IvrError(f"--watch-interval must be more than 0 seconds, not {args.watch_interval}")
    root = Path(args.config)
    flows, deployment = load_flows(root)
    registry = FlowRegistry(root, flows=flows)
    customers = CsvCustomers.load(args.customers) if args.customers else None
    bind = args.bind or (deployment.settings.fastagi.bind if deployment.settings
                         else "127.0.0.1:4573")
    host, port = _bind(bind)
    log = logging.getLogger("ivr.serve")

    zone = deployment.zone

    async def main() -> None:
        # the call's time in the deployment's zone, so 'now.hour' means the local hour
        server = FastAgiServer(registry, lookup=customers, clock=lambda: dt.datetime.now(zone))
        try:
            actual = await server.start(host, port)
        except OSError as exc:
            raise IvrError(f"cannot serve FastAGI on {host}:{port}: "
                           f"{exc.strerror or exc}") from None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, registry.reload)
        print(f"serving IVR flows {', '.join(sorted(registry.current.flows))} "
              f"(version {registry.current.version}) on agi://{host}:{actual}/<flow>",
              flush=True)
        log.warning("FastAGI listening on %s:%s", host, actual)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(registry.watch(args.watch_interval))
            tasks.create_task(server.serve_forever())

    asyncio.run(main())
    return 0
