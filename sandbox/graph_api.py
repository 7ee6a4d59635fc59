"""Meta's Graph API (Instagram professional accounts and Facebook Pages) over a SocialPortfolio.

Mounted on the sandbox under `/graph/`, so requests look like `/graph/v24.0/{id}/{edge}`.
It serves what the real API serves, the way it serves it, so that a connector that ignores
a rule fails here first:
- cursor paging: `paging.cursors.{before,after}` and an absolute `paging.next` on the
  sandbox's own address (it carries the access token only when the request did), `limit`
  silently capped at 100;
- lifetime insights per media product type: a retired metric or one a product type lacks
  fails the whole request with error 100 naming it (Facebook's "must be a valid insights
  metric" names none), carousel children have no insights, posts with fewer than
  `min_viewers` reached give error 10, and `empty_insights` posts give empty `data`, as do
  the media of a portfolio that opted in to real accounts' gaps (`with_insight_gaps`:
  posts from before the account became a business account, some carousels, expired
  stories, Facebook link posts);
- day insights with since/until spans capped (30 days on Instagram, 90 on Pages), complete
  days only, none older than two years; Instagram's account `views` only as one
  `total_value` over since..until (asked as a time series: error 100 "should be specified
  with parameter metric_type=total_value"), reach and follower_count as time series;
- `X-App-Usage` and `X-Business-Use-Case-Usage` on every response, growing with the calls
  of a rolling hour (`app_capacity` / `account_capacity` calls make 100 %); at 100 %,
  or past `throttle_after` calls, calls fail with the throttling codes (4, 80002, 32, 613);
- the Graph error shape `{"error": {message, type, code, error_subcode, fbtrace_id}}`,
  error 190 for a token other than connections.json's sandbox token of that platform;
- the sandbox faults: status (a Graph-shaped transient error with that HTTP status),
  slow, malformed, truncated, expired_token (190), quota (4 on Pages, 80002 on Instagram)
  and throttle (17, the user's rate limit, with the usage headers at 100 %).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sandbox.faults import Fault
from sandbox.social_portfolio import SocialAccount, SocialPortfolio, SocialPost

PAGE_LIMIT_MAX = 100
PAGE_LIMIT_DEFAULT = 25
DAY_RANGE_MAX = {"instagram": 30, "facebook": 90}
WINDOW_S = 3600.0  # usage is counted over a rolling hour, as Meta does
_PATH = re.compile(r"^/graph/(v\d+\.\d+)/([A-Za-z0-9_]+)(?:/([a-z_]+))?/?$")
_FIELD_NAME = re.compile(r"[a-z_]+")

IG_SUPPORTED = {
    "FEED": {
        "views",
        "reach",
        "saved",
        "shares",
        "likes",
        "comments",
        "total_interactions",
        "follows",
        "profile_visits",
    },
    "REELS": {
        "views",
        "reach",
        "saved",
        "shares",
        "likes",
        "comments",
        "total_interactions",
        "ig_reels_video_view_total_time",
        "ig_reels_avg_watch_time",
    },
    "STORY": {
        "views",
        "reach",
        "shares",
        "total_interactions",
        "follows",
        "profile_visits",
        "replies",
        "navigation",
    },
}
IG_RETIRED = {
    "impressions": "views",
    "plays": "views",
    "clips_replays_count": "views",
    "ig_reels_aggregated_all_plays_count": "views",
    "video_views": "views",
    "engagement": "total_interactions",
}
FB_SUPPORTED = {
    "FEED": {"post_media_view", "post_total_media_view_unique", "post_clicks"},
    "VIDEO": {
        "post_media_view",
        "post_total_media_view_unique",
        "post_clicks",
        "post_video_view_time",
        "post_video_avg_time_watched",
    },
}
FB_RETIRED = {
    "post_impressions": "post_media_view",
    "post_impressions_unique": "post_total_media_view_unique",
    "post_engaged_users": None,
    "page_impressions": "page_media_view",
    "page_impressions_unique": "page_total_media_view_unique",
    "page_fans": "page_follows",
    "page_fan_adds": "page_daily_follows_unique",
}
IG_DAY_METRICS = {"reach", "follower_count"}  # time series (period=day)
FB_DAY_METRICS = {"page_media_view", "page_total_media_view_unique", "page_daily_follows_unique"}
# account metrics Instagram serves only as one total over since..until (metric_type=total_value);
# the real API has more (profile_views, accounts_engaged, total_interactions...) and
# breakdowns: the sandbox serves views, without breakdown
IG_TOTAL_VALUE_METRICS = {"views"}
METRIC_TYPES = ("time_series", "total_value")
INSIGHTS_KEPT_DAYS = 730  # Meta keeps insights about two years
# the account-day truth (SocialPortfolio.account_day) behind each day metric
DAY_SOURCE = {
    "views": "views",
    "reach": "reach",
    "follower_count": "follows",
    "page_media_view": "views",
    "page_total_media_view_unique": "reach",
    "page_daily_follows_unique": "follows",
}
IG_MEDIA_FIELDS = {
    "id",
    "caption",
    "media_type",
    "media_product_type",
    "timestamp",
    "permalink",
    "like_count",
    "comments_count",
    "children",
    "username",
    "shortcode",
}
IG_USER_FIELDS = {"id", "username", "name", "followers_count", "follows_count", "media_count"}
FB_POST_FIELDS = {
    "id",
    "message",
    "created_time",
    "permalink_url",
    "attachments",
    "shares",
    "reactions",
    "comments",
}
FB_PAGE_FIELDS = {"id", "name", "followers_count", "fan_count"}
CONNECTIONS = Path(__file__).with_name("connections.json")


class GraphFailure(Exception):
    """A Graph error response: HTTP status and the `error` object."""

    def __init__(
        self, status: int, code: int, message: str, subcode: int | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.subcode = status, code, message, subcode
        self.extra = extra

    def body(self, trace: str) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": trace,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error.update(self.extra)
        return {"error": error}


def _bad_param(message: str) -> GraphFailure:
    return GraphFailure(400, 100, message)


def _tokens() -> dict[str, str]:
    """platform -> the access token connections.json gives the sandbox."""
    data = json.loads(CONNECTIONS.read_text(encoding="utf-8"))
    return {
        p: data[f"{p}_sandbox"]["extra"]["access_token"]
        for p in ("instagram", "facebook")
        if f"{p}_sandbox" in data
    }


def _fields(spec: str | None) -> list[str]:
    """Top-level field names of `a,b{c,d},e.summary(total_count).limit(0)`."""
    names, depth, current = [], 0, ""
    for ch in spec or "":
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        if ch == "," and depth == 0:
            names.append(current)
            current = ""
        else:
            current += ch
    names.append(current)
    out = []
    for raw in names:
        match = _FIELD_NAME.match(raw.strip())
        if match:
            out.append(match.group(0))
    return out


def _cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(f"cursor:{item_id}".encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        raise _bad_param("(#100) Invalid cursor") from None
    if not text.startswith("cursor:"):
        raise _bad_param("(#100) Invalid cursor")
    return text.removeprefix("cursor:")


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _day(value: str, name: str) -> date:
    """since/until: a unix timestamp or a date string, as Graph accepts (strtotime)."""
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), UTC).date()
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _bad_param(f"(#100) The parameter {name} is not a valid date") from None


class GraphApi:
    """The Graph API handlers for the portfolio's Instagram and Facebook accounts."""

    prefixes = ("/graph/",)

    def __init__(
        self,
        portfolio: SocialPortfolio,
        app_capacity: int = 100_000,
        account_capacity: int = 20_000,
        min_viewers: int = 1,
    ) -> None:
        self.portfolio = portfolio
        self.app_capacity = app_capacity
        self.account_capacity = account_capacity
        self.min_viewers = min_viewers  # lifetime reach below this: error 10
        self.throttle_after: int | None = None  # calls after which every call gets error 613
        self.empty_insights: set[str] = set()  # posts whose insights come back empty
        # posts deleted between the listing and their insights call: listed, then refused
        # with error 100 subcode 33 (a deletion in the middle of a run)
        self.deleted_after_listing: set[str] = set()
        self.tokens = _tokens()
        self.calls = 0
        self.requests: list[str] = []  # path?query of every request (tests read the paging)
        self._stamps: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()
        self._children = {
            child: post for post in portfolio.posts_by_id.values() for child in post.children
        }

    def reset_usage(self) -> None:
        """The rolling hour passes: usage back to zero, call-count throttling lifted."""
        with self._lock:
            self._stamps.clear()
            self.calls = 0
            self.throttle_after = None

    # -- entry point ---------------------------------------------------------------------
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
        query = {k: v[0] for k, v in params.items() if v}
        match = _PATH.match(path)
        owner = self._owner(match.group(2)) if match else None
        usage = self._count(owner.account_id if owner else "")
        out_headers = self._usage_headers(owner, usage)
        trace = f"A{self.calls:08d}sbx"
        self.requests.append(path + ("?" + urlencode(query) if query else ""))
        try:
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay_s)
            if fault is not None and fault.kind == "status":
                if fault.retry_after is not None:
                    out_headers["Retry-After"] = f"{fault.retry_after:g}"
                raise GraphFailure(
                    fault.status,
                    2 if fault.status >= 500 else 1,
                    "An unexpected error has occurred. Please retry your request later.",
                    is_transient=True,
                )
            if fault is not None and fault.kind == "malformed":
                html = b"<html><body>Sorry, something went wrong.</body></html>"
                return 200, html, out_headers | {"Content-Type": "text/html"}
            if match is None or method != "GET":
                raise _bad_param(f"Unsupported {method} request.")
            platform = self._authorize(owner, query, headers, fault)
            if fault is not None and fault.kind == "throttle":
                out_headers = self._usage_headers(owner, (100.0, 100.0))
                raise GraphFailure(400, 17, "(#17) User request limit reached")
            self._throttle(owner, platform, usage, fault)
            payload = self._route(match.group(2), match.group(3), query, clock, path, base_url)
        except GraphFailure as failure:
            return (
                failure.status,
                json.dumps(failure.body(trace)).encode(),
                out_headers | {"Content-Type": "application/json; charset=UTF-8"},
            )
        raw = json.dumps(payload, ensure_ascii=False).encode()
        if fault is not None and fault.kind == "truncated":
            raw = raw[: len(raw) // 2]
        return 200, raw, out_headers | {"Content-Type": "application/json; charset=UTF-8"}

    # -- state: whose object, whose token, how much usage --------------------------------
    def _owner(self, object_id: str) -> SocialAccount | None:
        account = self.portfolio.account(object_id)
        if account is not None:
            return account
        post = self.portfolio.posts_by_id.get(object_id) or self._children.get(object_id)
        return self.portfolio.account(post.account_id) if post else None

    def _count(self, account_id: str) -> tuple[float, float]:
        """Record one call; (app usage %, this account's usage %) over the rolling hour."""
        with self._lock:
            now = time.monotonic()
            self.calls += 1
            self._stamps.append((now, account_id))
            while self._stamps and self._stamps[0][0] < now - WINDOW_S:
                self._stamps.popleft()
            app = len(self._stamps)
            mine = sum(1 for _, a in self._stamps if a == account_id) if account_id else 0
        return (
            min(100.0, 100.0 * app / self.app_capacity),
            min(100.0, 100.0 * mine / self.account_capacity),
        )

    @staticmethod
    def _usage_headers(owner: SocialAccount | None, usage: tuple[float, float]) -> dict[str, str]:
        app, mine = (int(u) for u in usage)
        headers = {
            "X-App-Usage": json.dumps(
                {"call_count": app, "total_cputime": app // 2, "total_time": app // 2}
            )
        }
        if owner is not None:
            kind = "instagram" if owner.platform == "instagram" else "pages"
            headers["X-Business-Use-Case-Usage"] = json.dumps(
                {
                    owner.account_id: [
                        {
                            "type": kind,
                            "call_count": mine,
                            "total_cputime": mine // 2,
                            "total_time": mine // 2,
                            "estimated_time_to_regain_access": 0 if mine < 100 else 60,
                        }
                    ]
                }
            )
        return headers

    def _authorize(
        self,
        owner: SocialAccount | None,
        query: dict[str, str],
        headers: Any,
        fault: Fault | None,
    ) -> str:
        auth = headers.get("Authorization", "") if headers is not None else ""
        token = query.get("access_token") or re.sub(r"^(Bearer|OAuth) ", "", auth) or ""
        if not token:
            raise GraphFailure(400, 104, "An access token is required to request this resource.")
        if fault is not None and fault.kind == "expired_token":
            raise GraphFailure(
                400,
                190,
                "Error validating access token: Session has expired on Sunday, "
                "22-Nov-26 04:00:00 PST.",
                463,
            )
        platforms = [p for p, t in self.tokens.items() if t == token]
        if not platforms:
            raise GraphFailure(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if owner is not None and owner.platform not in platforms:
            raise GraphFailure(
                400,
                190,
                "Error validating access token: the token does not grant access to this object.",
                460,
            )
        return platforms[0]

    def _throttle(
        self,
        owner: SocialAccount | None,
        platform: str,
        usage: tuple[float, float],
        fault: Fault | None,
    ) -> None:
        app, mine = usage
        on_instagram = (owner.platform if owner else platform) == "instagram"
        if fault is not None and fault.kind == "quota":
            if on_instagram:
                raise GraphFailure(
                    400, 80002, "There have been too many calls to this Instagram account."
                )
            raise GraphFailure(403, 4, "(#4) Application request limit reached")
        if self.throttle_after is not None and self.calls > self.throttle_after:
            raise GraphFailure(400, 613, "(#613) Calls to this api have exceeded the rate limit.")
        if app >= 100:
            raise GraphFailure(403, 4, "(#4) Application request limit reached")
        if mine >= 100:
            if on_instagram:
                raise GraphFailure(
                    400, 80002, "There have been too many calls to this Instagram account."
                )
            raise GraphFailure(400, 32, "(#32) Page request limit reached")

    # -- routes ----------------------------------------------------------------------------
    def _route(
        self,
        object_id: str,
        edge: str | None,
        query: dict[str, str],
        clock: date,
        path: str,
        base_url: str,
    ) -> dict[str, Any]:
        account = self.portfolio.account(object_id)
        if account is not None and account.platform in ("instagram", "facebook"):
            if edge is None:
                return self._account_node(account, query, clock)
            if edge == "insights":
                return self._day_insights(account, query, clock)
            if account.platform == "instagram" and edge in ("media", "stories"):
                posts = [
                    p
                    for p in self.portfolio.visible_posts(account, clock)
                    if p.is_story == (edge == "stories")
                ]
                return self._page(posts, query, clock, path, base_url, self._ig_media)
            if account.platform == "facebook" and edge in ("posts", "published_posts"):
                posts = self.portfolio.visible_posts(account, clock)
                return self._page(posts, query, clock, path, base_url, self._fb_post)
            raise _bad_param(f"(#100) Tried accessing nonexisting field ({edge})")
        if object_id in self._children:
            if edge == "insights":
                raise _bad_param(
                    "(#100) Insights are not available for media that are carousel children"
                )
            if edge is None:
                return {"id": object_id, "media_type": "IMAGE"}
        post = self.portfolio.posts_by_id.get(object_id)
        if edge == "insights" and post is not None and self._no_insights(post, clock):
            return {"data": []}
        if post is None or not _visible(post, clock) or self._deleted(post, clock):
            raise GraphFailure(
                400,
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot "
                "be loaded due to missing permissions, or does not support this operation.",
                33,
            )
        if edge == "insights":
            return self._post_insights(post, query, clock)
        if edge is None:
            fields = set(_fields(query.get("fields") or "id"))
            render = self._ig_media if post.platform == "instagram" else self._fb_post
            return render(post, fields, clock)
        raise _bad_param(f"(#100) Tried accessing nonexisting field ({edge})")

    def _deleted(self, post: SocialPost, clock: date) -> bool:
        """Deleted by the clock, or in the middle of this run (after it was listed)."""
        return self.portfolio.is_gone(post, clock) or post.post_id in self.deleted_after_listing

    def _account_node(
        self, account: SocialAccount, query: dict[str, str], clock: date
    ) -> dict[str, Any]:
        fields = _fields(query.get("fields") or "id")
        followers = self.portfolio.followers(account, clock)
        if account.platform == "instagram":
            allowed, node_type = IG_USER_FIELDS, "IGUser"
            media = [p for p in self.portfolio.visible_posts(account, clock) if not p.is_story]
            values = {
                "id": account.account_id,
                "username": account.username,
                "name": account.name,
                "followers_count": followers,
                "follows_count": 150 + len(account.posts) % 97,
                "media_count": len(media),
            }
        else:
            allowed, node_type = FB_PAGE_FIELDS, "Page"
            values = {
                "id": account.account_id,
                "name": account.name,
                "followers_count": followers,
                "fan_count": int(followers * 0.92),
            }
        self._check_fields(fields, allowed, node_type)
        return {f: values[f] for f in ["id", *fields] if f in values}

    @staticmethod
    def _check_fields(fields: list[str], allowed: set[str], node_type: str) -> None:
        for name in fields:
            if name not in allowed:
                raise _bad_param(
                    f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
                )

    def _page(
        self,
        posts: list[SocialPost],
        query: dict[str, str],
        clock: date,
        path: str,
        base_url: str,
        render,
    ) -> dict[str, Any]:
        fields = set(_fields(query.get("fields") or "id"))
        try:
            limit = int(query.get("limit") or PAGE_LIMIT_DEFAULT)
        except ValueError:
            raise _bad_param("(#100) Param limit must be a number") from None
        limit = max(1, min(limit, PAGE_LIMIT_MAX))
        start = 0
        if query.get("after"):
            after = _uncursor(query["after"])
            ids = [p.post_id for p in posts]
            start = ids.index(after) + 1 if after in ids else len(ids)
        page = posts[start : start + limit]
        body: dict[str, Any] = {"data": [render(p, fields, clock) for p in page]}
        if page:
            paging: dict[str, Any] = {
                "cursors": {"before": _cursor(page[0].post_id), "after": _cursor(page[-1].post_id)}
            }
            if start + limit < len(posts):
                nxt = {k: v for k, v in query.items() if k != "before"}
                nxt["limit"] = str(limit)
                nxt["after"] = _cursor(page[-1].post_id)
                paging["next"] = f"{base_url}{path}?{urlencode(nxt)}"
            body["paging"] = paging
        return body

    def _ig_media(self, post: SocialPost, fields: set[str], clock: date) -> dict[str, Any]:
        self._check_fields(sorted(fields), IG_MEDIA_FIELDS, "IGMedia")
        life = self.portfolio.lifetime(post, clock)
        account = self.portfolio.account(post.account_id)
        values: dict[str, Any] = {
            "id": post.post_id,
            "caption": post.caption,
            "media_type": post.media_type,
            "media_product_type": post.product_type,
            "timestamp": _timestamp(post.published_at),
            "permalink": post.permalink,
            "like_count": life["likes"],
            "comments_count": life["comments"],
            "username": account.username if account else None,
            "shortcode": post.permalink.rstrip("/").rsplit("/", 1)[-1],
        }
        if post.children:
            values["children"] = {"data": [{"id": c, "media_type": "IMAGE"} for c in post.children]}
        return {f: values[f] for f in ["id", *sorted(fields)] if f in values}

    def _fb_post(self, post: SocialPost, fields: set[str], clock: date) -> dict[str, Any]:
        self._check_fields(sorted(fields), FB_POST_FIELDS, "Post")
        life = self.portfolio.lifetime(post, clock)
        values: dict[str, Any] = {
            "id": post.post_id,
            "message": post.caption,
            "created_time": _timestamp(post.published_at),
            "permalink_url": post.permalink,
            "attachments": {"data": [{"media_type": post.media_type}]},
            "reactions": {"data": [], "summary": {"total_count": life["likes"]}},
            "comments": {
                "data": [],
                "summary": {"order": "ranked", "total_count": life["comments"]},
            },
        }
        if life["shares"]:  # Graph omits shares for a post nobody shared
            values["shares"] = {"count": life["shares"]}
        return {f: values[f] for f in ["id", *sorted(fields)] if f in values}

    # -- insights --------------------------------------------------------------------------
    @staticmethod
    def _metrics(query: dict[str, str]) -> list[str]:
        metrics = [m.strip() for m in (query.get("metric") or "").split(",") if m.strip()]
        if not metrics:
            raise GraphFailure(
                400,
                100,
                "(#100) The parameter metric is required",
            )
        return metrics

    def _post_insights(
        self, post: SocialPost, query: dict[str, str], clock: date
    ) -> dict[str, Any]:
        metrics = self._metrics(query)
        instagram = post.platform == "instagram"
        supported = (IG_SUPPORTED if instagram else FB_SUPPORTED)[post.product_type]
        retired = IG_RETIRED if instagram else FB_RETIRED
        known = set().union(*(IG_SUPPORTED if instagram else FB_SUPPORTED).values())
        for i, name in enumerate(metrics):
            if name in retired:
                instead = f" Please use {retired[name]} instead." if retired[name] else ""
                if instagram:
                    raise _bad_param(
                        f"(#100) Starting from v22.0, the {name} metric is no longer "
                        f"supported.{instead}"
                    )
                raise _bad_param(f"(#100) The {name} metric has been deprecated.{instead}")
            if not instagram and name not in supported:
                raise _bad_param("(#100) The value must be a valid insights metric")
            if name not in known:
                raise _bad_param(
                    f"(#100) metric[{i}] must be one of the following values: "
                    + ", ".join(sorted(known))
                )
            if name not in supported:
                raise _bad_param(
                    f"(#100) The Media Insights API does not support the {name} metric for "
                    "this media product type."
                )
        life = self.portfolio.lifetime(post, clock)
        if life["reach"] < self.min_viewers:
            raise GraphFailure(400, 10, "(#10) Not enough viewers for the media to show insights")
        if post.post_id in self.empty_insights or self._no_insights(post, clock):
            return {"data": []}
        values = _insight_values(life)
        return {
            "data": [
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": values[name]}],
                    "title": name.replace("_", " ").capitalize(),
                    "description": f"Lifetime {name.replace('_', ' ')} of this media.",
                    "id": f"{post.post_id}/insights/{name}/lifetime",
                }
                for name in metrics
            ]
        }

    def _no_insights(self, post: SocialPost, clock: date) -> bool:
        """The portfolio opted in to real accounts' media without insights (InsightGaps):
        Meta answers their insights, an expired story's too, with empty `data`."""
        gaps = self.portfolio.insight_gaps
        return gaps is not None and gaps.empty(post, clock)

    def _day_insights(
        self, account: SocialAccount, query: dict[str, str], clock: date
    ) -> dict[str, Any]:
        """Account insights by day: a time series (`values` with `end_time`), or on Instagram
        one `total_value` over since..until for the metrics served only that way (views)."""
        metrics, total = self._day_metrics(account, query)
        days = _insight_days(account, query, clock)
        truth = {d: self.portfolio.account_day(account, d) for d in days}
        if total:
            # unavailable data is an empty set, never 0
            return {
                "data": [
                    {
                        "name": name,
                        "period": "day",
                        "title": name.replace("_", " ").capitalize(),
                        "description": f"Total {name.replace('_', ' ')} between since and until.",
                        "total_value": {"value": sum(truth[d][DAY_SOURCE[name]] for d in days)},
                        "id": f"{account.account_id}/insights/{name}/day",
                    }
                    for name in metrics
                ]
                if days
                else []
            }
        return {
            "data": [
                {
                    "name": name,
                    "period": "day",
                    "values": [
                        {
                            "value": truth[d][DAY_SOURCE[name]],
                            "end_time": f"{(d + timedelta(days=1)).isoformat()}T08:00:00+0000",
                        }
                        for d in days
                    ],
                    "title": name.replace("_", " ").capitalize(),
                    "description": f"Daily {name.replace('_', ' ')}.",
                    "id": f"{account.account_id}/insights/{name}/day",
                }
                for name in metrics
            ]
        }

    def _day_metrics(self, account: SocialAccount, query: dict[str, str]) -> tuple[list[str], bool]:
        """The account insights' metrics asked for, checked as Meta checks them, and whether
        they are asked as one total_value (Instagram only)."""
        metrics = self._metrics(query)
        instagram = account.platform == "instagram"
        total = instagram and query.get("metric_type") == "total_value"
        if instagram and query.get("metric_type", "time_series") not in METRIC_TYPES:
            raise _bad_param(
                "(#100) metric_type must be one of the following values: " + ", ".join(METRIC_TYPES)
            )
        if instagram and not total:
            only_total = [m for m in metrics if m in IG_TOTAL_VALUE_METRICS]
            if only_total:
                raise _bad_param(
                    f"(#100) The following metrics ({','.join(only_total)}) should be "
                    "specified with parameter metric_type=total_value"
                )
        if query.get("breakdown"):
            raise _bad_param("(#100) The sandbox serves no breakdown of account insights")
        supported = (
            IG_TOTAL_VALUE_METRICS if total else IG_DAY_METRICS if instagram else FB_DAY_METRICS
        )
        for i, name in enumerate(metrics):
            if not instagram and name in FB_RETIRED:
                instead = f" Please use {FB_RETIRED[name]} instead." if FB_RETIRED[name] else ""
                raise _bad_param(f"(#100) The {name} metric has been deprecated.{instead}")
            if name not in supported:
                raise _bad_param(
                    f"(#100) metric[{i}] must be one of the following values: "
                    + ", ".join(sorted(supported))
                )
        if query.get("period", "day") != "day":
            raise _bad_param("(#100) The period must be day for these metrics")
        return metrics, total


def _insight_days(account: SocialAccount, query: dict[str, str], clock: date) -> list[date]:
    """The days since..until (until excluded) an account insights request covers: complete
    days only (the clock's own day is not over), and none older than Meta keeps."""
    until = _day(query["until"], "until") if query.get("until") else clock
    since = _day(query["since"], "since") if query.get("since") else until - timedelta(days=2)
    span = DAY_RANGE_MAX[account.platform]
    if (until - since).days > span or until <= since:
        raise _bad_param(
            f"(#100) There cannot be more than {span} days ({span * 86400} s) between "
            "since and until"
        )
    oldest = clock - timedelta(days=INSIGHTS_KEPT_DAYS)
    days = [since + timedelta(days=i) for i in range((until - since).days)]
    return [d for d in days if oldest <= d < clock]


def _visible(post: SocialPost, clock: date) -> bool:
    """As SocialPortfolio.visible_posts: published before the clock; stories the day after."""
    age = (clock - post.publish_date).days
    return age >= 1 and (not post.is_story or age == 1)


def _insight_values(life: dict[str, int]) -> dict[str, int]:
    """Every insights metric of a post from its lifetime counters (native names)."""
    views, watch_ms = life["views"], life["watch_time_s"] * 1000
    return {
        "views": views,
        "reach": life["reach"],
        "saved": life["saves"],
        "shares": life["shares"],
        "likes": life["likes"],
        "comments": life["comments"],
        "total_interactions": life["likes"] + life["comments"] + life["shares"] + life["saves"],
        "follows": life["follows"],
        "profile_visits": life["clicks"],
        "replies": life["comments"],
        "navigation": views // 3,
        "ig_reels_video_view_total_time": watch_ms,
        "ig_reels_avg_watch_time": round(watch_ms / views) if views else 0,
        "post_media_view": views,
        "post_total_media_view_unique": life["reach"],
        "post_clicks": life["clicks"],
        "post_video_view_time": watch_ms,
        "post_video_avg_time_watched": round(watch_ms / views) if views else 0,
    }
