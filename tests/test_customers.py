"""Customer records: the ``customers`` table (CSV import, lookups) and the HTTP CRM adapter."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from api_support import serving
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti import api_cli
from cti.crm import CrmError, CrmResponseError, CrmTimeout, HttpCrm
from cti.customers import (
    CustomerImportError,
    DatabaseCustomers,
    customer_for_call,
    import_csv,
)
from hotline.db import Database, open_database, tables
from ivr.customers import CustomerLookup

T0 = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
GOOD = """id,name,phone,account,tier,email,balance,contract
C-1001,Erika Muster,+49 30 1234-567,0012345678,gold,erika@example.org,42.50,0815
C-1002,Max Probe,(030) 555 01,0099887766,,,-3,
C-1003,Ana Beispiel,,,silver,,,"multi
line"
"""


def write(tmp_path: Path, text: str, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows(database: Database) -> list[dict[str, Any]]:
    with database.begin() as conn:
        found = conn.execute(sa.select(tables.customers).order_by(tables.customers.c.id))
        return [dict(row) for row in found.mappings()]


async def test_imported_customers_are_found_by_phone_account_and_id(database: Database,
                                                                    tmp_path: Path) -> None:
    result = import_csv(database, write(tmp_path, GOOD), now=T0)
    assert (result.rows, result.inserted, result.updated) == (3, 3, 0)
    lookup: CustomerLookup = DatabaseCustomers(database)
    erika = await lookup.by_phone("+49-30-1234567")
    assert erika == {"id": "C-1001", "name": "Erika Muster", "phone": "+49301234567",
                     "account": "0012345678", "tier": "gold", "email": "erika@example.org",
                     "balance": 42.5, "contract": 815}
    assert (await lookup.by_account("0099887766"))["name"] == "Max Probe"
    assert (await lookup.by_phone("03055501"))["tier"] == "standard"  # empty tier: default
    assert await lookup.by_account("12345678") is None  # leading zeros matter
    assert await lookup.by_phone("") is None
    ana = await DatabaseCustomers(database).by_id("C-1003")
    assert ana is not None and ana["contract"] == "multi\nline" and ana["phone"] is None


async def test_a_reimport_updates_by_id_and_replaces_attributes(database: Database,
                                                                tmp_path: Path) -> None:
    import_csv(database, write(tmp_path, GOOD), now=T0)
    later = T0 + dt.timedelta(days=1)
    changed = "id,name,phone,account,tier,vip\nC-1002,Max Probe,+4930999,0099887766,gold,yes\n" \
              "C-2000,Neu Kunde,+4930111,,,no\n"
    result = import_csv(database, write(tmp_path, changed, "update.csv"), now=later)
    assert (result.rows, result.inserted, result.updated) == (2, 1, 1)
    max_probe = await DatabaseCustomers(database).by_id("C-1002")
    assert max_probe == {"id": "C-1002", "name": "Max Probe", "phone": "+4930999",
                         "account": "0099887766", "tier": "gold", "email": None, "vip": "yes"}
    assert [r["id"] for r in rows(database)] == ["C-1001", "C-1002", "C-1003", "C-2000"]
    assert await DatabaseCustomers(database).by_phone("03055501") is None


def test_bad_rows_are_reported_by_line_and_nothing_is_written(database: Database,
                                                              tmp_path: Path) -> None:
    bad = GOOD + ("C-1004,,+4930777,,,,,\n"             # line 6 (C-1003 spans 4-5): no name
                  "C-1005,Tel Fehler,call me,,,,,\n"     # line 7: not a phone number
                  "C-1001,Again,+4930888,,,,,\n"         # line 8: id repeated
                  "C-1006,Acct Twin,,0012345678,,,,\n"   # line 9: account repeated
                  "C-1007,Too,Many,Cells,,,,,,\n"        # line 10
                  "C-1008,Mail,,,,no-at-sign,,\n")       # line 11
    path = write(tmp_path, bad)
    with pytest.raises(CustomerImportError) as raised:
        import_csv(database, path, now=T0)
    problems = raised.value.problems
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:{n}" for n in range(6, 12)]
    assert "'name' is empty" in problems[0]
    assert "'call me' is not a phone number" in problems[1]
    assert "'C-1001' is already on line 2" in problems[2]
    assert "'0012345678' is already on line 2" in problems[3]
    assert "10 cells but the header names 8 columns" in problems[4]
    assert "'no-at-sign' has no '@'" in problems[5]
    assert "nothing was written" in str(raised.value)
    assert rows(database) == []


def test_an_account_held_by_another_customer_rolls_the_whole_file_back(
        database: Database, tmp_path: Path) -> None:
    import_csv(database, write(tmp_path, GOOD), now=T0)
    before = rows(database)
    clash = "id,name,account\nC-3000,First Fine,0555\nC-3001,Thief,0012345678\n"
    path = write(tmp_path, clash, "clash.csv")
    with pytest.raises(CustomerImportError) as raised:
        import_csv(database, path, now=T0 + dt.timedelta(hours=1))
    assert raised.value.problems == [
        f"{path}:3: account '0012345678' belongs to customer 'C-1001' in the database"]
    assert rows(database) == before


@pytest.mark.parametrize(("text", "expected"), [
    ("name,phone\nA,+491\n", "at least 'id' and 'name'"),
    ("", "at least 'id' and 'name'"),
    ("id,name,,x\n1,A,,\n", "empty or repeated column"),
    ("id,name,name\n1,A,B\n", "empty or repeated column"),
])
def test_a_file_without_a_usable_header_is_refused(database: Database, tmp_path: Path,
                                                   text: str, expected: str) -> None:
    with pytest.raises(CustomerImportError, match=expected):
        import_csv(database, write(tmp_path, text), now=T0)


def test_a_missing_file_is_a_plain_error(database: Database, tmp_path: Path) -> None:
    with pytest.raises(CustomerImportError, match="does not exist"):
        import_csv(database, tmp_path / "nope.csv", now=T0)


def test_a_clash_in_a_late_chunk_rolls_back_the_chunks_written_before(
        database: Database, tmp_path: Path) -> None:
    import_csv(database, write(tmp_path, "id,name,account\nZ1,Holder,A0001100\n", "z.csv"),
               now=T0)
    lines = ["id,name,phone,account"] + [f"K{i:05d},Kunde {i},+4940{i:07d},A{i:07d}"
                                         for i in range(1200)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(CustomerImportError,
                       match=r":1102: account 'A0001100' belongs to customer 'Z1'"):
        import_csv(database, path, now=T0)
    assert [r["id"] for r in rows(database)] == ["Z1"]
    del lines[1101]
    result = import_csv(database, write(tmp_path, "\n".join(lines) + "\n"), now=T0)
    assert (result.inserted, len(rows(database))) == (1199, 1200)


def test_the_cli_imports_into_the_deployments_database(deployment_copy: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    parser = argparse.ArgumentParser()
    api_cli.register(parser.add_subparsers(dest="command"))
    path = write(tmp_path, GOOD)
    args = parser.parse_args(["customers", "import", str(path), "--dir", str(deployment_copy),
                              "--json"])
    assert args.handler(args) == 0
    assert '"inserted": 3' in capsys.readouterr().out
    database = open_database("", data_dir=deployment_copy.parent / "var" / "data")
    try:
        assert [r["id"] for r in rows(database)] == ["C-1001", "C-1002", "C-1003"]
    finally:
        database.close()
    bad = write(tmp_path, "id,name\n,x\n", "bad.csv")
    args = parser.parse_args(["customers", "import", str(bad), "--dir", str(deployment_copy)])
    with pytest.raises(CustomerImportError, match=r"bad.csv:2: 'id' is empty"):
        args.handler(args)


async def test_the_pop_record_is_found_by_customer_id_first_then_by_caller_id(
        database: Database, tmp_path: Path) -> None:
    import_csv(database, write(tmp_path, GOOD), now=T0)
    lookup = DatabaseCustomers(database)
    assert (await customer_for_call(lookup, "C-1002", "+49301234567"))["id"] == "C-1002"
    assert (await customer_for_call(lookup, "C-gone", "+49301234567"))["id"] == "C-1001"
    assert (await customer_for_call(lookup, None, "+4900000")) is None
    assert (await customer_for_call(lookup, None, "")) is None


# -- the HTTP CRM ---------------------------------------------------------------------------------

class Crm:
    """A tiny CRM on 127.0.0.1 that counts the requests it answers."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.slow = asyncio.Event()
        self.app = FastAPI()
        people = {"C-1": {"id": "C-1", "name": "Erika Muster", "phone": "+4930123",
                          "account": "0042", "tier": "gold"}}

        @self.app.get("/crm/customers/by-phone/{number}")
        async def by_phone(number: str) -> Any:
            self.hits.append(f"phone:{number}")
            if number == "+4930999":
                await self.slow.wait()
            if number == "+4930500":
                return PlainTextResponse("boom", status_code=500)
            if number == "+4930222":
                return JSONResponse(["not", "a", "record"])
            found = [p for p in people.values() if p["phone"] == number]
            return found[0] if found else JSONResponse({"detail": "none"}, status_code=404)

        @self.app.get("/crm/customers/by-account/{account}")
        async def by_account(account: str) -> Any:
            self.hits.append(f"account:{account}")
            found = [p for p in people.values() if p["account"] == account]
            return found[0] if found else JSONResponse({}, status_code=404)

        @self.app.get("/crm/customers/{customer_id}")
        async def by_id(customer_id: str) -> Any:
            self.hits.append(f"id:{customer_id}")
            return people.get(customer_id) or JSONResponse({}, status_code=404)


