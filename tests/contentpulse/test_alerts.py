"""Alerts: a failed task or a missed deadline in one line, to the webhook and by mail."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from contentpulse import alerts
from contentpulse.config import Alerts
from tests.receivers import WebhookReceiver, free_port

HOOK_PATH = "/services/T000/B000/alert-webhook-secret"


def failed_extract_context(exception: BaseException) -> dict:
    """What Airflow hands `on_failure_callback` for a mapped extract task (the fields read)."""
    task_instance = SimpleNamespace(
        dag_id="contentpulse_nightly", task_id="extract_youtube", try_number=3, max_tries=2
    )
    task = SimpleNamespace(
        op_kwargs={"account": {"platform": "youtube", "account_id": "UCabc", "name": "Main"}}
    )
    return {"task_instance": task_instance, "task": task, "exception": exception}


def test_a_failed_extract_is_one_line_naming_dag_task_account_try_and_cause():
    cause = ValueError("youtube UCabc: reports.query: 503 backendError\nTraceback (most recent")
    assert alerts.task_message(failed_extract_context(cause)) == (
        "contentpulse_nightly.extract_youtube [youtube UCabc] failed (try 3 of 3): "
        "youtube UCabc: reports.query: 503 backendError"
    )
    assert alerts.one_line("x" * 600) == "x" * 499 + "…"
    assert alerts.task_message({}) == "?.? failed: no cause given"


def test_the_line_reaches_the_webhook_as_slack_compatible_json(monkeypatch):
    """(The mail goes through Airflow's SmtpNotifier: tests/dags/test_dag_runs.py sends one
    from a real failed run; importing Airflow here would cost this file seconds.)"""
    with WebhookReceiver() as hook:
        monkeypatch.setenv(
            "AIRFLOW_CONN_ALERTS_HOOK",
            json.dumps({"conn_type": "http", "extra": {"webhook_url": hook.url(HOOK_PATH)}}),
        )
        text = "contentpulse_nightly.load failed: <disk> full & more"
        assert alerts.send(Alerts(webhook_conn_id="alerts_hook"), text) == ["webhook"]
    assert hook.received == [(HOOK_PATH, {"text": text})]


def test_an_unreachable_webhook_is_logged_in_one_line_without_its_url_and_never_raises(
    monkeypatch, caplog
):
    url = f"http://127.0.0.1:{free_port()}{HOOK_PATH}"  # nothing listens there
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALERTS_HOOK", json.dumps({"conn_type": "http", "extra": {"webhook_url": url}})
    )
    with caplog.at_level(logging.ERROR, logger="contentpulse.alerts"):
        assert alerts.send(Alerts(webhook_conn_id="alerts_hook"), "a task failed") == []
    [record] = caplog.records
    assert record.getMessage().startswith("alert: webhook alerts_hook unreachable: ")
    assert "alert-webhook-secret" not in caplog.text and "\n" not in record.getMessage()


def test_a_run_past_its_deadline_says_so_to_the_configured_webhook(tmp_path: Path, monkeypatch):
    config = tmp_path / "contentpulse.yml"
    config.write_text(
        "alerts: {webhook_conn_id: alerts_hook}\nsources:\n  youtube:\n    accounts:\n"
        "      - {id: UCtest, name: Test, timezone: UTC, conn_id: yt}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CONTENTPULSE_CONFIG", str(config))
    with WebhookReceiver() as hook:
        monkeypatch.setenv(
            "AIRFLOW_CONN_ALERTS_HOOK",
            json.dumps({"conn_type": "http", "extra": {"webhook_url": hook.url(HOOK_PATH)}}),
        )
        dag_run = SimpleNamespace(dag_id="contentpulse_nightly", run_id="scheduled__2026-11-22")
        alerts.run_failed({"dag_run": dag_run, "reason": "timed_out"})
    assert hook.received == [
        (
            HOOK_PATH,
            {
                "text": "contentpulse_nightly scheduled__2026-11-22: missed its deadline: "
                "still not published when the run timed out"
            },
        )
    ]


def test_an_unreadable_config_still_logs_the_alert(tmp_path: Path, monkeypatch, caplog):
    monkeypatch.setenv("CONTENTPULSE_CONFIG", str(tmp_path / "missing.yml"))
    context = failed_extract_context(RuntimeError("boom"))
    with caplog.at_level(logging.ERROR, logger="contentpulse.alerts"):
        alerts.task_failed(context)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("alert: cannot read the config to find where alerts go: ")
    assert messages[1] == "alert: " + alerts.task_message(context)


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("timed_out", "missed its deadline: still not published when the run timed out"),
        ("a task failed\nwith more lines", "a task failed"),
    ],
)
def test_a_failed_run_is_logged_in_one_line_even_without_a_config(
    reason, said, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("CONTENTPULSE_CONFIG", str(tmp_path / "missing.yml"))
    with caplog.at_level(logging.ERROR, logger="contentpulse.alerts"):
        alerts.run_failed({"dag": SimpleNamespace(dag_id="contentpulse_weekly"), "reason": reason})
    line = caplog.records[-1].getMessage()
    assert line.startswith("alert: contentpulse_weekly") and line.endswith(f": {said}")
