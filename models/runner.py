"""The model runner: every `models/<layer>/<name>.sql` built as table `<layer>.<name>`.

Dependencies are the `<layer>.<name>` references in each model's SQL; models run in
dependency order inside one transaction, so readers never see a half-built set. The YAML
beside a model (description, grain, columns) becomes DuckDB comments, and its grain and
column tests feed the quality checks.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb
import yaml

from contentpulse.errors import ContentpulseError
from contentpulse.warehouse import sql_string

MODELS_DIR = Path(__file__).resolve().parent
LAYERS = ("staging", "intermediate", "marts")
_REF = re.compile(r"\b(raw|staging|intermediate|marts)\.([a-z0-9_]+)\b")


@dataclass
class Column:
    name: str
    description: str = ""
    tests: list[str] = field(default_factory=list)


@dataclass
class Model:
    layer: str
    name: str
    sql: str
    description: str = ""
    grain: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)

    @property
    def table(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def refs(self) -> set[str]:
        return {f"{layer}.{name}" for layer, name in _REF.findall(self.sql) if layer != "raw"}

    @property
    def raw_refs(self) -> set[str]:
        return {f"raw.{name}" for layer, name in _REF.findall(self.sql) if layer == "raw"}


def discover(models_dir: Path = MODELS_DIR) -> list[Model]:
    """Every model with its YAML, in dependency order."""
    models: dict[str, Model] = {}
    for layer in LAYERS:
        for sql_file in sorted((models_dir / layer).glob("*.sql")):
            doc_file = sql_file.with_suffix(".yml")
            doc = yaml.safe_load(doc_file.read_text(encoding="utf-8")) if doc_file.exists() else {}
            model = Model(
                layer=layer,
                name=sql_file.stem,
                sql=sql_file.read_text(encoding="utf-8"),
                description=str(doc.get("description", "")).strip(),
                grain=list(doc.get("grain", [])),
                columns=[
                    Column(
                        c["name"], str(c.get("description", "")).strip(), list(c.get("tests", []))
                    )
                    for c in doc.get("columns", [])
                ],
            )
            models[model.table] = model
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


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{s}.{t}"
        for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    }


@dataclass
class BuildSummary:
    build_id: str
    models: int
    rows: dict[str, int]
    seconds: float


def build(con: duckdb.DuckDBPyConnection, models_dir: Path = MODELS_DIR) -> BuildSummary:
    """Build every model in one transaction and record the build in meta.builds."""
    models = discover(models_dir)
    started = time.perf_counter()
    build_id = uuid.uuid4().hex
    rows: dict[str, int] = {}
    existing = _existing_tables(con)
    con.execute("begin transaction")
    try:
        for model in models:
            missing_raw = model.raw_refs - existing
            if missing_raw:  # a source with nothing landed yet: an empty model, not a crash
                raise ContentpulseError(
                    f"model {model.table}: no data loaded yet for {', '.join(sorted(missing_raw))} "
                    "(run extract and load first)"
                )
            try:
                con.execute(f"create or replace table {model.table} as\n{model.sql}")
            except duckdb.Error as exc:
                raise ContentpulseError(
                    f"model {model.table}: {str(exc).splitlines()[0]}"
                ) from None
            _comment(con, model)
            rows[model.table] = con.execute(f"select count(*) from {model.table}").fetchall()[0][0]
        seconds = time.perf_counter() - started
        con.execute(
            "insert into meta.builds values (?, now() - to_microseconds(?::bigint), now(), ?, ?)",
            [build_id, int(seconds * 1e6), len(models), seconds],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return BuildSummary(build_id, len(models), rows, time.perf_counter() - started)


def _comment(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    if model.description:
        con.execute(f"comment on table {model.table} is {sql_string(model.description)}")
    actual = {r[0] for r in con.execute(f"describe {model.table}").fetchall()}
    for column in model.columns:
        if column.name not in actual:
            raise ContentpulseError(
                f"model {model.table}: YAML documents column {column.name!r}, "
                "which the SQL does not produce"
            )
        if column.description:
            con.execute(
                f'comment on column {model.table}."{column.name}" is {sql_string(column.description)}'
            )
