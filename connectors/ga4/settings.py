"""GA4 constants: scopes, paging and quota names, error texts, and the landing schemas."""

import pyarrow as pa

PLATFORM = "ga4"
# the connection (google_cloud_platform): a service-account key, as JSON or a path, or an
# OAuth client and refresh token
CONNECTION_EXTRA = (
    ("keyfile_dict",),
    ("key_path",),
    ("client_id", "client_secret", "refresh_token"),
)
TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPES = ("https://www.googleapis.com/auth/analytics.readonly",)
PAGE_MAX = 250_000  # rows per runReport request, the API's maximum
WINDOW_CHUNK_DAYS = 31  # a backfill is read (and resumed) a month at a time
REQUESTS = "requests"  # the per-run budget counts runReport requests
# propertyQuota fields that hold tokens; running low on any one stops the run cleanly
TOKEN_QUOTAS = ("tokensPerDay", "tokensPerHour", "tokensPerProjectPerHour")
# a standard property's token quotas (Analytics 360: ten times these); the config can
# raise them, and a response showing more remaining than these raises them too
STANDARD_TOKEN_QUOTAS = {
    "tokensPerDay": 200_000,
    "tokensPerHour": 40_000,
    "tokensPerProjectPerHour": 14_000,
}
HOURLY_QUOTAS = ("tokensPerHour", "tokensPerProjectPerHour")  # pacing helps these refill
# 429 texts of a spent quota (GA4 refuses the property's requests until it refills) ...
QUOTA_SPENT = (
    "property tokens per day",
    "property tokens per hour",
    "property tokens for a project per hour",
    "potentially thresholded requests per hour",
    "server errors per project per hour",
)
# ... against a momentary one, worth a retry
CONCURRENCY_SPENT = "concurrent requests"
CONCURRENCY_WAIT_S = 1.0
# metrics GA4 renamed or retired: a config naming one gets a hint
RENAMED = {"conversions": "keyEvents", "totalConversions": "keyEvents"}
OTHER = "(other)"  # GA4's row for what a report could not break down

_RUN = [("extracted_at", pa.timestamp("us", tz="UTC")), ("run_id", pa.string())]
# the default reports' metrics and their landed types (GA4's metric types; a metric a
# config adds lands typed by getMetadata: TYPE_INTEGER as int64, the rest as float64)
METRIC_TYPES = {
    "screenPageViews": pa.int64(),
    "activeUsers": pa.int64(),
    "sessions": pa.int64(),
    "engagedSessions": pa.int64(),
    "userEngagementDuration": pa.float64(),
    "keyEvents": pa.float64(),
    "eventCount": pa.int64(),
}
PAGE_METRICS = (
    "screenPageViews",
    "activeUsers",
    "sessions",
    "engagedSessions",
    "userEngagementDuration",
    "keyEvents",
)
TRAFFIC_METRICS = ("sessions", "engagedSessions", "screenPageViews", "keyEvents")
PROPERTY_METRICS = (*PAGE_METRICS, "eventCount")
# report name in config -> the stream it lands
STREAMS = {"pages": "content_daily", "traffic": "traffic_daily", "property": "account_daily"}

SCHEMAS: dict[str, pa.Schema] = {
    # one row per (date, hostName, pagePath, pageTitle) as GA4 reports it; item_id is the
    # normalised host + path the row belongs to ('(other)' for GA4's catch-all row)
    "content_daily": pa.schema(
        [
            ("account_id", pa.string()),
            ("date", pa.date32()),
            ("hostName", pa.string()),
            ("pagePath", pa.string()),
            ("pageTitle", pa.string()),
            ("content_group", pa.string()),
            ("item_id", pa.string()),
            *[(m, METRIC_TYPES[m]) for m in PAGE_METRICS],
            *_RUN,
        ]
    ),
    "traffic_daily": pa.schema(
        [
            ("account_id", pa.string()),
            ("date", pa.date32()),
            ("hostName", pa.string()),
            ("pagePath", pa.string()),
            ("item_id", pa.string()),
            ("sessionSource", pa.string()),
            ("sessionMedium", pa.string()),
            ("sessionCampaignName", pa.string()),
            *[(m, METRIC_TYPES[m]) for m in TRAFFIC_METRICS],
            *_RUN,
        ]
    ),
    "account_daily": pa.schema(
        [
            ("account_id", pa.string()),
            ("date", pa.date32()),
            *[(m, METRIC_TYPES[m]) for m in PROPERTY_METRICS],
            *_RUN,
        ]
    ),
    # one row per runReport request: what it asked, what came back, GA4's own flags about
    # the numbers, and the tokens it cost; `superseded` marks a sampled response that was
    # replaced by requests over shorter windows
    "report_requests": pa.schema(
        [
            ("account_id", pa.string()),
            ("report", pa.string()),
            ("window_start", pa.date32()),
            ("window_end", pa.date32()),
            ("page_offset", pa.int64()),
            ("page_limit", pa.int64()),
            ("rows_returned", pa.int64()),
            ("row_count", pa.int64()),
            ("is_sampled", pa.bool_()),
            ("samples_read", pa.int64()),
            ("sampling_space", pa.int64()),
            ("data_loss_from_other_row", pa.bool_()),
            ("subject_to_thresholding", pa.bool_()),
            ("superseded", pa.bool_()),
            ("tokens_consumed", pa.int64()),
            ("tokens_per_day_remaining", pa.int64()),
            ("tokens_per_hour_remaining", pa.int64()),
            ("tokens_per_project_per_hour_remaining", pa.int64()),
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
