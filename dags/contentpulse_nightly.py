"""
### contentpulse_nightly

Every night at 03:00 UTC, for the data interval that just closed:

1. **accounts**: reads `contentpulse.yml` (`$CONTENTPULSE_CONFIG`) and lists every account;
2. **extract**: one mapped task per (platform, account), each writing only its own landing
   files for the interval's reporting date plus the source's lookback;
3. **load** -> **build** -> **check** -> **publish**: the single writer of the warehouse,
   the models, the Great Expectations suites (a critical failure stops here), and the
   atomic swap of `analytics.duckdb`, which emits the `contentpulse_published` Asset.

Every step is a function in `contentpulse.pipeline` and also runs as `contentpulse <step>`.
Credentials come from the Airflow connection named by each account's `conn_id`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

PUBLISHED = Asset(name="contentpulse_published", uri="file:///contentpulse/analytics.duckdb")


def _config():
    from contentpulse.config import load_config

    return load_config()


def _run_date():
    """The interval's reporting date: the day the data interval starts on (UTC)."""
    return get_current_context()["data_interval_start"].date()


@dag(
    dag_id="contentpulse_nightly",
    schedule=CronDataIntervalTimetable("0 3 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["contentpulse"],
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=2),
    },
)
def contentpulse_nightly() -> None:
    @task
    def accounts() -> list[dict[str, str]]:
        return [{"platform": p, "account_id": a.id} for p, a in _config().accounts()]

    @task(max_active_tis_per_dag=4)
    def extract(account: dict[str, str]) -> dict[str, str]:
        from contentpulse import pipeline

        cfg = _config()
        window = pipeline.night_window(cfg, account["platform"], _run_date())
        run_id = get_current_context()["run_id"]
        step = pipeline.extract_account(
            cfg, account["platform"], account["account_id"], window, run_id
        )
        return {"summary": step.line(), **step.outputs}

    @task
    def load() -> str:
        from contentpulse import pipeline

        return pipeline.load(_config()).line()

    @task
    def build() -> str:
        from contentpulse import pipeline

        return pipeline.build(_config()).line()

    @task
    def check() -> str:
        from contentpulse import pipeline

        return pipeline.check(_config(), _run_date()).line()

    @task(outlets=[PUBLISHED])
    def publish() -> str:
        from contentpulse import pipeline

        return pipeline.publish(_config()).line()

    extract.expand(account=accounts()) >> load() >> build() >> check() >> publish()


contentpulse_nightly()
