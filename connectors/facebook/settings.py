"""Facebook Pages constants: post fields, the insights metric registry and landing schemas."""

from __future__ import annotations

import pyarrow as pa

from connectors import social
from connectors.graph import Metric, metric
from connectors.social import GraphSource
from contentpulse.contract import Connector

PLATFORM = "facebook"
# the connection: a long-lived Page access token
CONNECTION_EXTRA = (("access_token",),)
PAGE_LIMIT = 100  # posts per page (the API caps `limit`)
POST_FIELDS = (
    "id,message,created_time,permalink_url,attachments{media_type},shares,"
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
PAGE_FIELDS = "id,name,followers_count,fan_count"
# page day insights; 2025-11: page_impressions* -> page_media_view / page_total_media_view_unique,
# page_fans / page_fan_adds -> page_follows / page_daily_follows_unique
PAGE_DAY_METRICS = ("page_media_view", "page_total_media_view_unique", "page_daily_follows_unique")
PAGE_INSIGHTS_MAX_DAYS = 90  # since..until may span at most 90 days a call

FEED, VIDEO = "FEED", "VIDEO"  # a post's product type: VIDEO when its attachment is a video
# Post insights (lifetime). Since 2025-11 impressions are retired for media views.
REGISTRY: dict[str, Metric] = {
    m.name: m
    for m in (
        metric("post_media_view", FEED, VIDEO),
        metric("post_total_media_view_unique", FEED, VIDEO),
        metric("post_clicks", FEED, VIDEO),
        metric("post_video_view_time", VIDEO),  # milliseconds
        metric("post_video_avg_time_watched", VIDEO),  # milliseconds
        metric(
            "post_impressions", FEED, VIDEO, retired_on="2025-11-15", replaced_by="post_media_view"
        ),
        metric(
            "post_impressions_unique",
            FEED,
            VIDEO,
            retired_on="2025-11-15",
            replaced_by="post_total_media_view_unique",
        ),
        metric("post_engaged_users", FEED, VIDEO, retired_on="2024-03-14"),
    )
}
FIELD_COUNTERS = ("reactions", "comments", "shares")
INSIGHT_COLUMNS = (
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_video_view_time",
    "post_video_avg_time_watched",
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
            *[(m, pa.int64()) for m in PAGE_DAY_METRICS],
            *_RUN,
        ]
    ),
    "account_snapshots": pa.schema(
        [
            ("account_id", pa.string()),
            ("snapshot_date", pa.date32()),
            ("name", pa.string()),
            ("followers_count", pa.int64()),
            ("fan_count", pa.int64()),
            *_RUN,
        ]
    ),
    "insight_issues": social.ISSUES_SCHEMA,
    "extract_log": social.EXTRACT_LOG_SCHEMA,
}


class FacebookSource(GraphSource):
    """Facebook Pages: posts, post insights, page insights; accounts are page ids."""


# the registry's entry (pyproject.toml, `contentpulse.connectors`): what the kernel knows of it
CONNECTOR = Connector(
    platform=PLATFORM,
    rank=40,
    name="Facebook",
    settings=FacebookSource,
    schemas=SCHEMAS,
    hooks_at="connectors.facebook:HOOKS",
    concurrent_requests=8,  # Business Use Case limits are per app and Page
    connection_fields=CONNECTION_EXTRA,
    reads_history=False,  # lifetime counters: read as they are now
)
