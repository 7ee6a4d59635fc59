"""Quality checks: Great Expectations suites generated from the models' YAML.

Every built table gets up to four suites. DuckDB judges them first, in SQL: whole-table
aggregates, each column test's failing rows counted in one scan, each distribution's
aggregate. A model whose suites all pass so is recorded from those counts, and a night on
which every model passes never imports GX (that alone costs ~8 s). A model with a failure
(a warning of freshness aside), or a test whose types SQL does not compare as pandas does,
is validated again by GX, each suite a GX validation of a pandas frame, so a failure's
message, samples, held-back sources and Data Docs page are GX's own:

- `<table>.table`: whole-table aggregates computed in DuckDB and fed to GX as one row per
  platform (one row when the grain has no platform). The grain must be unique over the
  whole table (a `group by ... having count(*) > 1` count), and each platform's row count
  must not drop by more than `max_row_drop` (default 5 %) against the last check run that
  passed it; a drop of up to ROW_DROP_SLACK (10) rows always passes, so that one deleted
  video does not block a small table. Growth is fine.
- `<table>`: the rows, against the column tests. An incremental model is validated only
  on the rows the builds since the last passed check replaced (its `replace_where` with
  `$since`); other tables whole. Rows are streamed in chunks of CHUNK_ROWS, so a table of
  any size validates in bounded memory.
- `<table>.distribution`: the model-level `checks:` (median, mean, stdev of a column over
  the whole table; NULLs ignored). With fewer than `min_count` values (default 30) a
  distribution says nothing and the check is skipped, with a log line.
- `<table>.freshness`: per account in meta.accounts (of the staging model's own source, or
  every account for marts), the newest `column` must be within `max_days` of the run date
  (always judged here: its words and samples are ours).
  A stale account, or one with no rows, is a warning: the other accounts still publish.
  So is a source with no rows at all (a first backfill stopped by quota): publishing it
  loses nothing, and the row-count check guards data that was published before.

YAML beside a model (only `grain` is needed; everything else is optional):

    grain: [platform, account_id, item_id, date]        # unique and never null
    max_row_drop: 0.05                                   # the default
    by_source: true    # the default; false: `platform` does not name a source's data (a seed)
    freshness: {column: date, max_days: 4}               # the defaults, when present
    columns:
      - name: views
        tests:
          - not_null
          - non_negative                                 # >= 0
          - not_in_future                                # <= today (UTC+14)
          - {between: [0, 100]}                          # inclusive; null leaves an end open
          - {accepted_values: [short, video, live]}
          - {between: {min: 0, max: 1000, severity: warn}}
          - {non_negative: {severity: warn}}
    checks:
      - {median_between: {column: performance_index, min: -0.5, max: 0.5}}
      - {mean_between: {column: is_outlier, max: 0.1, severity: warn}}   # booleans as 0/1
      - {stdev_between: {column: performance_index, min: 0.3, max: 2, min_count: 50}}

A test is a name, or a one-key mapping from the name to its arguments: a list (the short
form) or a mapping, which may also say `severity: warn` (the default is `error`). A
warning is recorded, logged and shown in the Data Docs, and never blocks publish. A
value a platform does not report is NULL, so a metric column carries no `not_null`:
data_quality counts such values instead. Critical tests are for structural breaks (a
duplicate key, a negative counter, a table emptied).

An error (critical) failure is charged to the sources whose own rows fail it: the failed
expectations are validated again by GX on each platform's rows alone (only when something
failed). When every critical failure is some sources' and another source passed, those
sources are held back (`summary.held_back`, meta.held_back, one line each): the others
publish, and the held-back ones keep their last published rows. Any other critical failure
(one no single source's rows fail, or every source failing) raises CheckFailed with one
line naming the model, the expectation, how many rows failed and sample rows (their grain
and the failing value): publish is blocked.

Results go to meta.check_results and meta.check_runs (held-back sources and why to
meta.held_back), row counts (the table's, and each platform's) to meta.check_row_counts,
and each run's Data Docs (GX's validation pages of the suites it validated, ours of those
judged in DuckDB, and an index) to a folder that opens offline: GX's pages load Bootstrap, jQuery, Font Awesome and Vega from CDNs and its logo
from S3, none of which ships in the package. Those tags are removed, GX's inline CSS (it
inlines its own) is kept with a small stylesheet of ours, and sample values are HTML-escaped
before rendering (GX renders them raw, and titles are hostile data). Views are not checked:
the tables built from them are.
"""

from __future__ import annotations

import html
import itertools
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pandas as pd

from contentpulse.config import latest_reporting_date
from contentpulse.errors import CheckFailed, ContentpulseError, naming
from contentpulse.tempfiles import remove, sweep, temp_path
from models.runner import BEGINNING, MODELS_DIR, discover, unfinished_build

log = logging.getLogger(__name__)

DEFAULT_MAX_ROW_DROP = 0.05
# a drop of this many rows always passes: one deleted video must not block a small table
ROW_DROP_SLACK = 10
DEFAULT_FRESHNESS_DAYS = 4  # YouTube Analytics lags 2-3 days behind the reporting date
DEFAULT_MIN_COUNT = 30
CHUNK_ROWS = 500_000  # ~0.7 GB peak in GX for a post_daily-shaped chunk
SAMPLE_ROWS = 5
PLATFORM = "platform"  # the column whose value names a row's source in every cross-source table
# `since` when no incremental model changed since the last passed check: no rows to check
NOTHING_CHANGED = date.max
COLUMN_TESTS = ("not_null", "non_negative", "not_in_future", "between", "accepted_values")
MODEL_CHECKS = {
    "median_between": "ExpectColumnMedianToBeBetween",
    "mean_between": "ExpectColumnMeanToBeBetween",
    "stdev_between": "ExpectColumnStdevToBeBetween",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_STAGING_SOURCE = re.compile(r"^stg_([a-z0-9]+)__")


# --- what the YAML asks for ----------------------------------------------------------


@dataclass
class ColumnTest:
    column: str
    test: str  # one of COLUMN_TESTS
    critical: bool = True
    low: Any = None
    high: Any = None
    values: list[Any] | None = None


@dataclass
class DistributionCheck:
    check: str  # a key of MODEL_CHECKS
    column: str
    low: float | None
    high: float | None
    critical: bool = True
    min_count: int = DEFAULT_MIN_COUNT


@dataclass
class Freshness:
    column: str = "date"
    max_days: int = DEFAULT_FRESHNESS_DAYS


@dataclass
class ModelChecks:
    """The checks of one model, as its YAML declares them."""

    table: str
    grain: list[str] = field(default_factory=list)
    tests: list[ColumnTest] = field(default_factory=list)
    distributions: list[DistributionCheck] = field(default_factory=list)
    freshness: Freshness | None = None
    max_row_drop: float = DEFAULT_MAX_ROW_DROP
    # the rows an incremental build replaced (a predicate with $since); None: a whole table
    replace_where: str | None = None
    # its platform column names a source's data (False: a reference table, like the metric
    # dictionary's seed: checked whole, never charged to a source, and no source counts as
    # present because of it)
    by_source: bool = True

    @property
    def per_source(self) -> bool:
        return self.by_source and PLATFORM in self.grain

    @property
    def source(self) -> str | None:
        """The platform a staging model reads (stg_<source>__...); None: every platform."""
        layer, name = self.table.split(".", 1)
        match = _STAGING_SOURCE.match(name) if layer == "staging" else None
        return match.group(1) if match else None


def _test_entry(entry: Any, where: str) -> tuple[str, Any, dict[str, Any], bool]:
    """(name, short-form argument, mapping arguments, critical) of one YAML test."""
    if isinstance(entry, str):
        name, arg = entry, None
    elif isinstance(entry, dict) and len(entry) == 1:
        ((name, arg),) = entry.items()
    else:
        raise ContentpulseError(f"{where}: a test is a name or a one-key mapping, got {entry!r}")
    options: dict[str, Any] = {}
    if isinstance(arg, dict):
        options, arg = dict(arg), None
    severity = options.pop("severity", "error")
    if severity not in ("error", "warn"):
        raise ContentpulseError(f"{where}: severity must be error or warn, got {severity!r}")
    return str(name), arg, options, severity == "error"


def _bounds(name: str, arg: Any, options: dict[str, Any], where: str) -> tuple[Any, Any]:
    if arg is not None:
        if not (isinstance(arg, list) and len(arg) == 2):
            raise ContentpulseError(f"{where}: {name} takes [min, max], got {arg!r}")
        low, high = arg
    else:
        low, high = options.pop("min", None), options.pop("max", None)
    if low is None and high is None:
        raise ContentpulseError(f"{where}: {name} needs a min or a max")
    return low, high


def _no_more(options: dict[str, Any], where: str) -> None:
    if options:
        raise ContentpulseError(f"{where}: unknown option(s) {', '.join(sorted(options))}")


def parse_checks(table: str, doc: dict[str, Any], where: str | None = None) -> ModelChecks:
    """A model's checks from its YAML document; a mistake names the file, column and test."""
    where = where or table
    spec = ModelChecks(table=table, grain=list(doc.get("grain") or []))
    by_source = doc.get("by_source", True)
    if not isinstance(by_source, bool):
        raise ContentpulseError(f"{where}: by_source must be true or false, got {by_source!r}")
    spec.by_source = by_source
    if doc.get("materialized") == "incremental":
        spec.replace_where = doc.get("replace_where")
    drop = doc.get("max_row_drop", DEFAULT_MAX_ROW_DROP)
    if not isinstance(drop, int | float) or not 0 <= drop <= 1:
        raise ContentpulseError(f"{where}: max_row_drop must be a fraction 0-1, got {drop!r}")
    spec.max_row_drop = float(drop)
    fresh = doc.get("freshness")
    if fresh is not None:
        if not isinstance(fresh, dict):
            raise ContentpulseError(f"{where}: freshness is a mapping like {{max_days: 4}}")
        options = dict(fresh)
        spec.freshness = Freshness(
            str(options.pop("column", "date")),
            int(options.pop("max_days", DEFAULT_FRESHNESS_DAYS)),
        )
        _no_more(options, f"{where}: freshness")
    for column in doc.get("columns") or []:
        for i, entry in enumerate(column.get("tests") or []):
            at = f"{where}: columns[{column['name']}].tests[{i}]"
            name, arg, options, critical = _test_entry(entry, at)
            test = ColumnTest(column["name"], name, critical)
            if name == "between":
                test.low, test.high = _bounds(name, arg, options, at)
            elif name == "accepted_values":
                values = arg if arg is not None else options.pop("values", None)
                if not isinstance(values, list) or not values:
                    raise ContentpulseError(f"{at}: accepted_values takes a list of values")
                test.values = values
            elif name not in COLUMN_TESTS:
                raise ContentpulseError(
                    f"{at}: unknown test {name!r} (known: {', '.join(COLUMN_TESTS)})"
                )
            elif arg is not None:
                raise ContentpulseError(f"{at}: {name} takes no arguments")
            _no_more(options, at)
            spec.tests.append(test)
    for i, entry in enumerate(doc.get("checks") or []):
        at = f"{where}: checks[{i}]"
        name, arg, options, critical = _test_entry(entry, at)
        if name not in MODEL_CHECKS:
            raise ContentpulseError(
                f"{at}: unknown check {name!r} (known: {', '.join(MODEL_CHECKS)})"
            )
        if arg is not None or "column" not in options:
            raise ContentpulseError(f"{at}: {name} takes {{column: ..., min: ..., max: ...}}")
        column = str(options.pop("column"))
        low, high = _bounds(name, None, options, at)
        min_count = int(options.pop("min_count", DEFAULT_MIN_COUNT))
        _no_more(options, at)
        spec.distributions.append(DistributionCheck(name, column, low, high, critical, min_count))
    return spec


def load_checks(models_dir: Path = MODELS_DIR) -> list[ModelChecks]:
    """The checks of every model that is a table, in dependency order."""
    return [
        parse_checks(m.table, m.doc, f"models/{m.layer}/{m.name}.yml")
        for m in discover(models_dir)
        if m.materialized != "view"
    ]


# --- expectations and their results --------------------------------------------------


@dataclass
class Expectation:
    model: str
    kind: str  # the GX expectation class name
    kwargs: dict[str, Any]
    critical: bool = True
    # how messages name a whole-table check, whose GX form is a stand-in on one row of counts
    label: str = ""

    def text(self) -> str:
        if self.label:
            return self.label
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.kind}({args})"


