"""Posting JSON to a chat webhook named by a connection (Slack's incoming webhooks, and the
Slack-compatible ones of Mattermost, Teams workflows and Discord), for alerts and delivery.

The URL carries the webhook's secret, so it lives in a connection (its `host`, or extra
`webhook_url`) and no error message ever shows it: failures name the connection only.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from contentpulse.credentials import get_connection
from contentpulse.errors import ContentpulseError

TIMEOUT_S = 10.0


def webhook_url(conn_id: str) -> str:
    """Extra `webhook_url`, else the host as a URL (with the connection's port, which
    Airflow's URI form `http://https://host:port/path` keeps apart)."""
    conn = get_connection(conn_id)
    url = conn.value("webhook_url") or conn.host or conn.value("host") or conn.login
    if url and conn.port and not conn.value("webhook_url"):
        parts = urlsplit(url)
        if parts.port is None and parts.hostname:
            url = urlunsplit(parts._replace(netloc=f"{parts.netloc}:{conn.port}"))
    if not url or not url.startswith(("http://", "https://")):
        raise ContentpulseError(
            f"connection {conn_id!r}: no webhook URL (give extra webhook_url, or an http(s) host)"
        )
    return url


def post_json(conn_id: str, payload: dict[str, Any]) -> None:
    """POST `payload` as JSON to the connection's webhook; one-line errors, URL unshown."""
    request = urllib.request.Request(
        webhook_url(conn_id),
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()
    except OSError as exc:
        # the URL carries the webhook's secret: name the connection, never the URL
        reason = getattr(exc, "reason", None) or getattr(exc, "code", None) or type(exc).__name__
        raise ContentpulseError(f"POST to the webhook of {conn_id!r} failed: {reason}") from None
