"""The model runner: every `models/<layer>/<name>.sql` (or `.py`) built as `<layer>.<name>`.

Dependencies are the `<layer>.<name>` references in each model's SQL (a Python model lists
them in `REFS`); models run in dependency order, each in a transaction of its own. (Inside
one transaction for the whole build, a table made earlier in it shows the planner no rows, so
every join on it hashed the wrong side: a third of a full build's time.) A build that stops
part-way leaves its row in `meta.unfinished_builds`: check and publish refuse the warehouse
until a build finishes, and the next build does all a full one would (full again if the
stopped one was). A DuckLake warehouse builds in one transaction, as every commit there is
a catalog transaction and a snapshot. The YAML beside a model (description, grain, columns)
becomes DuckDB comments, and its grain and column tests feed the quality checks.

How a model is materialised comes from its YAML:

- `materialized: table` (the default): rebuilt whole on every build. Item- and week-grain
  models are small; rebuilding them is cheaper than tracking what changed.
- `materialized: view`: a view (the intermediate unions over sources).
- `materialized: incremental` with `replace_where: <predicate on the table's rows>`: the
  day-grain models. The runner works out `$since`, the earliest reporting date among the
  raw rows loaded since the last build (new and restated days); an incremental build
  deletes the rows matching `replace_where` and inserts the model's SQL output, which must
  cover exactly those rows (the SQL filters with the same `$since`). A full build runs the
  same SQL with `$since` at the start of time. A full build happens when asked, on the
  first build, and whenever a model file or the account list changed since the last one.

Per-source union branches are generated, never written: a model's YAML names each union
its SQL reads, the models it is over and the columns it takes,

    union_of:
      snapshots:                      # the relation name the model's SQL reads
        from: staging.stg_*__snapshots  # `<layer>.<glob>`, or a list of them
        columns: [platform, account_id, item_id, snapshot_date, views]

and the runner resolves each pattern against the discovered models, the part `*` matched
naming the source (a pattern without `*` is one model, its own source): one branch per
source, `select <columns> from <model>`, sources in name order, put in front of the SQL as
a CTE of that name. A source matched in two layers takes the higher one's model (a small
per-source intermediate model that reshapes its staging, e.g. `int_ga4__traffic_daily`
over `stg_ga4__traffic_daily`); twice in one layer is an error, and so is a pattern that
matches nothing or a model whose YAML lacks one of the columns. So a new source adds its
staging models (and, where they need reshaping, an `int_<source>__<entity>` view) and no
edit to the union: the generated SQL is the model's SQL, so the dependency graph and the
fingerprint see the branches.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb
import yaml

from contentpulse.errors import ContentpulseError
from contentpulse.warehouse import sql_string

MODELS_DIR = Path(__file__).resolve().parent
LAYERS = ("staging", "intermediate", "marts")
MATERIALIZATIONS = ("table", "view", "incremental")
# $since in a full build: before any reporting date
BEGINNING = date(1970, 1, 1)
# platforms restate and finalise their newest days: an incremental build always redoes
# this many days before the newest day already built
PROVISIONAL_MARGIN_DAYS = 3
_REF = re.compile(r"\b(raw|staging|intermediate|marts|meta)\.([a-z0-9_]+)\b")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# what comes before a model's first keyword: blank space and comments
_LEADING = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_WITH = re.compile(r"with(?:\s+recursive)?\b", re.I)
# libyaml's loader where PyYAML has it: every build and check reads the 71 model YAMLs, which
# the pure-Python loader takes about a second for
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Union:
    """One generated union of a model (`union_of` in its YAML): the relation `name` its SQL
    reads, over the models the `patterns` match, taking `columns` from each."""

    name: str
    patterns: tuple[str, ...]
    columns: tuple[str, ...]


@dataclass
class Column:
    name: str
    description: str = ""
    tests: list[Any] = field(default_factory=list)


@dataclass
class Model:
    layer: str
    name: str
    sql: str
    description: str = ""
    grain: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    materialized: str = "table"
    replace_where: str | None = None
    doc: dict[str, Any] = field(default_factory=dict)
    # a Python model: called with (connection, context), returns a frame DuckDB can read
    python: Callable[..., Any] | None = None
    python_refs: tuple[str, ...] = ()
    unions: tuple[Union, ...] = ()
    # per union, the models of its branches (resolved by discover())
    branches: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"{self.layer}.{self.name}"

    def _refs(self, layers: set[str]) -> set[str]:
        found = {f"{layer}.{name}" for layer, name in _REF.findall(self.sql) if layer in layers}
        found |= {r for r in self.python_refs if r.split(".")[0] in layers}
        return found - {self.table}

    @property
    def refs(self) -> set[str]:
        return self._refs(set(LAYERS))

    @property
    def raw_refs(self) -> set[str]:
        return self._refs({"raw"})


@dataclass
class BuildContext:
    """What a Python model may need besides the warehouse: the config, when there is one,
    and the steps the application hands in (models import nothing above the kernel)."""

    config: Any = None
    # shared by the Python models of one build (e.g. identity computed once for two tables)
    cache: dict[str, Any] = field(default_factory=dict)
    # content identity: (connection, context) -> (families, evidence) frames; the pipeline
    # passes transforms.identity.warehouse_families
    identity: Callable[..., Any] | None = None

    def step(self, name: str, model: str) -> Callable[..., Any]:
        found = getattr(self, name)
        if found is None:
            raise ContentpulseError(
                f"model {model}: the build was given no {name} step "
                "(contentpulse.pipeline.build hands it in)"
            )
        return found


def _load_python(path: Path) -> tuple[Callable[..., Any], tuple[str, ...], str]:
    spec = importlib.util.spec_from_file_location(f"models_{path.parent.name}_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.frame, tuple(getattr(module, "REFS", ())), path.read_text(encoding="utf-8")


def _model(layer: str, path: Path) -> Model:
    doc_file = path.with_suffix(".yml")
    text = doc_file.read_text(encoding="utf-8") if doc_file.exists() else "{}"
    doc = yaml.load(text, Loader=_YAML_LOADER)
    doc = doc or {}
    python, python_refs, sql = None, (), ""
    if path.suffix == ".py":
        python, python_refs, sql = _load_python(path)
    else:
        sql = path.read_text(encoding="utf-8")
    model = Model(
        layer=layer,
        name=path.stem,
        sql=sql if python is None else "",
        description=str(doc.get("description", "")).strip(),
        grain=list(doc.get("grain", [])),
        columns=[
            Column(c["name"], str(c.get("description", "")).strip(), list(c.get("tests", [])))
            for c in doc.get("columns", [])
        ],
        materialized=str(doc.get("materialized", "table")),
        replace_where=doc.get("replace_where"),
        doc=doc,
        python=python,
        python_refs=python_refs,
    )
    where = f"model {model.table}"
    model.unions = _unions(where, doc.get("union_of"))
    if model.unions and python is not None:
        raise ContentpulseError(f"{where}: union_of is for SQL models (a Python model reads REFS)")
    if model.materialized not in MATERIALIZATIONS:
        raise ContentpulseError(
            f"{where}: materialized must be one of {', '.join(MATERIALIZATIONS)} "
            f"(got {model.materialized!r})"
        )
    if model.materialized == "incremental" and not (
        model.replace_where and "$since" in model.sql and python is None
    ):
        raise ContentpulseError(
            f"{where}: an incremental SQL model needs `replace_where` in its YAML "
            "and must filter on $since"
        )
    return model


def _unions(where: str, spec: Any) -> tuple[Union, ...]:
    """The `union_of` key of a model's YAML, checked for shape (not yet resolved)."""
    if spec is None:
        return ()
    if not isinstance(spec, dict) or not spec:
        raise ContentpulseError(
            f"{where}: union_of must map each relation name to its `from` and `columns`"
        )
    unions = []
    for name, body in spec.items():
        here = f"{where}: union {name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ContentpulseError(f"{here}: the name must be a lower-case SQL identifier")
        if not isinstance(body, dict) or set(body) != {"from", "columns"}:
            raise ContentpulseError(f"{here}: needs exactly `from` and `columns`")
        patterns = [body["from"]] if isinstance(body["from"], str) else body["from"]
        columns = body["columns"]
        if not isinstance(patterns, list) or not patterns:
            raise ContentpulseError(f"{here}: `from` must be a pattern or a list of them")
        for pattern in patterns:
            layer, _, glob = str(pattern).partition(".")
            if layer not in LAYERS or not glob or str(pattern).count("*") > 1:
                raise ContentpulseError(
                    f"{here}: pattern {pattern!r} must be <layer>.<name> with at most one *, "
                    f"the layer one of {', '.join(LAYERS)}"
                )
        if not isinstance(columns, list) or not columns:
            raise ContentpulseError(f"{here}: `columns` must be a non-empty list")
        bad = [c for c in columns if not isinstance(c, str) or not _NAME.fullmatch(c)]
        if bad or len(set(columns)) != len(columns):
            raise ContentpulseError(
                f"{here}: columns must be distinct lower-case identifiers (got {bad or columns})"
            )
        unions.append(Union(name, tuple(str(p) for p in patterns), tuple(columns)))
    return tuple(unions)


