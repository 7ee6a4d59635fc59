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
from typing import TypeVar

from contentpulse.config import Config
from contentpulse.errors import ContentpulseError
from contentpulse.streams import Window

log = logging.getLogger("contentpulse")
T = TypeVar("T")
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
    # with errors: 1 (some accounts failed; the next run may succeed), 2 (a credentials or
    # setup error that needs a fix), as the CLI exits
    exit_code: int = 0

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


def backfill_range(start: object, end: object) -> Window | None:
    """The range of a manual backfill (the nightly DAG's trigger form, as ISO dates), or
    None when neither is given; anything else is one line naming what is wrong."""
    if start in (None, "") and end in (None, ""):
        return None
    if start in (None, "") or end in (None, ""):
        raise ContentpulseError("backfill: give both Backfill from and Backfill to, or neither")
    try:
        first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    except ValueError:
        raise ContentpulseError(
            f"backfill: not a date (YYYY-MM-DD): {start!r} or {end!r}"
        ) from None
    if last < first:
        raise ContentpulseError(f"backfill: the end {last} is before the start {first}")
    if last > datetime.now(UTC).date():
        raise ContentpulseError(f"backfill: the end {last} is in the future")
    return Window(first, last)


def extract_source(
    cfg: Config,
    platform: str,
    account_ids: list[str],
    window: Window,
    run_id: str,
    resume: bool = False,
    progress: Progress | None = None,
) -> StepResult:
    """Extract accounts of one platform in parallel units, landing each unit as it finishes
    (contentpulse/extraction.py). With `resume`, what earlier runs landed is skipped, so an
    interrupted backfill picks up where it stopped; the first throttling or quota answer
    stops the run's requests."""
    from contentpulse.extraction import SourceRun

    started = time.perf_counter()
    step = StepResult("extract")
    run = SourceRun(cfg, platform, account_ids, window, run_id, step, progress)
    run.plan(resume)
    run.run()
    run.finish()
    step.seconds = time.perf_counter() - started
    log.info(step.line())
    return step


def extract_account(
    cfg: Config, platform: str, account_id: str, window: Window, run_id: str, resume: bool = False
) -> StepResult:
    """One account's extraction (an Airflow mapped task); a failure raises its one line."""
    step = extract_source(cfg, platform, [account_id], window, run_id, resume)
    if step.errors:
        raise ContentpulseError(step.errors[0])
    return step


def extract(
    cfg: Config,
    windows: dict[str, Window],
    run_id: str,
    progress: Progress | None = None,
    resume: bool = False,
) -> StepResult:
    """Extract every configured account; a failing account is reported, the others still land."""
    started = time.perf_counter()
    total = StepResult(step="extract")
    for platform, source in cfg.iter_sources():
        one = extract_source(
            cfg,
            platform,
            [a.id for a in source.accounts],
            windows[platform],
            run_id,
            resume,
            progress,
        )
        total.rows += one.rows
        total.calls += one.calls
        total.errors += one.errors
        total.exit_code = max(total.exit_code, one.exit_code)
        total.outputs[f"{platform}_quota_units"] = one.outputs.get("quota_units", "0")
        total.detail = one.detail if not total.detail else f"{total.detail}; {one.detail}"
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


def build(cfg: Config, full: bool = False) -> StepResult:
    from contentpulse.warehouse import open_warehouse
    from models.runner import BuildContext
    from models.runner import build as build_models
    from transforms.identity import check_registry, warehouse_families

    started = time.perf_counter()
    check_registry(cfg)  # a bad registry stops the build before it starts
    with open_warehouse(cfg.paths.warehouse) as con:
        summary = build_models(
            con, full=full, context=BuildContext(config=cfg, identity=warehouse_families)
        )
    scope = (
        "full rebuild"
        if summary.mode == "full"
        else f"incremental from {summary.since}"
        if summary.since
        else "incremental, no new days"
    )
    step = StepResult(
        "build",
        f"{summary.models} models, {scope}",
        rows=sum(summary.rows.values()),
        seconds=time.perf_counter() - started,
        outputs={"build_id": summary.build_id, "slowest": summary.slowest()},
    )
    log.info(step.line())
    log.info("build: slowest models: %s", step.outputs["slowest"])
    return step


