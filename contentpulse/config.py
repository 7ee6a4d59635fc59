"""The one config loader: `contentpulse.yml` parsed and validated with pydantic.

Relative paths in the file are resolved against the file's own folder, so a config
works from any working directory (the CLI, Airflow workers, tests).
"""

from __future__ import annotations

import codecs
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contentpulse.errors import ConfigError

CONFIG_ENV = "CONTENTPULSE_CONFIG"
A = TypeVar("A", bound="Account")
DEFAULT_CONFIG = "contentpulse.yml"


def latest_reporting_date() -> date:
    """The newest reporting date there can be now: today in the time zone furthest ahead
    (UTC+14), UTC's tomorrow at most. A run date or a row's date after it is in the future."""
    return datetime.now(UTC).date() + timedelta(days=1)


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must start with http:// or https:// (got {value!r})")
    return value.rstrip("/")


# an endpoint override (None in a source means the platform's real endpoint)
EndpointUrl = Annotated[str, AfterValidator(_http_url)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _ids(accounts: list[A], pattern: str, what: str) -> list[A]:
    """The accounts, if every id has its platform's form (`pattern`, whole)."""
    for i, account in enumerate(accounts):
        if not re.fullmatch(pattern, account.id):
            raise ValueError(f"[{i}].id: {what} (got {account.id!r})")
    return accounts


def under(root: Path, *parts: str) -> Path:
    """`root / parts`, refused in one line if it leaves `root` (a part that is absolute or
    holds `..`): a path built from an id in the config stays under its root. Lexical, so a
    folder a person symlinked on purpose is still followed."""
    path = root.joinpath(*parts)
    inside = Path(os.path.normpath(path.absolute()))
    if not inside.is_relative_to(Path(os.path.normpath(root.absolute()))):
        raise ConfigError(f"{path}: outside {root} (an id in the config may not name a path)")
    return path


class Account(_Strict):
    """One channel, property or social account. Its id also names folders (the landing's
    `account=<id>`, a CSV export account's inbox), so it may not begin with a dot: `.` and
    `..` would step out of them. Each source checks its platform's own form of id too."""

    id: str
    name: str = ""
    timezone: str = "UTC"
    # the Airflow connection holding its credentials (every source but CSV exports needs one)
    conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")] | None = None

    @field_validator("id")
    @classmethod
    def _folder_safe(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_:-][A-Za-z0-9_.:-]*", value):
            raise ValueError(
                f"{value!r} is not an account id: letters, digits, _ : - and dots, "
                "not first (ids name folders: '..' would step out of them)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def display_name(self) -> str:
        return self.name or self.id


class YouTubeSource(_Strict):
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
    def _channel_ids(cls, accounts: list[Account]) -> list[Account]:
        return _ids(
            accounts, r"UC[A-Za-z0-9_-]+", "a YouTube channel id is UC and letters, digits, - or _"
        )


class GA4Report(_Strict):
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


class GA4Reports(_Strict):
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


class PagePaths(_Strict):
    """How a pagePath becomes a content item: query strings, fragments, trailing slashes
    and /amp segments always go; these add locale prefixes and host labels to drop."""

    locales: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")]] = Field(
        default_factory=list
    )
    host_prefixes: list[Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]] = Field(
        default_factory=lambda: ["amp"]
    )


class GA4Source(_Strict):
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
    def _property_ids(cls, accounts: list[Account]) -> list[Account]:
        return _ids(accounts, r"\d+", "a GA4 property id is a number")


class Repoll(_Strict):
    """When a post's lifetime counters are read again: every night while it is young, then
    at these ages (days; the defaults close the models' 7-, 30- and 90-day windows). A post with no snapshot yet, or one whose scheduled age passed
    while runs were missed, is read at the next run."""

    daily_until: Annotated[int, Field(ge=0, le=3650)] = 3
    ages: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [6, 13, 29, 89, 179, 364]
    )

    @field_validator("ages")
    @classmethod
    def _ascending(cls, ages: list[int]) -> list[int]:
        if ages != sorted(set(ages)):
            raise ValueError("must be ascending, each age once")
        return ages


