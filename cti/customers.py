"""Customer records for the IVR and the screen-pop, kept in the ``customers`` table.

Picture the card index at the front desk: a caller's number (or the account they key in) finds
their card, and the card goes on the agent's screen with the call. :class:`DatabaseCustomers` is
that index in SQL and implements the IVR's :class:`ivr.customers.CustomerLookup` port; an
external CRM plugs in instead through :class:`cti.crm.HttpCrm`.

A record is one flat mapping: the columns ``id``, ``name``, ``phone``, ``account``, ``tier``,
``email`` plus every extra attribute (``balance``, ``contract``...), so a flow can compare
``customer.balance > 100``. Phone numbers are stored and searched normalised (spaces, dashes,
brackets, slashes and dots removed), so ``+49 30 1234-567`` finds ``+49301234567``.

:func:`import_csv` loads a CSV file (``hotline customers import FILE``) with the columns
:mod:`ivr.customers` documents: a header line, ``id`` and ``name`` required, any other column
becomes an attribute (numbers become numbers). Rows are upserted by ``id`` in one transaction:
a file with any bad row writes nothing and every bad row is reported as ``file:line: problem``.

Its errors (``CustomerError`` and below) are in :mod:`cti.errors`.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from cti.errors import CustomerError, CustomerImportError
from hotline.db import Database, tables
from ivr.customers import TEXT_COLUMNS, Customer, normalize_phone

COLUMNS = ("id", "name", "phone", "account", "tier", "email")
DEFAULT_TIER = "standard"
CHUNK = 500
_LIMITS = {"id": 64, "name": 200, "account": 40, "tier": 20, "email": 200}
_PHONE = re.compile(r"^\+?\d{2,39}$")  # normalised; fits the 40-character column
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def record_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The flat record of a ``customers`` row: its columns, then its attributes."""
    record: dict[str, Any] = {name: row[name] for name in COLUMNS}
    for key, value in (row["attributes"] or {}).items():
        record.setdefault(key, value)
    return record


class DatabaseCustomers:
    """The ``customers`` table as a :class:`~ivr.customers.CustomerLookup` (plus ``by_id``).

    Queries run in a worker thread, so the event loop keeps serving calls meanwhile. When
    several customers share a phone number, the one updated most recently is returned.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    def find(self, by: str, value: str) -> dict[str, Any] | None:
        """Synchronous lookup ``by`` ``id``, ``phone`` or ``account``."""
        table = tables.customers
        if by == "phone":
            value = normalize_phone(value)
        if by not in ("id", "phone", "account"):
            raise CustomerError(f"cannot look customers up by {by!r}; use id, phone or account")
        if not value:
            return None
        query = (sa.select(table).where(table.c[by] == value)
                 .order_by(table.c.updated_at.desc(), table.c.id).limit(1))
        with self.database.begin() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else record_of(row)

    async def by_phone(self, number: str) -> Customer | None:
        return await asyncio.to_thread(self.find, "phone", number)

    async def by_account(self, account: str) -> Customer | None:
        return await asyncio.to_thread(self.find, "account", account)

    async def by_id(self, customer_id: str) -> Customer | None:
        return await asyncio.to_thread(self.find, "id", customer_id)


async def customer_for_call(lookup: Any, customer_id: str | None,
                            caller_id: str) -> Customer | None:
    """The record a pop shows: by the IVR's customer id when the lookup can, else by caller id.

    ``lookup`` is any :class:`~ivr.customers.CustomerLookup`; ``by_id`` is used when it has one
    (the database does, a CRM may not).
    """
    if customer_id and hasattr(lookup, "by_id"):
        found = await lookup.by_id(customer_id)
        if found is not None:
            return found
    if caller_id:
        return await lookup.by_phone(caller_id)
    return None


# -- CSV import ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ImportResult:
    path: str
    rows: int
    inserted: int
    updated: int

    def as_json(self) -> dict[str, Any]:
        return {"file": self.path, "rows": self.rows, "inserted": self.inserted,
                "updated": self.updated}


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    values: dict[str, Any]


def _cell(column: str, text: str | None) -> Any:
    if text is None or text.strip() == "":
        return None
    text = text.strip()
    if column not in TEXT_COLUMNS and column not in COLUMNS and _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return text


def _check(row: dict[str, Any]) -> list[str]:
    problems = []
    for column in ("id", "name"):
        if row.get(column) is None:
            problems.append(f"'{column}' is empty; every customer needs one")
    for column, limit in _LIMITS.items():
        value = row.get(column)
        if value is not None and len(value) > limit:
            problems.append(f"'{column}' is {len(value)} characters long; at most {limit}")
    phone = row.get("phone")
    if phone is not None and not _PHONE.match(normalize_phone(phone)):
        problems.append(f"phone {phone!r} is not a phone number (digits, optionally a "
                        "leading +; spaces, dashes and brackets are allowed)")
    email = row.get("email")
    if email is not None and "@" not in email:
        problems.append(f"email {email!r} has no '@'")
    return problems


def _rows(path: Path, problems: list[str]) -> Iterator[_Row]:
    """Parsed rows of ``path``; problems are appended (``file:line: ...``), bad rows skipped."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is not None:  # " name" in a hand-edited header is "name"
                reader.fieldnames = [name.strip() for name in reader.fieldnames]
            header = reader.fieldnames
            if header is None or "id" not in header or "name" not in header:
                problems.append(f"{path}:1: the first line must be a header naming the "
                                "columns, with at least 'id' and 'name' (for example: "
                                "id,name,phone,account,tier,email,balance)")
                return
            if "" in header or len(set(header)) != len(header):
                problems.append(f"{path}:1: the header has an empty or repeated column name: "
                                f"{','.join(header)}")
                return
            for raw in reader:
                line = reader.line_num  # the record's last physical line (quotes may span)
                if None in raw:
                    problems.append(f"{path}:{line}: {len(header) + len(raw[None])} cells but "
                                    f"the header names {len(header)} columns")
                    continue
                values = {name: _cell(name, text) for name, text in raw.items()}
                found = _check(values)
                if values.get("phone") is not None:
                    values["phone"] = normalize_phone(values["phone"])
                problems.extend(f"{path}:{line}: {p}" for p in found)
                if not found:
                    yield _Row(line, values)
    except FileNotFoundError:
        problems.append(f"{path}: the file does not exist")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(f"{path}: cannot read the file: {exc}")