def check(cfg: Config, run_date: date, since: date | None = None) -> StepResult:
    """The GX checks of the latest build; Data Docs go to <reports>/quality/.

    `since`: validate the rows of incremental models from that date; by default, the rows
    the builds since the last passed check replaced (every row before any check passed).
    A critical failure that is some sources' alone holds those sources back: one error line
    each, and publish keeps their last published rows (exit 1, like a failed account); any
    other critical failure raises CheckFailed (publish is blocked).
    """
    from contentpulse.warehouse import open_warehouse
    from transforms.checks import rows_changed_since, run_checks

    started = time.perf_counter()
    with open_warehouse(cfg.paths.warehouse) as con:
        if since is None:
            since = rows_changed_since(con)
        summary = run_checks(con, run_date, since, docs_dir=cfg.paths.reports / "quality")
    warnings = len(summary.warnings)
    detail = f"{len(summary.results)} expectations on {len(summary.row_counts)} tables passed"
    if summary.held_back:
        detail = (
            f"{len(summary.results)} expectations on {len(summary.row_counts)} tables: "
            f"{', '.join(summary.held_back)} held back, the other sources passed"
        )
    if warnings:
        detail += f", {warnings} warning{'s' if warnings > 1 else ''} (see {summary.docs})"
    step = StepResult(
        "check",
        detail,
        rows=sum(summary.row_counts.values()),
        seconds=time.perf_counter() - started,
        outputs={"check_id": summary.check_id, "docs": str(summary.docs)},
        errors=[f"check: {summary.held_back_line(p)}" for p in summary.held_back],
    )
    log.info(step.line())
    return step


def publish(cfg: Config) -> StepResult:
    from contentpulse.warehouse import open_warehouse
    from transforms.publish import publish as publish_snapshot

    started = time.perf_counter()
    with open_warehouse(cfg.paths.warehouse) as con:
        summary = publish_snapshot(con, cfg.paths.analytics)
        rows = _mart_rows(con)
    stale = f" ({', '.join(summary.held_back)} kept as last published)" if summary.held_back else ""
    step = StepResult(
        "publish",
        f"{summary.tables} tables -> {summary.path}{stale}",
        rows=int(rows),
        seconds=time.perf_counter() - started,
        outputs={"path": str(summary.path)},
    )
    log.info(step.line())
    return step


def _mart_rows(con) -> int:
    """The rows of the warehouse's marts (a DuckLake's estimated size counts the rows its
    data files hold, deleted ones too: those are counted)."""
    tables = con.execute(
        "select table_name from duckdb_tables() "
        "where database_name = current_database() and schema_name = 'marts'"
    ).fetchall()
    if not tables:
        return 0
    counts = " + ".join(f'(select count(*) from marts."{t}")' for (t,) in tables)
    return con.execute(f"select {counts}").fetchall()[0][0]


def week_of(day: date) -> str:
    """The ISO week of a day, as `report --week` takes it (2026-W47)."""
    from reports.weekly import week_of as of

    return of(day)


def report(cfg: Config, week: str | None = None) -> StepResult:
    from reports.weekly import build_report

    started = time.perf_counter()
    out = build_report(cfg.paths.analytics, cfg.paths.reports, week)
    step = StepResult(
        "report",
        f"{out.week} -> {out.path}",
        rows=out.rows,
        seconds=time.perf_counter() - started,
        outputs={"path": str(out.path), "week": out.week},
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
    resume: bool = True,
) -> list[StepResult]:
    """Extract [start, end] for every account, then one load/build/check/publish."""
    if end < start:
        raise ContentpulseError(f"backfill: --end {end} is before --start {start}")
    run_id = run_id or new_run_id("backfill")
    windows = {p: Window(start, end) for p, _ in cfg.iter_sources()}
    extracted = extract(cfg, windows, run_id, progress, resume=resume)
    return _after_extract(cfg, end, extracted, progress, with_report)


def landing_check(cfg: Config) -> StepResult:
    """Read every landing file whole; each that no longer parses is one error line."""
    from transforms.landing import landing_store

    started = time.perf_counter()
    files, bad = landing_store(cfg).unreadable()
    step = StepResult(
        "landing check",
        f"{files:,} landing files read, {len(bad)} unreadable",
        seconds=time.perf_counter() - started,
        errors=[
            f"landing file {rel} is unreadable ({why}): `contentpulse landing redo {rel}` "
            "sets it aside and re-extracts its window"
            for rel, why in bad
        ],
    )
    log.info(step.line())
    return step