@pytest.fixture
async def crm() -> AsyncIterator[tuple[Crm, str]]:
    fake = Crm()
    async with serving(fake.app) as server:
        yield fake, server.url + "/crm"
        fake.slow.set()


async def test_the_crm_is_asked_over_http_and_answers_are_cached(crm: tuple[Crm, str]) -> None:
    fake, url = crm
    now = [1000.0]
    async with HttpCrm(url, timeout_s=2, cache_ttl_s=30, clock=lambda: now[0]) as client:
        lookup: CustomerLookup = client
        first = await lookup.by_phone("+49 30 123")
        assert first is not None and first["name"] == "Erika Muster"
        first["name"] = "changed by the caller"  # callers get copies: the cache stays intact
        assert (await lookup.by_phone("+4930123"))["name"] == "Erika Muster"
        assert await lookup.by_account("0042") == await client.by_id("C-1")
        assert await lookup.by_account("0043") is None
        assert await lookup.by_account("0043") is None  # "not found" is cached too
        assert fake.hits == ["phone:+4930123", "account:0042", "id:C-1", "account:0043"]
        now[0] += 31
        await lookup.by_phone("+4930123")
        assert fake.hits[-1] == "phone:+4930123" and len(fake.hits) == 5


async def test_the_cache_keeps_only_the_most_recent_entries(crm: tuple[Crm, str]) -> None:
    fake, url = crm
    async with HttpCrm(url, cache_size=2) as client:
        for account in ("1", "2", "1", "3", "1", "2"):
            await client.by_account(account)
    assert fake.hits == ["account:1", "account:2", "account:3", "account:2"]


