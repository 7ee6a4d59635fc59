"""The sandbox: a real HTTP server on 127.0.0.1 speaking Google's wire formats.

Serves OAuth token refresh and the service-account JWT grant (`POST /token`), YouTube Data
API v3 (`/youtube/v3/...`) and YouTube Analytics API v2 (`/v2/reports`) from a Portfolio,
the GA4 Data API v1beta (`/v1beta/properties/...`) from a Ga4Portfolio when given one,
and, from a SocialPortfolio when given one, Meta's Graph API (`/graph/...`) and TikTok's
Display and Business APIs (`/tiktok/...`, `/tiktok-business/...`) as mounted APIs,
charges quota per call, and injects faults on demand. Admin endpoints under `/_sandbox/` set the clock,
add faults and report call counts; tests drive them through `Sandbox` directly. Every API
request is logged in order (`Sandbox.received`: when it arrived, how it was answered), so a
test can count what a client sent after a given answer (`requests_after`).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from datetime import time as daytime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from sandbox.errors import ApiError
from sandbox.faults import Fault, FaultBook
from sandbox.ga4_api import Ga4Api
from sandbox.ga4_portfolio import Ga4Portfolio
from sandbox.portfolio import Portfolio
from sandbox.social_portfolio import SocialPortfolio
from sandbox.youtube_api import YouTubeApi

log = logging.getLogger(__name__)

# Public, fake credentials the sandbox accepts; committed in connections.sandbox.json.
CLIENT_ID = "sandbox-client.apps.example"
CLIENT_SECRET = "sandbox-client-secret"
REFRESH_TOKEN = "sandbox-refresh-token"
# The service account of connections.json's ga4_sandbox key: its public half verifies the
# JWT the client signs for the token grant (as Google's token endpoint does).
SERVICE_ACCOUNT_EMAIL = "contentpulse-sandbox@contentpulse-sandbox.iam.gserviceaccount.com"
SERVICE_ACCOUNT_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnLoYIejugTcf0i11OP1y
EyUtErfQLBfas1r6LFSn37p+Spx3gfI5fPT+eWxW/Capd8GkPlX7rqEMHLAfYSBn
A6w6L7612vMtn66QPtJcaKquTLmPNfBBA66KDgtnYeBYf7hmpviyh81W+cW4A0gs
q4hXwJcTAYScGPqBZ+chUV3+Zn4rhvbVhCOFIAAPv50h08RZzyFaMI0jYKcchKb/
9D32eKRX/9I4khSYKtBX67PQZ7eFlzZJ+T+sGpe6ugQ41gvYELdz/yPpJgbswJyE
sMH1Xy87iII4CkVWr+FS12KXCnwvSojia7usYhzwqjCgb01s78Kn5DWihqOHY8nb
lwIDAQAB
-----END PUBLIC KEY-----
"""
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DATA_API_QUOTA = 10_000
RECEIVED_KEPT = 100_000
UNIT_COST = {"/youtube/v3/channels": 1, "/youtube/v3/playlistItems": 1, "/youtube/v3/videos": 1}


@dataclass
class Received:
    """One API request, in the order of the sandbox's log: `arrived` and `answered` are ticks
    of one counter, so a request whose `arrived` is past another's `answered` was sent after
    its client could have read that answer. Error bodies are kept (they are short)."""

    path: str
    arrived: int
    answered: int = 0
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class MountedApi(Protocol):
    """A fake API that answers every path under its prefixes in its own wire format: its own
    authentication, error shapes and faults (the Graph API and TikTok are not Google's)."""

    prefixes: tuple[str, ...]

    def handle(
        self,
        method: str,
        path: str,
        params: dict[str, list[str]],
        body: bytes,
        headers: Any,
        clock: date,
        fault: Fault | None,
        base_url: str,
    ) -> tuple[int, bytes, dict[str, str]]: ...


