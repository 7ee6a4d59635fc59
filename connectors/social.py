"""What the social connectors share: lifetime-counter snapshots and the age-based re-poll plan.

Instagram, Facebook and TikTok show a post's counters as lifetime totals only. A connector
reads them as a `content_snapshots` row per post and reporting day (the day the counters
are complete through: the day before the server's own `Date`, in the account's time zone),
and staging turns consecutive snapshots into daily deltas.

Not every post is read every night. `due()` re-polls a post at the ages of a thinning
schedule (every night while it is young, then at ages 6, 13, 29, 89... days: the last days of
the 7-, 30- and 90-day windows the models measure, so those are exact), so the calls of a
night grow with new posts, not with history. The schedule is stateful: a post whose
scheduled age passed while runs were missed is due at the next run, and a post with no
snapshot yet is always due. That state is the landed snapshots themselves
(`newest_reads`, from what the pipeline reads of the landing), so a run that stopped half-way resumes with exactly the posts it had
not read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo

import pyarrow as pa
from pydantic import Field, field_validator

from contentpulse.config import Account, EndpointUrl, Strict, account_ids
from contentpulse.streams import Window

T = TypeVar("T")
RUN = [("extracted_at", pa.timestamp("us", tz="UTC")), ("run_id", pa.string())]
# every night up to this age (days), then at each of these ages
DAILY_UNTIL = 3
REPOLL_AGES = (6, 13, 29, 89, 179, 364)


def plan_chunks(window: Window) -> list[Window]:
    """One chunk: lifetime counters cannot be read for the past, only as they are now."""
    return [window]


def metric_units(chunk: Window, batches: list[list[T]]) -> list[list[T]]:
    """The batches of due posts, as `extract_items` planned them: each lands on its own."""
    return batches


def snapshot_date(server_date: str | None, timezone: str, now: datetime | None = None) -> date:
    """The reporting day a lifetime read is complete through: the day before the server's
    clock (its HTTP `Date` header; our own clock without one), in the account's time zone."""
    moment = None
    if server_date:
        try:
            moment = parsedate_to_datetime(server_date)
        except (TypeError, ValueError):
            moment = None
    moment = moment or now or datetime.now(UTC)
    return moment.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def due(
    published: date,
    last_read: date | None,
    today: date,
    daily_until: int = DAILY_UNTIL,
    ages: Sequence[int] = REPOLL_AGES,
) -> bool:
    """Whether a post published on `published` (and last read for `last_read`) is read for
    reporting day `today`: never read; young; or a scheduled age passed since the last read."""
    if last_read is None:
        return True
    if last_read >= today:
        return False
    age = (today - published).days
    if age <= daily_until:
        return True
    last_age = (last_read - published).days
    return any(last_age < a <= age for a in ages)


# what the re-poll state is read from: the landed snapshots' items and days
SNAPSHOT_STATE = {"content_snapshots": ("item_id", "snapshot_date")}


def newest_reads(landed: Mapping[str, pa.Table | None]) -> dict[str, date]:
    """item_id -> the newest snapshot_date landed for it (the re-poll state), from the
    landed `content_snapshots` the pipeline read (SNAPSHOT_STATE)."""
    table = landed.get("content_snapshots")
    if table is None:
        return {}
    newest: dict[str, date] = {}
    for item, day in zip(
        table.column("item_id").to_pylist(), table.column("snapshot_date").to_pylist(), strict=True
    ):
        if day is not None and (item not in newest or day > newest[item]):
            newest[item] = day
    return newest


def batches(items: list, size: int) -> list[list]:
    """Units of at most `size` items: each lands on its own, so a stopped run keeps them."""
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def snapshot_schema(metrics: Sequence[tuple[str, pa.DataType]]) -> pa.Schema:
    """content_snapshots: one row per post and reporting day, platform-native metric names."""
    return pa.schema(
        [
            ("account_id", pa.string()),
            ("item_id", pa.string()),
            ("snapshot_date", pa.date32()),
            ("product_type", pa.string()),
            *metrics,
            *RUN,
        ]
    )


ITEMS_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("item_id", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("duration_s", pa.int64()),
        ("format", pa.string()),
        ("media_type", pa.string()),
        ("product_type", pa.string()),
        ("url", pa.string()),
        ("links", pa.list_(pa.string())),
        ("parent_id", pa.string()),
        ("raw_json", pa.string()),
        *RUN,
    ]
)
# a metric the platform refused for one post (unsupported for its type, retired, not enough
# viewers): recorded, never fatal; the post's other metrics still land
ISSUES_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("item_id", pa.string()),
        ("snapshot_date", pa.date32()),
        ("metric", pa.string()),
        ("code", pa.string()),
        ("message", pa.string()),
        *RUN,
    ]
)
EXTRACT_LOG_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("window_start", pa.date32()),
        ("window_end", pa.date32()),
        ("snapshot_date", pa.date32()),
        ("last_date_returned", pa.date32()),
        ("items_due", pa.int64()),
        ("items_read", pa.int64()),
        ("calls", pa.int64()),
        ("retries", pa.int64()),
        ("rows", pa.int64()),
        *RUN,
    ]
)


class Repoll(Strict):
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


class SocialSource(Strict):
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


class GraphSource(SocialSource):
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
    def _graphaccount_ids(cls, accounts: list[Account]) -> list[Account]:
        return account_ids(
            accounts, r"\d+", "a Graph API id (Instagram user, Facebook Page) is a number"
        )
