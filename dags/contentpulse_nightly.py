"""
### contentpulse_nightly

Every night at 03:00 UTC, for the data interval that just closed:

1. **accounts_&lt;platform&gt;**: reads `contentpulse.yml` (`$CONTENTPULSE_CONFIG`) and
   lists the platform's accounts (none: its extract task is skipped);
2. **extract_&lt;platform&gt;**: one mapped task per account, named by the account in the UI
   (`map_index_template`), in the platform's pool (`contentpulse_<platform>`, sized from the
   source's config: `contentpulse pools`), each writing only its own landing files for the
   interval's reporting date plus the source's lookback; each emits the `contentpulse_landing`
   Asset;
3. **load** -> **build** -> **check** -> **publish**: the single writer of the warehouse (pool
   `contentpulse_warehouse`, one slot, plus a lock file; under Celery, the queue named by
   `$CONTENTPULSE_WAREHOUSE_QUEUE`, which only the warehouse machine's worker consumes), the models, the Great Expectations
   suites, and the atomic swap of `analytics.duckdb`, which emits the
   `contentpulse_published` Asset. A critical failure of some sources' rows alone fails
   **check** (no retry: the data would fail again) and alerts, and **publish** still runs:
   the other sources publish, the failed ones keep their last published rows, marked stale
   in `meta.source_status`. Any other critical failure blocks the publish (skipped).

A failed account does not hold the others back: load runs once every extract has finished,
whatever their state, and the night publishes what arrived; the run is still marked failed,
the failure callback alerts the on-call channel with the account and the cause, and the
report's data-quality notes name the stale source. Retries (with exponential backoff) come
from Airflow's `[core] default_task_retries` / `default_task_retry_delay`. A run not
published 6 hours after it started times out (`dagrun_timeout`), and its failure callback
tells the on-call channel. (Airflow 3.3's experimental DeadlineAlert breaks
`airflow dags test`, so the deadline is the run timeout.)

**Backfill from the UI**: *Trigger* with **Backfill from** and **Backfill to** set reads that
range of reporting dates for every account (in month chunks; chunks an earlier backfill
landed are skipped), then loads, builds, checks and publishes: `contentpulse backfill
--start --end`. Left empty, a manual run is the night of its data interval.

Every step is a function in `contentpulse.pipeline` and also runs as `contentpulse <step>`.
Credentials come from the Airflow connection named by each account's `conn_id`
(docs/configuration.md lists each platform's fields).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from contentpulse.pools import pool_name, warehouse_task_args
from contentpulse.registry import platforms

LANDING = Asset(name="contentpulse_landing", uri="file:///contentpulse/landing")
PUBLISHED = Asset(name="contentpulse_published", uri="file:///contentpulse/analytics.duckdb")
WAREHOUSE = warehouse_task_args()  # pool (and queue) of the steps that write the warehouse
DEADLINE = timedelta(hours=6)  # started -> published, or the run fails and the on-call hears


def _config():
    from contentpulse.config import load_config

    return load_config()


def _backfill():
    """The range a manual trigger asked for (the form's two dates), or None for a night."""
    from contentpulse.pipeline import backfill_range

    params = get_current_context()["params"]
    return backfill_range(params.get("backfill_start"), params.get("backfill_end"))


def _run_date():
    """The interval's reporting date: the day the data interval starts on (UTC); for a
    backfill, its last date."""
    requested = _backfill()
    return requested.end if requested else get_current_context()["data_interval_start"].date()


def _failed(context) -> None:
    from contentpulse.alerts import task_failed

    task_failed(context)


def _run_failed(context) -> None:
    from contentpulse.alerts import run_failed

    run_failed(context)


@dag(
    dag_id="contentpulse_nightly",
    schedule=CronDataIntervalTimetable("0 3 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["contentpulse", "nightly"],
    dagrun_timeout=DEADLINE,
    on_failure_callback=_run_failed,
    params={
        "backfill_start": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Backfill from",
            description="First reporting date to read for every account (with Backfill to). "
            "Empty: the night of the run's data interval.",
        ),
        "backfill_end": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Backfill to",
            description="Last reporting date to read (inclusive).",
        ),
    },
    default_args={
        "owner": "data-engineering",
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": _failed,
    },
)
def contentpulse_nightly() -> None:
    @task(execution_timeout=timedelta(minutes=5))
    def accounts(platform: str) -> list[dict[str, str]]:
        return [
            {"platform": p, "account_id": account.id, "name": account.display_name}
            for p, account in _config().accounts()
            if p == platform
        ]

    @task(
        outlets=[LANDING],
        execution_timeout=timedelta(hours=2),
        map_index_template="{{ task.op_kwargs['account']['platform'] }} "
        "{{ task.op_kwargs['account']['name'] }} ({{ task.op_kwargs['account']['account_id'] }})",
    )
    def extract(account: dict[str, str]) -> dict[str, str]:
        from contentpulse import pipeline

        cfg = _config()
        requested = _backfill()
        window = requested or pipeline.night_window(cfg, account["platform"], _run_date())
        run_id = get_current_context()["run_id"]
        step = pipeline.extract_account(
            cfg,
            account["platform"],
            account["account_id"],
            window,
            run_id,
            resume=requested is not None,
        )
        return {"summary": step.line(), **step.outputs}

    @task(**WAREHOUSE, trigger_rule="all_done", execution_timeout=timedelta(hours=1))
    def load() -> str:
        from contentpulse import pipeline

        return pipeline.load(_config()).line()

    @task(**WAREHOUSE, execution_timeout=timedelta(hours=2))
    def build() -> str:
        from contentpulse import pipeline

        return pipeline.build(_config()).line()

    @task(**WAREHOUSE, execution_timeout=timedelta(hours=1))
    def check() -> str:
        from airflow.sdk.exceptions import AirflowFailException

        from contentpulse import pipeline

        step = pipeline.check(_config(), _run_date())
        if step.errors:  # sources held back: alert and fail the run, no retry; publish runs
            raise AirflowFailException("; ".join(step.errors))
        return step.line()

    # after check, passed or failed (a check that held sources back publishes the others); not
    # after a failed build, whose check never ran
    @task(
        **WAREHOUSE,
        outlets=[PUBLISHED],
        trigger_rule="one_done",
        execution_timeout=timedelta(minutes=30),
    )
    def publish() -> str:
        from airflow.sdk.exceptions import AirflowSkipException

        from contentpulse import pipeline
        from contentpulse.errors import NothingToPublish

        try:
            return pipeline.publish(_config()).line()
        except NothingToPublish as exc:  # the check blocked it and said so: no second alert
            raise AirflowSkipException(str(exc)) from None

    extracts = [
        extract.override(task_id=f"extract_{platform}", pool=pool_name(platform)).expand(
            account=accounts.override(task_id=f"accounts_{platform}")(platform)
        )
        for platform in platforms()
    ]
    extracts >> load() >> build() >> check() >> publish()


contentpulse_nightly()
