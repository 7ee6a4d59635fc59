"""TikTok constants: endpoints, fields, error codes and landing schemas.

Display API v2 (`open.tiktokapis.com`) lists a user's videos with lifetime counters; the
Business API (`business-api.tiktok.com`) adds organic insights for business accounts, and
their account metrics by day.
Metric columns keep TikTok's own names; staging renames them.
"""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
from pydantic import Field, field_validator

from connectors import social
from connectors.social import SocialSource
from contentpulse.config import Account, EndpointUrl, account_ids
from contentpulse.contract import Connector

PLATFORM = "tiktok"
# the connection: the app's client key and secret and the account's refresh token
CONNECTION_EXTRA = (("client_key", "client_secret", "refresh_token"),)
BASE_URL = "https://open.tiktokapis.com"
BUSINESS_BASE_URL = "https://business-api.tiktok.com"
TOKEN_URI = "https://open.tiktokapis.com/v2/oauth/token/"

USER_INFO = "/v2/user/info/"
VIDEO_LIST = "/v2/video/list/"
VIDEO_QUERY = "/v2/video/query/"
BUSINESS_VIDEO_LIST = "/open_api/v1.3/business/video/list/"
BUSINESS_GET = "/open_api/v1.3/business/get/"

PAGE_SIZE = 20  # video/list max_count and video/query video_ids: at most 20 each
CALLS = "calls"  # the per-run budget key (TikTok prices no call; it counts requests)

USER_FIELDS = (
    "open_id",
    "display_name",
    "follower_count",
    "following_count",
    "likes_count",
    "video_count",
)
VIDEO_FIELDS = (
    "id",
    "create_time",
    "title",
    "video_description",
    "duration",
    "share_url",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
)
DISPLAY_METRICS = ("view_count", "like_count", "comment_count", "share_count")
# Business API organic video insights (lifetime): time in seconds, the rates as fractions
BUSINESS_FIELDS = (
    "item_id",
    "create_time",
    "video_views",
    "reach",
    "total_time_watched",
    "average_time_watched",
    "full_video_watched_rate",
)
BUSINESS_INT_METRICS = ("video_views", "reach", "total_time_watched")
BUSINESS_FLOAT_METRICS = ("average_time_watched", "full_video_watched_rate")
# Business API account metrics by day (business/get/ `data.metrics[]`): followers_count is
# the day's total (staging takes its daily change), the others the day's counts
ACCOUNT_METRICS = ("video_views", "profile_views", "likes", "comments", "shares", "followers_count")
# TikTok keeps about 60 days of them: a read starts no earlier than 58 days before today (a
# day of margin: TikTok's day and the account's time zone may differ by one)
ACCOUNT_METRICS_KEPT_DAYS = 60

# Display API v2 error codes (body `error.code`), by what the client does about them
TOKEN_CODES = {"access_token_invalid"}
RATE_CODES = {"rate_limit_exceeded"}
RETRY_CODES = {"internal_error"}
DENIED_CODES = {"scope_not_authorized", "scope_permission_missed"}
# Business API codes (body `code`, usually with HTTP 200)
BUSINESS_OK = 0
BUSINESS_RATE_CODES = {40100}  # requests too frequent
BUSINESS_TOKEN_CODES = {40102, 40104, 40105}  # access token expired, empty, invalid/revoked
BUSINESS_DENIED_CODES = {40001}  # no permission for this business account
BUSINESS_RETRY_CODES = {50000, 50002}  # system errors: try again

SNAPSHOT_METRICS = [
    *[(m, pa.int64()) for m in DISPLAY_METRICS],
    *[(m, pa.int64()) for m in BUSINESS_INT_METRICS],
    *[(m, pa.float64()) for m in BUSINESS_FLOAT_METRICS],
]

SCHEMAS: dict[str, pa.Schema] = {
    "content_items": social.ITEMS_SCHEMA,
    # one row per video and reporting day; the business columns are NULL for accounts
    # that are not business accounts (the Display API has no reach or watch time)
    "content_snapshots": social.snapshot_schema(SNAPSHOT_METRICS),
    # business accounts: the Business API's account metrics, one row per day it served
    "account_daily": pa.schema(
        [
            ("account_id", pa.string()),
            ("date", pa.date32()),
            *[(m, pa.int64()) for m in ACCOUNT_METRICS],
            *social.RUN,
        ]
    ),
    # user/info lifetime counters at each read
    "account_snapshots": pa.schema(
        [
            ("account_id", pa.string()),
            ("snapshot_date", pa.date32()),
            ("follower_count", pa.int64()),
            ("following_count", pa.int64()),
            ("likes_count", pa.int64()),
            ("video_count", pa.int64()),
            *social.RUN,
        ]
    ),
    "insight_issues": social.ISSUES_SCHEMA,
    "extract_log": social.EXTRACT_LOG_SCHEMA,
}


class TikTokSource(SocialSource):
    """TikTok Display API (video list) and, for business accounts, the Business API's
    organic video insights. Accounts name a connection with a refresh token."""

    business_base_url: EndpointUrl | None = None  # None means TikTok's real Business API
    token_uri: EndpointUrl | None = None
    max_calls_per_second: Annotated[float, Field(gt=0)] | None = 8.0  # 600 a minute
    # accounts (ids) that are business accounts: their organic insights are read too
    business_accounts: list[str] = Field(default_factory=list)

    @field_validator("accounts")
    @classmethod
    def _openaccount_ids(cls, accounts: list[Account]) -> list[Account]:
        return account_ids(
            accounts, r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", "a TikTok id is letters, digits, ., - or _"
        )


# the registry's entry (pyproject.toml, `contentpulse.connectors`): what the kernel knows of it
CONNECTOR = Connector(
    platform=PLATFORM,
    rank=50,
    name="TikTok",
    settings=TikTokSource,
    schemas=SCHEMAS,
    hooks_at="connectors.tiktok:HOOKS",
    concurrent_requests=10,  # 600 requests a minute per endpoint
    connection_fields=CONNECTION_EXTRA,
    reads_history=False,  # lifetime counters: read as they are now
)