def _source(pattern: str, table: str) -> str | None:
    """The source a `<layer>.<glob>` pattern's `*` matched in a model's table name (the
    table itself for a pattern without `*`), or None when it does not match."""
    if "*" not in pattern:
        return table if table == pattern else None
    prefix, suffix = pattern.split("*")
    found = re.fullmatch(f"{re.escape(prefix)}(.+){re.escape(suffix)}", table)
    return found.group(1) if found else None


def _resolve(model: Model, union: Union, models: dict[str, Model]) -> tuple[str, ...]:
    """The models of a union's branches, one per source, in source order."""
    here = f"model {model.table}: union {union.name}"
    chosen: dict[str, Model] = {}
    for pattern in union.patterns:
        matched = {
            table: source
            for table in models
            if table != model.table and (source := _source(pattern, table)) is not None
        }
        if not matched:
            raise ContentpulseError(f"{here}: pattern {pattern} matches no model")
        for table, source in matched.items():
            candidate, held = models[table], chosen.get(source)
            if held is None or LAYERS.index(candidate.layer) > LAYERS.index(held.layer):
                chosen[source] = candidate
            elif held.layer == candidate.layer and held is not candidate:
                raise ContentpulseError(
                    f"{here}: source {source} matches both {held.table} and {table}"
                )
    for source, branch in sorted(chosen.items()):
        documented = {c.name for c in branch.columns}
        missing = [c for c in union.columns if c not in documented]
        if missing:
            raise ContentpulseError(
                f"{here}: {branch.table} (source {source}) has no column {', '.join(missing)} "
                "in its YAML"
            )
    return tuple(chosen[s].table for s in sorted(chosen))


