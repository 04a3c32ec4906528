"""``hotline customers import``, ``hotline api openapi`` and ``hotline tokens issue|revoke``.

Commands that touch the database read the deployment folder (``--dir``, default ``config``)
for its URL; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cti.api.errors import ApiError, TokenNotFound
from hotline.auth import ROLES, TokenStore
from hotline.db import Database, open_database

Handler = Callable[[argparse.Namespace], int]


def register(subparsers: argparse._SubParsersAction) -> None:
    customers = subparsers.add_parser("customers", help="customer records for IVR and pops")
    customer_commands = customers.add_subparsers(dest="customers_command", required=True,
                                                 metavar="COMMAND")
    load = _command(customer_commands, "import", "load customers from a CSV file (upsert by "
                    "id, all or nothing)", _customers_import)
    load.add_argument("file", type=Path, help="CSV with a header: id,name,phone,account,tier,"
                      "email and any attribute columns")

    api = subparsers.add_parser("api", help="the HTTP API")
    api_commands = api.add_subparsers(dest="api_command", required=True, metavar="COMMAND")
    spec = api_commands.add_parser("openapi", help="print or write the OpenAPI document",
                                   description="Print the API's OpenAPI document, write it "
                                   "(--output docs/openapi.json) or check a file (--check).")
    spec.add_argument("--output", type=Path, help="write it to this file")
    spec.add_argument("--check", type=Path, metavar="FILE",
                      help="exit 1 when FILE differs from the app's document")
    spec.set_defaults(handler=_openapi)

    tokens = subparsers.add_parser("tokens", help="API tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True,
                                           metavar="COMMAND")
    issue = _command(token_commands, "issue", "issue a token (printed once; only its hash "
                     "is stored)", _tokens_issue)
    issue.add_argument("subject", help="agent id or user name")
    issue.add_argument("--role", required=True, choices=ROLES)
    revoke = _command(token_commands, "revoke", "revoke every token of a subject",
                      _tokens_revoke)
    revoke.add_argument("subject")


def _command(parent: argparse._SubParsersAction, name: str, text: str,
             handler: Handler) -> argparse.ArgumentParser:
    parser = parent.add_parser(name, help=text, description=text)
    parser.add_argument("--dir", default="config", help="deployment folder (config/)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=handler)
    return parser


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[Database]:
    from hotline.deployment import load

    deployment = load(args.dir)
    assert deployment.settings is not None
    database = open_database(deployment.settings.database.resolve(),
                             data_dir=deployment.data_dir)
    try:
        yield database
    finally:
        database.close()


def _print(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


def _customers_import(args: argparse.Namespace) -> int:
    from cti.customers import import_csv

    with _database(args) as database:
        result = import_csv(database, args.file, now=dt.datetime.now(dt.UTC))
    _print(args, result.as_json(), f"{result.path}: {result.rows} customer(s) imported "
           f"({result.inserted} new, {result.updated} updated)")
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from cti.api.openapi import openapi_text

    text = openapi_text()
    if args.check is not None:
        try:
            current = args.check.read_text(encoding="utf-8")
        except OSError as exc:
            raise ApiError(f"cannot read {args.check}: {exc.strerror}") from exc
        if current != text:
            print(f"{args.check} differs from the API; regenerate it with "
                  f"'hotline api openapi --output {args.check}'")
            return 1
        print(f"{args.check} matches the API")
        return 0
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0


def _tokens_issue(args: argparse.Namespace) -> int:
    with _database(args) as database:
        token = TokenStore(database).issue(args.subject, args.role)
    _print(args, {"subject": args.subject, "role": args.role, "token": token}, token)
    return 0


def _tokens_revoke(args: argparse.Namespace) -> int:
    with _database(args) as database:
        count = TokenStore(database).revoke_subject(args.subject)
    if count == 0:
        raise TokenNotFound(f"'{args.subject}' has no token to revoke")
    _print(args, {"subject": args.subject, "revoked": count},
           f"revoked {count} token(s) of '{args.subject}'")
    return 0
