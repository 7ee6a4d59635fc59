"""Alerts for the data engineer on call: a failed task or a missed deadline, in one line.

The line names the DAG, the task, the account (for a mapped extract) and the one-line cause,
for example `contentpulse_nightly.extract_youtube [youtube UCabc] failed (try 3 of 3):
youtube UCabc: reports.query: 503 backendError (gave up after 6 attempts)`. It goes to a
webhook as Slack-compatible JSON (`{"text": ...}`; Mattermost, Teams workflows and Discord's
Slack endpoint take the same, which is why it is posted by `contentpulse.webhook` rather than
the Slack provider's notifier, which speaks to Slack only and is not installed) and by mail
through the SMTP provider's `SmtpNotifier` (Airflow's own; the SMTP connection's fields are
Airflow's smtp type), each when configured (`alerts:` in contentpulse.yml). Sending never
raises: an alert that cannot go out is logged, and the task's own failure stays what Airflow
reports.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from contentpulse.config import Alerts, Config
from contentpulse.errors import ContentpulseError
from contentpulse.webhook import post_json

log = logging.getLogger(__name__)


def one_line(text: str, limit: int = 500) -> str:
    line = (str(text).strip().splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def task_message(context: dict[str, Any]) -> str:
    """The alert line for a failed task instance, from Airflow's callback context."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    account = _account(context)
    where = f" [{account}]" if account else ""
    tries = ""
    if ti is not None and getattr(ti, "max_tries", None) is not None:
        tries = f" (try {ti.try_number} of {ti.max_tries + 1})"
    cause = one_line(context.get("exception") or context.get("reason") or "no cause given")
    return f"{dag_id}.{task_id}{where} failed{tries}: {cause}"


def _account(context: dict[str, Any]) -> str:
    """`platform account_id` of a mapped extract task, from its expanded argument."""
    task = context.get("task")
    kwargs = getattr(task, "op_kwargs", None) or {}
    account = kwargs.get("account")
    if isinstance(account, dict) and "account_id" in account:
        return f"{account.get('platform', '')} {account['account_id']}".strip()
    return ""


def send(alerts: Alerts, text: str, context: dict[str, Any] | None = None) -> list[str]:
    """Post `text` to each configured channel; the channels it reached."""
    reached = []
    if alerts.webhook_conn_id:
        try:
            post_json(alerts.webhook_conn_id, {"text": text})
            reached.append("webhook")
        except (ContentpulseError, OSError, ValueError) as exc:
            log.error("alert: webhook %s unreachable: %s", alerts.webhook_conn_id, one_line(exc))
    if alerts.email_to and alerts.smtp_conn_id:
        try:
            _send_mail(alerts, text, context or {})
            reached.append("email")
        except Exception as exc:  # the provider raises its own, smtplib's and socket errors
            log.error("alert: mail via %s failed: %s", alerts.smtp_conn_id, one_line(exc))
    return reached


def _send_mail(alerts: Alerts, text: str, context: dict[str, Any]) -> None:
    """The alert line by mail, through the SMTP provider's notifier. Every field is given,
    so the notifier renders no template: the text (an exception's) is never Jinja input."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    SmtpNotifier(
        to=alerts.email_to,
        from_email=alerts.email_from,
        subject=f"[contentpulse] {text[:120]}",
        html_content=f"<p>{html.escape(text)}</p>",
        smtp_conn_id=alerts.smtp_conn_id,
    ).notify(context)


def _config() -> Config | None:
    from contentpulse.config import load_config

    try:
        return load_config()
    except ContentpulseError as exc:
        log.error("alert: cannot read the config to find where alerts go: %s", exc)
        return None


def task_failed(context: dict[str, Any]) -> None:
    """Airflow `on_failure_callback`: tell the on-call engineer which task failed and why."""
    cfg = _config()
    text = task_message(context)
    log.error("alert: %s", text)
    if cfg is not None:
        send(cfg.alerts, text, context)


def run_failed(context: dict[str, Any]) -> None:
    """Airflow DAG-level `on_failure_callback`: the run failed or passed its deadline
    (`dagrun_timeout`), and the night is not published."""
    cfg = _config()
    dag_run = context.get("dag_run")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    run_id = getattr(dag_run, "run_id", None) or ""
    reason = one_line(context.get("reason") or "failed")
    if reason == "timed_out":
        reason = "missed its deadline: still not published when the run timed out"
    text = f"{dag_id} {run_id}: {reason}"
    log.error("alert: %s", text)
    if cfg is not None:
        send(cfg.alerts, text, context)