def _union_sql(union: Union, branches: tuple[str, ...]) -> str:
    columns = ",\n        ".join(union.columns)
    selects = "\n    union all\n".join(
        f"    select\n        {columns}\n    from {table}" for table in branches
    )
    return f"{union.name} as (\n    -- generated from union_of: one branch per source\n{selects}\n)"


def _with_unions(sql: str, ctes: list[str]) -> str:
    """The model's SQL with the generated unions as its first CTEs."""
    start = _LEADING.match(sql).end()  # type: ignore[union-attr]
    head, body = sql[:start], sql[start:]
    generated = ",\n".join(ctes)
    opening = _WITH.match(body)
    if opening:
        return f"{head}{opening.group(0)} {generated},\n{body[opening.end() :].lstrip()}"
    return f"{head}with {generated}\n{body}"


def discover(models_dir: Path = MODELS_DIR) -> list[Model]:
    """Every model with its YAML, in dependency order."""
    models: dict[str, Model] = {}
    for layer in LAYERS:
        for path in sorted((models_dir / layer).glob("*.sql")) + sorted(
            (models_dir / layer).glob("[!_]*.py")
        ):
            model = _model(layer, path)
            if model.table in models:
                raise ContentpulseError(f"model {model.table}: defined twice (.sql and .py)")
            models[model.table] = model
    for model in models.values():
        if model.unions:
            model.branches = {u.name: _resolve(model, u, models) for u in model.unions}
            model.sql = _with_unions(
                model.sql, [_union_sql(u, model.branches[u.name]) for u in model.unions]
            )
    graph = {table: {r for r in m.refs if r in models} for table, m in models.items()}
    for table, m in models.items():
        missing = m.refs - models.keys()
        if missing:
            raise ContentpulseError(
                f"model {table}: refers to unknown model(s) {', '.join(sorted(missing))}"
            )
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise ContentpulseError(f"models: dependency cycle {' -> '.join(exc.args[1])}") from None
    return [models[t] for t in order]


