"""The warehouse writer lock: overlapping writers queue instead of failing, and say so."""

from __future__ import annotations

import logging
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
