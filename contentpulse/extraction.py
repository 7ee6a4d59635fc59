"""One platform's extraction: its accounts' units of work, run in parallel and landed one by one.

Units: each account's metadata (the connector's `extract_items`), then each window chunk
it plans (`plan_chunks`), split into the units `metric_units` gives (`extract_metrics`).
What a unit returns is landed as soon as it finishes, so a stopped run keeps it. With
`resume`, chunks already landed are skipped (connectors that resume from their landed state
instead say so: `Hooks.resume_by_window`). The connector never touches the landing: this
module reads the landed columns its `LandedState` names and hands them over.

The first throttling or quota answer (or a spent budget) stops the run: the throttle every
request passes through refuses to send another, so units in flight end at their next
request and no new unit starts. A SIGTERM or SIGINT in the waiting thread does the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connectors.quota import QuotaStop, RateLimiter, Throttle
from contentpulse.credentials import get_connection
from contentpulse.errors import ContentpulseError, CredentialsError
from contentpulse.registry import connector as registered
from contentpulse.streams import Window

if TYPE_CHECKING:
    from contentpulse.config import Config
    from contentpulse.pipeline import Progress, StepResult

log = logging.getLogger("contentpulse")


def _covered(chunk: Window, done: list[Window]) -> bool:
    return any(d.start <= chunk.start and chunk.end <= d.end for d in done)


class SourceRun:
    """The extraction of one platform's accounts over one window, as one run."""

    def __init__(
        self,
        cfg: Config,
        platform: str,
        account_ids: list[str],
        window: Window,
        run_id: str,
        step: StepResult,
        progress: Progress | None = None,
    ) -> None:
        from transforms.landing import landing_store

        self.store = landing_store(cfg)  # a missing bucket or refused credentials stop here
        self.platform, self.window, self.run_id, self.step = platform, window, run_id, step
        self.progress = progress
        self.connector = registered(platform)
        self.hooks = self.connector.hooks
        self.source = dict(cfg.iter_sources())[platform]
        self.accounts = {a: cfg.account(platform, a) for a in account_ids}
        self.throttle = Throttle(
            self.hooks.budget(self.source), RateLimiter(self.source.max_calls_per_second)
        )
        self.lock = threading.Lock()
        self.stop_line: list[int] = []  # where the run's stop is in step.errors, once
        self.todo: dict[str, list[Window]] = {}
        self.units_total = self.units_done = self.quota_units = 0
        # per account, for its run_log record: [units done, units planned, calls, quota units]
        self.spent: dict[str, list[int]] = {}
        self.failures: dict[str, str] = {}
        self.started_at = datetime.now(UTC)

    # -- planning --------------------------------------------------------------------------
    def plan(self, resume: bool) -> None:
        from transforms.landing import completed_windows

        for account_id in self.accounts:
            chunks = self.hooks.plan_chunks(self.window)
            if resume and self.hooks.resume_by_window:
                done = completed_windows(self.store, self.platform, account_id)
                chunks = [c for c in chunks if not _covered(c, done)]
            if chunks:
                self.todo[account_id] = chunks
        self.units_total = len(self.todo) + sum(map(len, self.todo.values()))
        self.spent = {
            a: [0, 1 + len(self.todo[a]) if a in self.todo else 0, 0, 0] for a in self.accounts
        }
        self._tell()

    def landed_state(self, account_id: str) -> Any:
        return landed_state(self.store, self.platform, account_id)

    # -- the units -------------------------------------------------------------------------
    def connection(self, account):
        """The account's credentials, checked for the fields its platform needs (one line
        naming what is missing); None for sources that need none (CSV exports)."""
        if not account.conn_id:
            return None
        conn = get_connection(account.conn_id)
        conn.require(self.platform, self.connector.connection_fields)
        return conn

    def _halting(self, unit: Callable[..., Any], account_id: str, *args: Any) -> Any:
        """A unit that stops the run's requests the moment it stops (in its own thread: the
        worker's next unit is refused, not started)."""
        self.throttle.check(f"{self.platform} {account_id}")
        try:
            return unit(*args)
        except QuotaStop as exc:
            self.throttle.halt(exc)
            raise

    def items_unit(self, account_id: str) -> Any:
        account = self.accounts[account_id]
        return self._halting(
            self.hooks.extract_items,
            account_id,
            account,
            self.window,
            self.source,
            self.connection(account),
            self.run_id,
            self.throttle,
            self.landed_state(account_id),
        )

    def metrics_unit(self, account_id: str, chunk: Window, unit: Any) -> None:
        account = self.accounts[account_id]
        result = self._halting(
            self.hooks.extract_metrics,
            account_id,
            account,
            chunk,
            unit,
            self.source,
            self.connection(account),
            self.run_id,
            self.throttle,
        )
        self.land(result)

    # -- what each unit leaves -----------------------------------------------------------
    def land(self, result) -> None:
        from transforms.landing import write_result

        write_result(self.store, result, self.run_id)
        with self.lock:
            self.units_done += 1
            self.quota_units += result.calls.units
            self.step.rows += result.rows
            self.step.calls += result.calls.calls
            mine = self.spent.setdefault(result.account_id, [0, 0, 0, 0])
            mine[0] += 1
            mine[2] += result.calls.calls
            mine[3] += result.calls.units
        self._tell()

    def fail(self, account_id: str, exc: ContentpulseError) -> None:
        message = str(exc)
        if isinstance(exc, CredentialsError) and account_id not in message:
            # the connection may serve several accounts: say whose credentials failed
            message = f"{self.platform} {account_id}: {message}"
        with self.lock:
            if isinstance(exc, QuotaStop):
                self.throttle.halt(exc)
                message = str(self.throttle.stopped or exc)  # as the platform first answered
            self.failures.setdefault(account_id, message)
            # a credentials error needs a fix (a rerun alone will not do), any other may pass
            code = 2 if isinstance(exc, CredentialsError) else 1
            self.step.exit_code = max(self.step.exit_code, code)
            if isinstance(exc, QuotaStop):
                if self.stop_line:
                    return  # the stop is reported once
                self.stop_line.append(len(self.step.errors))
            self.step.errors.append(message)
        log.info("extract: %s", message)  # printed once, as the step's error, by the caller

    def _tell(self) -> None:
        if self.progress:
            self.progress(f"extract {self.platform}: {self.units_done}/{self.units_total} units")

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> None:
        # Under a per-run budget, parallel units would split it and none might finish: run
        # them one at a time so that only the last unit of a run can be cut short.
        budgeted = any(limit is not None for limit in self.throttle.budget.limits.values())
        workers = 1 if budgeted else self.source.concurrency
        with _units(workers, f"extract-{self.platform}", self.throttle) as pool:
            items = {pool.submit(self.items_unit, a): a for a in self.todo}
            metrics: dict[Future, str] = {}
            for future in as_completed(items):
                metrics.update(self._after_items(pool, items[future], future))
            for future in as_completed(metrics):
                try:
                    future.result()
                except ContentpulseError as exc:
                    self.fail(metrics[future], exc)

    def _after_items(self, pool: ThreadPoolExecutor, account_id: str, future: Future) -> dict:
        """Land an account's metadata and submit its metric units."""
        try:
            result, items = future.result()
        except ContentpulseError as exc:
            self.fail(account_id, exc)
            return {}
        self.land(result)
        submitted = {}
        for chunk in self.todo[account_id]:
            parts = self.hooks.metric_units(chunk, items)
            with self.lock:
                self.units_total += len(parts) - 1
                self.spent[account_id][1] += len(parts) - 1
            for part in parts:
                submitted[pool.submit(self.metrics_unit, account_id, chunk, part)] = account_id
        return submitted

    def finish(self) -> None:
        """The run's record per account (what `contentpulse status` reads) and its line."""
        from transforms.status import RunRecord, write_run_record

        stopped = self.throttle.stopped is not None
        finished_at = datetime.now(UTC)
        for account_id, (done, total, calls, units) in self.spent.items():
            error = self.failures.get(account_id)
            if error is None and done < total and stopped:
                # an account whose units a quota stop left unread did not finish
                error = next(iter(self.failures.values()), "stopped before all its units ran")
            record = RunRecord(
                self.run_id,
                self.started_at,
                finished_at,
                self.window,
                error,
                calls,
                units,
                done,
                total,
            )
            write_run_record(self.store, self.platform, account_id, record)
        left = self.units_total - self.units_done
        self.step.detail = (
            f"{self.platform} {len(self.accounts)} accounts, "
            f"{self.units_done}/{self.units_total} units {self.window}"
        )
        if left and self.stop_line:
            self.step.errors[self.stop_line[0]] += (
                f" ({left} of {self.units_total} units left for the next run)"
            )
        self.step.outputs["quota_units"] = str(self.quota_units)


def landed_state(store: Any, platform: str, account_id: str) -> Any:
    """What earlier runs landed for an account, as its connector reads it (the columns its
    LandedState names; None when the connector keeps no state)."""
    from transforms.landing import read_landed

    spec = registered(platform).hooks.landed_state
    if spec is None:
        return None
    return spec.read(
        {
            stream: read_landed(store, platform, stream, account_id, list(columns))
            for stream, columns in spec.columns.items()
        }
    )


@contextmanager
def _units(workers: int, name: str, throttle: Throttle) -> Iterator[ThreadPoolExecutor]:
    """The pool of a source's units. On an exception in the waiting thread (SIGINT, SIGTERM)
    the units not started are cancelled, and those running send no further request (the
    throttle's stop: they end at their next call, keeping what they landed), then it goes
    on."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        yield pool
    except BaseException as exc:
        throttle.halt(QuotaStop(f"stopped ({type(exc).__name__})"))
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
