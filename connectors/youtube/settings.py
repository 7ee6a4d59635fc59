"""YouTube constants: endpoints, quota prices, batch sizes, metrics and landing schemas."""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
from pydantic import Field, field_validator

from contentpulse.config import Account, EndpointUrl, Strict, account_ids
from contentpulse.contract import Connector

PLATFORM = "youtube"
# the connection (Airflow's google_cloud_platform type): an OAuth client and refresh token
CONNECTION_EXTRA = (("client_id", "client_secret", "refresh_token"),)
TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)
# What each call costs, and from which quota: the Data API's units (10,000 a day per
# project by default) or the Analytics API's query count (its own, separate quota).
DATA_API, ANALYTICS = "data_api_units", "analytics_queries"
CALL_COST = {
    "channels.list": (DATA_API, 1),
    "playlistItems.list": (DATA_API, 1),
    "videos.list": (DATA_API, 1),
    "reports.query": (ANALYTICS, 1),
}
DATA_PAGE_SIZE = 50  # playlistItems.list and videos.list accept at most 50
VIDEO_FILTER_BATCH = 200  # ids per Analytics `filters=video==a,b,...`
ANALYTICS_PAGE_SIZE = 200  # rows per Analytics page for video reports
WINDOW_CHUNK_DAYS = 31  # long backfill windows are queried a month at a time
SHORTS_MAX_DURATION_S = 180  # Shorts may run up to three minutes since 2024-10
TRAFFIC_DAYS = 28  # per-video traffic sources cover each video's first four weeks
# videos.list parts: status tells a private video, liveStreamingDetails a (past) live stream
VIDEO_PARTS = "snippet,contentDetails,statistics,status,liveStreamingDetails"

VIDEO_METRICS = (
    "views",
    "engagedViews",
    "estimatedMinutesWatched",
    "averageViewDuration",
    "averageViewPercentage",
    "likes",
    "dislikes",
    "comments",
    "shares",
    "subscribersGained",
    "subscribersLost",
)
CHANNEL_METRICS = ("views", "estimatedMinutesWatched", "subscribersGained", "subscribersLost")

_RUN = [("extracted_at", pa.timestamp("us", tz="UTC")), ("run_id", pa.string())]

SCHEMAS: dict[str, pa.Schema] = {
    "content_items": pa.schema(
        [
            ("account_id", pa.string()),
            ("item_id", pa.string()),
            ("title", pa.string()),
            ("description", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("published_at", pa.timestamp("us", tz="UTC")),
            ("duration_s", pa.int64()),
            ("format", pa.string()),
            ("url", pa.string()),
            ("links", pa.list_(pa.string())),
            ("view_count", pa.int64()),
            ("like_count", pa.int64()),
            ("comment_count", pa.int64()),
            # public, unlisted or private (status.privacyStatus): a private video is gone
            ("privacy_status", pa.string()),
            ("raw_json", pa.string()),
            *_RUN,
        ]
    ),
    "content_daily": pa.schema(
        [
            ("account_id", pa.string()),
            ("item_id", pa.string()),
            ("date", pa.date32()),
            *[
                (m, pa.float64() if m == "averageViewPercentage" else pa.int64())
                for m in VIDEO_METRICS
            ],
            *_RUN,
        ]
    ),
    "account_daily": pa.schema(
        [
            ("account_id", pa.string()),
            ("date", pa.date32()),
            *[(m, pa.int64()) for m in CHANNEL_METRICS],
            *_RUN,
        ]
    ),
    # the channel's lifetime counters (channels.list statistics) at each extraction
    "account_snapshots": pa.schema(
        [
            ("account_id", pa.string()),
            ("subscriber_count", pa.int64()),
            ("view_count", pa.int64()),
            ("video_count", pa.int64()),
            *_RUN,
        ]
    ),
    # item_id "" is the whole channel; otherwise one video in its first TRAFFIC_DAYS days
    "traffic_daily": pa.schema(
        [
            ("account_id", pa.string()),
            ("item_id", pa.string()),
            ("date", pa.date32()),
            ("source", pa.string()),
            ("views", pa.int64()),
            *_RUN,
        ]
    ),
    "extract_log": pa.schema(
        [
            ("account_id", pa.string()),
            ("window_start", pa.date32()),
            ("window_end", pa.date32()),
            ("last_date_returned", pa.date32()),
            ("calls", pa.int64()),
            ("quota_units", pa.int64()),
            ("retries", pa.int64()),
            ("rows", pa.int64()),
            *_RUN,
        ]
    ),
}


class YouTubeSource(Strict):
    """YouTube Data API v3 + YouTube Analytics API v2."""

    # None means Google's real endpoints; the demo and tests point it at the sandbox.
    base_url: EndpointUrl | None = None
    token_uri: EndpointUrl | None = None
    lookback_days: Annotated[int, Field(ge=1, le=60)] = 3
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    # parallel API workers for this source, and a cap on calls per second across them
    concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    # extract tasks of this source Airflow runs at once (its pool); None = from the API's
    # concurrent-request limit divided by `concurrency` (contentpulse.pools)
    pool_slots: Annotated[int, Field(ge=1, le=64)] | None = None
    max_calls_per_second: Annotated[float, Field(gt=0)] | None = 20.0
    # per-run budgets (None = unlimited): a run stops cleanly before spending past them and
    # the next run resumes; the Data API's default project quota is 10,000 units a day
    budget_data_api_units: Annotated[int, Field(ge=1)] | None = None
    budget_analytics_queries: Annotated[int, Field(ge=1)] | None = None
    accounts: list[Account] = Field(default_factory=list)

    @field_validator("accounts")
    @classmethod
    def _channelaccount_ids(cls, accounts: list[Account]) -> list[Account]:
        return account_ids(
            accounts, r"UC[A-Za-z0-9_-]+", "a YouTube channel id is UC and letters, digits, - or _"
        )


# the registry's entry (pyproject.toml, `contentpulse.connectors`): what the kernel knows of it
CONNECTOR = Connector(
    platform=PLATFORM,
    rank=10,
    name="YouTube",
    settings=YouTubeSource,
    schemas=SCHEMAS,
    hooks_at="connectors.youtube:HOOKS",
    concurrent_requests=8,  # one project's quota is shared by every channel
    connection_fields=CONNECTION_EXTRA,
)