@dataclass
class CheckResult:
    expectation: Expectation
    success: bool
    element_count: int
    unexpected_count: int
    sample: list[Any]
    error: str | None = None
    observed: Any = None  # a column aggregate's value (median, mean, stdev)
    detail: str | None = None  # what failed, in words, when counts alone do not say it
    suite: str = ""
    scope: str = ""  # which rows, when not the whole table
    # a critical failure's share per platform whose own rows fail it; empty: it is not any
    # one source's (a NULL platform, a table of no platform, a distribution of them all)
    platforms: dict[str, CheckResult] = field(default_factory=dict)
    # who judged it: "gx", "sql" (aggregates in DuckDB, judged here: a suite that passed),
    # or "" (no rows to validate)
    judged_by: str = "gx"

    def describe(self) -> str:
        model, what = self.expectation.model, self.expectation.text()
        if self.error:
            return f"{model}: {what} could not run: {self.error}"
        if self.detail:
            return f"{model}: {self.detail}"
        if self.observed is not None:
            return (
                f"{model}: {what} failed: observed {_number(self.observed)} "
                f"over {self.element_count:,} values{self.scope}"
            )
        sample = json.dumps(self.sample[:3], default=str, ensure_ascii=False)
        return (
            f"{model}: {what} failed on {self.unexpected_count:,} of "
            f"{self.element_count:,} rows{self.scope}, e.g. {sample}"
        )


@dataclass
class CheckSummary:
    check_id: str
    build_id: str
    results: list[CheckResult]
    row_counts: dict[str, int] = field(default_factory=dict)
    platform_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    run_date: date | None = None
    since: date | None = None
    docs: Path | None = None

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success]

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [r for r in self.failed if r.expectation.critical]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.failed if not r.expectation.critical]

    @property
    def success(self) -> bool:
        return not self.critical_failures

    @property
    def platforms(self) -> set[str]:
        """The platforms (sources) with rows in the checked tables."""
        return {p for counts in self.platform_rows.values() for p, n in counts.items() if n}

    @property
    def held_back(self) -> list[str]:
        """The sources whose own rows failed a critical expectation, when every critical
        failure is some sources' alone and another source passed: they keep their last
        published rows while the others publish. Empty otherwise (nothing failed, or the
        failure blocks the publish)."""
        critical = self.critical_failures
        if not critical or any(not r.platforms for r in critical):
            return []
        failing = {p for r in critical for p in r.platforms}
        return sorted(failing) if self.platforms - failing else []

    @property
    def publishable(self) -> bool:
        return self.success or bool(self.held_back)

    def held_back_line(self, platform: str) -> str:
        """One line: why `platform` was held back, and what that means."""
        mine = [r.platforms[platform] for r in self.critical_failures if platform in r.platforms]
        more = f" (and {len(mine) - 1} more failed expectations)" if len(mine) > 1 else ""
        where = f"; details in {self.docs}" if self.docs else ""
        return (
            f"{platform} held back: {mine[0].describe()}{more}; the other sources are "
            f"published and {platform} keeps its last published rows{where}"
        )


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _plain(value: Any) -> Any:
    """A sample value as JSON-friendly Python: dates as ISO text, NaN and NaT as None."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _gx_value(value: Any) -> Any:
    # DuckDB dates arrive in pandas as datetime64: compare them with Timestamps
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return pd.Timestamp(value)
    return value


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _exception_text(result: Any) -> str | None:
    info = result.exception_info or {}
    if isinstance(info, dict) and info.get("raised_exception"):
        return str(info.get("exception_message") or "error").splitlines()[0][:200]
    for value in info.values() if isinstance(info, dict) else []:
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "error").splitlines()[0][:200]
    return None


def row_expectations(spec: ModelChecks, run_date: date) -> list[Expectation]:
    """The expectations on a model's rows: grain and column tests."""
    out = [
        Expectation(spec.table, "ExpectColumnValuesToNotBeNull", {"column": c}) for c in spec.grain
    ]
    seen = {(e.kind, json.dumps(e.kwargs), True) for e in out}
    for t in spec.tests:
        if t.test == "not_null":
            kind, kwargs = "ExpectColumnValuesToNotBeNull", {"column": t.column}
        elif t.test == "non_negative":
            kind, kwargs = "ExpectColumnValuesToBeBetween", {"column": t.column, "min_value": 0}
        elif t.test == "not_in_future":  # re-running a past night is ordinary: its
            # tables hold the later nights' days, and lifetime counters are dated today
            kind = "ExpectColumnValuesToBeBetween"
            latest = max(run_date, latest_reporting_date())
            kwargs = {"column": t.column, "max_value": latest.isoformat()}
        elif t.test == "between":
            kind, kwargs = "ExpectColumnValuesToBeBetween", {"column": t.column}
            if t.low is not None:
                kwargs["min_value"] = _json_value(t.low)
            if t.high is not None:
                kwargs["max_value"] = _json_value(t.high)
        else:
            kind = "ExpectColumnValuesToBeInSet"
            kwargs = {"column": t.column, "value_set": [_json_value(v) for v in t.values or []]}
        key = (kind, json.dumps(kwargs), t.critical)
        # a grain column's not_null is already there, and critical
        if key in seen or (kind, json.dumps(kwargs), True) in seen:
            continue
        seen.add(key)
        out.append(Expectation(spec.table, kind, kwargs, t.critical))
    return out