class _SocialSource(_Strict):
    """What the social sources share: endpoints, retries, pacing, the re-poll schedule."""

    base_url: EndpointUrl | None = None  # None means the platform's real endpoint
    lookback_days: Annotated[int, Field(ge=1, le=60)] = 3  # account-level daily metrics
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    concurrency: Annotated[int, Field(ge=1, le=16)] = 4
    # extract tasks of this source Airflow runs at once (its pool); None = from the API's
    # concurrent-request limit divided by `concurrency` (contentpulse.pools)
    pool_slots: Annotated[int, Field(ge=1, le=64)] | None = None
    max_calls_per_second: Annotated[float, Field(gt=0)] | None = 10.0
    # posts read per unit of work: each unit lands on its own, so a throttled run keeps them
    batch_size: Annotated[int, Field(ge=1, le=5000)] = 200
    budget_calls: Annotated[int, Field(ge=1)] | None = None  # per run, None = unlimited
    repoll: Repoll = Field(default_factory=Repoll)
    accounts: list[Account] = Field(default_factory=list)


class GraphSource(_SocialSource):
    """Meta's Graph API (Instagram professional accounts, Facebook Pages)."""

    api_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v24.0"
    # Business Use Case / app usage (percent of the limit, from the X-*-Usage headers) at
    # which calls slow down, and at which the run stops cleanly to resume next time
    slow_down_at: Annotated[float, Field(ge=0, le=100)] = 75.0
    stop_at: Annotated[float, Field(ge=0, le=100)] = 95.0
    slow_down_s: Annotated[float, Field(ge=0, le=60)] = 2.0
    # insight metrics per media product type; None = the registry's current set. A retired
    # or unsupported name is reported and dropped, and the rest still loads.
    metrics: dict[str, list[str]] | None = None

    @field_validator("accounts")
    @classmethod
    def _graph_ids(cls, accounts: list[Account]) -> list[Account]:
        return _ids(accounts, r"\d+", "a Graph API id (Instagram user, Facebook Page) is a number")


class InstagramSource(GraphSource):
    """Instagram Graph API: media, media insights, account insights; accounts are IG user ids."""


class FacebookSource(GraphSource):
    """Facebook Pages: posts, post insights, page insights; accounts are page ids."""


class TikTokSource(_SocialSource):
    """TikTok Display API (video list) and, for business accounts, the Business API's
    organic video insights. Accounts name a connection with a refresh token."""

    business_base_url: EndpointUrl | None = None  # None means TikTok's real Business API
    token_uri: EndpointUrl | None = None
    max_calls_per_second: Annotated[float, Field(gt=0)] | None = 8.0  # 600 a minute
    # accounts (ids) that are business accounts: their organic insights are read too
    business_accounts: list[str] = Field(default_factory=list)

    @field_validator("accounts")
    @classmethod
    def _open_ids(cls, accounts: list[Account]) -> list[Account]:
        return _ids(
            accounts, r"[A-Za-z0-9_-][A-Za-z0-9_.-]*", "a TikTok id is letters, digits, ., - or _"
        )


# The unified stream columns a CSV export's columns may map to: exports are declared
# straight in unified names, so their raw rows need no renaming in staging.
CSV_METRICS = (
    "views",
    "reach",
    "impressions",
    "likes",
    "comments",
    "shares",
    "saves",
    "clicks",
    "watch_time_s",
    "followers_gained",
)
CSV_ITEM_FIELDS = ("item_id", "title", "description", "url", "published_at", "format", "duration_s")
# what each kind of export must map: a snapshot export makes items (with their publish
# time); a daily export's rows are days of an item
CSV_REQUIRED = {"snapshot": ("item_id", "published_at"), "daily": ("item_id", "date")}


class CsvExportDate(_Strict):
    """The export date read from a column of each row (instead of the file name)."""

    column: Annotated[str, Field(min_length=1)]