def fingerprint(con: duckdb.DuckDBPyConnection, models_dir: Path) -> str:
    """What a build's results depend on besides the data: model files and the account list."""
    digest = hashlib.sha256()
    for path in sorted(p for d in (*LAYERS, "seeds") for p in (models_dir / d).glob("*.*")):
        digest.update(str(path.relative_to(models_dir)).encode())
        digest.update(path.read_bytes())
    for row in con.execute("select * from meta.accounts order by all").fetchall():
        digest.update(repr(row).encode())
    return digest.hexdigest()[:16]


def _existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    views = con.execute(
        "select schema_name, view_name from duckdb_views() where not internal"
    ).fetchall()
    return {f"{s}.{t}" for s, t in [*tables, *views]}


def changed_since(con: duckdb.DuckDBPyConnection) -> date | None:
    """Where an incremental build starts: for each account with raw rows loaded since the
    last build, the earliest reporting date among them (new and restated days), and no later
    than a few days before that account's newest day already built, whose provisional
    status moves on with the new data; the earliest over the accounts. None when nothing
    dated arrived."""
    dated = con.execute(
        "select table_name from duckdb_columns() where schema_name = 'raw' and column_name = 'date'"
    ).fetchall()
    parts = [
        f"select '{t}' as source_table, r.account_id, "
        f"min(r.date) filter (where f.built_in is null) as new_min, "
        f"max(r.date) filter (where f.built_in is not null) as built_max "
        f"from raw.{t} as r inner join meta.loaded_files as f on r.landing_file = f.path "
        f"group by r.account_id"
        for (t,) in dated
    ]
    parts += [_snapshot_changes(con, t) for t in _snapshot_tables(con)]
    if not parts:
        return None
    union = " union all ".join(parts)
    since = con.execute(
        f"""
        with per_table as ({union}),
        per_account as (
            select
                split_part(source_table, '__', 1) as platform,
                account_id,
                min(new_min) as new_min,
                max(built_max) as built_max
            from per_table
            group by all
        )
        select min(least(new_min, coalesce(built_max - $margin, new_min)))
        from per_account
        where new_min is not null
        """,
        {"margin": PROVISIONAL_MARGIN_DAYS},
    ).fetchall()[0][0]
    return since


