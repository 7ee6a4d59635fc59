"""Publish: the checked build becomes `analytics.duckdb`, swapped in atomically.

The snapshot is written beside the target and renamed over it: an analyst who had the old
file open keeps reading the old snapshot undisturbed; whoever opens it next sees the new.
Only a build whose checks passed is published, or one whose failures were some sources'
alone (held back): every other source publishes its new rows, and each held-back source
keeps, in every table keyed by platform, the rows of the snapshot before (its last good
ones); `meta.source_status` marks it stale, since when and why, until a check passes it
again. Table and column comments are carried over; every mart is also a stable view under
its plain name (`select * from posts`), the names analysts and notebooks depend on; a
`readme` table lists the views and tables.
"""

from __future__ import annotations

import os
import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from contentpulse.config import Lake
from contentpulse.errors import ContentpulseError, NothingToPublish, naming
from contentpulse.tempfiles import remove, sweep, temp_path
from contentpulse.warehouse import sql_string
from models.runner import unfinished_build

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
SOURCE_STATUS_COLUMNS = {
    "platform": "The source, as marts' platform column names it.",
    "status": "current: this snapshot holds its rows of this build; stale: a check failed on "
    "them, so it keeps its last published rows.",
    "build_id": "The build its rows come from (NULL: nothing of it was ever published).",
    "stale_since": "When a check first held it back (NULL when current).",
    "reason": "Why: the check that failed on its rows, in one line (NULL when current).",
    "check_id": "The check run behind this snapshot.",
}
META_TABLES = {
    "build": "The build this snapshot holds: when, full or incremental, from which day.",
    "check_results": "Every Great Expectations result of the check that passed this build.",
    "source_status": (
        "Each source (platform) in this snapshot: current (its rows are this build's) or "
        "stale (a check failed on its rows: the snapshot keeps its last published rows, "
        "from build_id; stale_since and reason say since when and why)."
    ),
}


@dataclass
class PublishSummary:
    path: Path | Lake
    build_id: str
    tables: int
    bytes: int
    held_back: dict[str, str] = field(default_factory=dict)  # platform -> why


@dataclass
class Checked:
    """A build whose latest check lets it publish, and the sources that check held back."""

    build_id: str
    check_id: str
    held_back: dict[str, str]  # platform -> the one-line reason


def publishable_build(con: duckdb.DuckDBPyConnection) -> Checked:
    """The latest build, if its latest check passed it (whole, or but for some sources held
    back); else a clear error."""
    rows = con.execute(
        """
        select b.build_id, c.check_id, c.success
        from meta.builds as b
        left join meta.check_runs as c on b.build_id = c.build_id
        order by b.finished_at desc, c.checked_at desc nulls last
        limit 1
        """
    ).fetchall()
    if not rows:
        raise ContentpulseError("publish: nothing built yet (run `contentpulse build`)")
    stopped = unfinished_build(con)
    if stopped:
        raise ContentpulseError(f"publish: {stopped}")
    build_id, check_id, success = rows[0]
    if success is None:
        raise NothingToPublish(
            f"publish: build {build_id[:8]} has not been checked (run `contentpulse check`)"
        )
    held_back = dict(
        con.execute(
            "select platform, reason from meta.held_back where check_id = ? order by platform",
            [check_id],
        ).fetchall()
    )
    if not success and not held_back:
        raise NothingToPublish(
            f"publish: build {build_id[:8]} failed its checks; the last published snapshot stays"
        )
    return Checked(build_id, check_id, held_back)