class CsvExport(_Strict):
    """One export type: which dropped files it is, and how their columns become stream columns."""

    platform: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    # snapshot: lifetime counters per post as of the export date; daily: a row per post and day
    kind: Literal["snapshot", "daily"] = "snapshot"
    match: Annotated[str, Field(min_length=1)]  # a file-name glob, case-insensitive
    # the reporting day a snapshot export's counters are complete through: the last date
    # (YYYY-MM-DD or YYYYMMDD) in the file name, or a column of each row
    export_date: Literal["filename"] | CsvExportDate = "filename"
    date_format: Annotated[str, Field(pattern=r"%")] = "%Y-%m-%d"  # strptime, date/time columns
    encoding: str = "utf-8"
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    skip_rows: Annotated[int, Field(ge=0, le=100)] = 0  # lines above the header
    # a regex whose first group is the item id within the mapped item_id value (a link)
    item_id_pattern: str | None = None
    format: Annotated[str, Field(min_length=1)] = "post"  # when no column maps `format`
    # the format column's values -> formats (video, post, ...); others are lower-cased as is
    formats: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    # stream column (unified name) -> the export's column header
    columns: dict[str, Annotated[str, Field(min_length=1)]]

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value

    @field_validator("item_id_pattern")
    @classmethod
    def _one_group(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            groups = re.compile(value).groups
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        if groups < 1:
            raise ValueError("needs a (group) around the item id")
        return value

    @field_validator("export_date")
    @classmethod
    def _snapshot_only(cls, value: str | CsvExportDate, info: ValidationInfo) -> object:
        if info.data.get("kind") == "daily":
            raise ValueError("only for snapshot exports (a daily export's rows carry their date)")
        return value

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, columns: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        known = (*CSV_ITEM_FIELDS, "date", *CSV_METRICS)
        for name in columns:
            if name not in known:
                raise ValueError(f"{name!r} is not a stream column (known: {', '.join(known)})")
        kind = info.data.get("kind", "snapshot")
        missing = [c for c in CSV_REQUIRED[kind] if c not in columns]
        if missing:
            raise ValueError(f"a {kind} export must map {', '.join(missing)}")
        if kind == "snapshot" and "date" in columns:
            raise ValueError("date is for daily exports (a snapshot's day is its export_date)")
        return columns


class CsvAccount(Account):
    """An account whose numbers arrive as dropped export files, of these export types."""

    exports: Annotated[list[str], Field(min_length=1)]


class CsvExportSource(_Strict):
    """Platforms reached only through exports: files dropped in <inbox>/<account id>/."""

    inbox: Path = Path("data/inbox")  # relative to the config file
    lookback_days: Annotated[int, Field(ge=1, le=60)] = 1  # files, not dates, are the work
    concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    max_calls_per_second: None = None  # no API calls
    exports: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], CsvExport] = Field(
        default_factory=dict
    )
    accounts: list[CsvAccount] = Field(default_factory=list)

    @field_validator("accounts")
    @classmethod
    def _known_exports(cls, accounts: list[CsvAccount], info: ValidationInfo) -> list[CsvAccount]:
        _ids(
            accounts,
            r"[A-Za-z0-9][A-Za-z0-9_.-]*",
            "a CSV export account id names its inbox folder: a letter or digit, then letters, "
            "digits, ., - or _",
        )
        if "exports" not in info.data:
            return accounts  # the exports themselves are invalid: that error says why
        exports = info.data["exports"]
        for i, account in enumerate(accounts):
            for name in account.exports:
                if name not in exports:
                    known = ", ".join(exports) or "none declared"
                    raise ValueError(
                        f"[{i}].exports: unknown export type {name!r} (known: {known})"
                    )
        return accounts


Source = (
    YouTubeSource | GA4Source | InstagramSource | FacebookSource | TikTokSource | CsvExportSource
)
# sources that read files, not APIs: their accounts need no connection
NO_CREDENTIALS = ("csv_export",)


