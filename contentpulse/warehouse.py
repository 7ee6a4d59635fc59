"""The one place that opens the warehouse and the analytics snapshot: DuckDB files, or
DuckLakes (`ducklake:<name>`, attached by `contentpulse.lake`, which the connection then
uses, so the same SQL runs on both).

DuckDB lets one process write a file. The pipeline's writing steps (load, build, check,
publish) take the warehouse through `open_warehouse`, which first holds an exclusive lock
file beside it: two runs that overlap (a backfill during the night, two Airflow runs) queue
for the warehouse instead of failing on DuckDB's own lock, and the one that waits says who
it waits for. The kernel drops the lock with its process, so a killed step leaves none. A
lake's lock is an advisory lock in its catalog database, which every machine sees.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from contentpulse.errors import ContentpulseError

if TYPE_CHECKING:
    from contentpulse.config import Lake

log = logging.getLogger(__name__)
LOCK_TIMEOUT_S = float(os.environ.get("CONTENTPULSE_LOCK_TIMEOUT_S", 4 * 3600))

SCHEMAS = ("raw", "staging", "intermediate", "marts", "meta")
# DuckDB's own default is 80 % of the machine's memory; the build shares its worker with
# extract tasks and Airflow, and past this it spills to `<warehouse>.tmp` instead (a lake's
# connection: to a folder of its own under the temp dir), so the full build of 7 M
# item-days peaks under 2 GiB instead of 2.5 (docs/benchmarks.md)
MEMORY_LIMIT = os.environ.get("CONTENTPULSE_DUCKDB_MEMORY_LIMIT", "1.5GiB")


def sql_string(text: str) -> str:
    """A SQL string literal, for the statements that take no bind parameters (COMMENT, ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def connect(path: Path | Lake, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, or a DuckLake; a lock held by another process is one clear error
    line."""
    if not isinstance(path, Path):
        from contentpulse import lake

        return lake.connect(path, read_only=read_only)
    if read_only and not path.exists():
        raise ContentpulseError(f"{path}: no such database yet (run `contentpulse run` first)")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise ContentpulseError(
                f"{path}: in use by another process (another pipeline step or a writer); "
                "retry when it finishes"
            ) from None
        newer = re.search(r"version number (\d+).*created with an? newer version", str(exc), re.S)
        if newer:
            raise ContentpulseError(
                f"{path}: written by a newer DuckDB (storage version {newer[1]}) than this one "
                f"({duckdb.__version__}), which cannot read it; move it away and rebuild it "
                "from the landing files (contentpulse load, then build, check, publish)"
            ) from None
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise ContentpulseError(f"{path}: cannot open database: {first_line}") from None
    con.execute("set timezone = 'UTC'")
    limit_memory(con)
    return con


def limit_memory(con: duckdb.DuckDBPyConnection) -> None:
    """Hold DuckDB to MEMORY_LIMIT; a limit it cannot read is one error line naming it."""
    try:
        con.execute(f"set memory_limit = {sql_string(MEMORY_LIMIT)}")
    except duckdb.Error:
        con.close()
        raise ContentpulseError(
            f"CONTENTPULSE_DUCKDB_MEMORY_LIMIT={MEMORY_LIMIT!r} is not a size DuckDB reads "
            "(e.g. 1.5GiB, 800MB)"
        ) from None


@contextmanager
def writer_lock(path: Path, timeout_s: float | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock (`<file>.lock`), waiting for it if another process
    has it, and saying so once; a wait past `timeout_s` is one error line."""
    timeout_s = LOCK_TIMEOUT_S if timeout_s is None else timeout_s
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        started = time.monotonic()
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                if not said:
                    log.warning(
                        "%s: waiting for the warehouse writer lock (held by %s)", path, holder
                    )
                    said = True
                if time.monotonic() - started > timeout_s:
                    raise ContentpulseError(
                        f"{path}: still locked by {holder} after {timeout_s:.0f} s; "
                        "is a run stuck? (the lock goes with its process)"
                    ) from None
                time.sleep(0.2)
        if said:
            log.warning(
                "%s: got the warehouse writer lock after %.1f s", path, time.monotonic() - started
            )
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {since}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def open_warehouse(path: Path | Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    """The working warehouse, for writing (under the writer lock); creates its schemas and
    bookkeeping tables, and closes it at the end of the `with` block."""
    if not isinstance(path, Path):
        from contentpulse import lake

        with lake.writer_lock(path):
            con = lake.connect(path)
            try:
                _prepare(con, keys=False)
                yield con
            finally:
                con.close()
        return
    with writer_lock(path):
        _discard_unborn(path)
        con = connect(path)
        try:
            _prepare(con)
            yield con
        finally:
            con.close()


# DuckDB writes a new file's header blocks (3 x 4 KiB) before anything else
DUCKDB_HEADER_BYTES = 3 * 4096


def _discard_unborn(path: Path) -> None:
    """Remove a database file whose creation was killed (shorter than DuckDB's header, only
    zero bytes, with no WAL behind it): it holds nothing, and DuckDB would refuse it on every
    later run as "not a valid DuckDB database file". Any other short file is not ours to
    delete: DuckDB refuses it and the error names it. Called under the writer lock."""
    wal = path.with_name(path.name + ".wal")
    if not path.exists() or path.stat().st_size >= DUCKDB_HEADER_BYTES:
        return
    if path.read_bytes().strip(b"\0"):
        return  # something else lives at the warehouse path: never delete it
    if wal.exists() and wal.stat().st_size > 0:
        return  # not one DuckDB left half-created: leave it for a person to look at
    log.warning("%s: a database file whose creation was interrupted; creating it anew", path)
    path.unlink()
    wal.unlink(missing_ok=True)


# a column's or a table's key constraint in the bookkeeping tables' DDL
_KEY = re.compile(r" primary key(?= *[,\n])|,\s*primary key \([^)]*\)")


def _prepare(con: duckdb.DuckDBPyConnection, keys: bool = True) -> None:
    """Schemas and bookkeeping tables. `keys=False` (a DuckLake, which has no PRIMARY KEY or
    UNIQUE constraints) leaves the keys out: the loader and the runner keep them unique."""
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    ddl = BOOKKEEPING if keys else _KEY.sub("", BOOKKEEPING)
    con.execute(ddl)


BOOKKEEPING = """
        create table if not exists meta.loaded_files (
            path varchar primary key, source varchar, stream varchar, account_id varchar,
            rows bigint, loaded_at timestamptz
        );
        create table if not exists meta.accounts (
            platform varchar, account_id varchar, name varchar, timezone varchar,
            primary key (platform, account_id)
        );
        create table if not exists meta.builds (
            build_id varchar primary key, started_at timestamptz, finished_at timestamptz,
            models integer, seconds double
        );
        create table if not exists meta.unfinished_builds (
            build_id varchar primary key, started_at timestamptz, mode varchar,
            models integer, built integer, last_model varchar
        );
        create table if not exists meta.check_runs (
            check_id varchar primary key, build_id varchar, checked_at timestamptz,
            success boolean, expectations integer, failed integer
        );
        create table if not exists meta.check_results (
            check_id varchar, build_id varchar, model varchar, expectation varchar,
            "column" varchar, kwargs varchar, success boolean, critical boolean,
            element_count bigint, unexpected_count bigint, sample varchar
        );
        create table if not exists meta.check_row_counts (
            check_id varchar, build_id varchar, model varchar, row_count bigint
        );
        alter table meta.loaded_files add column if not exists built_in varchar;
        alter table meta.builds add column if not exists mode varchar;
        alter table meta.builds add column if not exists since date;
        alter table meta.builds add column if not exists fingerprint varchar;
        create table if not exists meta.held_back (
            check_id varchar, build_id varchar, platform varchar, reason varchar
        );
        alter table meta.check_row_counts add column if not exists platform varchar;
        """


def open_snapshot(path: Path | Lake) -> duckdb.DuckDBPyConnection:
    """The published snapshot, read-only: what reports and analysts read."""
    return connect(path, read_only=True)
