"""The TikTok HTTP client: short-lived access tokens and the one way to call both APIs.

TikTok's access tokens live 24 hours and come from a refresh token (365 days, and TikTok
may hand out a new one with each refresh). The client keeps the access token in memory
only, shared by every client of the same connection in this process, refreshes it when
it is about to expire, and refreshes it once more when an API says it is invalid.

The two APIs report errors differently: the Display API (v2) with an HTTP status and a
body `error.code` string, the Business API mostly with HTTP 200 and a non-zero body
`code`. Both are classified the same way: server errors are retried, a rate limit stops
the run cleanly at its first answer (no request of the run follows it; the next run
resumes), an invalid token is refreshed, a refused scope or anything else is one line
naming the account.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from connectors.quota import QuotaStop, Throttle
from connectors.retry import GaveUp, Retry, RetryPolicy, with_retries
from connectors.tiktok import settings
from contentpulse.credentials import Connection, Secret
from contentpulse.errors import CredentialsError, SourceError
from contentpulse.streams import CallLog, one_line

log = logging.getLogger(__name__)
logging.getLogger("urllib3").setLevel(logging.WARNING)

# refresh this long before the access token's stated expiry
EXPIRY_MARGIN_S = 300.0


class RateLimited(QuotaStop):
    """TikTok answered 'rate limit exceeded': stop the run's requests, resume next run."""


@dataclass(frozen=True)
class Reply:
    """One successful response: its `data` object and the server's `Date` header."""

    data: dict[str, Any]
    server_date: str | None


@dataclass(frozen=True)
class Outcome:
    """What a response means: ok | rate | retry | token | denied | error, and why."""

    kind: str
    detail: str = ""
    data: dict[str, Any] | None = None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def display_outcome(status: int, body: Any) -> Outcome:
    """A Display API (v2) response: `{"data": {...}, "error": {"code", "message", "log_id"}}`."""
    if not isinstance(body, dict):
        if status == 429:
            return Outcome("rate", "HTTP 429")
        return Outcome("retry", f"HTTP {status} malformed response body (not JSON)")
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code, message = one_line(str(error.get("code", "")), 60), one_line(error.get("message"))
    if status == 200 and code == "ok":
        if not isinstance(body.get("data"), dict):
            return Outcome("retry", "HTTP 200 response without a data object")
        return Outcome("ok", data=body["data"])
    detail = f"HTTP {status} {code}".rstrip() + (f": {message}" if message else "")
    if status == 429 or code in settings.RATE_CODES:
        return Outcome("rate", detail)
    if status >= 500 or code in settings.RETRY_CODES:
        return Outcome("retry", detail)
    if code in settings.DENIED_CODES:
        return Outcome("denied", detail)
    if code in settings.TOKEN_CODES or status == 401:
        return Outcome("token", detail)
    return Outcome("error", detail)


def business_outcome(status: int, body: Any) -> Outcome:
    """A Business API response: `{"code": 0, "message", "request_id", "data": {...}}`, whose
    errors mostly come with HTTP 200 and a non-zero `code`."""
    if status != 200:
        code = one_line(str(body.get("code", "")), 60) if isinstance(body, dict) else ""
        detail = f"HTTP {status} {code}".rstrip()
        if status == 429:
            return Outcome("rate", detail)
        if status >= 500:
            return Outcome("retry", detail)
        if status == 401:
            return Outcome("token", detail)
        return Outcome("error", detail)
    if not isinstance(body, dict) or "code" not in body:
        return Outcome("retry", "HTTP 200 malformed response body (not JSON)")
    try:
        code = int(body["code"])
    except (TypeError, ValueError):
        return Outcome("retry", f"HTTP 200 unreadable code {one_line(body['code'], 40)!r}")
    if code == settings.BUSINESS_OK:
        data = body.get("data")
        return Outcome("ok", data=data) if isinstance(data, dict) else Outcome("retry", "no data")
    detail = f"code {code}" + (f": {one_line(body.get('message'))}" if body.get("message") else "")
    if code in settings.BUSINESS_RATE_CODES:
        return Outcome("rate", detail)
    if code in settings.BUSINESS_RETRY_CODES:
        return Outcome("retry", detail)
    if code in settings.BUSINESS_TOKEN_CODES:
        return Outcome("token", detail)
    if code in settings.BUSINESS_DENIED_CODES:
        return Outcome("denied", detail)
    return Outcome("error", detail)