# --- Great Expectations --------------------------------------------------------------


def _import_gx():
    """GX costs ~8 s and floods Airflow's log: import it here only, quietly."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)

    return gx, ProgressBarsConfig, RunIdentifier


def _merge_chunk(into: Any, more: Any) -> Any:
    """One suite's result over several chunks of rows: counts add up, samples fill up."""
    others = {r.expectation_config.meta["index"]: r for r in more.results}
    for r in into.results:
        other = others[r.expectation_config.meta["index"]]
        r.success = bool(r.success and other.success)
        mine, theirs = r.result, other.result or {}
        for key in ("element_count", "unexpected_count", "missing_count"):
            if key in mine or key in theirs:
                mine[key] = (mine.get(key) or 0) + (theirs.get(key) or 0)
        for key in ("partial_unexpected_list", "partial_unexpected_index_list"):
            if theirs.get(key):
                mine[key] = ((mine.get(key) or []) + theirs[key])[:SAMPLE_ROWS]
        if mine.get("element_count"):
            nonmissing = mine["element_count"] - (mine.get("missing_count") or 0)
            unexpected = mine.get("unexpected_count") or 0
            mine["unexpected_percent"] = unexpected / nonmissing * 100 if nonmissing else None
            mine["unexpected_percent_total"] = unexpected / mine["element_count"] * 100
        if not _exception_text(r) and _exception_text(other):
            r.exception_info = other.exception_info
    failed = sum(not r.success for r in into.results)
    into.success = not failed
    into.statistics["successful_expectations"] = len(into.results) - failed
    into.statistics["unsuccessful_expectations"] = failed
    into.statistics["success_percent"] = (
        100 * (len(into.results) - failed) / len(into.results) if into.results else None
    )
    return into


class _Validator:
    """One ephemeral GX context for a check run, made (and GX imported) on the first suite
    that needs it; each suite GX validated keeps its result for the Data Docs."""

    def __init__(self, run_name: str) -> None:
        self.run_name = run_name
        self.run_time = datetime.now(UTC)
        self.suite_results: dict[str, Any] = {}

    def _open(self) -> None:
        if hasattr(self, "context"):
            return
        self.gx, progress_bars, run_identifier = _import_gx()
        self.context = self.gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = progress_bars(globally=False)
        # one asset and batch definition serve every suite (each run hands its own frame):
        # adding an asset re-serialises the whole context config, all earlier assets too
        self.batch = (
            self.context.data_sources.add_pandas("warehouse")
            .add_dataframe_asset("models")
            .add_batch_definition_whole_dataframe("frame")
        )
        self.run_id = run_identifier(run_name=self.run_name, run_time=self.run_time)

    def run(
        self,
        suite_name: str,
        expectations: list[Expectation],
        frames: Iterator[pd.DataFrame],
        index_columns: list[str] | None = None,
        sample_rows: int = SAMPLE_ROWS,
    ) -> list[Any]:
        """Validate every frame against one suite; GX's results, in the suite's order."""
        self._open()
        gx = self.gx
        # the suite is built whole, then stored once: adding to a stored suite re-saves it on
        # every expectation (a third of the check's time on small tables)
        suite = self.context.suites.add(
            gx.ExpectationSuite(
                name=suite_name,
                expectations=[
                    getattr(gx.expectations, e.kind)(
                        **{
                            k: (_gx_value(v) if k.endswith("_value") else v)
                            for k, v in e.kwargs.items()
                        },
                        meta={"index": i},
                        severity="critical" if e.critical else "warning",
                    )
                    for i, e in enumerate(expectations)
                ],
            )
        )
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=self.batch, suite=suite)
        )
        result_format: dict[str, Any] = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": sample_rows,
        }
        if index_columns:
            result_format["unexpected_index_column_names"] = index_columns
        merged = None
        for frame in frames:
            run = definition.run(
                batch_parameters={"dataframe": frame},
                result_format=result_format,
                run_id=self.run_id,
            )
            merged = run if merged is None else _merge_chunk(merged, run)
        assert merged is not None, "frames yields at least one (maybe empty) frame"
        for result in merged.results:
            _plain_samples(result.result)
        self.suite_results[suite_name] = merged
        # GX does not keep the suite's order in its results: match them by the index in meta.
        return sorted(merged.results, key=lambda r: r.expectation_config.meta["index"])


def nothing_to_validate(
    suite_name: str, expectations: list[Expectation], scope: str = ""
) -> list[CheckResult]:
    """A suite over no rows, passed without running GX, which would take a tenth of a second
    per suite to say the same; the Data Docs index lists it."""
    passed = {"success": True, "element_count": 0, "unexpected_count": 0, "sample": []}
    return [
        CheckResult(e, **passed, suite=suite_name, scope=scope, judged_by="") for e in expectations
    ]


# --- judged in DuckDB ------------------------------------------------------------------

# the column types whose comparisons with a number SQL makes as pandas does (booleans as 0/1)
_NUMERIC = re.compile(
    r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|BOOLEAN)$"
)
# ... and with a date (GX compares a DATE or TIMESTAMP column with a naive Timestamp)
_DATED = ("DATE", "TIMESTAMP")


@dataclass
class _Outcome:
    """An expectation judged without GX, shaped as the part of a GX result that `_result`
    and the table-suite helpers read."""

    success: bool
    result: dict[str, Any]
    exception_info: None = None


def _judge_frame(
    expectations: list[Expectation], frame: dict[str, list[Any]] | pd.DataFrame
) -> list[_Outcome]:
    """Not-null and numeric between expectations on a small frame of aggregates, judged as
    GX would (a missing value only fails not-null)."""
    data = pd.DataFrame(frame)
    outcomes = []
    for e in expectations:
        values = data[e.kwargs["column"]]
        if e.kind == "ExpectColumnValuesToNotBeNull":
            unexpected = int(values.isna().sum())
        else:
            assert e.kind == "ExpectColumnValuesToBeBetween", e.kind
            present = pd.to_numeric(values.dropna())
            low, high = e.kwargs.get("min_value"), e.kwargs.get("max_value")
            unexpected = int(
                ((present < low) if low is not None else present.isna()).sum()
                + ((present > high) if high is not None else present.isna()).sum()
            )
        outcomes.append(
            _Outcome(unexpected == 0, {"element_count": len(data), "unexpected_count": unexpected})
        )
    return outcomes


def _value_sql(column: str, data_type: str) -> str:
    """A column as pandas sees it: NaN is missing, booleans are 0/1."""
    if data_type in ("FLOAT", "DOUBLE"):
        return f"nullif(\"{column}\", 'nan'::double)"
    if data_type == "BOOLEAN":
        return f'cast("{column}" as integer)'
    return f'"{column}"'


def _bound(value: Any, data_type: str) -> Any:
    """A between bound as SQL compares it with the column the way pandas would; None when
    the types do not allow that (GX judges)."""
    if _NUMERIC.match(data_type) and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if data_type in _DATED and isinstance(value, str) and _ISO_DATE.match(value):
        stamp = pd.Timestamp(value)
        return stamp.to_pydatetime() if stamp.tzinfo is None else None
    return None


def _failing_row(e: Expectation, data_type: str, key: str, params: dict[str, Any]) -> str | None:
    """The SQL predicate of a row that fails a column test as GX judges it on the frame (a
    missing value only fails not-null), its values bound into `params` under `key`; None
    when SQL cannot compare the column's type with them as pandas does."""
    value = _value_sql(e.kwargs["column"], data_type)
    if e.kind == "ExpectColumnValuesToNotBeNull":
        return f"{value} is null"
    if e.kind == "ExpectColumnValuesToBeBetween":
        failing = []
        for name, op in (("min_value", "<"), ("max_value", ">")):
            if name not in e.kwargs:
                continue
            bound = _bound(e.kwargs[name], data_type)
            if bound is None:
                return None
            params[f"{key}_{name}"] = bound
            failing.append(f"{value} {op} ${key}_{name}")
        return f"({' or '.join(failing)})"
    assert e.kind == "ExpectColumnValuesToBeInSet", e.kind
    allowed = e.kwargs["value_set"]
    text = data_type == "VARCHAR" and all(isinstance(v, str) for v in allowed)
    numbers = data_type != "BOOLEAN" and bool(_NUMERIC.match(data_type))
    numbers = numbers and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in allowed
    )
    if not (allowed and (text or numbers)):
        return None
    params[key] = allowed
    return f"({value} is not null and not list_contains(${key}, {value}))"