class Sources(_Strict):
    youtube: YouTubeSource | None = None
    ga4: GA4Source | None = None
    instagram: InstagramSource | None = None
    facebook: FacebookSource | None = None
    tiktok: TikTokSource | None = None
    csv_export: CsvExportSource | None = None


class Alerts(_Strict):
    """Where failures and missed deadlines are told. The webhook URL is a secret (Slack's
    carry their token), so it lives in a connection: its `host` or extra `webhook_url`.
    Mail goes through the SMTP server of `smtp_conn_id` (host, port, login, password)."""

    webhook_conn_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None
    email_to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(
        default_factory=list
    )
    email_from: str = "contentpulse@localhost"
    smtp_conn_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None

    @model_validator(mode="after")
    def _mail_needs_a_server(self) -> Alerts:
        if self.email_to and not self.smtp_conn_id:
            raise ValueError("email_to needs smtp_conn_id (the SMTP server's connection)")
        return self


# an object-store landing root: s3://bucket/prefix (any S3-compatible store)
_LANDING_URL = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[^?#]*)?$")


def _landing_root(value: object) -> object:
    """A local folder (a Path), or an s3://bucket/prefix URL (kept as a str)."""
    if not isinstance(value, str):
        return value
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", value):
        return Path(value)
    if not _LANDING_URL.match(value):
        raise ValueError(
            f"{value!r} is not an object-store URL this build reads: give s3://bucket/prefix "
            "(a bucket name of 3-63 lower-case letters, digits, dots, hyphens) or a local folder"
        )
    return value.rstrip("/")


class LandingStoreOptions(_Strict):
    """How to reach an object-store landing root. Credentials are never in this file: they
    come from the connection `conn_id` (login = access key id, password = secret access key,
    extra `aws_session_token`, `region_name`, `endpoint_url`), else from the standard AWS
    chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, the machine's role)."""

    conn_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")] | None = None
    endpoint_url: EndpointUrl | None = None  # None = AWS S3 itself (MinIO, R2, Ceph: theirs)
    region: Annotated[str, Field(pattern=r"^[a-z0-9-]+$")] | None = None


class Paths(_Strict):
    # a local folder, or s3://bucket/prefix so that extract tasks on several machines land
    # where the loader reads (transforms.landing)
    landing: Annotated[Path | str, BeforeValidator(_landing_root)] = Path("data/landing")
    landing_store: LandingStoreOptions | None = None
    warehouse: Path = Path("data/warehouse.duckdb")
    analytics: Path = Path("data/analytics.duckdb")
    reports: Path = Path("data/reports")

    @model_validator(mode="after")
    def _store_needs_a_url(self) -> Paths:
        if self.landing_store is not None and isinstance(self.landing, Path):
            raise ValueError(
                "landing_store is for an object-store landing (landing: s3://bucket/prefix)"
            )
        return self


class Delivery(_Strict):
    """Where the weekly report goes once built (the weekly DAG, `contentpulse report --send`).
    Each part is optional. Secrets stay in connections: the SMTP server's (`smtp_conn_id`,
    Airflow's smtp type) and the webhook's URL (`webhook_conn_id`: its `host` or extra
    `webhook_url`); an object-store site's keys in `site_store.conn_id`, as for the landing."""

    # the static site: the reports folder (index, weeks, quality pages) plus latest.html,
    # copied to a local folder or an s3://bucket/prefix
    site: Annotated[Path | str, BeforeValidator(_landing_root)] | None = None
    site_store: LandingStoreOptions | None = None
    # the site's public address: the mail and the chat message link there (and the mail no
    # longer attaches the report)
    site_url: EndpointUrl | None = None
    email_to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(
        default_factory=list
    )
    email_from: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = "contentpulse@localhost"
    smtp_conn_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None
    webhook_conn_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Delivery:
        if self.email_to and not self.smtp_conn_id:
            raise ValueError("email_to needs smtp_conn_id (the SMTP server's connection)")
        if self.smtp_conn_id and not self.email_to:
            raise ValueError("smtp_conn_id needs email_to (the recipients)")
        if self.site_store is not None and not isinstance(self.site, str):
            raise ValueError("site_store is for an object-store site (site: s3://bucket/prefix)")
        return self

    @property
    def configured(self) -> bool:
        return bool(self.site or self.site_url or self.email_to or self.webhook_conn_id)


class Config(_Strict):
    paths: Paths = Field(default_factory=Paths)
    registry: Path | None = None
    history_start: date | None = None
    sources: Sources = Field(default_factory=Sources)
    alerts: Alerts = Field(default_factory=Alerts)
    delivery: Delivery = Field(default_factory=Delivery)
    # Where the config was read from; set by load_config, never by the file itself.
    source_file: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_accounts(self) -> Config:
        for platform, source in self.iter_sources():
            seen: set[str] = set()
            for i, account in enumerate(source.accounts):
                if account.id in seen:
                    raise ValueError(f"sources.{platform}: account {account.id!r} is listed twice")
                seen.add(account.id)
                if account.conn_id is None and platform not in NO_CREDENTIALS:
                    raise ValueError(
                        f"sources.{platform}.accounts[{i}].conn_id: required "
                        "(the Airflow connection holding the account's credentials)"
                    )
        return self

    def iter_sources(self) -> list[tuple[str, Source]]:
        return [(name, src) for name, src in self.sources if src is not None]

    def accounts(self) -> list[tuple[str, Account]]:
        """Every (platform, account) pair, in config order."""
        return [(name, acc) for name, src in self.iter_sources() for acc in src.accounts]

    def account(self, platform: str, account_id: str) -> Account:
        for name, acc in self.accounts():
            if name == platform and acc.id == account_id:
                return acc
        raise ConfigError(f"{self.source_file}: no {platform} account {account_id!r} in config")


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _resolve(base: Path, path: Path) -> Path:
    path = Path(os.path.expanduser(path))
    return path if path.is_absolute() else (base / path).resolve()


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: the argument, else $CONTENTPULSE_CONFIG, else ./contentpulse.yml."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config; any problem is one ConfigError line naming file and field."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: config file not found (copy contentpulse.example.yml, or set {CONFIG_ENV})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{file}: line {line}: not UTF-8 text (save the file as UTF-8)") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{file}: invalid YAML{where}: {problem}") from None
    if raw is None:
        raise ConfigError(f"{file}: empty config file (copy contentpulse.example.yml)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        where = f"{_field_path(err['loc'])}: " if err["loc"] else ""
        if where and msg.startswith("["):  # a list's validator names the item: accounts[0].id
            where = where.removesuffix(": ")
        raise ConfigError(f"{file}: {where}{msg}{more}") from None
    base = file.resolve().parent
    paths = Paths(**{n: _resolve(base, v) if isinstance(v, Path) else v for n, v in cfg.paths})
    for name in ("warehouse", "analytics"):
        if "?" in str(getattr(paths, name)):  # DuckDB reads what follows a '?' as options
            raise ConfigError(
                f"{file}: paths.{name}: DuckDB cannot open a database whose path holds '?' "
                f"({getattr(paths, name)}): rename the folder, or choose another path"
            )
    registry = _resolve(base, cfg.registry) if cfg.registry else None
    sources = cfg.sources
    if sources.csv_export is not None:
        inbox = _resolve(base, sources.csv_export.inbox)
        csv_export = sources.csv_export.model_copy(update={"inbox": inbox})
        sources = sources.model_copy(update={"csv_export": csv_export})
    delivery = cfg.delivery
    if isinstance(delivery.site, Path):
        delivery = delivery.model_copy(update={"site": _resolve(base, delivery.site)})
    return cfg.model_copy(
        update={
            "paths": paths,
            "registry": registry,
            "sources": sources,
            "delivery": delivery,
            "source_file": file,
        }
    )