async def test_crm_failures_become_crm_errors_and_are_not_cached(crm: tuple[Crm, str]) -> None:
    fake, url = crm
    async with HttpCrm(url, timeout_s=0.2) as client:
        with pytest.raises(CrmTimeout, match=r"within 0.2 s"):
            await client.by_phone("+4930999")
        with pytest.raises(CrmResponseError, match="HTTP 500"):
            await client.by_phone("+4930500")
        with pytest.raises(CrmResponseError, match="HTTP 500"):
            await client.by_phone("+4930500")
        with pytest.raises(CrmResponseError, match="not a customer record"):
            await client.by_phone("+4930222")
    assert fake.hits.count("phone:+4930500") == 2


async def test_an_unreachable_crm_is_a_crm_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with HttpCrm(f"http://127.0.0.1:{port}/crm") as client:
        with pytest.raises(CrmError, match="cannot reach the CRM") as raised:
            await client.by_account("1")
    assert raised.value.error_id == "crm_unavailable"


def test_a_crm_timeout_must_be_positive() -> None:
    with pytest.raises(CrmError, match="-1"):
        HttpCrm("http://127.0.0.1:1", timeout_s=-1)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["", " ", "-", "(", ")", "/", "."]), min_size=12, max_size=12))
def test_a_number_is_found_however_it_is_written(database: Database, tmp_path: Path,
                                                 separators: list[str]) -> None:
    if not rows(database):  # the examples only read: import once per database
        import_csv(database, write(tmp_path, GOOD), now=T0)
    digits = "+49301234567"
    written = "".join(d + s for d, s in zip(digits, separators, strict=True))
    found = DatabaseCustomers(database).find("phone", written)
    assert found is not None and found["id"] == "C-1001"


def test_header_names_are_trimmed_and_short_rows_read_as_empty(database: Database,
                                                              tmp_path: Path) -> None:
    import_csv(database, write(tmp_path, "id, name ,phone, balance\nC-9,Kurz\n"), now=T0)
    assert rows(database)[0]["name"] == "Kurz"
    assert DatabaseCustomers(database).find("id", "C-9") == {
        "id": "C-9", "name": "Kurz", "phone": None, "account": None, "tier": "standard",
        "email": None, "balance": None}