def publish(con: duckdb.DuckDBPyConnection, target: Path | Lake) -> PublishSummary:
    """Copy the published schemas of the (checked) warehouse into a new file and swap it in
    (or, into a DuckLake, replace its tables in one transaction); a source the check held
    back keeps its rows of the snapshot it replaces."""
    checked = publishable_build(con)
    tables = con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        f"where database_name = current_database() and schema_name in {PUBLISHED_SCHEMAS} "
        "order by schema_name, table_name"
    ).fetchall()
    columns = con.execute(
        "select schema_name, table_name, column_name, comment from duckdb_columns() "
        f"where database_name = current_database() and schema_name in {PUBLISHED_SCHEMAS} and comment is not null"
    ).fetchall()
    if isinstance(target, Lake):
        return _publish_to_lake(con, target, checked, tables, columns)
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
            previous = _attach_previous(con, target) if checked.held_back else None
            try:
                _fill(con, tables, columns, checked, previous)
            except BaseException:
                with suppress(duckdb.Error):  # the first error says why, not the detach's
                    con.execute("detach snapshot")
                raise
            finally:
                if previous:
                    with suppress(duckdb.Error):
                        con.execute(f"detach {previous}")
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
    return PublishSummary(
        target, checked.build_id, len(tables), target.stat().st_size, checked.held_back
    )


def _publish_to_lake(
    con: duckdb.DuckDBPyConnection, target: Lake, checked: Checked, tables: list, columns: list
) -> PublishSummary:
    """The snapshot into a DuckLake: in one transaction, every table and view the last publish
    left is dropped and the new ones are written, so the commit is one DuckLake snapshot that
    a reader sees whole or not at all; a killed publish commits nothing and the last one
    stays. The snapshot's commit message says `publish <build id>` (time travel finds it)."""
    from contentpulse import lake

    lake.attach(con, target, "snapshot")
    previous = None
    try:
        if checked.held_back:  # the snapshot being replaced, pinned: the held-back rows
            version = lake.current_version(con, "snapshot")
            lake.attach(con, target, PREVIOUS, read_only=True, snapshot_version=version)
            previous = PREVIOUS
        con.execute("begin transaction")
        try:
            for kind, schema, name in con.execute(
                "select 'table', schema_name, table_name from duckdb_tables() "
                "where database_name = 'snapshot' union all "
                "select 'view', schema_name, view_name from duckdb_views() "
                "where database_name = 'snapshot' and not internal"
            ).fetchall():
                con.execute(f'drop {kind} snapshot."{schema}"."{name}"')
            _fill(con, tables, columns, checked, previous, view_column_comments=False)
            con.execute(
                "call snapshot.set_commit_message('contentpulse', ?)",
                [f"publish {checked.build_id}"],
            )
            con.execute("commit")
        except BaseException:
            with suppress(duckdb.Error):
                con.execute("rollback")
            raise
    finally:
        for alias in ("snapshot", previous):
            if alias:
                with suppress(duckdb.Error):
                    con.execute(f"detach {alias}")
    return PublishSummary(target, checked.build_id, len(tables), 0, checked.held_back)


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


def _fill(
    con: duckdb.DuckDBPyConnection,
    tables: list,
    columns: list,
    checked: Checked,
    previous: str | None,
    view_column_comments: bool = True,
) -> None:
    """The attached `snapshot`: the published tables with their comments (a held-back
    source's rows from the `previous` snapshot), the check results of the build, each
    source's status, the stable views and the readme. A DuckLake keeps no comments on a
    view's columns (`view_column_comments=False`): its tables' columns carry them."""
    build_id = checked.build_id
    for schema in (*PUBLISHED_SCHEMAS, "meta"):
        con.execute(f"create schema if not exists snapshot.{schema}")
    for schema, table, comment in tables:
        _copy_table(con, f"{schema}.{table}", list(checked.held_back), previous)
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
    _source_status(con, checked, previous)
    for schema, table, comment in tables:
        if schema != "marts":
            continue
        # unqualified on purpose: the view resolves inside whichever file holds it
        con.execute(f"create view snapshot.main.{table} as select * from marts.{table}")
        if comment:
            con.execute(f"comment on view snapshot.main.{table} is {sql_string(comment)}")
    for schema, table, column, comment in columns:
        if schema == "marts" and view_column_comments:
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


PREVIOUS = "previous_snapshot"


