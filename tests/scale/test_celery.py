"""The nightly DAG on a real Celery deployment: Redis and a private PostgreSQL (the metadata
database and the Celery result backend) on 127.0.0.1, the API server, the scheduler, the DAG
processor and two Celery workers (concurrency 2), driven by `airflow backfill create`,
compared with LocalExecutor `airflow dags test` runs of the same intervals against the same
sandbox.

One stack serves the module (starting it takes ~40 s); the tests run in order: the backfill,
then its last night again with the scheduler SIGKILLed mid-run. Per-phase wall times are
printed (`pytest -s`).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from contentpulse.config import load_config
from contentpulse.warehouse import connect
from sandbox import ChannelSpec, Portfolio, Sandbox
from tests.conftest import CLOCK, END
from tests.marts import mart_checksums
from tests.scale.airflow_stack import AirflowStack, dags_test, prepare_home
from tests.servers import Postgres

pytestmark = [pytest.mark.scale, pytest.mark.airflow]

# two consecutive nightly intervals: 2026-11-16 03:00 -> 11-17 03:00 -> 11-18 03:00;
# the backfill names them by logical date (the interval's start), `airflow dags test` by its end
FROM, TO = "2026-11-16T03:00:00+00:00", "2026-11-17T03:00:00+00:00"
DAGS_TEST_DATES = [f"2026-11-{d}T03:00:00+00:00" for d in (17, 18)]
# four channels and four extract slots: four extract tasks at once, more than one worker's 2
CHANNELS = 4
TIMEOUT = 900  # per backfill: generous, for a machine shared with other test runs
# the keys no mart may hold twice
KEYS = {
    "posts": "platform, account_id, item_id",
    "post_daily": "platform, account_id, item_id, date",
    "account_daily": "platform, account_id, date",
}


def portfolio() -> Portfolio:
    return Portfolio(
        [
            ChannelSpec("Alpha News", 8, "America/New_York"),
            ChannelSpec("Beta キッチン", 8, "Asia/Tokyo", 0.5),
            ChannelSpec("Gamma Sport", 8, "Europe/Berlin", 2.0),
            ChannelSpec("Delta Docs", 8, "UTC", 0.8),
        ][:CHANNELS],
        start=END - timedelta(days=40),
        end=END,
    )


class Reference(threading.Thread):
    """The same intervals under LocalExecutor (`airflow dags test`, one after another) in a
    separate AIRFLOW_HOME, run in the background while the Celery stack works."""

    def __init__(self, home, sandbox: Sandbox):
        super().__init__(daemon=True)
        self.home, self.sandbox = home, sandbox
        self.marts: dict | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.start()

    def run(self) -> None:
        started = time.monotonic()
        try:
            env, config = prepare_home(self.home, self.sandbox, youtube_pool_slots=CHANNELS)
            for logical_date in DAGS_TEST_DATES:
                dags_test(env, logical_date)
            self.marts = mart_checksums(load_config(config).paths.analytics)
        except BaseException as exc:  # reported by result()
            self.error = exc
        self.seconds = time.monotonic() - started

    def result(self) -> dict:
        self.join(timeout=TIMEOUT)
        assert not self.is_alive(), "the LocalExecutor reference runs did not finish"
        if self.error:
            raise self.error
        assert self.marts
        return self.marts


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    times: dict[str, float] = {}
    started = time.monotonic()
    with Sandbox(portfolio(), clock=CLOCK) as sandbox:
        reference = Reference(tmp_path_factory.mktemp("local_home"), sandbox)
        try:
            with (
                Postgres() as postgres,
                AirflowStack(
                    tmp_path_factory.mktemp("celery_home"),
                    sandbox,
                    postgres,
                    youtube_pool_slots=CHANNELS,
                ) as stack,
            ):
                stack.start_all()
                times["stack up (PostgreSQL, migrate, pools, 6 processes, DAG parsed)"] = (
                    time.monotonic() - started
                )
                yield stack, reference, times
        finally:
            reference.join(timeout=TIMEOUT)
    times["reference: 3 x airflow dags test (background)"] = reference.seconds
    print("\nCelery scale test, wall time per phase:")
    for phase, seconds in times.items():
        print(f"  {phase}: {seconds:.0f} s")


def _phase(times: dict, name: str, started: float) -> None:
    times[name] = time.monotonic() - started


def _analytics(stack: AirflowStack):
    return load_config(stack.config).paths.analytics


def test_a_backfill_on_two_celery_workers_equals_the_local_executor_run(cluster):
    stack, reference, times = cluster
    started = time.monotonic()
    backfill = stack.backfill(FROM, TO, max_active_runs=1)
    runs = stack.wait_backfill(backfill, TIMEOUT)
    _phase(times, "backfill of 2 intervals (Celery)", started)
    assert [r[1] for r in runs] == ["2026-11-16", "2026-11-17"]
    # every extract task ran once, and the workers shared them
    executed = stack.executed("extract_youtube")
    print(f"\nextract tasks per worker: { {w: len(t) for w, t in executed.items()} }")
    everything = [t for tasks in executed.values() for t in tasks]
    assert len(everything) == len(set(everything)) == 2 * CHANNELS, executed
    assert all(executed.values()), f"a worker ran no extract task: {executed}"
    # the steps that write the warehouse ran on the worker of its queue, and only there
    for step in ("load", "build", "check", "publish"):
        ran = stack.executed(step)
        assert len(ran[stack.workers[0]]) == 2 and not ran[stack.workers[1]], (step, ran)
    started = time.monotonic()
    expected = reference.result()
    _phase(times, "waiting for the reference after the backfill", started)
    assert mart_checksums(_analytics(stack)) == expected


def test_the_last_night_again_with_the_scheduler_killed_changes_no_mart(cluster):
    """`airflow backfill create --reprocess-behavior completed` of the last interval: the
    scheduler is SIGKILLed while an extract task runs, a new one takes over, and the marts
    are those of the clean runs: nothing lost, nothing twice."""
    stack, reference, times = cluster
    expected = reference.result()
    started = time.monotonic()
    backfill = stack.backfill(TO, TO, reprocess="completed", max_active_runs=1)
    stack.wait_for(
        lambda: stack.running("extract_youtube"), TIMEOUT, "an extract task of the rerun to run"
    )
    stack.kill("scheduler")  # SIGKILL to the scheduler's process group
    killed_at = time.monotonic()
    stack.start_scheduler()
    runs = stack.wait_backfill(backfill, TIMEOUT)
    _phase(times, "the last night again, scheduler killed and restarted", started)
    times["  of which after the kill"] = time.monotonic() - killed_at
    assert [r[1] for r in runs] == ["2026-11-17"]
    assert mart_checksums(_analytics(stack)) == expected
    with connect(_analytics(stack), read_only=True) as con:
        for table, key in KEYS.items():
            dupes = con.sql(
                f"select count(*) - count(distinct ({key})) from marts.{table}"
            ).fetchall()[0][0]
            assert dupes == 0, f"marts.{table} holds {dupes} duplicate keys"
