"""Publish: the checked build becomes `analytics.duckdb`, swapped in atomically.

The snapshot is written beside the target and renamed over it: an analyst who had the old
file open keeps reading the old snapshot undisturbed; whoever opens it next sees the new.
Only a build whose checks passed is published. Table and column comments are carried
over; every mart is also a stable view under its plain name (`select * from posts`), the
names analysts and notebooks depend on; a `readme` table lists the views and tables.
"""

from __future__ import annotations

import os
import re
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

from contentpulse.errors import ContentpulseError, naming
from contentpulse.tempfiles import remove, sweep, temp_path
from contentpulse.warehouse import connect, sql_string

PUBLISHED_SCHEMAS = ("staging", "marts")
# The snapshot is written in DuckDB's 1.4 storage format, whatever DuckDB writes it (1.5.5
# today; 2.0 writes a format every 1.x client refuses): the duckdb CLI, DBeaver and notebooks
# of DuckDB 1.4 and later read it.
SNAPSHOT_STORAGE_VERSION = "v1.4.0"


README_COLUMNS = {
    "name": "A view (query it by this name) or a schema.table.",
    "kind": "view or table.",
    "summary": "What it holds, in one line (the description's first sentence).",
    "reads": "The table a view reads.",
    "approx_rows": "Rows, approximately (tables only).",
    "description": "What it holds, in full.",
}
SUMMARY_CHARS = 100
META_TABLES = {
    "build": "The build this snapshot holds: when, full or incremental, from which day.",
    "check_results": "Every Great Expectations result of the check that passed this build.",
}


@dataclass
class PublishSummary:
    path: Path
    build_id: str
    tables: int
    bytes: int


def publishable_build(con: duckdb.DuckDBPyConnection) -> str:
    """The latest build, if its latest check passed; else a clear error."""
    rows = con.execute(
        """
        select b.build_id, c.success
        from meta.builds as b
        left join meta.check_runs as c on b.build_id = c.build_id
        order by b.finished_at desc, c.checked_at desc nulls last
        limit 1
        """
    ).fetchall()
    if not rows:
        raise ContentpulseError("publish: nothing built yet (run `contentpulse build`)")
    build_id, success = rows[0]
    if success is None:
        raise ContentpulseError(
            f"publish: build {build_id[:8]} has not been checked (run `contentpulse check`)"
        )
    if not success:
        raise ContentpulseError(
            f"publish: build {build_id[:8]} failed its checks; the last published snapshot stays"
        )
    return build_id