def _judge_rows(
    con: duckdb.DuckDBPyConnection,
    expectations: list[Expectation],
    columns: dict[str, str],
    query: str,
    params: dict[str, Any] | None,
) -> tuple[int, list[_Outcome]] | None:
    """The rows of `query` counted in one scan, and each column test's failing rows:
    (rows, outcomes of tests that all passed), or None when one failed or cannot be
    judged in SQL."""
    bound: dict[str, Any] = dict(params or {})
    counts = []
    for i, e in enumerate(expectations):
        failing = _failing_row(e, columns[e.kwargs["column"]], f"t{i}", bound)
        if failing is None:
            return None
        counts.append(f"count(*) filter (where {failing})")
    found = con.execute(f"select count(*), {', '.join(counts)} from ({query})", bound).fetchall()
    rows, *unexpected = found[0]
    if any(unexpected):
        return None
    return rows, [
        _Outcome(True, {"element_count": rows, "unexpected_count": 0}) for _ in expectations
    ]


_AGGREGATES = {
    "median_between": "median",
    "mean_between": "avg",
    "stdev_between": "stddev_samp",  # pandas' std(): the sample's
}


def _judge_distributions(
    con: duckdb.DuckDBPyConnection, spec: ModelChecks, columns: dict[str, str]
) -> list[CheckResult] | None:
    """Each model-level check's count and aggregate in one scan of the table (NULL and NaN
    left out, booleans as 0/1), judged here; None when one fails (GX judges the model)."""
    select = []
    for d in spec.distributions:
        value = _value_sql(d.column, columns[d.column])
        select += [f"count({value})", f"{_AGGREGATES[d.check]}({value})"]
    found = con.execute(f"select {', '.join(select)} from {spec.table}").fetchall()[0]
    suite, out = f"{spec.table}.distribution", []
    for d, count, observed in zip(spec.distributions, found[::2], found[1::2], strict=True):
        expectation = _distribution_expectation(spec, d, count)
        if expectation is None:
            continue
        if observed is None or math.isnan(observed):
            return None
        if (d.low is not None and observed < d.low) or (d.high is not None and observed > d.high):
            return None
        judged = _Outcome(True, {"observed_value": float(observed)})
        out.append(_result(expectation, judged, suite, element_count=count, judged_by="sql"))
    return out


def _plain_samples(result: dict[str, Any]) -> None:
    """pandas' NA in GX's unexpected samples as None: GX's Data Docs renderer cannot take
    NA (`boolean value of NA is ambiguous`) and would log a traceback per failed sample."""

    def plain(value: Any) -> Any:
        try:
            return None if pd.isna(value) else value
        except (TypeError, ValueError):  # lists, dicts: not scalars
            return value

    for row in result.get("partial_unexpected_counts") or []:
        if isinstance(row, dict) and "value" in row:
            row["value"] = plain(row["value"])
    if isinstance(result.get("partial_unexpected_list"), list):
        result["partial_unexpected_list"] = [plain(v) for v in result["partial_unexpected_list"]]


