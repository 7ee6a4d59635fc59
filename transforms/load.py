"""The loader: landing files -> raw tables, in one transaction; the warehouse's only writer of raw.

A file is loaded once (meta.loaded_files); raw tables are append-only with the
extraction's `extracted_at` and `run_id`, so every restatement ever seen is kept and
staging can choose the latest value per key.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from contentpulse.config import Config
from contentpulse.errors import ContentpulseError
from contentpulse.registry import connectors
from transforms.landing import LandingFile, fetch_files, landing_store, list_files

log = logging.getLogger(__name__)
_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class LoadSummary:
    files: int
    rows: int
    by_table: dict[str, int]


def raw_table(source: str, stream: str) -> str:
    if not (_IDENT.match(source) and _IDENT.match(stream)):
        raise ContentpulseError(f"landing: invalid source/stream name {source!r}/{stream!r}")
    return f"raw.{source}__{stream}"


def _ensure_columns(
    con: duckdb.DuckDBPyConnection, table: str, rel: duckdb.DuckDBPyRelation
) -> None:
    """Create the raw table from the file's schema, or add columns the file brings."""
    schema, name = table.split(".")
    existing = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    if not existing:
        cols = ", ".join(f'"{c}" {t}' for c, t in zip(rel.columns, rel.types, strict=True))
        con.execute(f"create table {table} ({cols}, landing_file varchar)")
        return
    for column, dtype in zip(rel.columns, rel.types, strict=True):
        if column not in existing:
            con.execute(f'alter table {table} add column "{column}" {dtype}')


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Every known stream's raw table exists (empty until data lands) with every column its
    landing schema has today, so models always build: a column a connector started to land
    is there (NULL in the rows loaded before) even before a file brings it."""
    for platform, connector in connectors().items():
        for stream, schema in connector.schemas.items():
            empty = con.from_arrow(pa.Table.from_pylist([], schema=schema))
            _ensure_columns(con, raw_table(platform, stream), empty)


def account_rows(cfg: Config) -> list[list[str]]:
    """meta.accounts: every configured account; a CSV export account also under each
    platform its exports carry (its rows say linkedin or x, and the models look up time
    zones by the rows' platform)."""
    rows, seen = [], set()
    for platform, account in cfg.accounts():
        platforms = [platform]
        if platform == "csv_export" and cfg.sources.csv_export is not None:
            exports = cfg.sources.csv_export.exports
            platforms += sorted({exports[e].platform for e in getattr(account, "exports", [])})
        for name in platforms:
            if (name, account.id) not in seen:
                seen.add((name, account.id))
                rows.append([name, account.id, account.display_name, account.timezone])
    return rows


def load(cfg: Config, con: duckdb.DuckDBPyConnection) -> LoadSummary:
    """Load every landing file not yet loaded; all or nothing."""
    store = landing_store(cfg)
    store.sweep()  # what extracts killed mid-write left
    done = {r[0] for r in con.execute("select path from meta.loaded_files").fetchall()}
    pending: list[LandingFile] = [f for f in list_files(store) if f.rel not in done]
    by_table: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        ensure_raw_tables(con)
        con.execute("delete from meta.accounts")
        con.executemany("insert into meta.accounts values (?, ?, ?, ?)", account_rows(cfg))
        for file, data in fetch_files(store, pending):
            table = raw_table(file.source, file.stream)
            rel_path = file.rel
            try:
                if data is None:  # a local file: DuckDB reads it itself
                    scan, params = "read_parquet(?, hive_partitioning = false)", [str(file.path)]
                else:  # fetched from an object store: DuckDB scans the Arrow table
                    con.register("landing_batch", pq.read_table(pa.BufferReader(data)))
                    scan, params = "landing_batch", []
                _ensure_columns(con, table, con.sql(f"select * from {scan}", params=params))
                rows = con.execute(
                    f"insert into {table} by name select *, ? as landing_file from {scan}",
                    [rel_path, *params],
                ).fetchall()[0][0]
            except (duckdb.Error, pa.ArrowException) as exc:
                first = str(exc).splitlines()[0]
                raise ContentpulseError(
                    f"load: landing file {rel_path} is unreadable: {first} (`contentpulse "
                    f"landing redo {rel_path}` sets it aside and re-extracts its window)"
                ) from None
            con.execute(
                "insert into meta.loaded_files (path, source, stream, account_id, rows, loaded_at) "
                "values (?, ?, ?, ?, ?, now())",
                [rel_path, file.source, file.stream, file.account_id, rows],
            )
            by_table[table] = by_table.get(table, 0) + rows
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return LoadSummary(files=len(pending), rows=sum(by_table.values()), by_table=by_table)
