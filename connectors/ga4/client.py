"""The authorised GA4 Data API client and the one way to call it.

google-analytics-data's `BetaAnalyticsDataClient` over its REST transport (plain HTTP to a
local base URL works; no gRPC). Credentials are a service-account key or an OAuth refresh
token from the account's connection. The client retries nothing by default, so every call
goes through `call`: 429 (unless a quota is spent), 5xx, timeouts and malformed bodies are
retried honouring Retry-After; a spent quota stops the run cleanly (QuotaExhausted);
everything else is one line naming the property and the call.

Every runReport asks for `returnPropertyQuota`; the `QuotaGauge` of the property (shared
by the run's workers) keeps the newest figures, paces calls when an hourly token quota runs
low, and stops the run while a reserve is left, before GA4 would refuse the property's
requests to everyone using it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import Metadata, RunReportRequest, RunReportResponse
from google.api_core import exceptions as gexc
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials as OAuthCredentials
from google.protobuf.json_format import ParseError

from connectors.ga4 import settings
from connectors.quota import QuotaStop, Throttle
from connectors.retry import GaveUp, Retry, RetryPolicy, with_retries
from connectors.streams import CallLog
from contentpulse.config import GA4Source
from contentpulse.credentials import Connection
from contentpulse.errors import CredentialsError, SourceError

log = logging.getLogger(__name__)
for noisy in ("google.auth", "urllib3", "google.api_core"):
    logging.getLogger(noisy).setLevel(logging.WARNING)
T = TypeVar("T")
sleep = time.sleep  # module-level, so tests can stop the pacing without stopping time


class QuotaExhausted(QuotaStop):
    """A GA4 token quota of the property is spent, or down to the reserve: resume later."""


class _OwnEndpointServiceAccount(service_account.Credentials):
    """A service account used against a base URL of our own (the sandbox, a proxy): the
    regional-access-boundary lookup google-auth starts in the background (a call to
    iamcredentials.googleapis.com) has nothing to do there, so it is skipped, as
    google-auth's own OAuth user credentials skip it."""

    def _is_regional_access_boundary_lookup_required(self) -> bool:
        return False


def credentials(conn: Connection, token_uri: str | None, base_url: str | None = None) -> Any:
    """Service-account (extra `keyfile_dict` or `key_path`, as Airflow's Google connection
    holds them) or OAuth (`client_id`, `client_secret`, `refresh_token`) credentials."""
    extra = conn.extra
    keyfile = extra.get("keyfile_dict") or extra.get("extra__google_cloud_platform__keyfile_dict")
    key_path = extra.get("key_path") or extra.get("extra__google_cloud_platform__key_path")
    where = f"connection {conn.conn_id!r}"
    if keyfile or key_path:
        try:
            if keyfile:
                info = json.loads(keyfile) if isinstance(keyfile, str) else dict(keyfile)
            else:
                info = json.loads(Path(str(key_path)).read_text(encoding="utf-8"))
        except (ValueError, TypeError):
            raise CredentialsError(f"{where}: the service-account key is not valid JSON") from None
        except OSError:
            raise CredentialsError(f"{where}: key_path cannot be read") from None
        if not isinstance(info, dict):
            raise CredentialsError(f"{where}: the service-account key must be a JSON object")
        missing = [k for k in ("client_email", "private_key") if not info.get(k)]
        if missing:
            raise CredentialsError(f"{where}: the service-account key lacks {', '.join(missing)}")
        info = {**info, "token_uri": token_uri or info.get("token_uri") or settings.TOKEN_URI}
        kind = _OwnEndpointServiceAccount if base_url else service_account.Credentials
        try:
            return kind.from_service_account_info(info, scopes=list(settings.SCOPES))
        except (ValueError, TypeError):
            raise CredentialsError(
                f"{where}: the service-account key's private_key is not a valid PEM key"
            ) from None
    if extra.get("refresh_token"):
        return OAuthCredentials(
            token=None,
            refresh_token=conn.secret("refresh_token").reveal(),
            token_uri=token_uri or settings.TOKEN_URI,
            client_id=conn.value("client_id") or "",
            client_secret=conn.secret("client_secret").reveal(),
            scopes=list(settings.SCOPES),
        )
    raise CredentialsError(
        f"{where}: no GA4 credentials; give extra keyfile_dict or key_path (a service "
        "account) or client_id, client_secret and refresh_token (OAuth)"
    )


