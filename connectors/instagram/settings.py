"""Instagram constants: endpoints' fields, the insights metric registry and landing schemas."""

from __future__ import annotations

import pyarrow as pa

from connectors import social
from connectors.graph import Metric, metric
from connectors.social import GraphSource
from contentpulse.contract import Connector

PLATFORM = "instagram"
# the connection: a long-lived Graph API user token (sent as a header, never in a URL)
CONNECTION_EXTRA = (("access_token",),)
PAGE_LIMIT = 100  # media per page (the API caps `limit`)
MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,timestamp,permalink,"
    "like_count,comments_count,children{id,media_type}"
)
ACCOUNT_FIELDS = "id,username,followers_count,follows_count,media_count"
ACCOUNT_DAY_METRICS = ("reach", "follower_count")  # period=day time series
ACCOUNT_INSIGHTS_MAX_DAYS = 30  # since..until may span at most 30 days a call
# account metrics served only as one total over since..until (metric_type=total_value):
# read one day a call
ACCOUNT_TOTAL_METRICS = ("views",)
INSIGHTS_KEPT_DAYS = 730  # Meta keeps insights about two years: older days are not asked

FEED, REELS, STORY = "FEED", "REELS", "STORY"
# Media insights by product type (carousel children have none: never asked). Since 2025
# `views` replaces impressions, plays, clips_replays_count, ig_reels_aggregated_all_plays_count
# and video_views; asking for a retired name fails the whole request, so it is dropped first.
REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        metric("views", FEED, REELS, STORY, valid_from="2024-07-02"),
        metric("reach", FEED, REELS, STORY),
        metric("saved", FEED, REELS),
        metric("shares", FEED, REELS, STORY),
        metric("likes", FEED, REELS),
        metric("comments", FEED, REELS),
        metric("total_interactions", FEED, REELS, STORY),
        metric("follows", FEED, STORY),
        metric("profile_visits", FEED, STORY),
        metric("replies", STORY),
        metric("ig_reels_video_view_total_time", REELS),  # milliseconds
        metric("ig_reels_avg_watch_time", REELS),  # milliseconds
        metric("navigation", STORY, default=False),  # needs a breakdown: not by default
        metric("impressions", FEED, REELS, STORY, retired_on="2025-04-21", replaced_by="views"),
        metric("plays", REELS, retired_on="2025-04-21", replaced_by="views"),
        metric("clips_replays_count", REELS, retired_on="2025-04-21", replaced_by="views"),
        metric(
            "ig_reels_aggregated_all_plays_count",
            REELS,
            retired_on="2025-04-21",
            replaced_by="views",
        ),
        metric("video_views", FEED, REELS, retired_on="2025-01-08", replaced_by="views"),
        metric(
            "engagement", FEED, REELS, retired_on="2023-12-11", replaced_by="total_interactions"
        ),
        metric("saves", FEED, REELS, retired_on="2023-12-11", replaced_by="saved"),
    )
}
# lifetime counters a snapshot lands: the media fields, then the insights metrics
FIELD_COUNTERS = ("like_count", "comments_count")
INSIGHT_COLUMNS = (
    "views",
    "reach",
    "saved",
    "shares",
    "likes",
    "comments",
    "total_interactions",
    "follows",
    "profile_visits",
    "replies",
    "ig_reels_video_view_total_time",
    "ig_reels_avg_watch_time",
)
SNAPSHOT_COLUMNS = FIELD_COUNTERS + INSIGHT_COLUMNS

_RUN = social.RUN
SCHEMAS: dict[str, pa.Schema] = {
    "content_items": social.ITEMS_SCHEMA,
    "content_snapshots": social.snapshot_schema([(c, pa.int64()) for c in SNAPSHOT_COLUMNS]),
    "account_daily": pa.schema(
        [
            ("account_id", pa.string()),
            ("date", pa.date32()),
            *[(m, pa.int64()) for m in ACCOUNT_DAY_METRICS + ACCOUNT_TOTAL_METRICS],
            *_RUN,
        ]
    ),
    "account_snapshots": pa.schema(
        [
            ("account_id", pa.string()),
            ("snapshot_date", pa.date32()),
            ("username", pa.string()),
            ("followers_count", pa.int64()),
            ("follows_count", pa.int64()),
            ("media_count", pa.int64()),
            *_RUN,
        ]
    ),
    "insight_issues": social.ISSUES_SCHEMA,
    "extract_log": social.EXTRACT_LOG_SCHEMA,
}


class InstagramSource(GraphSource):
    """Instagram Graph API: media, media insights, account insights; accounts are IG user ids."""


# the registry's entry (pyproject.toml, `contentpulse.connectors`): what the kernel knows of it
CONNECTOR = Connector(
    platform=PLATFORM,
    rank=30,
    name="Instagram",
    settings=InstagramSource,
    schemas=SCHEMAS,
    hooks_at="connectors.instagram:HOOKS",
    concurrent_requests=8,  # Business Use Case limits are per app and account
    connection_fields=CONNECTION_EXTRA,
    reads_history=False,  # lifetime counters: read as they are now
)