def _snapshot_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Raw tables of lifetime-counter snapshots (item_id and snapshot_date columns)."""
    rows = con.execute(
        "select table_name from duckdb_columns() where schema_name = 'raw' "
        "and table_name like '%\\_\\_content\\_snapshots' escape '\\' "
        "and column_name in ('item_id', 'snapshot_date') "
        "group by table_name having count(*) = 2 order by table_name"
    ).fetchall()
    return [t for (t,) in rows]


def _snapshot_changes(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Per account, the first day a new snapshot changes: the day after the item's previous
    built snapshot (deltas are spread over the gap), or, for an item's first snapshot, the
    day before its publish date (the source's content_items; else the snapshot's own day)."""
    items = f"{table.split('__')[0]}__content_items"
    has_items = con.execute(
        "select count(*) from duckdb_columns() where schema_name = 'raw' "
        "and table_name = ? and column_name = 'published_at'",
        [items],
    ).fetchall()[0][0]
    published = (
        f"(select cast(min(i.published_at) as date) - 1 from raw.{items} as i "
        "where i.account_id = fresh.account_id and i.item_id = fresh.item_id)"
        if has_items
        else "null"
    )
    loaded = "inner join meta.loaded_files as f on r.landing_file = f.path"
    return f"""
        select '{table}' as source_table, account_id,
            min(coalesce(previous + 1, published, first_new)) as new_min,
            max(previous) as built_max
        from (
            select fresh.account_id, fresh.item_id, fresh.first_new,
                max(prior.snapshot_date) as previous, {published} as published
            from (
                select r.account_id, r.item_id, min(r.snapshot_date) as first_new
                from raw.{table} as r {loaded}
                where f.built_in is null
                group by all
            ) as fresh
            left join (
                select r.account_id, r.item_id, r.snapshot_date
                from raw.{table} as r {loaded}
                where f.built_in is not null
            ) as prior
                on fresh.account_id = prior.account_id and fresh.item_id = prior.item_id
                and prior.snapshot_date < fresh.first_new
            group by all
        )
        group by account_id
    """


@dataclass
class BuildSummary:
    build_id: str
    models: int
    rows: dict[str, int]
    seconds: float
    mode: str = "full"
    since: date | None = None
    seconds_by_model: dict[str, float] = field(default_factory=dict)

    def slowest(self, n: int = 5) -> str:
        """The models that took longest, for the log line: `marts.post_daily 11.3 s, ...`."""
        ranked = sorted(self.seconds_by_model.items(), key=lambda kv: -kv[1])[:n]
        return ", ".join(f"{table} {seconds:.1f} s" for table, seconds in ranked)


def build(
    con: duckdb.DuckDBPyConnection,
    models_dir: Path = MODELS_DIR,
    *,
    full: bool = False,
    context: BuildContext | None = None,
) -> BuildSummary:
    """Build every model, each in its own transaction, and record the build in meta.builds.

    Incremental unless `full`, the first build, a changed fingerprint or a full build that
    did not finish asks for a full one.
    """
    models = discover(models_dir)
    context = context or BuildContext()
    started = time.perf_counter()
    build_id = uuid.uuid4().hex
    rows: dict[str, int] = {}
    timings: dict[str, float] = {}
    existing = _existing(con)
    prints = fingerprint(con, models_dir)
    last = con.execute(
        "select fingerprint from meta.builds order by finished_at desc limit 1"
    ).fetchall()
    stopped_full = con.execute(
        "select count(*) from meta.unfinished_builds where mode = 'full'"
    ).fetchall()[0][0]
    incremental_targets = {m.table for m in models if m.materialized == "incremental"}
    full = (
        full
        or not last
        or last[0][0] != prints
        or not incremental_targets <= existing
        or stopped_full > 0
    )
    for model in models:
        missing_raw = model.raw_refs - existing
        if missing_raw:  # a source with nothing landed yet: an empty model, not a crash
            raise ContentpulseError(
                f"model {model.table}: no data loaded yet for {', '.join(sorted(missing_raw))} "
                "(run extract and load first)"
            )
    mode = "full" if full else "incremental"
    since = BEGINNING if full else changed_since(con)
    # a DuckLake's every commit is a catalog transaction and a snapshot: it builds in one
    # (5 s a night in tests/scale/test_lake.py, against 17 s committing per model)
    per_model = _is_duckdb_file(con)
    with _transaction(con, not per_model):
        con.execute(
            "insert into meta.unfinished_builds (build_id, started_at, mode, models) "
            "values (?, now(), ?, ?)",
            [build_id, mode, len(models)],
        )
        for done, model in enumerate(models, 1):
            t0 = time.perf_counter()
            with _transaction(con, per_model):
                try:
                    _materialize(con, model, full=full, since=since, context=context)
                except duckdb.Error as exc:
                    raise ContentpulseError(
                        f"model {model.table}: {str(exc).splitlines()[0]}"
                    ) from None
                _comment(con, model)
                if model.materialized != "view":
                    (rows[model.table],) = con.execute(
                        f"select count(*) from {model.table}"
                    ).fetchone()
                con.execute(
                    "update meta.unfinished_builds set built = ?, last_model = ? where build_id = ?",
                    [done, model.table, build_id],
                )
            timings[model.table] = time.perf_counter() - t0
        seconds = time.perf_counter() - started
        with _transaction(con, per_model):
            con.execute(
                "insert into meta.builds (build_id, started_at, finished_at, models, seconds, mode, "
                "since, fingerprint) values "
                "(?, now() - to_microseconds(?::bigint), now(), ?, ?, ?, ?, ?)",
                [build_id, int(seconds * 1e6), len(models), seconds, mode, since, prints],
            )
            con.execute(
                "update meta.loaded_files set built_in = ? where built_in is null", [build_id]
            )
            # this build did all that any stopped one would have
            con.execute("delete from meta.unfinished_builds")
    return BuildSummary(
        build_id, len(models), rows, time.perf_counter() - started, mode, since, timings
    )