def landing_redo(cfg: Config, names: list[str], progress: Progress | None = None) -> StepResult:
    """Set landing files that no longer parse aside (to `<landing>/unreadable/`) and extract
    their accounts' windows again, as a new run: the next load takes its files.

    What a loaded file held is still in the warehouse. The commit marks (extract_log) of the
    same run and window go aside too, so that the window counts as not landed: a CSV export
    lands again although its content hash had landed. Lifetime counters (Instagram,
    Facebook, TikTok) cannot be read for the past: their window is read as it is now."""
    from transforms.landing import ASIDE, landing_store

    started = time.perf_counter()
    store = landing_store(cfg)
    try:
        files = [store.landing_file(name) for name in names]
        units = dict.fromkeys((f.source, _account_of(cfg, f), f.window) for f in files)
    except ContentpulseError as exc:  # all checked before anything moves
        raise ContentpulseError(f"landing redo: {exc}") from None
    _, bad = store.unreadable([f.rel for f in files])
    fine = sorted({f.rel for f in files} - {rel for rel, _ in bad})
    if fine:
        raise ContentpulseError(
            f"landing redo: {fine[0]} reads fine, nothing to redo (a night re-reads its "
            "lookback; `backfill --no-resume` re-reads a range)"
        )
    for file in files:
        for mark in store.commit_marks(file):
            store.set_aside(mark)
        store.set_aside(file.rel)
        log.warning("landing redo: %s set aside under %s/", file.rel, ASIDE)
    run_id = new_run_id("redo")
    step = StepResult("landing redo", f"{len(files)} files set aside")
    for platform, account_id, window in units:
        one = extract_source(cfg, platform, [account_id], window, run_id, progress=progress)
        step.rows += one.rows
        step.calls += one.calls
        step.errors += one.errors
        step.detail += f"; {one.detail}"
    step.seconds = time.perf_counter() - started
    log.info(step.line())
    return step


def _account_of(cfg: Config, file) -> str:
    """The configured account whose files land in `file`'s account folder."""
    from transforms.landing import account_folder

    source = dict(cfg.iter_sources()).get(file.source)
    for account in source.accounts if source else []:
        if account_folder(account.id) == file.account_id:
            return account.id
    raise ContentpulseError(
        f"{file.rel}: no {file.source} account {file.account_id!r} in the config"
    )


def status(cfg: Config, today: date | None = None) -> list:
    """Each configured account's state (`contentpulse status`), from the landing and the
    published snapshot: no warehouse lock, so it answers while a night runs."""
    from transforms.landing import landing_store
    from transforms.status import account_status, estimated_shares

    store = landing_store(cfg)
    shares = estimated_shares(cfg.paths.analytics)
    by_account = {account_id: share for (_, account_id), share in shares.items()}
    night = (today or datetime.now(UTC).date()) - timedelta(days=1)

    def next_reads(platform: str, account) -> Window | str:
        if platform == "csv_export":
            return f"new files in its inbox folder {account.id}/"
        return night_window(cfg, platform, night)

    return [
        account_status(
            store,
            platform,
            account.id,
            account.display_name,
            next_reads(platform, account),
            shares.get((platform, account.id), by_account.get(account.id)),
        )
        for platform, account in cfg.accounts()
    ]


def report_and_send(cfg: Config, week: str | None = None, send: bool = False) -> list[StepResult]:
    """`contentpulse report [--send]`: the report, then (with send) its delivery."""
    if send:
        _delivery_configured(cfg)  # before building: a missing `delivery:` is a usage error
    built = report(cfg, week)
    if not send:
        return [built]
    return [built, deliver(cfg, built.outputs["week"])]


def _site(delivery):
    """The report site's store (a folder or an object-store prefix), checked."""
    from transforms.landing import open_store

    return open_store(delivery.site, delivery.site_store, "report site", "delivery.site")


def _delivery_configured(cfg: Config) -> None:
    if not cfg.delivery.configured:
        raise ContentpulseError(
            f"deliver: nothing to deliver to: set delivery.site, delivery.email_to or "
            f"delivery.webhook_conn_id in {cfg.source_file or 'the config'}"
        )


def deliver(cfg: Config, week: str | None = None) -> StepResult:
    """The week's report (built already) to the site, the mail and the chat of `delivery:`."""
    from reports.delivery import deliver as deliver_report
    from reports.weekly import week_summary

    started = time.perf_counter()
    _delivery_configured(cfg)
    summary = week_summary(cfg.paths.analytics, week)
    path = cfg.paths.reports / f"weekly-{summary.week}.html"
    if not path.exists():
        raise ContentpulseError(
            f"deliver: {path} not found (build it first: contentpulse report --week {summary.week})"
        )
    out = deliver_report(
        cfg.delivery, summary, cfg.paths.reports, path, open_site=lambda: _site(cfg.delivery)
    )
    step = StepResult(
        "deliver",
        f"{summary.week}: {', '.join(out.reached) or 'nothing reached'}",
        seconds=time.perf_counter() - started,
        errors=out.errors,
    )
    log.info(step.line())
    return step
