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
(`landed_history`), so a run that stopped half-way resumes with exactly the posts it had
not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

import pyarrow as pa

from contentpulse.streams import Window

if TYPE_CHECKING:
    from transforms.landing import LandingStore

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


def landed_history(root: LandingStore | Path, platform: str, account_id: str) -> dict[str, date]:
    """item_id -> the newest snapshot_date landed for it (the re-poll state)."""
    from transforms.landing import read_landed

    columns = ["item_id", "snapshot_date"]
    table = read_landed(root, platform, "content_snapshots", account_id, columns)
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
