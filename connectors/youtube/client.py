"""Authorised YouTube Data v3 / Analytics v2 clients and the one way to call them.

Services are built from the discovery documents bundled with google-api-python-client
(no network), over httplib2 with a socket timeout. Every call goes through `call`, which
prices it in quota units, retries 429/5xx/timeouts honouring Retry-After, and turns
every other failure into one line naming the account and the call.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connectors.quota import QuotaStop, Throttle
from connectors.retry import GaveUp, Retry, RetryPolicy, with_retries
from connectors.youtube import settings
from contentpulse.credentials import Connection
from contentpulse.errors import CredentialsError, SourceError
from contentpulse.streams import CallLog, one_line

log = logging.getLogger(__name__)
for noisy in ("googleapiclient.discovery_cache", "googleapiclient.http", "google_auth_httplib2"):
    logging.getLogger(noisy).setLevel(logging.ERROR)

RETRY_STATUSES = {429, 500, 502, 503, 504}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}


class QuotaExhausted(QuotaStop):
    """The project's daily quota is spent (403 quotaExceeded): stop now, resume on a later run."""


def _reason(err: HttpError) -> str:
    try:
        details = json.loads(err.content.decode("utf-8", "replace"))["error"]["errors"][0]
        return one_line(str(details.get("reason", "")), 80)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""


class YouTubeClient:
    def __init__(
        self,
        account_id: str,
        conn: Connection,
        base_url: str | None,
        token_uri: str | None,
        timeout_s: float,
        policy: RetryPolicy,
        throttle: Throttle | None = None,
    ) -> None:
        self.account_id = account_id
        self.policy = policy
        self.throttle = throttle or Throttle()
        self.calls = CallLog()
        credentials = Credentials(
            token=None,
            refresh_token=conn.secret("refresh_token").reveal(),
            token_uri=token_uri or settings.TOKEN_URI,
            client_id=conn.value("client_id") or "",
            client_secret=conn.secret("client_secret").reveal(),
            scopes=list(settings.SCOPES),
        )
        http = google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(timeout=timeout_s)
        )
        options = {"api_endpoint": base_url} if base_url else None
        self.data = build("youtube", "v3", http=http, static_discovery=True, client_options=options)
        self.analytics = build(
            "youtubeAnalytics", "v2", http=http, static_discovery=True, client_options=options
        )

    def close(self) -> None:
        self.data.close()
        self.analytics.close()

    def __enter__(self) -> YouTubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, name: str, request: Any, label: str | None = None) -> dict[str, Any]:
        """Execute `request` (an HttpRequest) named like `videos.list`; return its JSON body.

        `label` files the call under a finer name in the call log (e.g. the report's dimensions).
        """
        what = f"youtube {self.account_id}: {name}"

        api, units = settings.CALL_COST[name]

        def attempt() -> dict[str, Any]:
            self.throttle.before_call(api, units, what)  # every attempt costs quota
            self.calls.record(label or name, units if api == settings.DATA_API else 0)
            try:
                body = request.execute(num_retries=0)
            except HttpError as err:
                status, reason = err.status_code, _reason(err)
                if status in RETRY_STATUSES or (status == 403 and reason in RATE_REASONS):
                    after = err.resp.get("retry-after")
                    raise Retry(
                        f"HTTP {status} {reason}".strip(), float(after) if after else None
                    ) from None
                if status == 403 and reason in {"quotaExceeded", "dailyLimitExceeded"}:
                    raise self.throttle.halt(
                        QuotaExhausted(
                            f"{what}: daily quota exhausted (403 {reason}); "
                            "the next run resumes from here"
                        )
                    ) from None
                if status == 401:
                    raise CredentialsError(f"{what}: credentials rejected (HTTP 401)") from None
                raise SourceError(f"{what}: HTTP {status} {reason}".rstrip()) from None
            except RefreshError as err:
                code = (
                    err.args[1].get("error")
                    if len(err.args) > 1 and isinstance(err.args[1], dict)
                    else None
                )
                raise CredentialsError(
                    f"{what}: OAuth token refresh failed ({code or 'rejected'}); "
                    "check the connection's client_id, client_secret and refresh_token"
                ) from None
            except (TimeoutError, ConnectionError, httplib2.HttpLib2Error, TransportError) as err:
                raise Retry(f"{type(err).__name__} (network)") from None
            if not isinstance(body, dict):
                raise Retry("malformed response body (not JSON)")
            return body

        try:
            return with_retries(attempt, what, self.policy, on_retry=self._count_retry)
        except GaveUp as gave_up:
            raise SourceError(str(gave_up)) from None

    def _count_retry(self) -> None:
        self.calls.retries += 1
