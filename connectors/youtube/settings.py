"""YouTube constants: endpoints, quota prices, batch sizes, metrics and landing schemas."""

import pyarrow as pa

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
