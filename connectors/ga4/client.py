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
from connectors.ga4.settings import GA4Source
from connectors.quota import QuotaStop, Throttle
from connectors.retry import GaveUp, Retry, RetryPolicy, with_retries
from contentpulse.credentials import Connection
from contentpulse.errors import CredentialsError, SourceError
from contentpulse.streams import CallLog

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
    """The newest propertyQuota of one property, shared by the run's workers, and what a
    chunk costs, so that a chunk starts only when the tokens left (minus the reserve and
    what the chunks in flight will still spend) cover it. The first chunk of a run starts
    alone: until one finishes, its cost is unknown, and every call stops under the reserve.
    Parallel chunks against a tight quota would otherwise split it and none would finish.
    """

    property_id: str
    limits: dict[str, int]  # token quota -> its size (config; raised by what GA4 shows)
    reserve: float
    slow_down_below: float
    slow_down_s: float
    remaining: dict[str, int] = field(default_factory=dict)
    unit_tokens: int | None = None  # the most tokens a finished chunk cost in this run
    in_flight: int = 0
    _ready: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def update(self, quota: dict[str, dict[str, int]]) -> None:
        with self._ready:
            for name in settings.TOKEN_QUOTAS:
                status = quota.get(name)
                if status is None:
                    continue
                left = int(status.get("remaining", 0))
                used = int(status.get("consumed", 0))
                self.limits[name] = max(self.limits.get(name, 0), left + used)
                self.remaining[name] = left

    def _tightest(self) -> tuple[str, float] | None:
        """The token quota with the least to spare beyond the reserve and the chunks in
        flight, and how much that is (None before any figures arrived)."""
        spare = {
            name: left - self.reserve * self.limits[name] - self.in_flight * (self.unit_tokens or 0)
            for name, left in self.remaining.items()
        }
        return min(spare.items(), key=lambda item: item[1]) if spare else None

    def _stop(self, what: str, name: str, why: str) -> QuotaExhausted:
        left, limit = self.remaining[name], self.limits[name]
        return QuotaExhausted(
            f"{what}: {name} down to {left:,} of {limit:,} ({why}); stopping before GA4 "
            "refuses the property's requests; the next run resumes from here"
        )

    def begin_unit(self, what: str) -> None:
        """Wait until a chunk may start; QuotaExhausted when none can and none is running."""
        with self._ready:
            while True:
                if self.unit_tokens is None:
                    if self.in_flight == 0:
                        break  # the first chunk finds out what a chunk costs
                else:
                    tightest = self._tightest()
                    if tightest is None or tightest[1] >= self.unit_tokens:
                        break
                    if self.in_flight == 0:
                        raise self._stop(
                            what,
                            tightest[0],
                            f"a chunk costs about {self.unit_tokens:,} and "
                            f"{self.reserve:.0%} stay in reserve",
                        )
                self._ready.wait()
            self.in_flight += 1

    def end_unit(self, tokens: int | None) -> None:
        """A chunk finished (`tokens` it cost) or failed (None)."""
        with self._ready:
            self.in_flight -= 1
            if tokens is not None:
                self.unit_tokens = max(self.unit_tokens or 0, tokens)
            self._ready.notify_all()

    def before_call(self, what: str) -> None:
        """Pace calls while an hourly quota is low; while a chunk's cost is unknown, stop
        under the reserve."""
        with self._ready:
            shares = {n: left / self.limits[n] for n, left in self.remaining.items()}
            cost_known = self.unit_tokens is not None
        if not shares:
            return
        name, share = min(shares.items(), key=lambda item: item[1])
        if share < self.reserve and not cost_known:
            with self._ready:
                raise self._stop(what, name, f"under the {self.reserve:.0%} reserve")
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
            while len(_gauges) >= 256:  # a long-lived worker: forget the oldest runs
                del _gauges[next(iter(_gauges))]
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

        def send() -> Metadata:
            self.throttle.check(f"ga4 {self.property_id}: getMetadata")
            self.calls.record("getMetadata", 0)
            return self._client.get_metadata(name=name, timeout=self.timeout_s, retry=None)

        return self._call("getMetadata", send)

    def run_report(self, label: str, request: RunReportRequest) -> RunReportResponse:
        """One runReport; the property's quota figures update the gauge."""

        def send() -> RunReportResponse:
            what = f"ga4 {self.property_id}: runReport {label}"
            self.throttle.check(what)
            if self.gauge:
                try:
                    self.gauge.before_call(what)
                except QuotaExhausted as low:
                    raise self.throttle.halt(low) from None
            self.throttle.before_call(settings.REQUESTS, 1, what)
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
                    raise self.throttle.halt(
                        QuotaExhausted(
                            f"{what}: GA4 quota spent ({message.rstrip('.')}); "
                            "the next run resumes from here"
                        )
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