class Sandbox:
    """The server and its state; start() binds 127.0.0.1 only."""

    def __init__(
        self,
        portfolio: Portfolio,
        clock: date,
        port: int = 0,
        latency_s: float = 0.0,
        daily_quota: int = DATA_API_QUOTA,
        ga4: Ga4Portfolio | None = None,
        social: SocialPortfolio | None = None,
    ) -> None:
        self.portfolio = portfolio
        self.clock = clock
        self.latency_s = latency_s
        self.daily_quota = daily_quota
        self.faults = FaultBook()
        self.youtube = YouTubeApi(portfolio)
        self.ga4 = Ga4Api(ga4) if ga4 is not None else None
        # other platforms' APIs (mount() adds them): each answers the paths under its prefixes
        self.apis: list[MountedApi] = []
        self.social = social
        if social is not None:  # Instagram and Facebook (Graph API), TikTok
            from sandbox.graph_api import GraphApi
            from sandbox.tiktok_api import TikTokApi

            self.mount(GraphApi(social)).mount(TikTokApi(social))
        self.calls: Counter[str] = Counter()
        # every API request, in arrival order (the newest RECEIVED_KEPT: a long-lived sandbox)
        self.received: deque[Received] = deque(maxlen=RECEIVED_KEPT)
        self._tick = 0
        self.quota_used: Counter[date] = Counter()
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    def mount(self, api: MountedApi) -> Sandbox:
        self.apis.append(api)
        return self

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Sandbox:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    # -- state -----------------------------------------------------------------------
    def issue_token(self) -> str:
        token = "sbx-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.time() + 3600
        return token

    def token_valid(self, token: str) -> bool:
        with self._lock:
            return self._tokens.get(token, 0) > time.time()

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def arrive(self, path: str) -> Received:
        with self._lock:
            self._tick += 1
            entry = Received(path, self._tick)
            self.received.append(entry)
            return entry

    def answer(self, entry: Received, status: int, headers: dict[str, str], body: bytes) -> None:
        with self._lock:
            self._tick += 1
            entry.answered, entry.status, entry.headers = self._tick, status, dict(headers)
            entry.body = body if status != 200 else b""

    def requests_after(self, is_stop: Callable[[Received], bool]) -> list[Received] | None:
        """The requests that arrived after the first answer `is_stop` picks (a throttling or
        quota answer): what a client sent once it could know it should stop. None when no
        answer was picked."""
        with self._lock:
            log = list(self.received)
        stop = next((r for r in log if r.answered and is_stop(r)), None)
        if stop is None:
            return None
        return [r for r in log if r.arrived > stop.answered]

    def charge(self, path: str) -> None:
        cost = UNIT_COST.get(path, 0)
        if not cost:
            return
        with self._lock:
            if self.quota_used[self.clock] + cost > self.daily_quota:
                raise ApiError(
                    403,
                    "quotaExceeded",
                    "The request cannot be completed because you have exceeded your quota.",
                    "youtube.quota",
                )
            self.quota_used[self.clock] += cost

    def stats(self) -> dict[str, Any]:
        with self._lock:
            stats = {
                "calls": dict(self.calls),
                "quota_used": {d.isoformat(): n for d, n in self.quota_used.items()},
                "clock": self.clock.isoformat(),
            }
            if self.ga4 is not None:
                stats["ga4_tokens_used"] = {
                    f"{prop}/{day.isoformat()}": n
                    for (prop, day), n in self.ga4.quota.day_used.items()
                }
            return stats


def _self_signed_jwt_valid(token: str) -> bool:
    """A service account's self-signed JWT, which Google APIs take as a bearer token (the
    GA4 client sends one instead of asking the token endpoint): signature, issuer, expiry."""
    if token.count(".") != 2:
        return False
    from google.auth import jwt

    try:
        claims = jwt.decode(token, certs=SERVICE_ACCOUNT_PUBLIC_KEY, verify=True)
    except (ValueError, TypeError):
        return False
    return claims.get("iss") == SERVICE_ACCOUNT_EMAIL


