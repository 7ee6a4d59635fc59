"""Alerts for the data engineer on call: a failed task or a missed deadline, in one line.

The line names the DAG, the task, the account (for a mapped extract) and the one-line cause,
for example `contentpulse_nightly.extract_youtube [youtube UCabc] failed (try 3 of 3):
youtube UCabc: reports.query: 503 backendError (gave up after 6 attempts)`. It goes to a
webhook as Slack-compatible JSON (`{"text": ...}`; Mattermost, Teams workflows and Discord's
Slack endpoint take the same) and by mail, each when configured (`alerts:` in
contentpulse.yml). Sending never raises: an alert that cannot go out is logged, and the task's
own failure stays what Airflow reports.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from contentpulse.config import Alerts, Config
from contentpulse.credentials import get_connection
from contentpulse.errors import ContentpulseError

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0


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


def send(alerts: Alerts, text: str) -> list[str]:
    """Post `text` to each configured channel; the channels it reached."""
    reached = []
    if alerts.webhook_conn_id:
        try:
            _post_webhook(alerts.webhook_conn_id, text)
            reached.append("webhook")
        except (ContentpulseError, OSError, ValueError) as exc:
            log.error("alert: webhook %s unreachable: %s", alerts.webhook_conn_id, one_line(exc))
    if alerts.email_to and alerts.smtp_conn_id:
        try:
            _send_mail(alerts, text)
            reached.append("email")
        except (ContentpulseError, OSError, smtplib.SMTPException) as exc:
            log.error("alert: mail via %s failed: %s", alerts.smtp_conn_id, one_line(exc))
    return reached


def _post_webhook(conn_id: str, text: str) -> None:
    conn = get_connection(conn_id)
    url = conn.value("webhook_url") or conn.value("host") or conn.login
    if not url or not url.startswith(("http://", "https://")):
        raise ContentpulseError(f"connection {conn_id!r}: no webhook_url (extra) or http(s) host")
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()
    except OSError as exc:
        # the URL carries the webhook's secret: name the connection, never the URL
        reason = getattr(exc, "reason", None) or getattr(exc, "code", None) or type(exc).__name__
        raise ContentpulseError(f"POST to the webhook of {conn_id!r} failed: {reason}") from None


def _send_mail(alerts: Alerts, text: str) -> None:
    assert alerts.smtp_conn_id
    conn = get_connection(alerts.smtp_conn_id)
    host = conn.value("host") or "127.0.0.1"
    port = int(conn.value("port") or 25)
    message = EmailMessage()
    message["Subject"] = f"[contentpulse] {text[:120]}"
    message["From"] = alerts.email_from
    message["To"] = ", ".join(alerts.email_to)
    message.set_content(text + "\n")
    with smtplib.SMTP(host, port, timeout=TIMEOUT_S) as smtp:
        if conn.login:
            smtp.starttls()
            smtp.login(conn.login, conn.password.reveal())
        smtp.send_message(message)


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
        send(cfg.alerts, text)


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
        send(cfg.alerts, text)
