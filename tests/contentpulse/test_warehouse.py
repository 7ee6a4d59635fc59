"""The warehouse writer lock: overlapping writers queue instead of failing, and say so; and
DuckDB's memory limit."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest

from contentpulse.errors import ContentpulseError
from contentpulse.warehouse import connect, open_warehouse, writer_lock

HOLD = """
import sys, time
from pathlib import Path
from contentpulse.warehouse import open_warehouse
with open_warehouse(Path(sys.argv[1])) as con:
    con.execute("create table if not exists meta.first as select 1 as x")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(path, seconds: float) -> subprocess.Popen:
    """Another process holding the warehouse for writing, `seconds` long."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_second_writer_waits_for_the_first_and_says_so(tmp_path, caplog):
    path = tmp_path / "warehouse.duckdb"
    other = hold(path, 1.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), open_warehouse(path) as con:
        waited = time.monotonic() - started
        assert con.sql("select x from meta.first").fetchall() == [(1,)]
    assert other.wait(timeout=30) == 0
    assert waited > 0.5  # it did wait: DuckDB alone would have refused the file
    waits = [r.getMessage() for r in caplog.records if "waiting for" in r.getMessage()]
    assert len(waits) == 1 and f"pid {other.pid}" in waits[0]


def test_a_writer_that_waits_too_long_stops_with_one_line(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    other = hold(path, 5)
    try:
        with pytest.raises(ContentpulseError, match=r"still locked by pid \d+ .*after 0 s"):
            with writer_lock(path, timeout_s=0.3):
                pass
    finally:
        other.kill()
        other.wait()


def test_a_killed_writer_leaves_no_lock_behind(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    other = hold(path, 60)
    other.kill()  # SIGKILL: no cleanup ran
    other.wait()
    with writer_lock(path, timeout_s=5):
        pass
    with connect(path, read_only=True) as con:
        assert con.sql("select count(*) from meta.first").fetchall() == [(1,)]


SORT_BEYOND_THE_LIMIT = """
import sys
from pathlib import Path
from contentpulse.warehouse import connect
con = connect(Path(sys.argv[1]))
print(con.execute("select current_setting('memory_limit')").fetchone()[0])
con.execute(
    "create table sorted as select range as i, md5(range::varchar) as s "
    "from range(2000000) order by s"
)
print(con.execute("select count(*), count(distinct s) from sorted").fetchone())
con.close()
"""


def sort_under(limit: str, path) -> subprocess.CompletedProcess:
    """SORT_BEYOND_THE_LIMIT in a process of its own, with CONTENTPULSE_DUCKDB_MEMORY_LIMIT
    set to `limit` (read when contentpulse.warehouse is imported)."""
    return subprocess.run(
        [sys.executable, "-c", SORT_BEYOND_THE_LIMIT, str(path)],
        env={**os.environ, "CONTENTPULSE_DUCKDB_MEMORY_LIMIT": limit},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_duckdb_keeps_to_the_memory_limit_and_spills_past_it(tmp_path):
    """A sort of about 150 MB under a 64 MiB limit spills to `<warehouse>.tmp` and finishes;
    the spill folder goes with the connection."""
    path = tmp_path / "warehouse.duckdb"
    done = sort_under("64MiB", path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()  # DuckDB may draw a progress bar between them
    assert (lines[0], lines[-1]) == ("64.0 MiB", "(2000000, 2000000)")
    assert not path.with_name("warehouse.duckdb.tmp").exists()


def test_a_memory_limit_duckdb_cannot_read_is_one_line(tmp_path):
    done = sort_under("half", tmp_path / "w.duckdb")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "contentpulse.errors.ContentpulseError: CONTENTPULSE_DUCKDB_MEMORY_LIMIT='half' is not "
        "a size DuckDB reads (e.g. 1.5GiB, 800MB)"
    )


def test_the_default_memory_limit_is_applied(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "1.5 GiB"
