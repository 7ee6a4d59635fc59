"""GA4 constants: scopes, paging and quota names, error texts, and the landing schemas."""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from contentpulse.config import Account, EndpointUrl, Strict, account_ids
from contentpulse.contract import Connector

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


class GA4Report(Strict):
    """One runReport definition: the dimensions it breaks down by and the metrics it asks for.

    Metric names are GA4's API names; they land under those names in raw and are checked
    against the property's getMetadata before any quota is spent.
    """

    dimensions: list[str]
    metrics: Annotated[list[str], Field(min_length=1, max_length=10)]

    @field_validator("dimensions", "metrics")
    @classmethod
    def _unique(cls, names: list[str]) -> list[str]:
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"{twice[0]!r} is listed twice")
        return names


# What each report must break down by (the landing key) and may add (the connector lands
# these dimensions; anything else is a config error).
GA4_REPORT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "pages": (("date", "hostName", "pagePath"), ("pageTitle",)),
    "traffic": (
        ("date", "hostName", "pagePath", "sessionSource", "sessionMedium"),
        ("sessionCampaignName",),
    ),
    "property": (("date",), ()),
}
GA4_REQUIRED_METRICS = {"pages": ("screenPageViews",), "traffic": (), "property": ("eventCount",)}


class GA4Reports(Strict):
    """The reports read per property, as data; the defaults are what the models use."""

    # daily page metrics: one row per day, host, path and title
    pages: GA4Report = GA4Report(
        dimensions=["date", "hostName", "pagePath", "pageTitle"],
        metrics=[
            "screenPageViews",
            "activeUsers",
            "sessions",
            "engagedSessions",
            "userEngagementDuration",
            "keyEvents",
        ],
    )
    # where each page's sessions came from, per day
    traffic: GA4Report = GA4Report(
        dimensions=[
            "date",
            "hostName",
            "pagePath",
            "sessionSource",
            "sessionMedium",
            "sessionCampaignName",
        ],
        metrics=["sessions", "engagedSessions", "screenPageViews", "keyEvents"],
    )
    # the property's own daily totals (users deduplicated by GA4, events to plan windows)
    property: GA4Report = GA4Report(
        dimensions=["date"],
        metrics=[
            "screenPageViews",
            "activeUsers",
            "sessions",
            "engagedSessions",
            "userEngagementDuration",
            "keyEvents",
            "eventCount",
        ],
    )

    @model_validator(mode="after")
    def _keys(self) -> GA4Reports:
        for name, (required, optional) in GA4_REPORT_KEYS.items():
            report: GA4Report = getattr(self, name)
            missing = [d for d in required if d not in report.dimensions]
            if missing:
                raise ValueError(f"{name}.dimensions: must include {', '.join(missing)}")
            extra = [d for d in report.dimensions if d not in required + optional]
            if extra:
                allowed = ", ".join(required + optional)
                raise ValueError(
                    f"{name}.dimensions: {extra[0]!r} is not landed by this report "
                    f"(allowed: {allowed}; name a content group as content_group)"
                )
            lacking = [m for m in GA4_REQUIRED_METRICS[name] if m not in report.metrics]
            if lacking:
                raise ValueError(f"{name}.metrics: must include {', '.join(lacking)}")
        return self


class PagePaths(Strict):
    """How a pagePath becomes a content item: query strings, fragments, trailing slashes
    and /amp segments always go; these add locale prefixes and host labels to drop."""

    locales: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")]] = Field(
        default_factory=list
    )
    host_prefixes: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]] = Field(
        default_factory=lambda: ["amp"]
    )


class GA4Source(Strict):
    """GA4 Data API v1beta (runReport, getMetadata); accounts are properties."""

    base_url: EndpointUrl | None = None
    token_uri: EndpointUrl | None = None
    # GA4 processes a day for 24-48 h and restates it meanwhile
    lookback_days: Annotated[int, Field(ge=1, le=60)] = 3
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    concurrency: Annotated[int, Field(ge=1, le=10)] = 4  # GA4 allows 10 concurrent requests
    # extract tasks of this source Airflow runs at once (its pool); None = from the API's
    # concurrent-request limit divided by `concurrency` (contentpulse.pools)
    pool_slots: Annotated[int, Field(ge=1, le=64)] | None = None
    max_calls_per_second: Annotated[float, Field(gt=0)] | None = 10.0
    # rows per runReport page (the API's maximum is 250,000)
    page_size: Annotated[int, Field(ge=1, le=250_000)] = 250_000
    # events in a request's date range above which GA4 samples it (standard properties:
    # 10 million; Analytics 360: 1 billion): windows are split to stay under it
    sampling_event_limit: Annotated[int, Field(ge=1)] = 10_000_000
    # property token quotas: pace calls below `slow_down_below` of a quota left, and stop
    # cleanly (resume next run) below `quota_reserve`, leaving the rest to other users
    slow_down_below: Annotated[float, Field(ge=0, le=1)] = 0.25
    slow_down_s: Annotated[float, Field(ge=0, le=60)] = 2.0
    quota_reserve: Annotated[float, Field(ge=0, le=0.5)] = 0.1
    # the property's token quotas (a standard property's; Analytics 360 has ten times more)
    tokens_per_day: Annotated[int, Field(ge=1)] = 200_000
    tokens_per_hour: Annotated[int, Field(ge=1)] = 40_000
    tokens_per_project_per_hour: Annotated[int, Field(ge=1)] = 14_000
    budget_requests: Annotated[int, Field(ge=1)] | None = None  # per run, None = unlimited
    # a content-group or custom dimension landed as each page's content_group (and topic)
    content_group: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_:]*$")] | None = None
    page_paths: PagePaths = Field(default_factory=PagePaths)
    reports: GA4Reports = Field(default_factory=GA4Reports)
    accounts: list[Account] = Field(default_factory=list)

    @field_validator("accounts")
    @classmethod
    def _propertyaccount_ids(cls, accounts: list[Account]) -> list[Account]:
        return account_ids(accounts, r"\d+", "a GA4 property id is a number")


# the registry's entry (pyproject.toml, `contentpulse.connectors`): what the kernel knows of it
CONNECTOR = Connector(
    platform=PLATFORM,
    rank=20,
    name="GA4",
    settings=GA4Source,
    schemas=SCHEMAS,
    hooks_at="connectors.ga4:HOOKS",
    concurrent_requests=10,  # concurrentRequests per property
    connection_fields=CONNECTION_EXTRA,
)