def publish(con: duckdb.DuckDBPyConnection, target: Path) -> PublishSummary:
    """Copy the published schemas of the (checked) warehouse into a new file and swap it in."""
    build_id = publishable_build(con)
    tables = con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        f"where database_name = current_database() and schema_name in {PUBLISHED_SCHEMAS} "
        "order by schema_name, table_name"
    ).fetchall()
    columns = con.execute(
        "select schema_name, table_name, column_name, comment from duckdb_columns() "
        f"where database_name = current_database() and schema_name in {PUBLISHED_SCHEMAS} and comment is not null"
    ).fetchall()
    if target.is_dir():
        raise ContentpulseError(
            f"publish: {target} is a folder, in the way of the snapshot "
            "(move it, or set paths.analytics)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep(target.parent)  # what a publish killed mid-write left
    tmp = temp_path(target)
    written = (tmp, tmp.with_name(tmp.name + ".wal"))
    try:
        try:
            con.execute(
                f"attach {sql_string(str(tmp))} as snapshot "
                f"(storage_version '{SNAPSHOT_STORAGE_VERSION}')"
            )
            try:
                _fill(con, tables, columns, build_id)
            except BaseException:
                with suppress(duckdb.Error):  # the first error says why, not the detach's
                    con.execute("detach snapshot")
                raise
            con.execute("detach snapshot")  # writes the file out: a full disk may fail here
        except duckdb.Error as exc:
            reason = _file_error(exc)
            if reason is None:
                raise
            raise ContentpulseError(
                f"publish: {target}: cannot write the new snapshot ({reason}); "
                "the published one stays as it was"
            ) from None
        with naming(target):  # named as the snapshot, not as its temporary
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
    except BaseException:  # any failure, SIGINT, SIGTERM: no temporary file stays
        remove(*written)
        raise
    return PublishSummary(target, build_id, len(tables), target.stat().st_size)


_FILE_ERROR = re.compile(r'(?:Could not write|Cannot open|Could not open) file "[^"]*": ([^\n]+)')


def _file_error(exc: duckdb.Error) -> str | None:
    """What went wrong writing the snapshot's file (`File too large`, `Permission denied`),
    if that is what `exc` says; None for any other error."""
    found = _FILE_ERROR.search(str(exc))
    if found:
        return found[1].strip()
    if isinstance(exc, duckdb.IOException) or "CHECKPOINT" in str(exc):
        return str(exc).splitlines()[0].strip()
    return None


def _fill(con: duckdb.DuckDBPyConnection, tables: list, columns: list, build_id: str) -> None:
    """The attached `snapshot`: the published tables with their comments, the check results
    of the build, the stable views and the readme."""
    for schema in (*PUBLISHED_SCHEMAS, "meta"):
        con.execute(f"create schema snapshot.{schema}")
    for schema, table, comment in tables:
        con.execute(f"create table snapshot.{schema}.{table} as select * from {schema}.{table}")
        if comment:
            con.execute(f"comment on table snapshot.{schema}.{table} is {sql_string(comment)}")
    for schema, table, column, comment in columns:
        con.execute(
            f'comment on column snapshot.{schema}.{table}."{column}" is {sql_string(comment)}'
        )
    con.execute(  # the passed check's results, not those of an earlier failed one
        "create table snapshot.meta.check_results as "
        "select * from meta.check_results where check_id = ("
        "  select check_id from meta.check_runs where build_id = ? "
        "  order by checked_at desc limit 1)",
        [build_id],
    )
    con.execute(
        "create table snapshot.meta.build as select * from meta.builds where build_id = ?",
        [build_id],
    )
    for schema, table, comment in tables:
        if schema != "marts":
            continue
        # unqualified on purpose: the view resolves inside whichever file holds it
        con.execute(f"create view snapshot.main.{table} as select * from marts.{table}")
        if comment:
            con.execute(f"comment on view snapshot.main.{table} is {sql_string(comment)}")
    for schema, table, column, comment in columns:
        if schema == "marts":
            con.execute(
                f'comment on column snapshot.main.{table}."{column}" is {sql_string(comment)}'
            )
    con.execute(
        "create table snapshot.main.readme as "
        "select view_name as name, 'view' as kind, null::varchar as summary, "
        "'marts.' || view_name as reads, null::bigint as approx_rows, "
        "comment as description from duckdb_views() "
        "where database_name = 'snapshot' and schema_name = 'main' "
        "union all "
        "select schema_name || '.' || table_name, 'table', null, null, estimated_size, comment "
        "from duckdb_tables() "
        f"where database_name = 'snapshot' and schema_name in {PUBLISHED_SCHEMAS} "
        "order by kind desc, name"
    )
    rows = con.execute("select name, description from snapshot.main.readme").fetchall()
    con.executemany(
        "update snapshot.main.readme set summary = ? where name = ?",
        [[summary(text), name] for name, text in rows],
    )
    for column, text in README_COLUMNS.items():
        con.execute(f"comment on column snapshot.main.readme.{column} is {sql_string(text)}")
    for table, text in META_TABLES.items():
        con.execute(f"comment on table snapshot.meta.{table} is {sql_string(text)}")
    con.execute(
        "comment on table snapshot.main.readme is 'Start here: the stable views analysts "
        "query (posts, post_performance, ...: the marts by their plain names), then every "
        "published table, with what each holds.'"
    )


def summary(description: str | None, limit: int = SUMMARY_CHARS) -> str | None:
    """A description's first sentence on one line, cut at a word to `limit` characters: what
    `select * from readme` shows in a terminal beside the full text."""
    if not description:
        return None
    text = " ".join(description.split())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    if len(first) <= limit:
        return first
    return first[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def open_snapshot(path: Path) -> duckdb.DuckDBPyConnection:
    """The published snapshot, read-only: what reports and analysts read."""
    return connect(path, read_only=True)
