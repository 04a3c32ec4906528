"""Where a flow's ``lookup`` node finds the caller's customer record.

The live engine gives the FastAGI runtime a :class:`CustomerLookup` backed by the customer
database (cti provides it); the offline tester and the examples use :class:`CsvCustomers`, a
CSV file with a header line::

    id,name,phone,account,tier,balance
    C-1001,Erika Muster,+493099999999,0123456789,gold,42.50

``id`` is required; ``phone`` and ``account`` are what lookups search (phone numbers are
compared with spaces, dashes and brackets removed). ``id``, ``name``, ``phone`` and ``account``
stay text (leading zeros matter); any other column whose value is a number becomes a number,
so a flow can compare ``customer.balance > 100``. An empty cell reads as ``none``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from ivr.errors import CustomerFileError

Customer = Mapping[str, Any]
TEXT_COLUMNS = frozenset({"id", "name", "phone", "account"})
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class CustomerLookup(Protocol):
    """The port the FastAGI runtime looks customers up through (cti implements it).

    Return the record as a mapping (``id`` at least; ``tier``, ``balance``... as the flows use
    them), or None when there is no such customer. Raise any exception for "the lookup does not
    work": the runtime turns it (and a timeout) into the flow's fallback.
    """

    async def by_phone(self, number: str) -> Customer | None: ...

    async def by_account(self, account: str) -> Customer | None: ...


def normalize_phone(number: str) -> str:
    return re.sub(r"[\s\-()/.]", "", number)


class CsvCustomers:
    """Customers from a CSV file, indexed by phone and by account; sync and async lookups."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self._phone = {normalize_phone(str(r["phone"])): r for r in records if r.get("phone")}
        self._account = {str(r["account"]): r for r in records if r.get("account")}

    @classmethod
    def load(cls, path: Path | str) -> CsvCustomers:
        path = Path(path)
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                if reader.fieldnames is None or "id" not in reader.fieldnames:
                    raise CustomerFileError(
                        f"{path}: the first line must be a header naming the columns, with at "
                        "least 'id' (for example: id,name,phone,account,tier,balance)"
                    )
                records = []
                for line, row in enumerate(reader, start=2):
                    if None in row:
                        raise CustomerFileError(f"{path}:{line}: more cells than header columns")
                    records.append({k: _value(k, v) for k, v in row.items()})
        except FileNotFoundError:
            raise CustomerFileError(f"{path}: the customer file does not exist") from None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CustomerFileError(f"{path}: cannot read the customer file: {exc}") from exc
        return cls(records)

    def find(self, by: str, value: str) -> Customer | None:
        if by == "phone":
            return self._phone.get(normalize_phone(value))
        return self._account.get(value)

    async def by_phone(self, number: str) -> Customer | None:
        return self.find("phone", number)

    async def by_account(self, account: str) -> Customer | None:
        return self.find("account", account)


def _value(column: str, text: str | None) -> Any:
    if text is None or text.strip() == "":
        return None
    text = text.strip()
    if column not in TEXT_COLUMNS and _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return text
