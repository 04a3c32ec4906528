"""The SQL database on real servers: SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from hotline.db import Database, DatabaseError, open_database, tables

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)


def test_migrations_reach_head_and_are_idempotent(database: Database) -> None:
    assert database.revision() == Database.head_revisions()
    database.migrate()
    assert database.revision() == Database.head_revisions()


def test_migrations_match_table_definitions(database: Database) -> None:
    inspector = sa.inspect(database.engine)
    for table in tables.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_call_with_recording_round_trip(database: Database) -> None:
    with database.begin() as conn:
        conn.execute(tables.calls.insert().values(
            id="1700000000.1", caller_id="+4930123", queue="billing", started_at=NOW,
            ivr_path=["start", "menu"], attributes={"vip": True}, flags=[],
            recording_failed=False,
        ))
        conn.execute(tables.recordings.insert().values(
            call_id="1700000000.1", segment=1, started_at=NOW, path="2026/11/22/x.wav",
            status="complete", pauses=[{"at": 3.0, "until": 9.5}], flags=[],
        ))
    with database.begin() as conn:
        row = conn.execute(sa.select(tables.calls)).one()
        rec = conn.execute(sa.select(tables.recordings)).one()
    assert row.ivr_path == ["start", "menu"] and row.attributes == {"vip": True}
    assert rec.pauses == [{"at": 3.0, "until": 9.5}]


def test_failed_transaction_leaves_nothing_half_written(database: Database) -> None:
    with pytest.raises(DatabaseError), database.begin() as conn:
        conn.execute(tables.calls.insert().values(
            id="c1", started_at=NOW, ivr_path=[], attributes={}, flags=[],
            recording_failed=False,
        ))
        # a recording of an unknown call violates the foreign key: the call goes too
        conn.execute(tables.recordings.insert().values(
            call_id="missing", segment=1, started_at=NOW, path="x", status="complete",
            pauses=[], flags=[],
        ))
    with database.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.calls)).scalar() == 0


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    masked = r"postgresql\+psycopg://hotline:\*\*\*@127.0.0.1:1"
    with pytest.raises(DatabaseError, match=masked) as err:
        open_database("postgresql://hotline:pw@127.0.0.1:1/x")
    assert "\n" not in str(err.value)  # one line for the command line


def test_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    """Two processes opening a fresh SQLite file at the same moment must both succeed."""
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from hotline.db import open_database; "
        "open_database('', data_dir=Path(sys.argv[1])).close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "data")],
                         stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    database = open_database("", data_dir=tmp_path / "data")
    assert database.revision() == Database.head_revisions()
    database.close()
