"""
### contentpulse_weekly_report

Builds the weekly strategy report from the published snapshot only (`analytics.duckdb`), so
it never reads a half-built warehouse. Two triggers:

- **Mondays at 06:00 UTC**: the report of the ISO week that just ended;
- **each update of the `contentpulse_published` Asset** (every published night): the report
  of the newest complete week is rebuilt, so late and restated numbers reach it.

Writes `weekly-<week>.html` and refreshes `index.html` in the reports folder. Same step as
`contentpulse report --week <week>`. A failure alerts the on-call channel (`alerts:` in
contentpulse.yml).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable

PUBLISHED = Asset(name="contentpulse_published", uri="file:///contentpulse/analytics.duckdb")


def _failed(context) -> None:
    from contentpulse.alerts import task_failed

    task_failed(context)


@dag(
    dag_id="contentpulse_weekly_report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * 1", timezone="UTC"), assets=[PUBLISHED]
    ),
    start_date=pendulum.datetime(2026, 1, 5, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["contentpulse", "report"],
    default_args={"owner": "data-engineering", "on_failure_callback": _failed},
)
def contentpulse_weekly_report() -> None:
    @task(execution_timeout=timedelta(minutes=30))
    def report() -> str:
        from contentpulse import pipeline
        from contentpulse.config import load_config
        from reports.weekly import week_of

        context = get_current_context()
        logical = context.get("logical_date")
        triggered_by_asset = bool(context.get("triggering_asset_events")) or logical is None
        # Monday's run: the week that ended yesterday; a publish: the newest complete week
        week = None if triggered_by_asset else week_of(logical.date() - timedelta(days=1))
        return pipeline.report(load_config(), week).line()

    report()


contentpulse_weekly_report()
