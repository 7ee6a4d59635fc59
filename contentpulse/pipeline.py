"""The pipeline steps that the CLI and the DAGs call: extract, load, build, check, publish, report.

Each step returns a StepResult whose `line()` is the one-line summary logged for it.
Only `load`, `build`, `check` and `publish` open the warehouse for writing; extract steps
write landing files only, so they can run in parallel (Airflow maps them over accounts).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from connectors.streams import Window
from contentpulse.config import Config
from contentpulse.credentials import get_connection
from contentpulse.errors import ContentpulseError

log = logging.getLogger("contentpulse")
Progress = Callable[[str], None]


@dataclass
class StepResult:
    step: str
    detail: str = ""
    rows: int = 0
    calls: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        parts = [f"{self.rows:,} rows"]
        if self.calls:
            parts.append(f"{self.calls:,} API calls")
        parts.append(f"{self.seconds:.1f} s")
        detail = f"{self.detail} " if self.detail else ""
        return f"{self.step}: {detail}({', '.join(parts)})"


def new_run_id(prefix: str = "manual") -> str:
    return f"{prefix}__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}_{uuid.uuid4().hex[:6]}"


def night_window(cfg: Config, platform: str, run_date: date) -> Window:
    """The reporting dates a night re-reads: run_date and the lookback before it."""
    source = dict(cfg.iter_sources())[platform]
    return Window(run_date - timedelta(days=source.lookback_days - 1), run_date)


def _extractor(platform: str):
    if platform == "youtube":
        from connectors.youtube import extract

        return extract
    raise ContentpulseError(f"no connector for platform {platform!r}")


def extract_account(
    cfg: Config, platform: str, account_id: str, window: Window, run_id: str
) -> StepResult:
    """Extract one account's streams for `window` into landing files (no warehouse access)."""
    from transforms.landing import write_result

    started = time.perf_counter()
    account = cfg.account(platform, account_id)
    source = dict(cfg.iter_sources())[platform]
    conn = get_connection(account.conn_id)
    result = _extractor(platform)(account, window, source, conn, run_id)
    files = write_result(cfg.paths.landing, result, run_id)
    step = StepResult(
        step="extract",
        detail=f"{platform} {account.display_name} {window}",
        rows=result.rows,
        calls=result.calls.calls,
        seconds=time.perf_counter() - started,
        outputs={
            "files": str(len(files)),
            "quota_units": str(result.calls.units),
            "last_date_returned": str(result.last_date_returned),
        },
    )
    log.info(step.line())
    return step


def extract(
    cfg: Config, windows: dict[str, Window], run_id: str, progress: Progress | None = None
) -> StepResult:
    """Extract every configured account; a failing account is reported, the others still land."""
    started = time.perf_counter()
    total = StepResult(step="extract")
    pairs = cfg.accounts()
    for n, (platform, account) in enumerate(pairs, 1):
        if progress:
            progress(
                f"extract [{n}/{len(pairs)}] {platform} {account.display_name} {windows[platform]}"
            )
        try:
            one = extract_account(cfg, platform, account.id, windows[platform], run_id)
        except ContentpulseError as exc:
            log.error("extract: %s", exc)
            total.errors.append(str(exc))
            continue
        total.rows += one.rows
        total.calls += one.calls
    total.detail = f"{len(pairs) - len(total.errors)}/{len(pairs)} accounts"
    total.seconds = time.perf_counter() - started
    return total


def load(cfg: Config) -> StepResult:
    from contentpulse.warehouse import open_warehouse
    from transforms.load import load as load_landing

    started = time.perf_counter()
    with open_warehouse(cfg.paths.warehouse) as con:
        summary = load_landing(cfg, con)
    step = StepResult(
        "load",
        f"{summary.files} landing files",
        rows=summary.rows,
        seconds=time.perf_counter() - started,
    )
    log.info(step.line())
    return step


