"""The ``hotline`` command: one entry point, a command group per package.

Each package contributes its commands through a ``register(subparsers)`` function listed in
:data:`COMMAND_MODULES`; handlers return an exit code. An expected failure (any
:class:`~hotline.errors.HotlineError`) prints one clear line and exits 1; a traceback is shown
only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from hotline import __version__
from hotline.errors import HotlineError

COMMAND_MODULES = (
    "hotline.config.cli",
    "sim.erlang_cli",
    "recording.qa.cli",
    "recording.cli",
    "acd.cli",
    "ivr.cli",
    "cti.api_cli",
    "sim.sip.cli",
    "sim.cli",
    "cti.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline",
        description="Hotline: a call-center engine for Asterisk.",
    )
    parser.add_argument("--version", action="version", version=f"hotline {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.error(f"'{args.command}' needs a subcommand; see 'hotline {args.command} --help'")
    try:
        return int(handler(args) or 0)
    except HotlineError as exc:
        if args.debug:
            raise
        print(f"hotline: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # output piped into head/less that stopped reading
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"hotline: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hotline: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