def _attach_previous(con: duckdb.DuckDBPyConnection, target: Path) -> str | None:
    """The snapshot being replaced, read-only: where held-back sources' rows come from."""
    if not target.exists():
        return None
    try:
        con.execute(f"attach {sql_string(str(target))} as {PREVIOUS} (read_only)")
    except duckdb.Error as exc:
        raise ContentpulseError(
            f"publish: {target}: cannot read the last published snapshot, whose rows the "
            f"held-back sources keep: {str(exc).splitlines()[0]}"
        ) from None
    return PREVIOUS


def _columns(con: duckdb.DuckDBPyConnection, database: str, table: str) -> list[str]:
    schema, name = table.split(".", 1)
    return [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = ? "
            "and schema_name = ? and table_name = ? order by column_index",
            [database, schema, name],
        ).fetchall()
    ]


def _copy_table(
    con: duckdb.DuckDBPyConnection, table: str, held_back: list[str], previous: str | None
) -> None:
    """The build's table into the snapshot; in a table keyed by platform, a held-back
    source's rows come from the previous snapshot instead (none if it had none). A column
    the previous snapshot lacked is NULL in them."""
    columns = _columns(con, con.execute("select current_database()").fetchall()[0][0], table)
    if not held_back or "platform" not in columns:
        con.execute(f"create table snapshot.{table} as select * from {table}")
        return
    con.execute(
        f"create table snapshot.{table} as select * from {table} "
        "where not list_contains($held_back, platform)",
        {"held_back": held_back},
    )
    old = _columns(con, previous, table) if previous else []
    if "platform" not in old:
        return
    common = ", ".join(f'"{c}"' for c in columns if c in old)
    con.execute(
        f"insert into snapshot.{table} by name select {common} from {previous}.{table} "
        "where list_contains($held_back, platform)",
        {"held_back": held_back},
    )


def _source_status(con: duckdb.DuckDBPyConnection, checked: Checked, previous: str | None) -> None:
    """meta.source_status of the new snapshot: each platform current or stale, carried on
    from the previous snapshot's for a source that stays held back."""
    platforms = {
        p
        for (p,) in con.execute(
            "select distinct platform from meta.check_row_counts "
            "where check_id = ? and platform is not null and row_count > 0",
            [checked.check_id],
        ).fetchall()
    } | set(checked.held_back)
    before: dict[str, tuple] = {}
    if previous and "source_status" in {
        t
        for (t,) in con.execute(
            "select table_name from duckdb_tables() where database_name = ? "
            "and schema_name = 'meta'",
            [previous],
        ).fetchall()
    }:
        before = {
            row[0]: row[1:]
            for row in con.execute(
                f"select platform, status, build_id, stale_since from {previous}.meta.source_status"
            ).fetchall()
        }
    elif previous:  # a snapshot from before source_status: all of it is its build's
        old_build = con.execute(f"select build_id from {previous}.meta.build").fetchall()
        before = {p: ("current", old_build[0][0] if old_build else None, None) for p in platforms}
    now = datetime.now(UTC)
    rows = []
    for platform in sorted(platforms):
        if platform not in checked.held_back:
            rows.append((platform, "current", checked.build_id, None, None, checked.check_id))
            continue
        status, build_id, stale_since = before.get(platform, (None, None, None))
        rows.append(
            (
                platform,
                "stale",
                build_id,
                stale_since if status == "stale" and stale_since else now,
                checked.held_back[platform],
                checked.check_id,
            )
        )
    con.execute(
        "create table snapshot.meta.source_status (platform varchar, status varchar, "
        "build_id varchar, stale_since timestamptz, reason varchar, check_id varchar)"
    )
    if rows:
        con.executemany("insert into snapshot.meta.source_status values (?, ?, ?, ?, ?, ?)", rows)
    for column, text in SOURCE_STATUS_COLUMNS.items():
        con.execute(f"comment on column snapshot.meta.source_status.{column} is {sql_string(text)}")


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