def _retry_after(fault: Fault) -> dict[str, str] | None:
    return {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None


def _fault_error(fault: Fault, ga4: bool) -> tuple[ApiError, dict[str, str] | None] | None:
    """The error a `status`, `throttle` or `quota` fault answers with (GA4's shape on
    `/v1beta/`, YouTube's elsewhere), and its headers; None for the other kinds."""
    if fault.kind == "status":
        reason = {429: "rateLimitExceeded", 500: "backendError", 503: "backendError"}.get(
            fault.status, "error"
        )
        return ApiError(fault.status, reason, "Injected fault"), _retry_after(fault)
    if fault.kind == "throttle" and ga4:
        message = "Exhausted concurrent requests per property."
        return ApiError(429, "rateLimitExceeded", message, "global"), _retry_after(fault)
    if fault.kind == "throttle":
        error = ApiError(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits")
        return error, _retry_after(fault)
    if fault.kind == "quota" and ga4:
        return ApiError(429, "rateLimitExceeded", "Exhausted property tokens per day."), None
    if fault.kind == "quota":
        message = "The request cannot be completed because you have exceeded your quota."
        return ApiError(403, "quotaExceeded", message, "youtube.quota"), None
    return None


class _Handler(BaseHTTPRequestHandler):
    """One request to the sandbox: admin endpoints, mounted APIs (Graph, TikTok), or
    Google's (token, YouTube Data and Analytics, GA4). `_handler_for` binds a Sandbox."""

    protocol_version = "HTTP/1.1"
    server_version = "contentpulse-sandbox"
    sandbox: Sandbox
    _entry: Received | None = None  # the API request being answered (None: admin)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read our logs
        log.debug("sandbox %s", format % args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header tells the sandbox's clock (noon UTC of its day), as a real
        server's tells its own: connectors date lifetime-counter reads by it."""
        return format_datetime(datetime.combine(self.sandbox.clock, daytime(12), UTC), usegmt=True)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=UTF-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        if self._entry is not None:
            self.sandbox.answer(self._entry, status, headers or {}, body)
            self._entry = None
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to tell it

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode(), headers=headers)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        sandbox = self.sandbox
        url = urlsplit(self.path)
        path, params = url.path, parse_qs(url.query, keep_blank_values=False)
        body = self._body() if method == "POST" else b""
        if method == "POST" and self.headers.get("X-HTTP-Method-Override", "").upper() == "GET":
            # google-api-python-client sends URLs over 2,048 characters this way.
            method, params = "GET", params | parse_qs(body.decode(), keep_blank_values=False)
        self._entry = None
        try:
            if path.startswith("/_sandbox/"):
                return self._admin(method, path, body)
            self._entry = sandbox.arrive(path)
            with sandbox._lock:
                sandbox.calls[path] += 1
            if sandbox.latency_s:
                time.sleep(sandbox.latency_s)
            fault = sandbox.faults.take(path)
            api = next((a for a in sandbox.apis if path.startswith(a.prefixes)), None)
            if api is not None:
                status, payload_bytes, headers = api.handle(
                    method, path, params, body, self.headers, sandbox.clock, fault, sandbox.base_url
                )
                return self._send(status, payload_bytes, headers=headers)
            self._google(method, path, params, body, fault)
        except ApiError as err:
            self._json(err.status, err.body())
        except Exception:  # a sandbox bug must look like a server error, not a hang
            log.exception("sandbox failed on %s", path)
            self._json(500, ApiError(500, "backendError", "Backend Error").body())

    def _google(
        self, method: str, path: str, params: dict[str, list[str]], body: bytes, fault: Fault | None
    ) -> None:
        """Google's endpoints: the token grant, GA4's Data API, YouTube's Data and Analytics."""
        sandbox = self.sandbox
        if fault and self._apply_fault(fault):
            return
        if method == "POST" and path == "/token":
            return self._token(body)
        # an expired token is refused even where it is a self-signed JWT (GA4's service
        # accounts), which the sandbox would otherwise take until it expires
        self._authorize(expired=fault is not None and fault.kind == "expired_token")
        if path.startswith("/v1beta/"):
            if sandbox.ga4 is None:
                raise ApiError(404, "notFound", "This sandbox serves no GA4 properties")
            payload_bytes = sandbox.ga4.handle(method, path, body, sandbox.clock)
        else:
            route = {
                "/youtube/v3/channels": sandbox.youtube.channels,
                "/youtube/v3/playlistItems": sandbox.youtube.playlist_items,
                "/youtube/v3/videos": sandbox.youtube.videos,
                "/v2/reports": sandbox.youtube.reports,
            }.get(path)
            if route is None or method != "GET":
                raise ApiError(404, "notFound", f"Not found: {method} {path}")
            sandbox.charge(path)
            payload = route(params, sandbox.clock)
            payload_bytes = json.dumps(payload, ensure_ascii=False).encode()
        if fault and fault.kind == "truncated":
            payload_bytes = payload_bytes[: len(payload_bytes) // 2]
        self._send(200, payload_bytes)

    def _apply_fault(self, fault: Fault) -> bool:
        """Apply a fault; True when it produced the whole response."""
        if fault.kind == "slow":
            time.sleep(fault.delay_s)
            return False
        if fault.kind == "expired_token":
            self.sandbox.expire_tokens()
            return False
        if fault.kind == "malformed":
            self._send(
                200,
                b"<html><body>Service temporarily unavailable</body></html>",
                "application/json",
            )
            return True
        error = _fault_error(fault, ga4=self.path.startswith("/v1beta/"))
        if error is None:
            return False  # truncated: applied to the body later
        err, headers = error
        self._json(err.status, err.body(), headers)
        return True

    def _token(self, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") == JWT_GRANT:
            return self._jwt_grant(form.get("assertion", ""))
        if form.get("grant_type") != "refresh_token":
            return self._json(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return self._json(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "The OAuth client was not found.",
                },
            )
        if form.get("refresh_token") != REFRESH_TOKEN:
            return self._json(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        self._json(
            200,
            {
                "access_token": self.sandbox.issue_token(),
                "expires_in": 3599,
                "token_type": "Bearer",
                "scope": "https://www.googleapis.com/auth/youtube.readonly "
                "https://www.googleapis.com/auth/yt-analytics.readonly",
            },
        )

    def _jwt_grant(self, assertion: str) -> None:
        """A service account's signed JWT for an access token (RFC 7523)."""
        from google.auth import jwt

        try:
            claims = jwt.decode(assertion, certs=SERVICE_ACCOUNT_PUBLIC_KEY, verify=True)
        except (ValueError, TypeError):
            return self._json(
                400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            )
        if claims.get("iss") != SERVICE_ACCOUNT_EMAIL:
            return self._json(
                400, {"error": "invalid_grant", "error_description": "Invalid issuer."}
            )
        self._json(
            200,
            {
                "access_token": self.sandbox.issue_token(),
                "expires_in": 3599,
                "token_type": "Bearer",
            },
        )

    def _authorize(self, expired: bool = False) -> None:
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if (
            not expired
            and auth.startswith("Bearer ")
            and (self.sandbox.token_valid(token) or _self_signed_jwt_valid(token))
        ):
            return
        raise ApiError(401, "authError", "Request had invalid authentication credentials.")

    def _admin(self, method: str, path: str, body: bytes) -> None:
        if path == "/_sandbox/health":
            return self._json(200, {"ok": True})
        if path == "/_sandbox/stats":
            return self._json(200, self.sandbox.stats())
        if path == "/_sandbox/clock" and method == "POST":
            self.sandbox.clock = date.fromisoformat(json.loads(body)["today"])
            return self._json(200, self.sandbox.stats())
        if path == "/_sandbox/ga4/quota" and method == "POST" and self.sandbox.ga4 is not None:
            # {"tokens_per_day": 500, ...} sets limits; {"reset": true} refills every quota
            change = json.loads(body or b"{}")
            try:
                limits = self.sandbox.ga4.set_quota(bool(change.pop("reset", False)), **change)
            except TypeError as err:
                return self._json(400, {"error": str(err)})
            return self._json(200, asdict(limits))
        if path == "/_sandbox/faults" and method == "POST":
            fault = Fault(**json.loads(body))
            self.sandbox.faults.add(fault)
            return self._json(200, asdict(fault))
        self._json(404, {"error": "unknown admin endpoint"})


def _handler_for(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    """The request handler class of one sandbox (ThreadingHTTPServer takes a class)."""
    return type("Handler", (_Handler,), {"sandbox": sandbox})