def _db_values(row: _Row, now: dt.datetime) -> dict[str, Any]:
    values = row.values
    return {
        "id": values["id"], "name": values["name"], "phone": values.get("phone"),
        "account": values.get("account"), "tier": values.get("tier") or DEFAULT_TIER,
        "email": values.get("email"), "updated_at": now,
        "attributes": {k: v for k, v in values.items() if k not in COLUMNS},
    }


def import_csv(database: Database, path: Path | str, *, now: dt.datetime) -> ImportResult:
    """Upsert every row of a customer CSV file by ``id``, all or nothing.

    The file is checked completely first (every problem reported, nothing written); then the
    rows are written in one transaction. An existing customer's attributes are replaced by the
    file's. An account already held by another customer id is a problem of that line.
    """
    path = Path(path)
    problems: list[str] = []
    first_line: dict[str, int] = {}
    account_line: dict[str, int] = {}
    count = 0
    for row in _rows(path, problems):
        count += 1
        customer, account = row.values["id"], row.values.get("account")
        if customer in first_line:
            problems.append(f"{path}:{row.line}: id {customer!r} is already on line "
                            f"{first_line[customer]}")
        first_line.setdefault(customer, row.line)
        if account is not None:
            if account in account_line:
                problems.append(f"{path}:{row.line}: account {account!r} is already on line "
                                f"{account_line[account]}")
            account_line.setdefault(account, row.line)
    if problems:
        raise CustomerImportError(path, problems)
    table = tables.customers
    inserted = updated = 0
    with database.begin() as conn:
        chunk: list[_Row] = []
        for row in _rows(path, problems):  # the file was valid a moment ago: read it again
            chunk.append(row)
            if len(chunk) >= CHUNK:
                added, changed = _write(conn, table, path, chunk, now, problems)
                inserted, updated, chunk = inserted + added, updated + changed, []
        if chunk:
            added, changed = _write(conn, table, path, chunk, now, problems)
            inserted, updated = inserted + added, updated + changed
        if problems:  # raised inside the transaction: it rolls back
            raise CustomerImportError(path, problems)
    return ImportResult(str(path), count, inserted, updated)


def _write(conn: sa.Connection, table: sa.Table, path: Path, chunk: list[_Row],
           now: dt.datetime, problems: list[str]) -> tuple[int, int]:
    ids = [row.values["id"] for row in chunk]
    existing = set(conn.execute(sa.select(table.c.id).where(table.c.id.in_(ids))).scalars())
    accounts = [row.values["account"] for row in chunk if row.values.get("account")]
    holders = dict(conn.execute(sa.select(table.c.account, table.c.id)
                                .where(table.c.account.in_(accounts))).all()) if accounts else {}
    for row in chunk:
        holder = holders.get(row.values.get("account"))
        if holder is not None and holder != row.values["id"]:
            problems.append(f"{path}:{row.line}: account {row.values['account']!r} belongs to "
                            f"customer {holder!r} in the database")
    if problems:
        return 0, 0
    new = [_db_values(row, now) for row in chunk if row.values["id"] not in existing]
    old = [_db_values(row, now) for row in chunk if row.values["id"] in existing]
    if new:
        conn.execute(table.insert(), new)
    if old:
        conn.execute(
            table.update().where(table.c.id == sa.bindparam("b_id")).values(
                {name: sa.bindparam(f"b_{name}") for name in (*COLUMNS[1:], "attributes",
                                                               "updated_at")}),
            [{f"b_{k}": v for k, v in values.items()} for values in old],
        )
    return len(new), len(old)