@dataclass
class QuotaGauge:
    """The newest propertyQuota of one property, shared by the run's workers."""

    property_id: str
    limits: dict[str, int]  # token quota -> its size (config; raised by what GA4 shows)
    reserve: float
    slow_down_below: float
    slow_down_s: float
    remaining: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, quota: dict[str, dict[str, int]]) -> None:
        with self._lock:
            for name in settings.TOKEN_QUOTAS:
                status = quota.get(name)
                if status is None:
                    continue
                left = int(status.get("remaining", 0))
                used = int(status.get("consumed", 0))
                self.limits[name] = max(self.limits.get(name, 0), left + used)
                self.remaining[name] = left

    def before_call(self, what: str) -> None:
        """Stop under the reserve; pace calls while an hourly quota is low."""
        with self._lock:
            shares = {n: left / self.limits[n] for n, left in self.remaining.items()}
        if not shares:
            return
        name, share = min(shares.items(), key=lambda item: item[1])
        if share < self.reserve:
            left, limit = self.remaining[name], self.limits[name]
            raise QuotaExhausted(
                f"{what}: {name} down to {left:,} of {limit:,} "
                f"(under the {self.reserve:.0%} reserve); stopping before GA4 refuses the "
                "property's requests; the next run resumes from here"
            )
        if self.slow_down_s and any(
            shares.get(n, 1.0) < self.slow_down_below for n in settings.HOURLY_QUOTAS
        ):
            sleep(self.slow_down_s)


_gauges: dict[tuple[str, str, str], QuotaGauge] = {}
_gauges_lock = threading.Lock()


def gauge_for(run_id: str, property_id: str, source: GA4Source) -> QuotaGauge:
    """The property's gauge for this run (workers of one run share it; a new run starts
    fresh, since quotas refill between runs)."""
    key = (run_id, source.base_url or "", property_id)
    with _gauges_lock:
        if key not in _gauges:
            limits = {
                "tokensPerDay": source.tokens_per_day,
                "tokensPerHour": source.tokens_per_hour,
                "tokensPerProjectPerHour": source.tokens_per_project_per_hour,
            }
            _gauges[key] = QuotaGauge(
                property_id,
                limits,
                source.quota_reserve,
                source.slow_down_below,
                source.slow_down_s,
            )
        return _gauges[key]


def _api_message(err: gexc.GoogleAPICallError) -> str:
    """The API's own error message (the exception's text also carries the method and URL)."""
    try:
        return str(err.response.json()["error"]["message"]).strip()
    except (AttributeError, ValueError, KeyError, TypeError):
        return str(err.message or "").rsplit(": ", 1)[-1].strip()


def _quota_dict(response: RunReportResponse) -> dict[str, dict[str, int]]:
    pq = RunReportResponse.pb(response).property_quota
    out = {}
    for name, attr in (
        ("tokensPerDay", "tokens_per_day"),
        ("tokensPerHour", "tokens_per_hour"),
        ("tokensPerProjectPerHour", "tokens_per_project_per_hour"),
    ):
        if pq.HasField(attr):
            status = getattr(pq, attr)
            out[name] = {"consumed": status.consumed, "remaining": status.remaining}
    return out