def unfinished_build(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the warehouse's models are not one finished build's (None: they are): the latest
    build stopped part-way, leaving some models rebuilt and the rest as they were."""
    rows = con.execute(
        "select build_id, mode, built, models, last_model from meta.unfinished_builds "
        "order by started_at desc limit 1"
    ).fetchall()
    if not rows:
        return None
    build_id, mode, built, models, last_model = rows[0]
    where = (
        f"after {last_model} ({built} of {models} models)" if built else "before its first model"
    )
    return (
        f"the last build ({build_id[:8]}, {mode}) stopped {where}: run `contentpulse build` again"
    )


def _is_duckdb_file(con: duckdb.DuckDBPyConnection) -> bool:
    (kind,) = con.execute(
        "select type from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return kind == "duckdb"


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection, enabled: bool = True) -> Iterator[None]:
    """A transaction around the block (nothing when not `enabled`: an outer one holds it)."""
    if not enabled:
        yield
        return
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def _materialize(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    *,
    full: bool,
    since: date | None,
    context: BuildContext,
) -> None:
    if model.python is not None:
        frame = model.python(con, context)  # noqa: F841 (read by DuckDB below)
        con.execute(f"create or replace table {model.table} as select * from frame")
    elif model.materialized == "view":
        con.execute(f"create or replace view {model.table} as\n{model.sql}")
    elif model.materialized == "table" or full:
        params = {"since": since} if "$since" in model.sql else None
        con.execute(f"create or replace table {model.table} as\n{model.sql}", params)
    elif since is not None:  # incremental, and something new arrived
        where = model.replace_where or "true"
        con.execute(
            f"delete from {model.table} where {where}",
            {"since": since} if "$since" in where else None,
        )
        con.execute(f"insert into {model.table} by name\n{model.sql}", {"since": since})


def _comment(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    """The YAML's descriptions as DuckDB comments, sent as one script: a statement per
    column, one at a time, took half a second of every build."""
    kind = "view" if model.materialized == "view" else "table"
    actual = {r[0] for r in con.execute(f"describe {model.table}").fetchall()}
    statements = []
    if model.description:
        statements.append(f"comment on {kind} {model.table} is {sql_string(model.description)}")
    for column in model.columns:
        if column.name not in actual:
            raise ContentpulseError(
                f"model {model.table}: YAML documents column {column.name!r}, "
                "which the SQL does not produce"
            )
        if column.description and kind == "table":
            statements.append(
                f'comment on column {model.table}."{column.name}" is {sql_string(column.description)}'
            )
    if statements:
        con.execute(";\n".join(statements))