@dataclass
class _Token:
    access_token: str = ""
    expires_at: float = 0.0
    refresh_token: str = ""


class TokenStore:
    """Access tokens of every connection in this process, in memory only."""

    def __init__(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(token_uri: str, client_key: Secret, refresh_token: Secret, open_id: str) -> str:
        raw = f"{token_uri}|{client_key.reveal()}|{refresh_token.reveal()}|{open_id}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def access_token(self, client: TikTokClient, stale: str | None = None) -> str:
        """A valid access token: the cached one, or a new one when it is about to expire or
        is `stale` (an API just refused it; refreshed unless another thread already did)."""
        with self._lock:
            token = self._tokens.setdefault(client.token_key, _Token())
            fresh = token.access_token and token.expires_at - EXPIRY_MARGIN_S > time.time()
            if fresh and token.access_token != stale:
                return token.access_token
            refresh_token = token.refresh_token or client.refresh_token.reveal()
            grant = client.refresh(refresh_token)
            token.access_token = grant["access_token"]
            token.expires_at = time.time() + float(grant.get("expires_in") or 0)
            rotated = grant.get("refresh_token")
            if rotated and rotated != refresh_token:
                token.refresh_token = rotated
                log.warning(
                    "tiktok %s: TikTok issued a new refresh token; it is used for this process "
                    "only: re-authorise connection %r before the old one expires",
                    client.account_id,
                    client.conn_id,
                )
            return token.access_token


TOKENS = TokenStore()


class TikTokClient:
    """Calls to one account's Display and Business APIs, with retries, paced and counted."""

    def __init__(
        self,
        account_id: str,
        conn: Connection,
        base_url: str | None,
        business_base_url: str | None,
        token_uri: str | None,
        timeout_s: float,
        policy: RetryPolicy,
        throttle: Throttle | None = None,
    ) -> None:
        self.account_id = account_id
        self.conn_id = conn.conn_id
        self.client_key = conn.secret("client_key")
        self.client_secret = conn.secret("client_secret")
        self.refresh_token = conn.secret("refresh_token")
        self.base_url = (base_url or settings.BASE_URL).rstrip("/")
        self.business_base_url = (business_base_url or settings.BUSINESS_BASE_URL).rstrip("/")
        # TikTok's paths end in a slash, which config validation strips from URLs
        self.token_uri = (token_uri or settings.TOKEN_URI).rstrip("/") + "/"
        self.token_key = TokenStore.key(
            self.token_uri, self.client_key, self.refresh_token, account_id
        )
        self.timeout_s = timeout_s
        self.policy = policy
        self.throttle = throttle or Throttle()
        self.calls = CallLog()
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> TikTokClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the two APIs ------------------------------------------------------------------
    def display(
        self, method: str, path: str, fields: tuple[str, ...], body: dict | None = None
    ) -> Reply:
        """A Display API v2 call: `Authorization: Bearer`, fields in the query string."""
        url = f"{self.base_url}{path}"
        params = {"fields": ",".join(fields)}

        def send(token: str) -> requests.Response:
            return self.session.request(
                method,
                url,
                params=params,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.timeout_s,
            )

        return self._call(path, send, display_outcome)

    def business(self, path: str, params: dict[str, Any]) -> Reply:
        """A Business API v1.3 call: GET with an `Access-Token` header."""
        url = f"{self.business_base_url}{path}"

        def send(token: str) -> requests.Response:
            return self.session.get(
                url, params=params, headers={"Access-Token": token}, timeout=self.timeout_s
            )

        return self._call(path, send, business_outcome)

    # -- the one way to call -----------------------------------------------------------
    def _call(self, endpoint: str, send, classify) -> Reply:
        what = f"tiktok {self.account_id}: {endpoint}"

        def attempt() -> Reply:
            stale = None
            for refreshed in (False, True):
                token = TOKENS.access_token(self, stale)
                self.throttle.before_call(settings.CALLS, 1, what)
                self.calls.record(endpoint, 1)
                try:
                    response = send(token)
                except (requests.Timeout, requests.ConnectionError) as err:
                    raise Retry(f"{type(err).__name__} (network)") from None
                outcome = classify(response.status_code, _json(response))
                if outcome.kind == "ok":
                    return Reply(outcome.data or {}, response.headers.get("Date"))
                if outcome.kind == "token" and not refreshed:
                    stale = token  # refresh once, then try again at once
                    continue
                return self._fail(what, outcome, response)
            raise AssertionError("unreachable")

        try:
            return with_retries(attempt, what, self.policy, on_retry=self._count_retry)
        except GaveUp as gave_up:
            raise SourceError(str(gave_up)) from None

    def _rate_limited(self, what: str, detail: str) -> RateLimited:
        """TikTok's rate limit (per endpoint and minute) answered: the run sends nothing more."""
        return self.throttle.halt(
            RateLimited(
                f"{what}: TikTok's rate limit exceeded ({detail}); the next run resumes from here"
            )
        )

    def _fail(self, what: str, outcome: Outcome, response: requests.Response) -> Reply:
        after = response.headers.get("Retry-After")
        try:
            after_s = float(after) if after else None
        except ValueError:
            after_s = None
        if outcome.kind == "rate":
            raise self._rate_limited(what, outcome.detail)
        if outcome.kind == "retry":
            raise Retry(outcome.detail, after_s)
        if outcome.kind == "token":
            raise CredentialsError(
                f"{what}: access token refused right after a refresh ({outcome.detail}); "
                "re-authorise the app for this account"
            )
        if outcome.kind == "denied":
            raise CredentialsError(
                f"{what}: permission refused ({outcome.detail}); "
                "re-authorise the app with the scopes it needs"
            )
        raise SourceError(f"{what}: {outcome.detail}")

    def _count_retry(self) -> None:
        self.calls.retries += 1

    # -- OAuth ---------------------------------------------------------------------------
    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new access token for the refresh token (`POST /v2/oauth/token/`)."""
        what = f"tiktok {self.account_id}: token refresh"
        form = {
            "client_key": self.client_key.reveal(),
            "client_secret": self.client_secret.reveal(),
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            # the user the token is for: TikTok knows it from the refresh token and ignores
            # this; the sandbox, whose one refresh token serves every account, binds to it
            "open_id": self.account_id,
        }

        def attempt() -> dict[str, Any]:
            self.throttle.check(what)
            self.calls.record("oauth.token", 0)
            try:
                response = self.session.post(
                    self.token_uri,
                    data=form,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    timeout=self.timeout_s,
                )
            except (requests.Timeout, requests.ConnectionError) as err:
                raise Retry(f"{type(err).__name__} (network)") from None
            body = _json(response)
            if response.status_code == 429:
                raise self._rate_limited(what, "HTTP 429")
            if response.status_code >= 500:
                raise Retry(f"HTTP {response.status_code}")
            if not isinstance(body, dict):
                raise Retry(f"HTTP {response.status_code} malformed response body (not JSON)")
            if body.get("access_token"):
                return body
            error = body.get("error")
            code = error.get("code") if isinstance(error, dict) else error
            raise CredentialsError(
                f"{what} failed ({one_line(code, 60) or f'HTTP {response.status_code}'}); "
                f"check connection {self.conn_id!r}: client_key, client_secret and refresh_token"
            )

        try:
            return with_retries(attempt, what, self.policy, on_retry=self._count_retry)
        except GaveUp as gave_up:
            raise SourceError(str(gave_up)) from None
