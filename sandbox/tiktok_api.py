"""TikTok's APIs as the sandbox serves them: Display API v2, OAuth v2 and the Business API.

Mounted on the sandbox server under `/tiktok/` (open.tiktokapis.com: `/v2/oauth/token/`,
`/v2/user/info/`, `/v2/video/list/`, `/v2/video/query/`) and `/tiktok-business/`
(business-api.tiktok.com: `/open_api/v1.3/business/video/list/` and `/business/get/`), from a
SocialPortfolio's TikTok accounts at the sandbox clock: a video's counters are
`portfolio.lifetime(post, clock)`; watch time is its watch_time_s, completion its
full_watches / views; an account's metrics by day are `portfolio.account_day(account, day)`,
for the 60 days TikTok keeps up to two days behind the clock, with followers_count and
profile_views null for a `small` account (under 100 followers).

What a connector must cope with is served as TikTok serves it: cursor paging with
`has_more`, at most 20 videos a call, a per-minute request count per endpoint that
answers HTTP 429 `rate_limit_exceeded` past its limit, access tokens that expire (the
`expired_token` fault) and must be refreshed, and Business API errors that come with HTTP
200 and a non-zero `code`. The sandbox's `fault` kinds are answered in these same shapes.

The one sandbox refresh token (connections.json's `tiktok_sandbox`) serves every account
of the portfolio: the token grant binds the access token to the `open_id` the request
names (TikTok binds it to the user who authorised the app).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from sandbox.faults import Fault
from sandbox.social_portfolio import (
    TIKTOK_ACCOUNT_RETENTION_DAYS,
    SocialAccount,
    SocialPortfolio,
    SocialPost,
)

CONNECTIONS_FILE = Path(__file__).with_name("connections.json")
ACCESS_TOKEN_LIFETIME_S = 86_400  # 24 hours
REFRESH_TOKEN_LIFETIME_S = 31_536_000  # 365 days
RATE_LIMIT_PER_MINUTE = 600  # per endpoint
MAX_COUNT = 20
USER_FIELDS = {
    "open_id",
    "union_id",
    "avatar_url",
    "display_name",
    "bio_description",
    "profile_deep_link",
    "is_verified",
    "username",
    "follower_count",
    "following_count",
    "likes_count",
    "video_count",
}
VIDEO_FIELDS = {
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
}
BUSINESS_FIELDS = {
    "item_id",
    "create_time",
    "thumbnail_url",
    "share_url",
    "embed_url",
    "caption",
    "video_views",
    "video_duration",
    "likes",
    "comments",
    "shares",
    "reach",
    "full_video_watched_rate",
    "total_time_watched",
    "average_time_watched",
    "impression_sources",
}
BUSINESS_VIDEO_LIST = "/open_api/v1.3/business/video/list/"
BUSINESS_GET = "/open_api/v1.3/business/get/"
# business/get/: the account's profile fields, and its metrics by day (`data.metrics[]`)
ACCOUNT_METRIC_FIELDS = {
    "video_views",
    "profile_views",
    "likes",
    "comments",
    "shares",
    "followers_count",
    "audience_activity",
}
ACCOUNT_FIELDS = ACCOUNT_METRIC_FIELDS | {
    "is_business_account",
    "username",
    "display_name",
    "profile_image",
    "audience_countries",
    "audience_genders",
}
# what an account under 100 followers (the `small` spec flag) gets as null
SMALL_ACCOUNT_NULLS = {"followers_count", "profile_views", "audience_activity"}
JSON = {"Content-Type": "application/json; charset=UTF-8"}


class _Refusal(Exception):
    """An error answered in the API's own shape."""

    def __init__(self, status: int, code: str | int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _sandbox_credentials() -> dict[str, str]:
    extra = json.loads(CONNECTIONS_FILE.read_text(encoding="utf-8"))["tiktok_sandbox"]["extra"]
    return {k: str(extra[k]) for k in ("client_key", "client_secret", "refresh_token")}


def _log_id(clock: date) -> str:
    return clock.strftime("%Y%m%d") + "120000" + secrets.token_hex(9).upper()


class TikTokApi:
    """The TikTok accounts of a SocialPortfolio, behind TikTok's wire formats."""

    prefixes = ("/tiktok/", "/tiktok-business/")

    def __init__(
        self, portfolio: SocialPortfolio, rate_limit_per_minute: int = RATE_LIMIT_PER_MINUTE
    ) -> None:
        self.portfolio = portfolio
        self.rate_limit_per_minute = rate_limit_per_minute
        self.credentials = _sandbox_credentials()
        self.calls: Counter[str] = Counter()
        self._per_minute: Counter[tuple[str, int]] = Counter()
        self._tokens: dict[str, tuple[str, float]] = {}  # access token -> (open_id, expiry)
        self._lock = threading.Lock()
        # the clock of the per-minute request count (tests may hold it still)
        self.now = time.time
        # TikTok may answer a refresh with a new refresh token; the old one keeps working
        self.rotate_refresh_tokens = False
        self.refresh_tokens = {self.credentials["refresh_token"]}
        self.refresh_tokens_used: list[str] = []

    # -- state the tests drive -------------------------------------------------------
    def set_rate_limit(self, per_minute: int) -> None:
        """Requests per endpoint per minute before 429 (the counts start over)."""
        with self._lock:
            self.rate_limit_per_minute = per_minute
            self._per_minute.clear()

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def accounts(self) -> list[SocialAccount]:
        return self.portfolio.by_platform("tiktok")

    def account(self, open_id: str) -> SocialAccount | None:
        return next((a for a in self.accounts() if a.account_id == open_id), None)

    # -- what the counters are at a clock (the ground truth tests compare with) --------
    def display_counters(self, post: SocialPost, clock: date) -> dict[str, int]:
        life = self.portfolio.lifetime(post, clock)
        return {
            "view_count": life["views"],
            "like_count": life["likes"],
            "comment_count": life["comments"],
            "share_count": life["shares"],
        }

    def organic(self, post: SocialPost, clock: date) -> dict[str, Any]:
        life = self.portfolio.lifetime(post, clock)
        views = life["views"]
        return {
            "video_views": views,
            "likes": life["likes"],
            "comments": life["comments"],
            "shares": life["shares"],
            "reach": life["reach"],
            "total_time_watched": life["watch_time_s"],
            "average_time_watched": life["watch_time_s"] / views if views else 0.0,
            "full_video_watched_rate": life["full_watches"] / views if views else 0.0,
        }

    # -- the mounted API ---------------------------------------------------------------
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
    ) -> tuple[int, bytes, dict[str, str]]:
        business = path.startswith("/tiktok-business/")
        route = path.removeprefix("/tiktok-business" if business else "/tiktok")
        with self._lock:
            self.calls[route] += 1
        shape = self._business_error if business else self._display_error
        if route == "/v2/oauth/token/":
            shape = self._oauth_error
        try:
            answer = self._fault(fault, shape, clock)
            if answer is not None:
                return answer
            self._count(route)
            if route == "/v2/oauth/token/" and method == "POST":
                status, payload = 200, self._token(body)
            elif business:
                status, payload = 200, self._business(method, route, params, headers, clock)
            else:
                status, payload = 200, self._display(method, route, params, body, headers, clock)
        except _Refusal as refusal:
            return shape(refusal, clock)
        data = json.dumps(payload, ensure_ascii=False).encode()
        if fault is not None and fault.kind == "truncated":
            data = data[: len(data) // 2]
        return status, data, dict(JSON)

    def _fault(self, fault: Fault | None, shape, clock: date):
        if fault is None:
            return None
        if fault.kind == "slow":
            time.sleep(fault.delay_s)
        elif fault.kind == "expired_token":
            self.expire_tokens()
        elif fault.kind == "malformed":
            html = b"<html><body>502 Bad Gateway</body></html>"
            return 200, html, {"Content-Type": "text/html"}
        elif fault.kind in ("status", "quota", "throttle"):
            # TikTok has no daily quota: its only limit is the per-minute rate limit
            status = 429 if fault.kind in ("quota", "throttle") else fault.status
            code = {429: "rate_limit_exceeded", 401: "access_token_invalid"}.get(
                status, "internal_error" if status >= 500 else "invalid_params"
            )
            status_, data, headers = shape(_Refusal(status, code, "Injected fault"), clock)
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            return status_, data, headers
        return None

    def _count(self, route: str) -> None:
        minute = int(self.now() // 60)
        with self._lock:
            self._per_minute[(route, minute)] += 1
            over = self._per_minute[(route, minute)] > self.rate_limit_per_minute
        if over:
            raise _Refusal(429, "rate_limit_exceeded", "The API rate limit was exceeded.")

    # -- error shapes ---------------------------------------------------------------
    def _display_error(self, refusal: _Refusal, clock: date) -> tuple[int, bytes, dict]:
        body = {
            "data": {},
            "error": {
                "code": refusal.code,
                "message": refusal.message,
                "log_id": _log_id(clock),
            },
        }
        return refusal.status, json.dumps(body).encode(), dict(JSON)

    def _business_error(self, refusal: _Refusal, clock: date) -> tuple[int, bytes, dict]:
        """The Business API answers its errors with HTTP 200 and a numeric code."""
        code = refusal.code
        if isinstance(code, str):
            code = {
                "rate_limit_exceeded": 40100,
                "access_token_invalid": 40105,
                "internal_error": 50002,
            }.get(code, 40002)
        body = {
            "code": code,
            "message": refusal.message,
            "request_id": _log_id(clock),
            "data": {},
        }
        return 200, json.dumps(body).encode(), dict(JSON)

    def _oauth_error(self, refusal: _Refusal, clock: date) -> tuple[int, bytes, dict]:
        code = refusal.code if refusal.status < 500 else "server_error"
        body = {"error": code, "error_description": refusal.message, "log_id": _log_id(clock)}
        return refusal.status, json.dumps(body).encode(), dict(JSON)

    # -- OAuth ---------------------------------------------------------------------------
    def _token(self, body: bytes) -> dict[str, Any]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "refresh_token":
            raise _Refusal(400, "unsupported_grant_type", "Only refresh_token is served.")
        creds = self.credentials
        if (
            form.get("client_key") != creds["client_key"]
            or form.get("client_secret") != creds["client_secret"]
        ):
            raise _Refusal(401, "invalid_client", "Client key or secret is invalid.")
        refresh_token = form.get("refresh_token", "")
        with self._lock:
            known = refresh_token in self.refresh_tokens
            if known:
                self.refresh_tokens_used.append(refresh_token)
            if known and self.rotate_refresh_tokens:
                refresh_token = "rft." + secrets.token_urlsafe(24)
                self.refresh_tokens.add(refresh_token)
        if not known:
            raise _Refusal(400, "invalid_grant", "Refresh token is invalid or expired.")
        accounts = self.accounts()
        if not accounts:
            raise _Refusal(400, "invalid_grant", "No TikTok user authorised this app.")
        account = self.account(form.get("open_id", "")) or accounts[0]
        token = "act." + secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (account.account_id, time.time() + ACCESS_TOKEN_LIFETIME_S)
        return {
            "access_token": token,
            "expires_in": ACCESS_TOKEN_LIFETIME_S,
            "open_id": account.account_id,
            "refresh_expires_in": REFRESH_TOKEN_LIFETIME_S,
            "refresh_token": refresh_token,
            "scope": "user.info.basic,user.info.stats,video.list",
            "token_type": "Bearer",
        }

    def _user_of(self, token: str) -> SocialAccount:
        with self._lock:
            open_id, expiry = self._tokens.get(token, ("", 0.0))
        account = self.account(open_id) if expiry > time.time() else None
        if account is None:
            raise _Refusal(
                401,
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
            )
        return account

    # -- Display API v2 --------------------------------------------------------------
    @staticmethod
    def _fields(params: dict[str, list[str]], allowed: set[str]) -> list[str]:
        fields = [f for f in ",".join(params.get("fields", [])).split(",") if f]
        if not fields:
            raise _Refusal(400, "invalid_params", "fields is required.")
        unknown = [f for f in fields if f not in allowed]
        if unknown:
            raise _Refusal(400, "invalid_params", f"Invalid fields: {','.join(unknown)}")
        return fields

    def _display(
        self,
        method: str,
        route: str,
        params: dict[str, list[str]],
        body: bytes,
        headers: Any,
        clock: date,
    ) -> dict[str, Any]:
        auth = headers.get("Authorization", "") or ""
        account = self._user_of(auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else "")
        ok = {"code": "ok", "message": "", "log_id": _log_id(clock)}
        if route == "/v2/user/info/" and method == "GET":
            fields = self._fields(params, USER_FIELDS)
            user = self._user(account, clock)
            return {"data": {"user": {f: user.get(f) for f in fields}}, "error": ok}
        if method != "POST" or route not in ("/v2/video/list/", "/v2/video/query/"):
            raise _Refusal(404, "invalid_params", f"Unknown endpoint {method} {route}")
        fields = self._fields(params, VIDEO_FIELDS)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            raise _Refusal(400, "invalid_params", "The request body is not JSON.") from None
        posts = self.portfolio.visible_posts(account, clock)  # newest first
        if route == "/v2/video/query/":
            ids = ((request.get("filters") or {}).get("video_ids")) or []
            if not ids or len(ids) > MAX_COUNT:
                raise _Refusal(400, "invalid_params", "video_ids must hold 1 to 20 ids.")
            wanted = set(map(str, ids))
            videos = [self._video(p, clock, fields) for p in posts if p.post_id in wanted]
            return {"data": {"videos": videos, "cursor": 0, "has_more": False}, "error": ok}
        max_count = int(request.get("max_count") or 10)
        if not 1 <= max_count <= MAX_COUNT:
            raise _Refusal(400, "invalid_params", "max_count must be between 1 and 20.")
        # TikTok's cursor is a creation time in ms; ours is as opaque to the client
        start = int(request.get("cursor") or 0)
        page = posts[start : start + max_count]
        end = start + len(page)
        videos = [self._video(p, clock, fields) for p in page]
        return {
            "data": {"videos": videos, "cursor": end, "has_more": end < len(posts)},
            "error": ok,
        }

    def _user(self, account: SocialAccount, clock: date) -> dict[str, Any]:
        posts = self.portfolio.visible_posts(account, clock)
        return {
            "open_id": account.account_id,
            "union_id": "u" + account.account_id,
            "display_name": account.name,
            "username": account.username,
            "avatar_url": f"https://p16.tiktokcdn.example/{account.username}.jpeg",
            "is_verified": False,
            "follower_count": self.portfolio.followers(account, clock),
            "following_count": 100 + len(account.name),
            "likes_count": sum(self.portfolio.lifetime(p, clock)["likes"] for p in posts),
            "video_count": len(posts),
        }

    def _video(self, post: SocialPost, clock: date, fields: list[str]) -> dict[str, Any]:
        first_line = post.caption.split("\n", 1)[0]
        video = {
            "id": post.post_id,
            "create_time": int(post.published_at.timestamp()),
            "title": first_line[:150],
            "video_description": post.caption,
            "duration": post.duration_s,
            "share_url": post.permalink,
            "cover_image_url": f"https://p16.tiktokcdn.example/{post.post_id}.jpeg",
            "embed_link": f"https://www.tiktok.com/player/v1/{post.post_id}",
            "height": 1920,
            "width": 1080,
            **self.display_counters(post, clock),
        }
        return {f: video.get(f) for f in fields}

    # -- Business API v1.3 -------------------------------------------------------------
    def _business(
        self, method: str, route: str, params: dict[str, list[str]], headers: Any, clock: date
    ) -> dict[str, Any]:
        if method != "GET" or route not in (BUSINESS_VIDEO_LIST, BUSINESS_GET):
            raise _Refusal(404, 40002, f"Unknown endpoint {method} {route}")
        account = self._user_of(headers.get("Access-Token", "") or "")
        one = {k: v[0] for k, v in params.items()}
        if one.get("business_id") != account.account_id:
            raise _Refusal(200, 40001, "No permission to access this business account.")
        if not account.business:
            raise _Refusal(200, 40001, "The account is not a business account.")
        if route == BUSINESS_GET:
            return self._account(account, one, clock)
        try:
            fields = json.loads(one.get("fields") or "[]")
            filters = json.loads(one.get("filters") or "{}")
        except ValueError:
            raise _Refusal(200, 40002, "fields and filters must be JSON.") from None
        unknown = [f for f in fields if f not in BUSINESS_FIELDS]
        if not fields or unknown:
            raise _Refusal(200, 40002, f"Invalid fields: {unknown or 'none given'}")
        max_count = int(one.get("max_count") or 20)
        if not 1 <= max_count <= MAX_COUNT:
            raise _Refusal(200, 40002, "max_count must be between 1 and 20.")
        posts = self.portfolio.visible_posts(account, clock)
        ids = filters.get("video_ids")
        if ids is not None:
            if len(ids) > MAX_COUNT:
                raise _Refusal(200, 40002, "filters.video_ids holds at most 20 ids.")
            wanted = set(map(str, ids))
            posts = [p for p in posts if p.post_id in wanted]
        start = int(one.get("cursor") or 0)
        page = posts[start : start + max_count]
        end = start + len(page)
        return {
            "code": 0,
            "message": "OK",
            "request_id": _log_id(clock),
            "data": {
                "videos": [self._organic_video(p, clock, fields) for p in page],
                "cursor": end,
                "has_more": end < len(posts),
            },
        }

    def account_metrics(self, account: SocialAccount, day: date) -> dict[str, Any]:
        """One day of business/get/'s `metrics`, from the portfolio's account_day (the ground
        truth tests compare with): null where a small account gets nothing."""
        truth = self.portfolio.account_day(account, day)
        metrics: dict[str, Any] = {
            "date": day.isoformat(),
            "video_views": truth["views"],
            "profile_views": truth["clicks"],
            "likes": truth["likes"],
            "comments": truth["comments"],
            "shares": truth["shares"],
            "followers_count": truth["followers"],
            "audience_activity": [
                {"hour": str(hour), "count": truth["reach"] // 24} for hour in range(24)
            ],
        }
        if account.small:
            metrics.update(dict.fromkeys(SMALL_ACCOUNT_NULLS))
        return metrics

    def _account(self, account: SocialAccount, one: dict[str, str], clock: date) -> dict[str, Any]:
        """business/get/: the profile and, for metric fields, one entry per day of
        start_date..end_date (closed) that TikTok serves at this clock: it keeps 60 days and
        its newest day runs two days behind (`SocialPortfolio.tiktok_account_days`). A
        start_date older than that is refused (40002); an end_date past the newest day is
        answered up to it."""
        try:
            fields = json.loads(one.get("fields") or '["display_name", "profile_image"]')
        except ValueError:
            raise _Refusal(200, 40002, "fields must be a JSON array.") from None
        unknown = [f for f in fields if f not in ACCOUNT_FIELDS]
        if not isinstance(fields, list) or not fields or unknown:
            raise _Refusal(200, 40002, f"Invalid fields: {unknown or 'none given'}")
        data: dict[str, Any] = {
            "is_business_account": True,
            "username": account.username,
            "display_name": account.name,
            "profile_image": f"https://p16.tiktokcdn.example/{account.username}.jpeg",
            "followers_count": self.portfolio.followers(account, clock),
            "audience_countries": [{"country": "JP", "percentage": 0.6}],
            "audience_genders": [{"gender": "Female", "percentage": 0.55}],
        }
        data = {f: data[f] for f in fields if f in data}
        asked = [f for f in fields if f in ACCOUNT_METRIC_FIELDS]
        if not asked:
            return self._ok(data, clock)
        try:
            start = date.fromisoformat(one["start_date"])
            end = date.fromisoformat(one["end_date"])
        except (KeyError, ValueError):
            raise _Refusal(
                200, 40002, "start_date and end_date (YYYY-MM-DD) are required for metrics."
            ) from None
        oldest, newest = self.portfolio.tiktok_account_days(clock)
        if end < start:
            raise _Refusal(200, 40002, "end_date must not be earlier than start_date.")
        if start < oldest:
            raise _Refusal(
                200,
                40002,
                f"start_date must be within the last {TIKTOK_ACCOUNT_RETENTION_DAYS} days "
                f"(on or after {oldest.isoformat()}).",
            )
        days = [start + timedelta(days=i) for i in range((min(end, newest) - start).days + 1)]
        data["metrics"] = [
            {k: v for k, v in self.account_metrics(account, day).items() if k in {"date", *asked}}
            for day in days
        ]
        return self._ok(data, clock)

    @staticmethod
    def _ok(data: dict[str, Any], clock: date) -> dict[str, Any]:
        return {"code": 0, "message": "OK", "request_id": _log_id(clock), "data": data}

    def _organic_video(self, post: SocialPost, clock: date, fields: list[str]) -> dict[str, Any]:
        video = {
            "item_id": post.post_id,
            "create_time": str(int(post.published_at.timestamp())),
            "caption": post.caption,
            "share_url": post.permalink,
            "embed_url": f"https://www.tiktok.com/player/v1/{post.post_id}",
            "thumbnail_url": f"https://p16.tiktokcdn.example/{post.post_id}.jpeg",
            "video_duration": float(post.duration_s or 0),
            "impression_sources": [
                {"impression_source": "For You", "percentage": 0.82},
                {"impression_source": "Personal Profile", "percentage": 0.1},
                {"impression_source": "Follow", "percentage": 0.08},
            ],
            **self.organic(post, clock),
        }
        return {f: video.get(f) for f in fields}
