"""The one place that opens DuckDB files: the working warehouse and the analytics snapshot."""

from __future__ import annotations

from pathlib import Path

import duckdb

from contentpulse.errors import ContentpulseError

SCHEMAS = ("raw", "staging", "intermediate", "marts", "meta")


def sql_string(text: str) -> str:
    """A SQL string literal, for the statements that take no bind parameters (COMMENT, ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file; a lock held by another process is one clear error line."""
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
        raise ContentpulseError(f"{path}: cannot open database: {exc}") from None
    con.execute("set timezone = 'UTC'")
    return con


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """The working warehouse, for writing; creates its schemas and bookkeeping tables."""
    con = connect(path)
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    con.execute(
        """
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
        """
    )
    return con