class Ga4Client:
    def __init__(
        self,
        property_id: str,
        conn: Connection,
        source: GA4Source,
        policy: RetryPolicy,
        throttle: Throttle | None = None,
        gauge: QuotaGauge | None = None,
    ) -> None:
        self.property_id = property_id
        self.timeout_s = source.timeout_s
        self.policy = policy
        self.throttle = throttle or Throttle()
        self.gauge = gauge
        self.calls = CallLog()
        options = {"api_endpoint": source.base_url} if source.base_url else None
        self._client = BetaAnalyticsDataClient(
            credentials=credentials(conn, source.token_uri, source.base_url),
            transport="rest",
            client_options=options,
        )

    def close(self) -> None:
        self._client.transport.close()

    def __enter__(self) -> Ga4Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def metadata(self) -> Metadata:
        """The property's dimensions and metrics (getMetadata costs no tokens)."""
        name = f"properties/{self.property_id}/metadata"
        return self._call(
            "getMetadata",
            lambda: self._client.get_metadata(name=name, timeout=self.timeout_s, retry=None),
        )

    def run_report(self, label: str, request: RunReportRequest) -> RunReportResponse:
        """One runReport; the property's quota figures update the gauge."""

        def send() -> RunReportResponse:
            if self.gauge:
                self.gauge.before_call(f"ga4 {self.property_id}: runReport {label}")
            self.throttle.before_call(settings.REQUESTS, 1, f"ga4 {self.property_id}: runReport")
            self.calls.record(f"runReport {label}", 0)
            response = self._client.run_report(request=request, timeout=self.timeout_s, retry=None)
            quota = _quota_dict(response)
            self.calls.units += quota.get("tokensPerDay", {}).get("consumed", 0)
            if self.gauge:
                self.gauge.update(quota)
            return response

        return self._call(f"runReport {label}", send)

    def _call(self, name: str, send: Callable[[], T]) -> T:
        what = f"ga4 {self.property_id}: {name}"

        def attempt() -> T:
            try:
                return send()
            except gexc.TooManyRequests as err:
                message = _api_message(err)
                if any(q in message for q in settings.QUOTA_SPENT):
                    raise QuotaExhausted(
                        f"{what}: GA4 quota spent ({message.rstrip('.')}); "
                        "the next run resumes from here"
                    ) from None
                if settings.CONCURRENCY_SPENT in message:
                    raise Retry(
                        "HTTP 429 concurrent requests", settings.CONCURRENCY_WAIT_S
                    ) from None
                after = (
                    err.response.headers.get("Retry-After") if err.response is not None else None
                )
                raise Retry("HTTP 429", float(after) if after else None) from None
            except (
                gexc.InternalServerError,
                gexc.BadGateway,
                gexc.ServiceUnavailable,
                gexc.GatewayTimeout,
            ) as err:
                after = (
                    err.response.headers.get("Retry-After") if err.response is not None else None
                )
                raise Retry(f"HTTP {err.code}", float(after) if after else None) from None
            except gexc.Unauthorized:
                raise CredentialsError(f"{what}: credentials rejected (HTTP 401)") from None
            except gexc.Forbidden:
                raise SourceError(
                    f"{what}: HTTP 403; these credentials cannot read the property (add the "
                    "service account or user as a Viewer in GA4's property access management)"
                ) from None
            except gexc.GoogleAPICallError as err:
                first = (_api_message(err).splitlines() or [""])[0]
                raise SourceError(f"{what}: HTTP {err.code} {first}".rstrip()) from None
            except RefreshError as err:
                code = (
                    err.args[1].get("error")
                    if len(err.args) > 1 and isinstance(err.args[1], dict)
                    else None
                )
                raise CredentialsError(
                    f"{what}: token request refused ({code or 'rejected'}); check the "
                    "connection's service-account key or OAuth client and refresh token"
                ) from None
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as err:
                raise Retry(f"{type(err).__name__} (network)") from None
            except TransportError as err:
                raise Retry(f"{type(err).__name__} (network, token request)") from None
            except ParseError:
                raise Retry("malformed response body (not the documented JSON)") from None

        try:
            return with_retries(attempt, what, self.policy, on_retry=self._count_retry)
        except GaveUp as gave_up:
            raise SourceError(str(gave_up)) from None

    def _count_retry(self) -> None:
        self.calls.retries += 1
