"""
### contentpulse_weekly_report

Builds the weekly strategy report from the published snapshot only (`analytics.duckdb`), so
it never reads a half-built warehouse. Two triggers:

- **Mondays at 06:00 UTC**: the report of the ISO week that just ended;
- **each update of the `contentpulse_published` Asset** (every published night): the report
  of the newest complete week is rebuilt, so late and restated numbers reach it.

Writes `weekly-<week>.html` and refreshes `index.html` in the reports folder (**report**),
then delivers it as `delivery:` in contentpulse.yml says (**deliver**): the static site with
`latest.html`, the mail (headline, decisions, KPIs; the report attached or linked), the
chat message. Same steps as `contentpulse report --week <week> --send`. A failure alerts
the on-call channel (`alerts:` in contentpulse.yml).
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
    def report() -> dict[str, str]:
        from contentpulse import pipeline
        from contentpulse.config import load_config

        context = get_current_context()
        logical = context.get("logical_date")
        triggered_by_asset = bool(context.get("triggering_asset_events")) or logical is None
        # Monday's run: the week that ended yesterday; a publish: the newest complete week
        week = None if triggered_by_asset else pipeline.week_of(logical.date() - timedelta(days=1))
        step = pipeline.report(load_config(), week)
        return {"summary": step.line(), "week": step.outputs["week"]}

    @task(execution_timeout=timedelta(minutes=30))
    def deliver(built: dict[str, str]) -> str:
        from contentpulse import pipeline
        from contentpulse.config import load_config
        from contentpulse.errors import ContentpulseError

        cfg = load_config()
        if not cfg.delivery.configured:
            return "deliver: nothing configured (delivery: in contentpulse.yml)"
        step = pipeline.deliver(cfg, built["week"])
        if step.errors:  # the channels that worked did; the task fails and alerts
            raise ContentpulseError("; ".join(step.errors))
        return step.line()

    deliver(report())


contentpulse_weekly_report()
