"""Quality checks: Great Expectations suites generated from the models' YAML.

Each model's grain must be unique and not null; column tests in its YAML (`not_null`,
`non_negative`, `not_in_future`) become expectations. Results go to meta.check_results and
meta.check_runs; a failed critical expectation raises CheckFailed naming the model,
the expectation, how many rows and a sample, and publish refuses the build.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from contentpulse.errors import CheckFailed
from models.runner import Model, discover

log = logging.getLogger(__name__)


@dataclass
class Expectation:
    model: str
    kind: str  # the GX expectation class name
    kwargs: dict[str, Any]
    critical: bool = True


@dataclass
class CheckResult:
    expectation: Expectation
    success: bool
    element_count: int
    unexpected_count: int
    sample: list[Any]
    error: str | None = None

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.expectation.kwargs.items())
        if self.error:
            return f"{self.expectation.model}: {self.expectation.kind}({args}) could not run: {self.error}"
        sample = json.dumps(self.sample[:3], default=str, ensure_ascii=False)
        return (
            f"{self.expectation.model}: {self.expectation.kind}({args}) failed on "
            f"{self.unexpected_count:,} of {self.element_count:,} rows, e.g. {sample}"
        )


@dataclass
class CheckSummary:
    check_id: str
    build_id: str
    results: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success]

    @property
    def success(self) -> bool:
        return not any(r.expectation.critical for r in self.failed)


def expectations_for(model: Model, run_date: date) -> list[Expectation]:
    out: list[Expectation] = []
    if model.grain:
        if len(model.grain) == 1:
            out.append(
                Expectation(model.table, "ExpectColumnValuesToBeUnique", {"column": model.grain[0]})
            )
        else:
            out.append(
                Expectation(
                    model.table, "ExpectCompoundColumnsToBeUnique", {"column_list": model.grain}
                )
            )
    not_null = list(model.grain)
    for column in model.columns:
        for test in column.tests:
            if test == "not_null" and column.name not in not_null:
                not_null.append(column.name)
            elif test == "non_negative":
                out.append(
                    Expectation(
                        model.table,
                        "ExpectColumnValuesToBeBetween",
                        {"column": column.name, "min_value": 0},
                    )
                )
            elif test == "not_in_future":
                out.append(
                    Expectation(
                        model.table,
                        "ExpectColumnValuesToBeBetween",
                        {"column": column.name, "max_value": run_date.isoformat()},
                    )
                )
            elif test != "not_null":
                raise ValueError(f"{model.table}.{column.name}: unknown test {test!r}")
    out[:0] = [
        Expectation(model.table, "ExpectColumnValuesToNotBeNull", {"column": c}) for c in not_null
    ]
    return out


def _columns(expectations: list[Expectation]) -> list[str]:
    cols: list[str] = []
    for e in expectations:
        for c in e.kwargs.get("column_list", [e.kwargs.get("column")]):
            if c and c not in cols:
                cols.append(c)
    return cols


def _exception_text(result: Any) -> str | None:
    info = result.exception_info or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return str(info.get("exception_message") or "error").splitlines()[0][:200]
    for value in info.values() if isinstance(info, dict) else []:
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "error").splitlines()[0][:200]
    return None


def _import_gx():
    """GX costs ~8 s and floods Airflow's log: import it here only, quietly."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)

    return gx, ProgressBarsConfig


def validate(
    con: duckdb.DuckDBPyConnection, run_date: date, models: list[Model] | None = None
) -> list[CheckResult]:
    gx, ProgressBarsConfig = _import_gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("warehouse")
    results: list[CheckResult] = []
    for model in models if models is not None else discover():
        expectations = expectations_for(model, run_date)
        if not expectations:
            continue
        columns = ", ".join(f'"{c}"' for c in _columns(expectations))
        frame = con.sql(f"select {columns} from {model.table}").df()
        batch = source.add_dataframe_asset(model.table).add_batch_definition_whole_dataframe("all")
        suite = context.suites.add(gx.ExpectationSuite(name=model.table))
        for i, e in enumerate(expectations):
            # DuckDB dates arrive in pandas as datetime64: compare with Timestamps
            kwargs = {
                k: (pd.Timestamp(v) if k.endswith("_value") and isinstance(v, str) else v)
                for k, v in e.kwargs.items()
            }
            suite.add_expectation(getattr(gx.expectations, e.kind)(**kwargs, meta={"index": i}))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=model.table, data=batch, suite=suite)
        )
        run = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
        )
        # GX does not keep the suite's order in its results: match them by the index in meta.
        for r in sorted(run.results, key=lambda r: r.expectation_config.meta["index"]):
            e = expectations[r.expectation_config.meta["index"]]
            results.append(
                CheckResult(
                    expectation=e,
                    success=bool(r.success),
                    element_count=int(r.result.get("element_count") or len(frame)),
                    unexpected_count=int(r.result.get("unexpected_count") or 0),
                    sample=list(r.result.get("partial_unexpected_list") or []),
                    error=_exception_text(r),
                )
            )
    return results


def run_checks(con: duckdb.DuckDBPyConnection, run_date: date) -> CheckSummary:
    """Check the latest build; record the results; raise CheckFailed on a critical failure."""
    latest = con.execute(
        "select build_id from meta.builds order by finished_at desc limit 1"
    ).fetchall()
    if not latest:
        raise CheckFailed("check: nothing built yet (run `contentpulse build` first)")
    summary = CheckSummary(uuid.uuid4().hex, latest[0][0], validate(con, run_date))
    con.execute("begin transaction")
    con.executemany(
        "insert into meta.check_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                summary.check_id,
                summary.build_id,
                r.expectation.model,
                r.expectation.kind,
                r.expectation.kwargs.get("column")
                or ",".join(r.expectation.kwargs.get("column_list", [])),
                json.dumps(r.expectation.kwargs),
                r.success,
                r.expectation.critical,
                r.element_count,
                r.unexpected_count,
                json.dumps(r.sample[:5], default=str, ensure_ascii=False),
            ]
            for r in summary.results
        ],
    )
    con.execute(
        "insert into meta.check_runs values (?, ?, now(), ?, ?, ?)",
        [
            summary.check_id,
            summary.build_id,
            summary.success,
            len(summary.results),
            len(summary.failed),
        ],
    )
    con.execute("commit")
    if not summary.success:
        first = summary.failed[0]
        more = (
            f" (and {len(summary.failed) - 1} more failed expectations)"
            if len(summary.failed) > 1
            else ""
        )
        raise CheckFailed(f"check failed: {first.describe()}{more}; publish is blocked")
    return summary