def _chunks(
    con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any] | None
) -> Iterator[pd.DataFrame]:
    """The query's rows as frames of about CHUNK_ROWS (at least one frame, maybe empty)."""
    con.execute(query, params)
    vectors = max(1, CHUNK_ROWS // 2048)
    first = True
    while True:
        frame = con.fetch_df_chunk(vectors)
        if frame.empty and not first:
            return
        yield frame
        if frame.empty:
            return
        first = False


def _one(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    yield frame


def _result(e: Expectation, r: Any, suite: str, **overrides: Any) -> CheckResult:
    res = r.result or {}
    sample = res.get("partial_unexpected_index_list") or res.get("partial_unexpected_list") or []
    out = CheckResult(
        expectation=e,
        success=bool(r.success),
        element_count=int(res.get("element_count") or 0),
        unexpected_count=int(res.get("unexpected_count") or 0),
        sample=[_plain(s) for s in sample],
        error=_exception_text(r),
        observed=_plain(res.get("observed_value")),
        suite=suite,
    )
    for key, value in overrides.items():
        setattr(out, key, value)
    return out


def _sample_row(row: dict[str, Any], column: str | None, grain: list[str]) -> dict[str, Any]:
    """A failing row named by its grain first, then the failing value."""
    ordered = {c: row[c] for c in grain if c in row}
    if column in row:
        ordered[column] = row[column]
    return ordered


# --- the checks of one model ---------------------------------------------------------


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _duplicated_keys(table: str, grain: str) -> str:
    """The grain values found more than once, with their copies. Grouping 15M rows by the
    hash of the grain first takes half the time and memory of grouping by the values; the
    few hash collisions are then grouped by the values themselves, so the answer is exact."""
    return f"""
        with suspects as (
            select hash({grain}) as key_hash from {table} group by key_hash having count(*) > 1
        )
        select {grain}, count(*) as copies
        from {table}
        where hash({grain}) in (select key_hash from suspects)
        group by {grain}
        having count(*) > 1
    """


Baseline = tuple[int, str]  # (row count, check_id) at the last check that passed it


def _table_groups(
    con: duckdb.DuckDBPyConnection, spec: ModelChecks, previous: dict[str | None, Baseline]
) -> tuple[int, dict[str, int]]:
    """The table's row count, and per platform when its grain has one (each source's rows
    are judged on their own: one source emptied is its own break, not a few % of a table)."""
    table = spec.table
    if not spec.per_source:
        return con.execute(f"select count(*) from {table}").fetchall()[0][0], {}
    counts = con.execute(f"select platform, count(*) from {table} group by platform").fetchall()
    per_platform = {p: n for p, n in counts if p is not None}
    for platform in previous:  # a platform with rows at the last passed check and none now
        if platform is not None:
            per_platform.setdefault(platform, 0)
    return sum(n for _, n in counts), per_platform


@dataclass
class _Aggregates:
    """A model's whole-table aggregates, as GX judges them: `frame` has one row per group (a
    platform, or None for the whole table when it is judged on its total)."""

    rows: int
    per_platform: dict[str, int]
    split: bool  # one row per platform
    groups: list[str | None]
    counts: dict[str | None, int]
    frame: dict[str, list[Any]]
    duplicated: str = ""  # the query of the keys found more than once
    baselines: dict[str | None, Baseline] = field(default_factory=dict)


def _check_table(
    con: duckdb.DuckDBPyConnection,
    gxv: _Validator | None,
    spec: ModelChecks,
    previous: dict[str | None, Baseline],
) -> tuple[int, dict[str, int], list[CheckResult]] | None:
    """Whole-table aggregates in DuckDB, judged on one row of counts per platform (one row
    for the whole table when its grain has no platform): (rows, rows per platform, results).
    Without a validator they are judged here, and None says one failed (GX judges it)."""
    rows, per_platform = _table_groups(con, spec, previous)
    # per platform once there is a per-platform baseline (a warehouse checked before there
    # were any is judged on its total once)
    split = bool(per_platform) and (not previous or any(p is not None for p in previous))
    groups: list[str | None] = sorted(per_platform) if split else [None]
    counts = {g: (per_platform[g] if g is not None else rows) for g in groups}
    agg = _Aggregates(
        rows, per_platform, split, groups, counts, {"row_count": list(counts.values())}
    )
    if split:
        agg.frame[PLATFORM] = groups
    expectations: list[Expectation] = []
    if spec.grain:
        expectations.append(_uniqueness(con, spec, agg))
    agg.baselines = {g: previous[g] for g in groups if g in previous and previous[g][0] > 0}
    if agg.baselines:
        expectations.append(_row_count_floor(spec, agg))
    if not expectations:
        return rows, per_platform, []
    suite = f"{spec.table}.table"
    if rows == 0 and not agg.baselines:
        # an empty table that was empty at the last passed check (a source with no data):
        # no key can repeat
        return rows, per_platform, nothing_to_validate(suite, expectations)
    index = [PLATFORM] if split else None
    if gxv is None:
        gx_results = _judge_frame(expectations, agg.frame)
        if not all(r.success for r in gx_results):
            return None
    else:
        gx_results = gxv.run(suite, expectations, _one(pd.DataFrame(agg.frame)), index, len(groups))
    out = [
        _duplicates_result(con, e, r, suite, agg)
        if e.kwargs["column"] == "duplicate_rows"
        else _row_drop_result(spec, e, r, suite, agg)
        for e, r in zip(expectations, gx_results, strict=True)
    ]
    for result in out:
        result.judged_by = "gx" if gxv is not None else "sql"
    return rows, per_platform, out


def _uniqueness(con: duckdb.DuckDBPyConnection, spec: ModelChecks, agg: _Aggregates) -> Expectation:
    """The grain's duplicated rows per group, into the frame, and the expectation on them."""
    agg.duplicated = _duplicated_keys(spec.table, _quoted(spec.grain))
    found = dict(
        con.execute(
            f"select {'platform' if agg.split else 'null'}, sum(copies) "
            f"from ({agg.duplicated}) group by all"
        ).fetchall()
    )
    agg.frame["duplicate_rows"] = [int(found.get(g) or 0) for g in agg.groups]
    label = (
        f"ExpectColumnValuesToBeUnique(column={spec.grain[0]})"
        if len(spec.grain) == 1
        else f"ExpectCompoundColumnsToBeUnique(column_list={spec.grain})"
    )
    return Expectation(
        spec.table,
        "ExpectColumnValuesToBeBetween",
        {"column": "duplicate_rows", "max_value": 0},
        label=label,
    )


def _row_count_floor(spec: ModelChecks, agg: _Aggregates) -> Expectation:
    """How many rows each group is short of the least its baseline allows, into the frame,
    and the expectation on it (0 or below: within max_row_drop)."""
    lowest = {
        g: max(min(math.ceil(n * (1 - spec.max_row_drop)), n - ROW_DROP_SLACK), 0)
        for g, (n, _) in agg.baselines.items()
    }
    agg.frame["previous_row_count"] = [agg.baselines.get(g, (None, ""))[0] for g in agg.groups]
    agg.frame["rows_short"] = [lowest[g] - agg.counts[g] if g in lowest else 0 for g in agg.groups]
    label = (
        f"ExpectColumnValuesToBeBetween(column=row_count, min_value={lowest[None]})"
        if not agg.split
        else "row count per platform against the last passed check"
    )
    return Expectation(
        spec.table,
        "ExpectColumnValuesToBeBetween",
        {"column": "rows_short", "max_value": 0},
        label=label,
    )


def _failing_groups(r: Any, agg: _Aggregates) -> list[str | None]:
    return [g for g in agg.groups if _unexpected(r, g)] if agg.split else []


def _duplicates_result(
    con: duckdb.DuckDBPyConnection, e: Expectation, r: Any, suite: str, agg: _Aggregates
) -> CheckResult:
    duplicates = sum(agg.frame["duplicate_rows"])
    result = _result(e, r, suite, element_count=agg.rows, unexpected_count=duplicates)
    result.sample = _duplicate_sample(con, agg.duplicated, None) if duplicates else []
    for g in _failing_groups(r, agg):
        result.platforms[g] = _result(
            e,
            r,
            suite,
            success=False,
            element_count=agg.counts[g],
            unexpected_count=agg.frame["duplicate_rows"][agg.groups.index(g)],
            sample=_duplicate_sample(con, agg.duplicated, g),
            scope=f" of {g}",
        )
    return result


def _row_drop_result(
    spec: ModelChecks, e: Expectation, r: Any, suite: str, agg: _Aggregates
) -> CheckResult:
    counts, baselines = agg.counts, agg.baselines
    result = _result(e, r, suite, element_count=agg.rows, unexpected_count=0)
    dropped = [g for g in agg.groups if agg.frame["rows_short"][agg.groups.index(g)] > 0]
    details = {g: _row_drop(spec, g, counts[g], baselines[g]) for g in dropped}
    result.sample = [
        {
            **({PLATFORM: g} if g is not None else {}),
            "row_count": counts[g],
            "previous_row_count": baselines[g][0],
            "previous_check_id": baselines[g][1],
        }
        for g in (dropped or list(baselines))[:SAMPLE_ROWS]
    ]
    if not r.success:
        result.unexpected_count = sum(max(baselines[g][0] - counts[g], 0) for g in dropped)
        result.detail = "; ".join(details.values())
    for g in _failing_groups(r, agg):
        result.platforms[g] = _result(
            e,
            r,
            suite,
            success=False,
            element_count=counts[g],
            unexpected_count=max(baselines[g][0] - counts[g], 0),
            sample=[s for s in result.sample if s.get(PLATFORM) == g],
            detail=details[g],
        )
    return result


def _unexpected(result: Any, platform: str | None) -> bool:
    """GX lists the platform among the rows that failed the expectation."""
    rows = (result.result or {}).get("partial_unexpected_index_list") or []
    return any(isinstance(row, dict) and row.get(PLATFORM) == platform for row in rows)


def _duplicate_sample(
    con: duckdb.DuckDBPyConnection, duplicated: str, platform: str | None
) -> list[Any]:
    """The most copied keys (of one platform), for the message and the Data Docs."""
    where = "where platform = $platform" if platform is not None else ""
    params = {"platform": platform} if platform is not None else None
    rows = (
        con.execute(f"select * from ({duplicated}) {where} order by copies desc limit 3", params)
        .df()
        .to_dict("records")
    )
    return [_plain(row) for row in rows]


def _row_drop(spec: ModelChecks, platform: str | None, rows: int, baseline: Baseline) -> str:
    whose = f"{platform}'s row count" if platform is not None else "row count"
    drop = (baseline[0] - rows) / baseline[0]
    return (
        f"{whose} fell {drop:.1%}, from {baseline[0]:,} at the last passed check "
        f"({baseline[1][:8]}) to {rows:,}; at most {spec.max_row_drop:.0%} "
        f"(max_row_drop in its YAML) or {ROW_DROP_SLACK} rows may go"
    )


def _check_rows(
    con: duckdb.DuckDBPyConnection,
    gxv: _Validator | None,
    spec: ModelChecks,
    columns: dict[str, str],
    run_date: date,
    since: date | None,
) -> list[CheckResult] | None:
    """The column tests on the rows (an incremental model's changed rows). Without a
    validator each test's failing rows are counted in DuckDB, and None says one failed or
    was one SQL cannot judge as GX does (GX judges it)."""
    expectations = row_expectations(spec, run_date)
    if not expectations:
        return []
    needed: list[str] = []
    for e in expectations:
        if e.kwargs["column"] not in needed:
            needed.append(e.kwargs["column"])
    index = [c for c in spec.grain if c in columns]
    for c in index:
        if c not in needed:
            needed.append(c)
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ContentpulseError(
            f"check {spec.table}: its YAML tests column(s) {', '.join(missing)}, "
            "which the table does not have"
        )
    query, params, scope = f"select {_quoted(needed)} from {spec.table}", None, ""
    if since is not None and spec.replace_where:
        query += f" where {spec.replace_where}"
        params = {"since": since} if "$since" in spec.replace_where else None
        scope = f" changed since {since}" if since != NOTHING_CHANGED else " (none changed)"
    if gxv is None:
        judged = _judge_rows(con, expectations, columns, query, params)
        if judged is None:
            return None
        count, passed = judged
        if not count:
            return nothing_to_validate(spec.table, expectations, scope)
        out = [
            _row_result(e, r, spec.table, scope, index)
            for e, r in zip(expectations, passed, strict=True)
        ]
        for result in out:
            result.judged_by = "sql"
        return out
    chunks = _chunks(con, query, params)
    first = next(chunks)
    if first.empty:  # every row test is a column-map expectation: it holds over no rows
        return nothing_to_validate(spec.table, expectations, scope)
    gx_results = gxv.run(spec.table, expectations, itertools.chain([first], chunks), index)
    out = [
        _row_result(e, r, spec.table, scope, index)
        for e, r in zip(expectations, gx_results, strict=True)
    ]
    failed = [i for i, r in enumerate(out) if not r.success and r.expectation.critical]
    if failed and spec.per_source:
        _attribute_rows(con, gxv, spec, [out[i] for i in failed], query, params, scope, index)
    return out


def _row_result(e: Expectation, r: Any, suite: str, scope: str, index: list[str]) -> CheckResult:
    result = _result(e, r, suite, scope=scope)
    if (r.result or {}).get("partial_unexpected_index_list"):
        result.sample = [_sample_row(s, e.kwargs["column"], index) for s in result.sample]
    return result


def _attribute_rows(
    con: duckdb.DuckDBPyConnection,
    gxv: _Validator,
    spec: ModelChecks,
    failed: list[CheckResult],
    query: str,
    params: dict[str, Any] | None,
    scope: str,
    index: list[str],
) -> None:
    """Which sources' rows fail each failed critical expectation: the failed expectations
    validated again, by GX, on each platform's rows alone (a failure only costs this)."""
    platforms = [
        p
        for (p,) in con.execute(
            f"select distinct platform from ({query}) where platform is not null order by 1",
            params,
        ).fetchall()
    ]
    expectations = [r.expectation for r in failed]
    for platform in platforms:
        suite = f"{spec.table}[{platform}]"
        frames = _chunks(
            con,
            f"select * from ({query}) where platform = $platform",
            {**(params or {}), "platform": platform},
        )
        gx_results = gxv.run(suite, expectations, frames, index)
        for result, e, r in zip(failed, expectations, gx_results, strict=True):
            if not r.success:
                result.platforms[platform] = _row_result(
                    e, r, suite, f" of {platform}{scope}", index
                )


def _distribution_expectation(
    spec: ModelChecks, d: DistributionCheck, count: int
) -> Expectation | None:
    """The expectation of a model-level check over `count` values; None (and a log line)
    when they are too few to say anything."""
    if count < d.min_count:
        log.info(
            "check: %s: %s of %s skipped: %d values, fewer than %d",
            spec.table,
            d.check,
            d.column,
            count,
            d.min_count,
        )
        return None
    kwargs: dict[str, Any] = {"column": d.column}
    if d.low is not None:
        kwargs["min_value"] = d.low
    if d.high is not None:
        kwargs["max_value"] = d.high
    return Expectation(spec.table, MODEL_CHECKS[d.check], kwargs, d.critical)


def _check_distributions(
    con: duckdb.DuckDBPyConnection,
    gxv: _Validator | None,
    spec: ModelChecks,
    columns: dict[str, str],
) -> list[CheckResult] | None:
    """The model-level checks over the whole table. Without a validator each column's
    count and aggregate come from DuckDB, and None says one failed (GX judges it)."""
    if not spec.distributions:
        return []
    needed = sorted({d.column for d in spec.distributions})
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ContentpulseError(
            f"check {spec.table}: its YAML checks column(s) {', '.join(missing)}, "
            "which the table does not have"
        )
    if gxv is None:
        return _judge_distributions(con, spec, columns)
    # booleans as 0/1, so that a mean is a share
    select = ", ".join(
        f'cast("{c}" as integer) as "{c}"' if columns[c] == "BOOLEAN" else f'"{c}"' for c in needed
    )
    if PLATFORM in columns and PLATFORM not in needed:
        select += f', "{PLATFORM}"'
    frame = con.execute(f"select {select} from {spec.table}").df()
    expectations, counts, min_counts = [], [], []
    for d in spec.distributions:
        count = int(frame[d.column].notna().sum())
        expectation = _distribution_expectation(spec, d, count)
        if expectation is None:
            continue
        expectations.append(expectation)
        counts.append(count)
        min_counts.append(d.min_count)
    if not expectations:
        return []
    suite = f"{spec.table}.distribution"
    gx_results = gxv.run(suite, expectations, _one(frame))
    out = [
        _result(e, r, suite, element_count=n)
        for e, r, n in zip(expectations, gx_results, counts, strict=True)
    ]
    failed = [i for i, r in enumerate(out) if not r.success and r.expectation.critical]
    if failed and spec.by_source and PLATFORM in frame.columns:
        # a source whose own rows fail it carries the failure; if none does on its own,
        # it is every source's (the distribution of them all)
        for platform, rows in frame.groupby(PLATFORM, sort=True):
            judged = [
                i
                for i in failed
                if rows[out[i].expectation.kwargs["column"]].notna().sum() >= min_counts[i]
            ]
            if not judged:
                continue
            name = f"{suite}[{platform}]"
            mine = gxv.run(name, [out[i].expectation for i in judged], _one(rows))
            for i, r in zip(judged, mine, strict=True):
                if not r.success:
                    column = out[i].expectation.kwargs["column"]
                    out[i].platforms[str(platform)] = _result(
                        out[i].expectation,
                        r,
                        name,
                        element_count=int(rows[column].notna().sum()),
                        scope=f" of {platform}",
                    )
    return out


def _check_freshness(
    con: duckdb.DuckDBPyConnection,
    spec: ModelChecks,
    columns: dict[str, str],
    run_date: date,
) -> list[CheckResult]:
    """The newest day per account, from DuckDB, judged here: every expectation is a
    warning whose words and samples are ours (`_staleness`), so GX would only restate it."""
    fresh = spec.freshness
    assert fresh is not None
    missing = [c for c in ("platform", "account_id", fresh.column) if c not in columns]
    if missing:
        raise ContentpulseError(
            f"check {spec.table}: freshness needs column(s) {', '.join(missing)}"
        )
    frame = _newest_per_account(con, spec, fresh, run_date)
    table = spec.table
    expectations = [
        Expectation(
            table, "ExpectColumnValuesToNotBeNull", {"column": "source_newest_date"}, False
        ),
        Expectation(table, "ExpectColumnValuesToNotBeNull", {"column": "newest_date"}, False),
        Expectation(
            table,
            "ExpectColumnValuesToBeBetween",
            {"column": "days_behind", "max_value": fresh.max_days},
            False,
        ),
    ]
    suite = f"{table}.freshness"
    judged = _judge_frame(expectations, frame)
    details, samples = _staleness(frame.to_dict("records"), fresh, run_date)
    return [
        _result(
            e,
            r,
            suite,
            sample=sample[:SAMPLE_ROWS],
            detail=None if r.success else (detail or None),
            scope=f" for {fresh.column} on {run_date}",
            judged_by="sql",
        )
        for e, r, detail, sample in zip(expectations, judged, details, samples, strict=True)
    ]


def _newest_per_account(
    con: duckdb.DuckDBPyConnection, spec: ModelChecks, fresh: Freshness, run_date: date
) -> pd.DataFrame:
    """Per account in meta.accounts (of the model's own source, if a staging model): the
    newest day of the model's rows, how many days before the run date, and the newest of
    its whole source."""
    return con.execute(
        f"""
        with newest as (
            -- per account first: the join's condition has an OR, which DuckDB would try on
            -- every row of the table (a second on a 7 M-row table)
            select platform, account_id, max("{fresh.column}") as newest
            from {spec.table}
            group by all
        )
        select
            a.platform,
            a.account_id,
            a.name,
            cast(max(m.newest) as date) as newest_date,
            date_diff('day', cast(max(m.newest) as date), $run_date) as days_behind,
            max(cast(max(m.newest) as date)) over (partition by a.platform)
                as source_newest_date
        from meta.accounts as a
        left join newest as m
            -- a CSV export account's rows carry the export's platform (linkedin, x)
            on (m.platform = a.platform or a.platform = 'csv_export')
            and m.account_id = a.account_id
        where cast($source as varchar) is null or a.platform = $source
        group by a.platform, a.account_id, a.name
        order by a.platform, a.account_id
        """,
        {"run_date": run_date, "source": spec.source},
    ).df()


def _staleness(
    rows: list[dict[str, Any]], fresh: Freshness, run_date: date
) -> tuple[list[str], list[list[dict[str, Any]]]]:
    """What each freshness expectation finds, in words and as sample rows: the sources with
    no rows at all, the accounts with none, the accounts whose newest day is too old."""
    empty_sources = sorted({r["platform"] for r in rows if pd.isna(r["source_newest_date"])})
    no_rows = [r for r in rows if pd.isna(r["newest_date"]) and r["platform"] not in empty_sources]
    stale = [r for r in rows if not pd.isna(r["days_behind"]) and r["days_behind"] > fresh.max_days]
    details = [
        "; ".join(
            f"no {p} data at all ({sum(r['platform'] == p for r in rows)} accounts)"
            for p in empty_sources
        ),
        "; ".join(
            f"{r['platform']} account {r['account_id']} ({r['name']}): no rows at all"
            for r in no_rows
        ),
        "; ".join(
            f"{r['platform']} account {r['account_id']} ({r['name']}): newest day "
            f"{_plain(r['newest_date'])}, {int(r['days_behind'])} days before run date "
            f"{run_date} (at most {fresh.max_days})"
            for r in stale
        ),
    ]
    samples = [
        [{"platform": p} for p in empty_sources],
        [{"platform": r["platform"], "account_id": r["account_id"]} for r in no_rows],
        [
            {
                "platform": r["platform"],
                "account_id": r["account_id"],
                "newest_date": _plain(r["newest_date"]),
                "days_behind": int(r["days_behind"]),
            }
            for r in stale
        ],
    ]
    return details, samples


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    schema, name = table.split(".", 1)
    found = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    if not found:
        raise CheckFailed(f"check: {table} does not exist (run `contentpulse build` first)")
    return dict(found)


def check_model(
    con: duckdb.DuckDBPyConnection,
    gxv: _Validator,
    spec: ModelChecks,
    run_date: date,
    since: date | None,
    previous: dict[str | None, Baseline],
) -> tuple[int, dict[str, int], list[CheckResult]]:
    """Every suite of one model: (its row count, its rows per platform, the results).

    DuckDB judges first: the whole-table aggregates, each column test's failing rows
    counted, each distribution's aggregate. When every suite passes so, GX is not needed
    (importing it alone costs ~8 s); when one fails, or a test compares types that SQL does
    not compare as pandas does, GX validates the model's suites as before, so a failure's
    message, samples, held-back sources and Data Docs pages are GX's own."""
    started = time.perf_counter()
    columns = _table_columns(con, spec.table)
    checked, judge = _check_suites(con, None, spec, columns, run_date, since, previous), "DuckDB"
    if checked is None:
        checked, judge = _check_suites(con, gxv, spec, columns, run_date, since, previous), "GX"
    assert checked is not None, "GX judges every suite"
    rows, per_platform, results = checked
    if spec.freshness:
        results += _check_freshness(con, spec, columns, run_date)
    log.info(
        "check: %s: %d expectations, %d failed, %s rows, judged by %s (%.1f s)",
        spec.table,
        len(results),
        sum(not r.success for r in results),
        f"{rows:,}",
        judge,
        time.perf_counter() - started,
    )
    return rows, per_platform, results


def _check_suites(
    con: duckdb.DuckDBPyConnection,
    gxv: _Validator | None,
    spec: ModelChecks,
    columns: dict[str, str],
    run_date: date,
    since: date | None,
    previous: dict[str | None, Baseline],
) -> tuple[int, dict[str, int], list[CheckResult]] | None:
    """The table, rows and distribution suites of a model, by GX or (no validator) by
    DuckDB, which gives None as soon as one of them does not pass."""
    table = _check_table(con, gxv, spec, previous)
    if table is None:
        return None
    rows, per_platform, results = table
    for more in (
        _check_rows(con, gxv, spec, columns, run_date, since),
        _check_distributions(con, gxv, spec, columns),
    ):
        if more is None:
            return None
        results += more
    return rows, per_platform, results


# --- a check run ---------------------------------------------------------------------


def rows_changed_since(con: duckdb.DuckDBPyConnection) -> date | None:
    """Where the rows to validate start: the earliest `since` of the latest build and of
    every build after the one whose check last passed (a failed batch is checked again
    until it passes).

    None (check every row) before any check passed or after a full build;
    NOTHING_CHANGED when those builds replaced no rows.
    """
    passed = con.execute("select count(*) from meta.check_runs where success").fetchall()[0][0]
    if not passed:
        return None
    builds = con.execute(
        """
        select since
        from meta.builds
        where finished_at >= coalesce((
            select max(b.finished_at)
            from meta.builds as b
            inner join meta.check_runs as c on b.build_id = c.build_id
            where c.success
        ), '-infinity'::timestamptz)
        order by finished_at desc
        """
    ).fetchall()
    # the build that passed comes last: its rows were checked, unless it is also the latest
    # (a check run again)
    unchecked = builds[:-1] if len(builds) > 1 else builds
    dates = [s for (s,) in unchecked if s is not None]
    if not dates:
        return NOTHING_CHANGED
    earliest = min(dates)
    return None if earliest <= BEGINNING else earliest


def _previous_row_counts(
    con: duckdb.DuckDBPyConnection,
) -> dict[str, dict[str | None, Baseline]]:
    """Each model's row count (None) and each platform's rows in it, at the last check run
    that passed them, of a build of the same models: when a model file changed, its new
    definition sets a new baseline. A run that held sources back passed the others: their
    counts are baselines, the held-back ones' are not."""
    rows = con.execute(
        """
        select model, platform, row_count, check_id
        from (
            select
                r.model,
                r.platform,
                r.row_count,
                r.check_id,
                row_number() over (
                    partition by r.model, r.platform order by c.checked_at desc
                ) as recency
            from meta.check_row_counts as r
            inner join meta.check_runs as c on r.check_id = c.check_id
            inner join meta.builds as b on c.build_id = b.build_id
            where
                (c.success or c.check_id in (select check_id from meta.held_back))
                and not exists (
                    select 1
                    from meta.held_back as h
                    where h.check_id = r.check_id and h.platform = r.platform
                )
                and b.fingerprint is not distinct from (
                    select fingerprint from meta.builds order by finished_at desc limit 1
                )
        )
        where recency = 1
        """
    ).fetchall()
    out: dict[str, dict[str | None, Baseline]] = {}
    for model, platform, count, check_id in rows:
        out.setdefault(model, {})[platform] = (count, check_id)
    return out


def _record(con: duckdb.DuckDBPyConnection, summary: CheckSummary) -> None:
    results = pd.DataFrame(  # noqa: F841 (read by DuckDB below: one insert, not one per row)
        [
            [
                summary.check_id,
                summary.build_id,
                r.expectation.model,
                r.expectation.kind,
                r.expectation.kwargs.get("column"),
                json.dumps(r.expectation.kwargs, default=str),
                r.success,
                r.expectation.critical,
                r.element_count,
                r.unexpected_count,
                json.dumps(r.sample[:SAMPLE_ROWS], default=str, ensure_ascii=False),
            ]
            for r in summary.results
        ],
        columns=[
            "check_id",
            "build_id",
            "model",
            "expectation",
            "column",
            "kwargs",
            "success",
            "critical",
            "element_count",
            "unexpected_count",
            "sample",
        ],
    ).astype({"column": "object", "element_count": "int64", "unexpected_count": "int64"})
    con.execute("begin transaction")
    con.execute("insert into meta.check_results by name select * from results")
    counts = pd.DataFrame(  # noqa: F841 (read by DuckDB below)
        [[summary.check_id, summary.build_id, m, None, n] for m, n in summary.row_counts.items()]
        + [
            [summary.check_id, summary.build_id, m, p, n]
            for m, per_platform in summary.platform_rows.items()
            for p, n in per_platform.items()
        ],
        columns=["check_id", "build_id", "model", "platform", "row_count"],
    ).astype({"platform": "object", "row_count": "int64"})
    con.execute("insert into meta.check_row_counts by name select * from counts")
    con.execute(
        "insert into meta.check_runs (check_id, build_id, checked_at, success, expectations, "
        "failed) values (?, ?, now(), ?, ?, ?)",
        [
            summary.check_id,
            summary.build_id,
            summary.success,
            len(summary.results),
            len(summary.critical_failures),
        ],
    )
    for platform in summary.held_back:
        con.execute(
            "insert into meta.held_back (check_id, build_id, platform, reason) values (?, ?, ?, ?)",
            [summary.check_id, summary.build_id, platform, summary.held_back_line(platform)],
        )
    con.execute("commit")


def run_checks(
    con: duckdb.DuckDBPyConnection,
    run_date: date,
    since: date | None = None,
    docs_dir: Path | None = None,
    models: list[ModelChecks] | None = None,
) -> CheckSummary:
    """Check the latest build; record the results; raise CheckFailed on a critical failure
    that is not some sources' alone (those sources are held back: `summary.held_back`).

    `since`: validate an incremental model's rows changed since that date (None: every
    row). Whole-table checks always cover every row. `docs_dir`: write the run's GX Data
    Docs there (replacing the previous run's).
    """
    latest = con.execute(
        "select build_id from meta.builds order by finished_at desc limit 1"
    ).fetchall()
    if not latest:
        raise CheckFailed("check: nothing built yet (run `contentpulse build` first)")
    stopped = unfinished_build(con)
    if stopped:
        raise CheckFailed(f"check: {stopped}")
    specs = models if models is not None else load_checks()
    summary = CheckSummary(uuid.uuid4().hex, latest[0][0], [], run_date=run_date, since=since)
    previous = _previous_row_counts(con)
    gxv = _Validator(f"check {summary.check_id[:8]} of build {summary.build_id[:8]}")
    for spec in specs:
        rows, per_platform, results = check_model(
            con, gxv, spec, run_date, since, previous.get(spec.table, {})
        )
        summary.row_counts[spec.table] = rows
        if per_platform:
            summary.platform_rows[spec.table] = per_platform
        summary.results += results
    _record(con, summary)
    for warning in summary.warnings:
        log.warning("check warning: %s", warning.describe())
    if docs_dir is not None:
        summary.docs = write_data_docs(gxv, summary, docs_dir)
    for platform in summary.held_back:
        log.error("check: %s", summary.held_back_line(platform))
    if not summary.publishable:
        first, more = summary.critical_failures[0], len(summary.critical_failures) - 1
        extra = f" (and {more} more failed expectations)" if more else ""
        where = f"; details in {summary.docs}" if summary.docs else ""
        raise CheckFailed(f"check failed: {first.describe()}{extra}; publish is blocked{where}")
    return summary


# --- Data Docs that open offline -----------------------------------------------------

# tags GX's pages load from CDNs (Bootstrap, jQuery, Font Awesome, Vega, the S3 logo)
_REMOTE_TAG = re.compile(
    r"<(?:link|script|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']?https?://[^>]*>(?:\s*</script>)?",
    re.IGNORECASE | re.DOTALL,
)
# GX's inline scripts drive jQuery and Bootstrap, which are not there offline
_SCRIPT = re.compile(r"<script\b.*?</script>", re.IGNORECASE | re.DOTALL)
_CSS_REMOTE_URL = re.compile(r"url\(\s*['\"]?https?://[^)]*\)", re.IGNORECASE)
_FAVICON = re.compile(r"<link\b[^>]*\bicon\b[^>]*>", re.IGNORECASE)
_FOOTER = re.compile(r"<footer\b.*?</footer>", re.IGNORECASE | re.DOTALL)
_HOME_LINK = re.compile(r'href="(?:\.\./)+index\.html"')
# links to GX's suite pages, which this site does not have: keep their text
_SUITE_LINK = re.compile(r'<a href="(?:\.\./)*expectations/[^"]*"\s*>(.*?)</a>', re.DOTALL)
OFFLINE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 2rem;
  color: #212529; font-size: 15px; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border: 1px solid #dee2e6; padding: .25rem .5rem; text-align: left; vertical-align: top; }
a { color: #0062cc; }
.text-danger { color: #c82333; } .text-success { color: #218838; } .text-warning { color: #a66f00; }
.fas, .far, .fa { font-style: normal; }
.fa-check-circle::before, .fa-check::before { content: "\\2714"; }
.fa-times::before, .fa-times-circle::before { content: "\\2718"; }
.fa-exclamation-triangle::before { content: "\\26A0"; }
.fa-question-circle::before, .fa-info-circle::before { content: "\\24D8"; }
.btn-group-toggle, .ge-walkthrough-modal, [hidden] { display: none; }
.card:has(.btn-group-toggle) { display: none; }  /* filter buttons that need Bootstrap's JS */
.breadcrumb { list-style: none; display: flex; gap: .4rem; padding: 0; }
.breadcrumb-item + .breadcrumb-item::before { content: "/ "; }
.critical { color: #c82333; } .warning { color: #a66f00; } .passed { color: #218838; }
"""


def offline_html(page: str) -> str:
    """A GX page with nothing a browser would fetch from the network."""
    page = _REMOTE_TAG.sub("", page)
    page = _SCRIPT.sub("", page)
    page = _CSS_REMOTE_URL.sub("none", page)
    page = _FAVICON.sub("", page)
    page = _FOOTER.sub("", page)
    page = _HOME_LINK.sub('href="index.html"', page)
    page = _SUITE_LINK.sub(r"\1", page)
    return page.replace("</head>", f"<style>{OFFLINE_CSS}</style>\n</head>", 1)


def _escaped(value: Any) -> Any:
    """Result values HTML-escaped (GX renders sample values raw), numpy scalars as Python."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, pd.Timestamp):
        return value.item()
    return value


def _page_name(suite: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", suite) + ".html"


def _index_html(
    summary: CheckSummary, pages: list[tuple[str, str | None, list[CheckResult]]]
) -> str:
    e = html.escape
    held = summary.held_back
    status = (
        "passed"
        if summary.success
        else f"held back {', '.join(held)} (the other sources publish)"
        if held
        else "failed: publish is blocked"
    )
    warnings = len(summary.warnings)
    rows = []
    for suite, page, results in pages:
        critical = sum(not r.success and r.expectation.critical for r in results)
        warned = sum(not r.success and not r.expectation.critical for r in results)
        state = "critical" if critical else "warning" if warned else "passed"
        name = f'<a href="{quote(page)}">{e(suite)}</a>' if page else e(suite)
        shown = state if page else "no rows to validate"
        rows.append(
            f'<tr class="{state}"><td>{name}</td>'
            f"<td>{shown}</td><td>{len(results)}</td><td>{critical}</td><td>{warned}</td></tr>"
        )
    problems = "".join(
        f'<li class="{"critical" if r.expectation.critical else "warning"}">'
        f"{'critical' if r.expectation.critical else 'warning'}: {e(r.describe())}</li>"
        for r in summary.failed
    )
    scope = (
        "every row"
        if summary.since is None
        else "no rows changed"
        if summary.since == NOTHING_CHANGED
        else f"rows changed since {summary.since}"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Data quality: check {e(summary.check_id[:8])}</title>
<style>{OFFLINE_CSS}</style></head>
<body>
<h1>Data quality checks</h1>
<p>Check <code>{e(summary.check_id)}</code> of build <code>{e(summary.build_id)}</code>,
run date {e(str(summary.run_date))}, {e(scope)} of incremental models, whole-table
aggregates over every row. Checked {e(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))}.</p>
<p class="{"passed" if summary.success else "critical"}"><strong>{e(status)}</strong>:
{len(summary.results)} expectations on {len(summary.row_counts)} table(s),
{len(summary.critical_failures)} critical failures, {warnings} warnings.</p>
{f"<h2>Failures and warnings</h2><ul>{problems}</ul>" if problems else ""}
<h2>Suites</h2>
<p>Each page is Great Expectations' own rendering of its validation result.</p>
<table><thead><tr><th>Suite</th><th>Status</th><th>Expectations</th><th>Critical failures</th>
<th>Warnings</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
</body></html>
"""


def write_data_docs(gxv: _Validator, summary: CheckSummary, docs_dir: Path) -> Path:
    """The run's GX validation pages and an index, written beside and swapped in."""
    docs_dir.parent.mkdir(parents=True, exist_ok=True)
    sweep(docs_dir.parent)  # what a check killed mid-write left
    tmp, old = temp_path(docs_dir), temp_path(docs_dir, "old")
    try:
        with naming(docs_dir):  # a full disk names the folder
            _write_pages(gxv, summary, tmp)
            if docs_dir.exists():
                docs_dir.rename(old)
            tmp.rename(docs_dir)
    except BaseException:  # a full disk, SIGINT, SIGTERM: no temporary folder stays
        remove(tmp)
        if old.exists() and not docs_dir.exists():
            old.rename(docs_dir)
        raise
    remove(old)
    return docs_dir / "index.html"


def _write_pages(gxv: _Validator, summary: CheckSummary, tmp: Path) -> None:
    """The validation pages and the index, into the new folder `tmp`: GX's rendering of each
    suite it validated, ours of each suite judged in DuckDB (GX is not imported for them)."""
    remove(tmp)
    tmp.mkdir()
    by_suite: dict[str, list[CheckResult]] = {}
    for r in summary.results:
        by_suite.setdefault(r.suite, []).append(r)
    pages = []
    if gxv.suite_results:
        from great_expectations.render.renderer import ValidationResultsPageRenderer
        from great_expectations.render.view import DefaultJinjaPageView

        renderer, view = ValidationResultsPageRenderer(), DefaultJinjaPageView()
        for suite, result in gxv.suite_results.items():
            for r in result.results:
                r.result = _escaped(r.result or {})
            page = _page_name(suite)
            (tmp / page).write_text(offline_html(view.render(renderer.render(result))), "utf-8")
            pages.append((suite, page, by_suite.get(suite, [])))
    for suite, results in by_suite.items():
        if suite in gxv.suite_results:
            continue
        page = None
        if any(r.judged_by == "sql" for r in results):
            page = _page_name(suite)
            (tmp / page).write_text(_sql_page(summary, suite, results), encoding="utf-8")
        pages.append((suite, page, results))
    (tmp / "index.html").write_text(_index_html(summary, pages), encoding="utf-8")


def _sql_page(summary: CheckSummary, suite: str, results: list[CheckResult]) -> str:
    """A suite judged in DuckDB: each expectation, the rows or values it covered, and what
    failed (only a warning can: a failure of another kind is validated again by GX)."""
    e = html.escape
    rows = "".join(
        f'<tr class="{"passed" if r.success else "critical" if r.expectation.critical else "warning"}">'
        f"<td>{e(r.expectation.text())}</td>"
        f"<td>{'critical' if r.expectation.critical else 'warning'}</td>"
        f"<td>{r.element_count:,}</td><td>{r.unexpected_count:,}</td>"
        f"<td>{'' if r.observed is None else e(_number(r.observed))}</td>"
        f"<td>{'passed' if r.success else e(r.describe())}</td></tr>"
        for r in results
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(suite)}: check {e(summary.check_id[:8])}</title>
<style>{OFFLINE_CSS}</style></head>
<body>
<p><a href="index.html">Data quality checks</a></p>
<h1>{e(suite)}</h1>
<p>Judged in DuckDB{e(results[0].scope)}: the rows each expectation covers are counted in
SQL with those that fail it; when any fails (a warning aside), Great Expectations validates
the model again and this page is its own.</p>
<table><thead><tr><th>Expectation</th><th>Severity</th><th>Rows or values</th>
<th>Unexpected</th><th>Observed</th><th>Result</th></tr></thead><tbody>
{rows}
</tbody></table>
</body></html>
"""