def build(cfg: Config) -> StepResult:
    from contentpulse.warehouse import open_warehouse
    from models.runner import build as build_models

    started = time.perf_counter()
    with open_warehouse(cfg.paths.warehouse) as con:
        summary = build_models(con)
    step = StepResult(
        "build",
        f"{summary.models} models",
        rows=sum(summary.rows.values()),
        seconds=time.perf_counter() - started,
        outputs={"build_id": summary.build_id},
    )
    log.info(step.line())
    return step


def check(cfg: Config, run_date: date) -> StepResult:
    from contentpulse.warehouse import open_warehouse
    from transforms.checks import run_checks

    started = time.perf_counter()
    with open_warehouse(cfg.paths.warehouse) as con:
        summary = run_checks(con, run_date)
    per_model = {r.expectation.model: r.element_count for r in summary.results}
    rows = sum(per_model.values())
    step = StepResult(
        "check",
        f"{len(summary.results)} expectations on {len(per_model)} models passed",
        rows=rows,
        seconds=time.perf_counter() - started,
    )
    log.info(step.line())
    return step


def publish(cfg: Config) -> StepResult:
    from contentpulse.warehouse import open_warehouse
    from transforms.publish import publish as publish_snapshot

    started = time.perf_counter()
    with open_warehouse(cfg.paths.warehouse) as con:
        summary = publish_snapshot(con, cfg.paths.analytics)
    with open_warehouse(cfg.paths.warehouse) as con:
        rows = con.execute(
            "select coalesce(sum(estimated_size), 0) from duckdb_tables() "
            "where schema_name = 'marts'"
        ).fetchall()[0][0]
    step = StepResult(
        "publish",
        f"{summary.tables} tables -> {summary.path}",
        rows=int(rows),
        seconds=time.perf_counter() - started,
        outputs={"path": str(summary.path)},
    )
    log.info(step.line())
    return step


def report(cfg: Config, week: str | None = None) -> StepResult:
    from reports.weekly import build_report

    started = time.perf_counter()
    out = build_report(cfg.paths.analytics, cfg.paths.reports, week)
    step = StepResult(
        "report",
        f"{out.week} -> {out.path}",
        rows=out.rows,
        seconds=time.perf_counter() - started,
        outputs={"path": str(out.path)},
    )
    log.info(step.line())
    return step


def _after_extract(
    cfg: Config, run_date: date, extracted: StepResult, progress: Progress | None, with_report: bool
) -> list[StepResult]:
    steps = [extracted]
    for name, fn in (
        ("load", lambda: load(cfg)),
        ("build", lambda: build(cfg)),
        ("check", lambda: check(cfg, run_date)),
        ("publish", lambda: publish(cfg)),
    ):
        if progress:
            progress(name)
        steps.append(fn())
    if with_report:
        if progress:
            progress("report")
        steps.append(report(cfg))
    return steps


def run_night(
    cfg: Config,
    run_date: date,
    run_id: str | None = None,
    progress: Progress | None = None,
    with_report: bool = True,
) -> list[StepResult]:
    """The whole night for `run_date`: extract (with lookback) -> load -> build -> check -> publish -> report."""
    run_id = run_id or new_run_id()
    windows = {p: night_window(cfg, p, run_date) for p, _ in cfg.iter_sources()}
    extracted = extract(cfg, windows, run_id, progress)
    return _after_extract(cfg, run_date, extracted, progress, with_report)


def backfill(
    cfg: Config,
    start: date,
    end: date,
    run_id: str | None = None,
    progress: Progress | None = None,
    with_report: bool = True,
) -> list[StepResult]:
    """Extract [start, end] for every account, then one load/build/check/publish."""
    if end < start:
        raise ContentpulseError(f"backfill: --end {end} is before --start {start}")
    run_id = run_id or new_run_id("backfill")
    windows = {p: Window(start, end) for p, _ in cfg.iter_sources()}
    extracted = extract(cfg, windows, run_id, progress)
    return _after_extract(cfg, end, extracted, progress, with_report)
