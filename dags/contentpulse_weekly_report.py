"""
### contentpulse_weekly_report

Mondays at 06:00 UTC: builds the weekly strategy report for the ISO week that just ended,
from the published snapshot only (`analytics.duckdb`), so it never reads a half-built
warehouse. Writes `weekly-<week>.html` and refreshes `index.html` in the reports folder.
Same step as `contentpulse report --week <week>`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable


@dag(
    dag_id="contentpulse_weekly_report",
    schedule=CronTriggerTimetable("0 6 * * 1", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 5, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["contentpulse", "report"],
    default_args={"owner": "data-engineering", "retries": 1, "retry_delay": timedelta(minutes=10)},
)
def contentpulse_weekly_report() -> None:
    @task
    def report() -> str:
        from contentpulse import pipeline
        from contentpulse.config import load_config
        from reports.weekly import week_of

        ended = get_current_context()["logical_date"].date() - timedelta(days=1)
        return pipeline.report(load_config(), week_of(ended)).line()

    report()


contentpulse_weekly_report()
